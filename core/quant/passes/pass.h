// Graph passes: pure functions, graph in, graph + report out (the input graph is never modified).
// Every function-preserving pass verifies itself: it runs the fp32 model before and after on the same inputs
// and reports max |Δy| / max |y| per output.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"

namespace qp {

// fp32 outputs of two graphs on the same inputs.
struct Verification {
  std::string inputs;  // what was run: "random (seed 1, ...)" or the calibration set's source
  int samples = 0;
  double max_rel_dev = 0;  // max over outputs and samples of max|y_after - y_before| / max|y_before|
  double max_abs_dev = 0;  // max over outputs and samples of max|y_after - y_before|
  std::vector<std::pair<std::string, double>> per_output;  // output name -> max_rel_dev
};

// Runs `before` and `after` (same inputs and outputs by name) on every sample of `data`. Throws qp::Error when
// either graph cannot run or the outputs differ in name or shape.
Verification verify_function(const Graph& before, const Graph& after, const CalibrationSet& data);

// Common report of a pass; pass-specific details live in the pass's own result struct beside it.
struct PassReport {
  std::string pass;                 // "bn_fold", "cle", "hba", "meller", "bias_correction", ...
  std::vector<std::string> notes;   // human-readable findings ("folded 57 BatchNormalization nodes", ...)
  std::vector<std::string> changed_weights;  // names of weights the pass rewrote or added
  std::vector<Verification> verification;    // random inputs first, then calibration data when given
  double ms = 0;                    // wall time of the transformation itself (verification excluded)
};

}  // namespace qp
