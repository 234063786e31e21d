// The equalization pipeline of ALGORITHMS.md §8.1 as one call: BN fold -> DFQ CLE (+ HBA) or Meller one/two-step
// -> bias correction, each step's report kept, and the effect table (model-output SQNR of quantized variants).
#pragma once

#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/passes/bias_correction.h"
#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/cle.h"
#include "core/quant/passes/hba.h"
#include "core/quant/passes/meller.h"
#include "core/quant/passes/wq.h"

namespace qp {

enum class EqualizeMethod : uint8_t { kNone, kDfq, kMeller };

struct PipelineOptions {
  bool bn_fold = true;
  EqualizeMethod equalize = EqualizeMethod::kDfq;
  CleOptions cle;
  bool hba = false;  // DFQ only
  HbaOptions hba_options;
  MellerOptions meller;  // two_steps selects two-step
  bool bias_correction = false;
  BiasCorrectionOptions bc;  // bc.weights: the weight quantizer the corrections target
};

struct PipelineResult {
  Graph graph;
  std::vector<std::string> steps;       // "bn_fold", "cle", "hba", "meller", "bias_correction" as run
  std::vector<std::string> step_json;   // each step's own JSON report (passes_json.h / mbc_json.h), same order
  BnStatsMap bn_stats;                  // after every step
  Verification verification;            // fp32: input vs result on the calibration data (or random inputs)
  double ms = 0;                        // all steps, their own verifications included
};

// Needs `data` for Meller, data-based HBA, the ReLU6 "bound" policy and empirical/iterative bias correction
// (throws qp::Error naming the step otherwise).
PipelineResult run_pipeline(const Graph& g, const PipelineOptions& opt, const CalibrationSet* data);

// The wasm/CLI spelling (every field optional):
// {"bn_fold": true, "equalize": "dfq"|"meller"|"none", "cle_mode": "one_pass"|"iterate", "cle_range":
//  "max_abs"|"max_minus_min", "relu6": "refuse"|"replace"|"bound", "triplets": true, "hba": false, "hba_source":
//  "data"|"bn", "meller_two_step": false, "bias_correction": "off"|"analytic"|"empirical"|"iterative",
//  "bits": 8, "granularity": "tensor"|"channel", "scheme": "sym"|"asym", "range": "minmax"|...}
// Throws qp::Error naming the field.
PipelineOptions pipeline_options_from_json(const std::string& json);

// kind "equalize": {"steps": [each step's report], "verification": {...}, "ms"}
std::string pipeline_json(const PipelineResult& r, int indent = -1);

// The effect table (issue 4 §3): model-output SQNR against the fp32 model for each variant, with all weights
// quantized per tensor at each of `bits` (symmetric, min-max unless `weights` says otherwise), weights only and
// with 8-bit asymmetric per-tensor activations (min-max on `data`) too, and top-1 agreement / accuracy for
// classification outputs.
struct EffectRow {
  std::string variant;  // "none", "cle", "cle+hba", "cle+hba+bc", "meller1", "meller2"
  int bits = 8;
  double sqnr_w = 0, sqnr_wa = 0;        // dB: weights only; weights + activations
  double mean_abs_shift_w = 0;           // mean |mean output shift| (weights only)
  double top1_agree_w = -1, top1_agree_wa = -1;  // fraction of samples whose argmax matches fp32 (-1: not a classifier)
  double accuracy_w = -1, accuracy_wa = -1;      // with labels
  double fp32_dev = 0;  // fp32 max |Δy|/max|y| of the variant against the input model (before bias correction)
  double ms = 0;                         // time of the variant's passes
};
struct EffectOptions {
  std::vector<int> bits = {8, 4};
  WeightQuantConfig weights;  // spec.bits is replaced by each entry of `bits`
  std::vector<std::string> variants = {"none", "cle", "cle+hba", "cle+hba+bc", "meller1", "meller2"};
  std::vector<int64_t> labels;  // per sample, for accuracy (empty: none)
  // DFQ across ReLU6: "bound" keeps the model exact on the calibration data (ALGORITHMS.md §2.3.6's argument).
  Relu6Policy relu6 = Relu6Policy::kBound;
};
// `data` calibrates (passes, activation ranges); `eval` (may be null: `data`) is what the SQNR and top-1 are
// measured on, and what `opt.labels` label.
std::vector<EffectRow> pipeline_effect(const Graph& g, const CalibrationSet& data, const EffectOptions& opt,
                                       const CalibrationSet* eval = nullptr);
std::string effect_json(const std::vector<EffectRow>& rows, int indent = -1);

}  // namespace qp
