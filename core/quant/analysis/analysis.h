// Layer-wise quantization analysis (ALGORITHMS.md §4.1-4.2): per-layer output SNR with only that layer quantized
// (weights, activations, both), noise shares, local SQNR and noise gain, the all-quantized SNR against the additive
// prediction, cumulative SNR, flags, classification agreement, and the cost in forward-pass equivalents.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/layers.h"
#include "core/quant/quantizer.h"
#include "core/quant/range.h"
#include "core/runtime/executor.h"

namespace qp {

struct LayerWeightConfig {
  int bits = 8;
  Granularity granularity = Granularity::kChannel;  // per channel on Layer::channel_axis
  Scheme scheme = Scheme::kSymmetric;               // symmetric: signed grid; asymmetric: unsigned [0, 2^b - 1]
  RangeMode range_mode = RangeMode::kRestricted;
  RangeOptions range;                               // computed on the weight itself
};

// Activations: per tensor, calibrated on the same data the analysis runs on. Symmetric ranges of data that is never
// negative use the unsigned grid (§1.2, one-tailed data).
struct LayerActConfig {
  int bits = 8;
  Scheme scheme = Scheme::kAsymmetric;
  RangeOptions range;
};

// What-if for one layer: replaces the global weight or activation config, or keeps the layer in float32.
struct LayerOverride {
  bool fp32 = false;
  bool has_weight = false;
  LayerWeightConfig weight;
  bool has_act = false;
  LayerActConfig act;
};

struct AnalysisOptions {
  LayerWeightConfig weight;
  LayerActConfig act;
  bool quantize_weights = true;
  bool quantize_activations = true;
  // Also the weight-only and activation-only runs per layer (3 runs per layer and sample instead of 1).
  bool variants = true;
  std::map<std::string, LayerOverride> overrides;  // layer node name -> override
  // Flags (§4.2): output SNR below this, share of the total noise above this, |robust z| of the gain above this.
  double flag_snr_db = 10;
  double flag_share = 0.5;
  double flag_gain_z = 3.5;
  // Activation calibration keeps exact min/max/mean/std per tensor and at most this many values (picked by a fixed
  // pseudo-random rule, spread evenly over the samples) for percentile/MSE/ACIQ and the Laplace scale.
  int act_subsample = 65536;
  // Each sample's fp32 values that the layer runs read (not every value: see LayerAnalyzer) are kept from the
  // calibration pass to the layer runs, and across analyses of the same LayerAnalyzer, while their total stays
  // within this many bytes (natively and in wasm alike); the samples beyond it get a second fp32 pass when their
  // turn comes, as before. 0: keep nothing. Results do not depend on it, only the cost.
  int64_t cache_budget_bytes = int64_t{256} << 20;
};

// Throws qp::Error naming the bad field.
void analysis_options_validate(const AnalysisOptions& o);

struct AnalysisProgress {
  std::string stage;     // "calibrate", "analyse"
  int sample = 0, samples = 0;
  int layer = 0, layers = 0;  // layer runs done within the current sample
  double fraction = 0;   // of the whole job, by estimated cost
  double elapsed_ms = 0, eta_ms = 0;
};
// Return false to cancel: the result holds the samples finished so far and is flagged `cancelled`, or, when not one
// sample was finished, qp::Error("analysis cancelled") is thrown.
using AnalysisCallback = std::function<bool(const AnalysisProgress&)>;

// Noise and signal powers summed over samples (double), per graph output; SNR from them (never by averaging dB).
struct NoiseStat {
  std::vector<double> noise;  // per output
  double nsr = 0;             // mean over outputs of noise_o / signal_o (outputs with zero signal left out)
  double snr_db = 0;          // -10 log10(nsr); +inf when no noise
};

struct LayerResult {
  Layer layer;
  std::string act_point;  // the quantized activation: the layer's output after a fused activation (see .cpp)
  bool skipped = false;   // fp32 override or a weight that cannot be quantized
  std::string skip_reason;
  std::string weight_config, act_config;  // e.g. "8b sym channel minmax", "8b asym minmax [lo, hi]"
  double act_lo = 0, act_hi = 0;          // calibrated activation range
  NoiseStat w, a, wa;                     // only this layer's weights / activations / both quantized
  double share = 0;                       // wa noise / sum over layers of wa noise
  double local_sqnr_db = 0;               // wa, at the act point (§4.1 SQNR_loc)
  double gain_db = 0;                     // local_sqnr_db - wa.snr_db
  double cumulative_snr_db = 0;           // all quantizers on, at the act point
  double top1_agree = -1;                 // wa: fraction of rows whose top-1 matches fp32 (-1: no class output)
  double cost = 0;                        // forward-pass equivalents spent on this layer's runs
  double cost_per_sample = 0;             // its runs' cost for one sample (also when taken from an earlier analysis)
  std::vector<std::string> flags;         // "low_snr", "dominant", "gain_outlier"
};

struct AnalysisReport {
  AnalysisOptions options;
  std::vector<std::string> outputs;       // graph output names
  std::vector<double> signal;             // per output: sum of y^2 over samples
  std::vector<LayerResult> layers;        // topological order (skipped ones included, with skipped = true)
  NoiseStat all;                          // every quantizer on (measured)
  double snr_pred_db = 0;                 // -10 log10(sum over layers of wa.nsr)
  double interaction_db = 0;              // snr_pred_db - all.snr_db
  std::vector<double> snr_pred_per_output;
  // Classification (a graph output [rows, classes, 1...]): agreement of the all-quantized top-1 with fp32, and
  // accuracy of both when the calibration set carries labels (-1 when not available).
  std::string class_output;
  double top1_agree = -1, accuracy_fp32 = -1, accuracy_quant = -1;
  int64_t rows = 0;
  int samples = 0;                        // samples used (fewer than the set's when cancelled)
  bool cancelled = false;
  std::string data_source;
  // Cost (§3 of issue 5): one forward-pass equivalent = the flops (2 x MACs of Conv/ConvTranspose/Gemm/MatMul) of one
  // full fp32 pass over one sample. `cost` counts every run the analysis made (calibration, fp32 caches, layer runs,
  // all-quantized runs); `naive_cost` = (runs per sample) x samples full passes, where runs per sample = 1 fp32
  // + layer runs + 1 all-quantized; `naive_wa_cost` = (L + 1) x samples.
  double cost = 0, naive_cost = 0, naive_wa_cost = 0;
  int64_t nodes_run = 0, nodes_per_pass = 0;
  double full_pass_flops = 0;
  int64_t layer_runs = 0;
  double elapsed_ms = 0;
  // The least a full analysis of this configuration can cost when every layer run recomputes only what lies
  // downstream of its quantizers: per sample one fp32 pass (reference and activation calibration together), one
  // all-quantized pass and the layer runs as measured (sum of cost_per_sample), times the samples. `cost` reaches
  // it when every sample's fp32 cache is kept (cache_budget_bytes); each sample beyond the budget adds one pass.
  double cost_floor = 0;
  // Memory bound: the kept caches (kept_bytes <= options.cache_budget_bytes, whole samples) plus, in flight, one
  // sample's cache and one recomputed suffix. A cache holds only what the layer runs read (the inputs of each
  // layer's downstream nodes produced outside them, the act points and the graph outputs), not every value.
  int64_t cache_bytes = 0;                // largest fp32 cache of one sample
  int64_t kept_bytes = 0;                 // fp32 caches held after the analysis
  int kept_samples = 0;                   // samples whose fp32 cache is held (no second fp32 pass for them)
};

struct ActCalibration;  // per-tensor activation statistics (analysis.cpp)

// Holds what stays valid between analyses of the same graph and data: the executors (with their packed weights),
// activation statistics, and per-layer results by configuration, so a what-if re-runs only the layers whose
// configuration changed (plus the all-quantized run). The graph and the data must outlive it.
class LayerAnalyzer {
 public:
  LayerAnalyzer(const Graph& g, const CalibrationSet& data);
  ~LayerAnalyzer();
  LayerAnalyzer(const LayerAnalyzer&) = delete;
  LayerAnalyzer& operator=(const LayerAnalyzer&) = delete;

