// Weight range setting (ALGORITHMS.md §1.5): min-max, percentile, MSE-optimal search, ACIQ (Laplace/Gauss/mix).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "core/quant/quantizer.h"

namespace qp {

enum class RangeMethod : uint8_t { kMinMax, kPercentile, kMse, kAciq };
enum class AciqDist : uint8_t { kLaplace, kGauss, kMix };

struct RangeOptions {
  RangeMethod method = RangeMethod::kMinMax;
  double percentile = 99.99;  // kPercentile: in (50, 100]
  AciqDist aciq = AciqDist::kMix;
};

bool operator==(const RangeOptions& a, const RangeOptions& b);
std::string range_method_name(const RangeOptions& r);  // "minmax", "percentile:99.99", "mse", "aciq:mix"
// Parses the CLI/JSON spelling ("minmax", "percentile:99.9", "mse", "aciq", "aciq:laplace"); throws qp::Error.
RangeOptions range_options_parse(const std::string& s);

// Statistics of one channel (or tensor) that every range method draws on, computed once (double sums).
// Non-finite values are counted and left out of the statistics.
struct RangeStats {
  double min = 0, max = 0, mean = 0, std = 0, mean_abs_dev = 0;  // mean_abs_dev = mean |x - mean| (Laplace b)
  double sum_sq = 0;  // sum of x^2 over the finite values
  bool has_mad = false;
  size_t n = 0;
  size_t non_finite = 0;
};
// One pass; a second pass for mean_abs_dev only when `with_mad` (ACIQ needs it).
RangeStats range_stats(const float* x, size_t n, bool with_mad);

// Real range [lo, hi] for values x[0..n) quantized with `spec` (percentile selects on a copy).
std::pair<double, double> range_select(const float* x, size_t n, const RangeStats& st, const QuantSpec& spec,
                                       const RangeOptions& opt);

// ACIQ (Banner et al.): optimal clip alpha/b (Laplace) or alpha/sigma (Gauss) for `bits` levels 2^bits,
// minimising the analytic MSE by golden-section search.
double aciq_alpha_laplace(int bits);
double aciq_alpha_gauss(int bits);
double aciq_mse_laplace(double alpha, double b, int bits);
double aciq_mse_gauss(double alpha, double sigma, int bits);

// Mean squared error of quantizing x[0..n) with params p, via the fused kernel.
double quant_mse(const float* x, size_t n, const QParams& p);

}  // namespace qp
