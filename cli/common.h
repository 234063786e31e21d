// Helpers shared by the quantplay subcommands: tables, number formatting, model and tensor files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/ir/tensor.h"

namespace qpcli {

// Exit codes: 2 for usage errors (bad options), 3 when the model or its data cannot be read or processed.
constexpr int kExitOk = 0, kExitUsage = 2, kExitBadModel = 3;

// Aligned plain-text table: the first `left` columns left-aligned (names, text), the rest right-aligned (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> header, size_t left = 1) : left_(left) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(FILE* out) const {
    std::vector<size_t> w;
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) {
        if (w.size() <= i) w.push_back(0);
        w[i] = std::max(w[i], r[i].size());
      }
    for (size_t ri = 0; ri < rows_.size(); ++ri) {
      const auto& r = rows_[ri];
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        const std::string pad(w[i] - r[i].size(), ' ');
        line += (i ? "  " : "") + (i < left_ ? r[i] + pad : pad + r[i]);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      std::fprintf(out, "%s\n", line.c_str());
      if (ri == 0) {
        size_t total = 0;
        for (size_t x : w) total += x + 2;
        std::fprintf(out, "%s\n", std::string(total - 2, '-').c_str());
      }
    }
  }

 private:
  size_t left_ = 1;
  std::vector<std::vector<std::string>> rows_;
};

std::string fmt(const char* f, double v);  // printf of one double; "nan", "inf", "-inf" spelled out
std::string thousands(int64_t v);          // 1,234,567
std::string base_name(const std::string& path);

struct Loaded {
  qp::Graph graph;
  size_t bytes = 0;
};
// Reads and parses a model; external data next to it. Throws qp::Error "cannot load 'PATH': reason".
Loaded load(const std::string& path);
// load() for a subcommand: prints the error and returns false (the command then exits with kExitBadModel).
bool load_or_report(const std::string& path, Loaded& out);

std::vector<int> parse_bits(const std::string& s);                      // "8,4,2"; CLI::ValidationError
std::vector<double> parse_numbers(const std::string& s, const char* opt);  // "1.5,2"; CLI::ValidationError
qp::Tensor read_input_file(const std::string& path);                    // .npy or serialised TensorProto (.pb)
std::vector<std::string> read_labels(const std::string& path);          // one label per line
// Writes a new file (never the model the user gave: callers check); throws qp::Error naming the path.
void write_file(const std::string& path, const std::string& bytes);
// Refuses an output path that is the model the user gave (same file, by device and inode, or the same path):
// every export is a new file. Throws qp::Error.
void check_not_model(const std::string& out, const std::string& model);

}  // namespace qpcli
