// A corpus of broken models generated from a real one, each with the message the loader must give (pinned).
#pragma once

#include <string>
#include <vector>

namespace qp_test {

struct BadCase {
  std::string file;    // path written
  std::string expect;  // substring the error message must contain
};

// Writes the corpus into `dir` (created if missing) from the model at `model_path`; returns the cases.
std::vector<BadCase> make_bad_corpus(const std::string& model_path, const std::string& dir);

// Seeded single-bit flips of the model; each must load or fail with a message, never crash.
std::vector<std::string> make_bit_flips(const std::string& model_path, const std::string& dir, int count);

}  // namespace qp_test
