// JSON of the layer-wise analysis (schema "quantplay/1", kind "analysis"), per-layer arrays the page plots directly,
// and analysis options from JSON (as the wasm API and the CLI receive them).
#pragma once

#include <string>

#include "core/quant/analysis/analysis.h"
#include "core/quant/analysis/fix.h"
#include "core/quant/analysis/mixed.h"

namespace qp {

// `indent` < 0 gives compact JSON. Non-finite numbers: +inf dB is written as the string "inf" (no noise), NaN as null.
std::string analysis_json(const AnalysisReport& r, int indent = -1);

// kind "analysis_fix": the layer, the cause, SNR before / with the layer in float32 / per method local and global,
// and the fixed options' overrides.
std::string fix_json(const FixReport& r, int indent = -1);
// kind "mixed_precision": the sensitivity table, the front (bytes, mean bits, predicted and measured SNR, bits per
// layer), and MixQuant's configurations beside the front point of the same size.
std::string mixed_json(const MixedReport& r, int indent = -1);

// Every field optional: {"weight": {"bits", "granularity": "tensor"|"channel", "scheme": "sym"|"asym",
// "range_mode": "restricted"|"full", "range": "minmax"|"percentile:99.9"|"mse"|"aciq[:laplace|gauss|mix]"},
// "act": {"bits", "scheme", "range"}, "quantize_weights", "quantize_activations", "variants",
// "overrides": {"<layer>": {"fp32": true} | {"weight": {...}, "act": {...}}}, "flag_snr_db", "flag_share",
// "flag_gain_z", "act_subsample"}. Override fields not given take the global value. Throws qp::Error naming the field.
AnalysisOptions analysis_options_from_json(const std::string& json);

// {"methods": ["mse", "percentile:99", ...], "layer": "name"}; every field optional.
FixOptions fix_options_from_json(const std::string& json);
// {"bits": [8, ..., 2], "verify": 4, "mixquant": true, "qem": [..], "baselines": ["layer", "model", "max"]}.
MixedOptions mixed_options_from_json(const std::string& json);

}  // namespace qp
