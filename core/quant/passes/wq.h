// Weight fake-quantization for analysis runs: fixed per-tensor / per-channel parameters computed from the weights
// (with per-layer bit overrides), and the model-output error of such a configuration against fp32.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/quantizer.h"
#include "core/quant/range.h"
#include "core/runtime/executor.h"

namespace qp {

struct WeightQuantConfig {
  QuantSpec spec;                           // bits = the default bit-width
  Granularity granularity = Granularity::kTensor;  // per channel: along the layer's output-channel axis (layers.h)
  RangeOptions range;
  std::map<std::string, int> layer_bits;    // layer (node) name -> bits (MixQuant allocations); overrides spec.bits
};

// Weight name -> quantizer with fixed parameters, for every analysable layer of `g` (find_layers; layers with a
// `skip` reason are left in float). A layer with bits 0 in `layer_bits` stays float. Throws qp::Error for a
// `layer_bits` entry that names no layer or bits outside 2..16.
std::map<std::string, FakeQuant> weight_fake_quant(const Graph& g, const WeightQuantConfig& cfg);

// Model-output error of `q` run with `fq` against `fp` (same inputs/outputs by name) over every sample.
struct OutputError {
  int samples = 0;
  double signal = 0, noise = 0;  // sums of y_fp^2 and (y_q - y_fp)^2 over all outputs and samples
  double sqnr_db = 0;            // 10 log10(signal / noise); +inf when the outputs are identical
  // Per output: mean over samples (and over every axis but 1 for rank >= 2) of y_q - y_fp, one value per channel
  // (axis 1) — the "mean output shift" bias correction targets.
  std::vector<std::pair<std::string, std::vector<double>>> mean_shift;
  double mean_abs_shift = 0;     // mean over outputs and channels of |mean_shift|
  double max_abs_shift = 0;
};
OutputError output_error(const Graph& fp, const Graph& q, const std::map<std::string, FakeQuant>& fq,
                         const CalibrationSet& data);
double output_sqnr_db(const Graph& fp, const Graph& q, const std::map<std::string, FakeQuant>& fq,
                      const CalibrationSet& data);

}  // namespace qp
