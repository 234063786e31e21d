// Helpers shared by the quantplay subcommands.
#include "cli/common.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <sys/stat.h>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"

namespace qpcli {

std::string fmt(const char* f, double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string thousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string base_name(const std::string& path) {
  const size_t s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

Loaded load(const std::string& path) {
  Loaded m;
  try {
    const std::string bytes = qp::read_file_bytes(path);
    m.bytes = bytes.size();
    const size_t slash = path.find_last_of('/');
    qp::DirExternalData ext(slash == std::string::npos ? "." : path.substr(0, slash));
    m.graph = qp::onnx_load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &ext);
  } catch (const std::exception& e) {
    throw qp::Error("cannot load '" + path + "': " + e.what());
  }
  return m;
}

std::vector<int> parse_bits(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0') throw CLI::ValidationError("--bits", "'" + item + "' is not an integer");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<double> parse_numbers(const std::string& s, const char* opt) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0') throw CLI::ValidationError(opt, "'" + item + "' is not a number");
    out.push_back(v);
  }
  return out;
}

// An input tensor from a .npy or a serialised TensorProto (.pb) file.
qp::Tensor read_input_file(const std::string& path) {
  const std::string bytes = qp::read_file_bytes(path);
  try {
    if (path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0) return qp::onnx_load_tensor(bytes, path);
    return qp::npy_parse(bytes, path);
  } catch (const std::exception& e) {
    throw qp::Error("cannot read input '" + path + "': " + e.what());
  }
}

std::vector<std::string> read_labels(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(qp::read_file_bytes(path));
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

bool load_or_report(const std::string& path, Loaded& out) {
  try {
    out = load(path);
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s\n", e.what());
    return false;
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    if (f) std::fclose(f);
    throw qp::Error("cannot write " + path);
  }
  if (std::fclose(f) != 0) throw qp::Error("cannot write " + path);
}

void check_not_model(const std::string& out, const std::string& model) {
  struct stat a {}, b {};
  const bool same = out == model || (::stat(out.c_str(), &a) == 0 && ::stat(model.c_str(), &b) == 0 &&
                                     a.st_dev == b.st_dev && a.st_ino == b.st_ino);
  if (same) throw qp::Error("--out " + out + " is the input model; quantplay never overwrites it (choose a new file)");
}

}  // namespace qpcli
