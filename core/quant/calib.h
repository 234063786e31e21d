// Calibration data: N samples of model inputs (seeded random, raw tensors, images) that passes and the analysis
// run the model on. Samples are owned Values by graph input name.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/runtime/value.h"

namespace qp {

using Sample = std::map<std::string, Value>;  // graph input name -> tensor (owned storage)

struct CalibrationSet {
  std::vector<Sample> samples;
  std::string source;  // for reports: "random (seed 1, uniform [0, 1), 16 samples)", "3 .npy files in data/", ...
};

// Random calibration data shaped from the model's inputs (symbolic dims from `dims`, else 1): float inputs
// uniform in [lo, hi) or, when std > 0, normal(mean, std); integer inputs in [0, 10). Sample i uses seed + i,
// so the same call gives the same data natively and in wasm.
struct RandomCalibration {
  int samples = 16;
  uint64_t seed = 1;
  float lo = 0.0f, hi = 1.0f;
  float mean = 0.0f, std = 0.0f;
  std::map<std::string, int64_t> dims;
};
CalibrationSet calibration_random(const Graph& g, const RandomCalibration& opt);

}  // namespace qp
