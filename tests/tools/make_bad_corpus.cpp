// Writes the bad-input corpus (broken models + expected.json with the pinned messages) for the CLI and wasm tests.
#include <cstdio>
#include <string>

#include "tests/support/bad_corpus.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_bad_corpus MODEL OUT_DIR\n");
    return 2;
  }
  const auto cases = qp_test::make_bad_corpus(argv[1], argv[2]);
  const auto flips = qp_test::make_bit_flips(argv[1], std::string(argv[2]) + "/flips", 100);
  std::string json = "{\n  \"cases\": [\n";
  auto quote = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') o += '\\';
      o += c;
    }
    return o + "\"";
  };
  for (size_t i = 0; i < cases.size(); ++i)
    json += "    {\"file\": " + quote(cases[i].file) + ", \"expect\": " + quote(cases[i].expect) + "}" +
            (i + 1 < cases.size() ? ",\n" : "\n");
  json += "  ],\n  \"flips\": [\n";
  for (size_t i = 0; i < flips.size(); ++i) json += "    " + quote(flips[i]) + (i + 1 < flips.size() ? ",\n" : "\n");
  json += "  ]\n}\n";
  const std::string out = std::string(argv[2]) + "/expected.json";
  std::FILE* f = std::fopen(out.c_str(), "w");
  if (!f) return 1;
  std::fputs(json.c_str(), f);
  std::fclose(f);
  return 0;
}
