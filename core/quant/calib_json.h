// Calibration options as the wasm API and the page send them (JSON), shared so both spell them one way.
#pragma once

#include <string>

#include "core/ir/graph.h"
#include "core/quant/calib.h"

namespace qp {

// {"samples": 16, "seed": 1, "lo": 0, "hi": 1, "mean": 0, "std": 0, "dims": {"N": 1}}: seeded random data
// (calib.h RandomCalibration); every field optional. Throws qp::Error naming the field.
RandomCalibration random_calibration_from_json(const std::string& json);

}  // namespace qp
