// Meller et al. 2019 ("Same, Same But Different") activation-aware equalization, one-step and two-step
// (ALGORITHMS.md §2.3): every layer's non-dominant output channels are scaled up towards the layer's largest
// weight and activation ranges (capped at 16x), the consumers get the inverse; concat and residual-add rules.
#pragma once

#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/pass.h"

namespace qp {

struct MellerOptions {
  bool two_steps = false;
  double max_activation_scale = 16;  // cap on post-activation growth
  double relu6_attn_limit = 0.7;     // floor of the scale of bounded-ReLU (Clip(0, c)) layers
  bool pre_act_limit = true;         // pre_c = max(A_max / |P_c|, 1) (hardware dependent in the reference)
  // Two-step with a single successor: the reference code leaves the successor weighting at 1 (§2.3.7); true
  // reproduces that, false (default) weights by the successor's columns as the method intends.
  bool reference_compat = false;
  const BnStatsMap* bn_stats = nullptr;  // when given, rescaled with the layers' output channels (result.bn_stats)
  int verify_random_samples = 4;         // seeded random inputs for verify_function (the calibration set too)
};

// The min-equalization of one layer (get_scale without the concat/ReLU6/residual adjustments).
struct MellerScaleInput {
  std::vector<double> w_max;  // per output channel: max |W_c|
  std::vector<double> a_max;  // A_c: max post-activation output over the calibration data
  std::vector<double> p_min;  // P_c: min pre-activation output
  std::vector<double> m;      // successor weighting (two-step); empty = all 1
};
struct MellerScale {
  std::vector<double> t;
  int caps_hit = 0;  // channels whose activation growth the cap limited
};
MellerScale meller_scale(const MellerScaleInput& in, const MellerOptions& opt);

struct MellerLayer {
  std::string layer, op_type;
  std::string activation;  // "linear", "relu", "leaky_relu", "prelu", "clip(0,6)"...
  bool equalized = false;
  std::string note;        // why not, when not
  std::vector<double> scale;  // t per output channel (factor applied to the layer's output channel)
  double scale_min = 1, scale_max = 1, scale_mean = 1;
  int caps_hit = 0, floors_hit = 0;
  double concat_factor = 1;          // concat rule: the stretch to the concat's range (1 when none)
  std::vector<std::string> consumers;        // layers whose input channels got 1/t
  std::vector<std::string> residual_owners;  // layers that add this layer's output and carry the same t
};

struct MellerResult {
  Graph graph;
  PassReport report;
  MellerOptions options;
  std::vector<MellerLayer> layers;  // every quantizable layer, topological order
  BnStatsMap bn_stats;              // options.bn_stats rescaled (empty when none was given)
  int calib_samples = 0;
};

// Collects per-channel extrema on `calib` (run once), equalizes in one topological pass and verifies the result
// against `g` on random inputs and on `calib`. Throws qp::Error when `calib` is empty or the model cannot run.
MellerResult meller_equalize(const Graph& g, const CalibrationSet& calib, const MellerOptions& opt = {});

}  // namespace qp
