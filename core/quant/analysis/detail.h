// One layer in detail (issue 5 §6, "click a layer"): weight and activation histograms with the clipping range the
// analysis' quantizers use, clipped fractions, local SQNR, and the QE-vs-bits curve (local weight SQNR, model-output
// SNR with only this layer's weights quantized, local activation SQNR), plus the JSON the page plots (kind
// "layer_detail").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/quant/analysis/analysis.h"

namespace qp {

struct LayerDetailOptions {
  int bins = 64;                                // histogram bins, 1..4096
  std::vector<int> bits = {2, 3, 4, 5, 6, 7, 8};  // widths of the curve, each in 2..16
  // Model-output SNR per width: N fp32 passes (none for samples whose fp32 cache the analyzer kept) plus
  // N x |bits| suffix runs from the layer, the only part that costs forward passes. Off: the curve has the local
  // SQNRs only and the detail costs no pass.
  bool output_snr = true;
  bool act_curve = true;                        // local activation SQNR per width on the calibration subsample
};

// Throws qp::Error naming the bad field.
void layer_detail_options_validate(const LayerDetailOptions& o);
// {"bins": 64, "bits": [2, ..., 8], "output_snr": true, "act_curve": true}, every field optional (the wasm API and
// the CLI receive it so). Throws qp::Error naming the field ("detail.bins: must be an integer").
LayerDetailOptions layer_detail_options_from_json(const std::string& json);

// Equal-width bins over [lo, hi]; a value equal to hi falls in the last bin. When every value is the same, the bins
// span [v - 0.5, v + 0.5] so that the edges still increase.
struct Histogram {
  std::vector<double> edges;    // bins + 1
  std::vector<int64_t> counts;  // bins; sums to the finite values binned
};
Histogram histogram_build(const float* x, size_t n, double lo, double hi, int bins);

// What quantizing `x` with one set of parameters does to it, with the executor's float operations
// (fake_quant_apply): clipped = the rounded integer saturated at qmin or qmax.
struct QuantEffect {
  double signal = 0, noise = 0;  // sums of x^2 and of (x_hat - x)^2 (double)
  int64_t n = 0, clipped = 0;
};
void quant_effect_add(const float* x, size_t n, const QParams& p, Rounding r, QuantEffect& e);

// [lo, hi] a grid represents: ((qmin - zp) s, (qmax - zp) s). Values beyond it by more than s/2 are clipped.
std::pair<double, double> qparams_range(const QParams& p);

struct LayerDetail {
  size_t index = 0;
  Layer layer;
  std::string act_point;
  // A layer kept in float32 (override) or whose weight cannot be quantized: histograms and statistics only.
  bool skipped = false;
  std::string skip_reason;

  // Weights (has_weight: a float32 weight was found and histogrammed).
  bool has_weight = false;
  bool weights_quantized = true;  // opt.quantize_weights: the analysis quantizes them (the curve is shown either way)
  std::string weight_config;      // e.g. "8b sym channel minmax"
  int weight_bits = 0;
  int64_t weight_axis = -1;       // per-channel axis, or -1 for per tensor
  RangeStats weight_stats;        // over the whole tensor
  Histogram weight_hist;          // over [weight_stats.min, weight_stats.max]
  bool has_weight_range = false;  // false for a skipped layer
  double weight_lo = 0, weight_hi = 0;              // per tensor: the grid's range; per channel: the envelope
  std::vector<double> weight_ch_lo, weight_ch_hi;   // per channel (empty per tensor)
  double weight_clipped_frac = 0;
  double weight_sqnr_db = 0;      // local: the tensor against its fake-quantized copy

  // Activations at act_point: histogram over the calibration subsample, exact statistics over every value.
  bool has_act = false;
  bool acts_quantized = true;
  std::string act_config;
  int act_bits = 0;
  RangeStats act_stats;           // exact, over every sample
  int64_t act_subsample = 0;      // values in the histogram (a subsample of act_stats.n)
  Histogram act_hist;             // over [act_stats.min, act_stats.max]
  bool has_act_range = false;
  double act_range_lo = 0, act_range_hi = 0;  // the range method's choice (act_quantizer's lo, hi)
  double act_lo = 0, act_hi = 0;              // the grid's range (what actually clips)
  double act_clipped_frac = 0;                // on the subsample
  double act_sqnr_db = 0;                     // local, on the subsample

  // QE-vs-bits curve (empty for a skipped layer). NaN where not computed.
  std::vector<int> bits;
  std::vector<double> w_sqnr_db;    // local weight SQNR
  std::vector<double> out_nsr;      // model-output noise/signal, only this layer's weights quantized
  std::vector<double> out_snr_db;   // -10 log10(out_nsr)
  std::vector<double> a_sqnr_db;    // local activation SQNR on the subsample

  // Forward-pass equivalents of the output-SNR sweep (the local parts run no pass). Calibrating the activations
  // costs N more passes once per analyzer; the analysis has normally paid it already and it is not counted here.
  double cost = 0;
  double elapsed_ms = 0;
};

// Detail of layer `layer` (an index into a.layers()) under `opt`: the quantizers are exactly the analysis' ones
// (LayerAnalyzer::weight_quantizer / act_quantizer, overrides applied). `g` is the graph `a` analyses (for the
// weight values). Throws qp::Error for an index out of range ("layer index 12 is out of range: the model has 8
// quantizable layers"), or "analysis cancelled" from `progress`.
LayerDetail layer_detail(LayerAnalyzer& a, const Graph& g, size_t layer, const AnalysisOptions& opt,
                         const LayerDetailOptions& o = {}, const AnalysisCallback& progress = {});

// kind "layer_detail" (docs/json-schema.md). `indent` < 0 gives compact JSON; +inf dB is "inf", NaN null.
std::string layer_detail_json(const LayerDetail& d, int indent = -1);

}  // namespace qp
