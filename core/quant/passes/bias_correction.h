// Bias correction (ALGORITHMS.md §3): analytic from BN statistics (clipped-normal input means, Nagel et al. 2019),
// empirical and sequential per layer on calibration data (white paper / AIMET form), and the iterative variant
// (Finkelstein et al. 2019 "IBC": activations may be fake-quantized too, sweeps repeated until the means match).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/pass.h"
#include "core/quant/passes/wq.h"

namespace qp {

enum class BiasCorrectionMode : uint8_t { kAnalytic, kEmpirical, kIterative };
std::string bias_correction_mode_name(BiasCorrectionMode m);  // "analytic", "empirical", "iterative"

struct BiasCorrectionOptions {
  BiasCorrectionMode mode = BiasCorrectionMode::kEmpirical;
  WeightQuantConfig weights;  // the final weight quantizer: corrections are computed against it
  // Analytic: per-layer output statistics of folded BNs (bn_fold's, rescaled by CLE/Meller). Layers whose input
  // expectation cannot be derived from them use the empirical estimate when calibration data is given and
  // `analytic_fallback` is set (AIMET's mix), else stay uncorrected.
  const BnStatsMap* bn_stats = nullptr;
  bool analytic_fallback = true;
  // Iterative: activation quantizers (value name -> FakeQuant, fixed or dynamic) applied in the quantized runs,
  // and the sweep loop: stop after a sweep whose largest |mu_fp - mu_q| / std_fp (over layers and channels,
  // measured before that sweep's corrections) is below `tolerance`, or after `max_sweeps`.
  std::map<std::string, FakeQuant> activation_fake_quant;
  int max_sweeps = 3;
  double tolerance = 1e-3;
  // Quantized tensors of all samples are kept between layers so each node runs about once per sweep; above this
  // many bytes the pass re-runs each layer's ancestors per sample instead (O(layers) passes, little memory).
  int64_t max_cache_bytes = int64_t{512} << 20;
};

struct BiasCorrectionLayer {
  std::string layer, op_type;
  std::string bias;            // bias tensor in the result graph
  bool bias_created = false;   // a zero bias was added (or a shared/scalar one made private)
  std::string method;          // "analytic", "empirical", or "none" (see note)
  std::string note;            // why a layer was left alone
  std::vector<double> delta;   // Δb per output channel, summed over sweeps (new bias - old bias)
  double delta_norm = 0, delta_max_abs = 0;
  // Empirical: max over channels of |mu_q - mu_fp| (pre-activation output means) measured in the first sweep,
  // before this layer's correction (upstream already corrected), absolute and relative to the fp channel std.
  double mean_err = 0, mean_err_rel = 0;
};

struct BiasCorrectionResult {
  Graph graph;
  PassReport report;
  BiasCorrectionMode mode = BiasCorrectionMode::kEmpirical;
  std::vector<BiasCorrectionLayer> layers;           // topological order
  std::map<std::string, FakeQuant> weight_fake_quant;  // the weight quantizers used (apply them to `graph`)
  int sweeps = 0;
  std::vector<double> sweep_residual;  // per sweep: max_c |mu_fp - mu_q| / std_fp before its corrections
  // Cost: fp passes (samples run once through the float model) and quantized work in full-pass equivalents
  // (nodes executed / nodes in the graph); `cached` false when the memory budget forced per-layer re-runs.
  int fp_passes = 0;
  double q_passes = 0;
  int64_t q_nodes_run = 0;
  bool cached = true;
};

// `calib` (may be null for pure analytic correction): unlabelled samples for the empirical estimates. The result
// graph differs from `g` only in biases (and added zero biases, MatMul bias Adds). Throws qp::Error when the
// empirical/iterative mode gets no calibration data or the model cannot run.
BiasCorrectionResult bias_correction(const Graph& g, const CalibrationSet* calib, const BiasCorrectionOptions& opt);

// E[clip(X, lo, hi)] for X ~ N(mu, sigma^2) (lo may be -inf, hi +inf): the clipped-normal mean of §3.2.
double clipped_normal_mean(double mu, double sigma, double lo, double hi);

}  // namespace qp
