// The reduction kernels against their scalar references: every op, rows and columns, tails, empty inputs.
#include "core/runtime/kernels/f32_reduce.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

TEST_CASE("f32_reduce_row and f32_reduce_cols match the references on seeded random shapes") {
  const ReduceOp ops[] = {ReduceOp::kSum, ReduceOp::kSumSquares, ReduceOp::kMax, ReduceOp::kMin};
  constexpr float kSentinel = 4242.0f;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 gen(seed);
    const size_t rows = std::uniform_int_distribution<size_t>(0, 40)(gen);
    const size_t cols = std::uniform_int_distribution<size_t>(1, seed % 6 == 0 ? 3000 : 45)(gen);
    const size_t misalign = seed % 4;
    std::normal_distribution<float> nd;
    std::vector<float> xb(rows * cols + misalign);
    for (auto& v : xb) v = nd(gen);
    const float* x = xb.data() + misalign;
    for (ReduceOp op : ops) {
      INFO("seed " << seed << " rows " << rows << " cols " << cols << " op " << static_cast<int>(op));
      // Row: the whole buffer as one row. Sums are compared against the sum of magnitudes they are made of.
      const size_t n = rows * cols;
      const double got = f32_reduce_row(x, n, op), ref = f32_reduce_row_ref(x, n, op);
      const double mag = op == ReduceOp::kSum ? f32_reduce_row_ref(x, n, ReduceOp::kSumSquares) + n : std::fabs(ref);
      if (op == ReduceOp::kMax || op == ReduceOp::kMin) CHECK(got == ref);
      else CHECK(std::fabs(got - ref) <= 1e-6 * std::max(mag, 1.0));
      std::vector<float> y(cols + 3, kSentinel), yr(cols);
      f32_reduce_cols(x, rows, cols, op, y.data());
      f32_reduce_cols_ref(x, rows, cols, op, yr.data());
      for (size_t c = 0; c < cols; ++c) {
        // Float accumulation across rows: the error scales with the magnitudes summed, not with the result.
        double mag_c = 0;
        for (size_t r = 0; r < rows; ++r)
          mag_c += op == ReduceOp::kSumSquares ? double(x[r * cols + c]) * x[r * cols + c] : std::fabs(x[r * cols + c]);
        const double tol = 2.0 * (rows + 1) * std::numeric_limits<float>::epsilon() * std::max(mag_c, 1.0);
        if (op == ReduceOp::kMax || op == ReduceOp::kMin) CHECK(y[c] == yr[c]);
        else CHECK(std::fabs(y[c] - yr[c]) <= tol);
      }
      for (size_t c = cols; c < y.size(); ++c) CHECK(y[c] == kSentinel);
    }
  }
}

TEST_CASE("f32_reduce_row of nothing is the identity") {
  CHECK(f32_reduce_row(nullptr, 0, ReduceOp::kSum) == 0.0);
  CHECK(f32_reduce_row(nullptr, 0, ReduceOp::kMax) == -std::numeric_limits<double>::infinity());
  CHECK(f32_reduce_row(nullptr, 0, ReduceOp::kMin) == std::numeric_limits<double>::infinity());
}