  const std::vector<Layer>& layers() const;
  // The activation point of each layer (same order as layers()).
  const std::vector<std::string>& act_points() const;

  AnalysisReport analyse(const AnalysisOptions& opt, const AnalysisCallback& progress = {});

  // Only the all-quantized runs (plus fp32 references): the measured SNR, per-output noise, top-1 and accuracy.
  // Cheap way to score a configuration (the fix search and the mixed-precision verification use it).
  struct Measurement {
    NoiseStat all;
    double top1_agree = -1, accuracy = -1;
    double cost = 0;
  };
  Measurement measure(const AnalysisOptions& opt);

  // Weight-only output noise of each layer at each of `bits` (other settings from `opt.weight`), per layer:
  // nsr[layer][k]. Skipped layers get an empty row. For the mixed-precision search.
  std::vector<std::vector<double>> weight_bit_sensitivity(const AnalysisOptions& opt, const std::vector<int>& bits,
                                                          const AnalysisCallback& progress = {}, double* cost = nullptr);

  // The fake quantizer of a layer's weight / activation under `opt` (overrides applied); false when it stays fp32.
  bool weight_quantizer(size_t layer, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc = nullptr);
  bool act_quantizer(size_t layer, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc = nullptr,
                     double* lo = nullptr, double* hi = nullptr);
  // The activation calibration of a layer's act point (calibrating first if needed): exact statistics over every
  // sample and the kept subsample (at most opt.act_subsample values). `stats` may be null.
  const std::vector<float>& act_values(size_t layer, const AnalysisOptions& opt, RangeStats* stats = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot analysis.
AnalysisReport analyse_layers(const Graph& g, const CalibrationSet& data, const AnalysisOptions& opt,
                              const AnalysisCallback& progress = {});

// The tensor a layer's activation quantizer sits on: the layer's output, moved past a chain of single-consumer ops
// that integer kernels fuse into the layer (BatchNormalization, Relu, Clip, LeakyRelu, PRelu, HardSigmoid,
// HardSwish, and the bias Add of a MatMul), stopping at a graph output.
std::string layer_act_point(const Graph& g, const Layer& l);

// SNR from summed signal and noise: +inf for no noise, NaN for no signal.
double snr_from_nsr(double nsr);

}  // namespace qp
