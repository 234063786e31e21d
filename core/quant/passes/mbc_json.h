// JSON of the Meller equalization and bias-correction results (schema "quantplay/1", kinds "meller" and
// "bias_correction"), per-layer arrays the page plots directly.
#pragma once

#include <string>

#include "core/quant/passes/bias_correction.h"
#include "core/quant/passes/meller.h"

namespace qp {

// `indent` < 0 gives compact JSON. `with_scales` false leaves out the per-channel scale / delta vectors.
std::string meller_json(const MellerResult& r, bool with_scales = true, int indent = -1);
std::string bias_correction_json(const BiasCorrectionResult& r, bool with_deltas = true, int indent = -1);

}  // namespace qp
