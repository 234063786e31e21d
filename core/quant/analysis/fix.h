// The single-layer fix of ALGORITHMS.md §4.3, automated: the worst layer, whether its weights or its activations cause
// it, clipping tried on that layer alone and, for comparison, the same heuristic on every layer.
#pragma once

#include <string>
#include <vector>

#include "core/quant/analysis/analysis.h"

namespace qp {

struct FixOptions {
  // Clipping heuristics tried (range methods of §1.5). Defaults: MSE, percentile 99.99, ACIQ (mix).
  std::vector<RangeOptions> methods;
  std::string layer;  // the layer to fix; "" = the one with the largest noise share
  FixOptions();
};

struct FixTrial {
  RangeOptions method;
  LayerAnalyzer::Measurement local;   // the method on the chosen layer only
  LayerAnalyzer::Measurement global;  // the method on every layer (same target: weights or activations)
};

struct FixReport {
  std::string layer;
  size_t layer_index = 0;
  std::string cause;                  // "weights" or "activations": the quantizer with the larger output noise
  double snr_w_db = 0, snr_a_db = 0;  // the layer alone: weights only, activations only
  LayerAnalyzer::Measurement before;  // the configuration as given
  LayerAnalyzer::Measurement ceiling; // the layer kept in float32: the most any fix of this layer can give
  std::vector<FixTrial> trials;
  size_t best = 0;                    // trial with the highest local SNR
  AnalysisOptions fixed;              // the given options plus the best local fix as an override
  double cost = 0;                    // forward-pass equivalents
};

// Uses `rep` (an analysis of `opt` by the same analyzer) for the worst layer and its weight/activation split; when
// the report has no split (variants off, or only one of weights/activations quantized), the cause is the one
// quantized. Throws qp::Error when the named layer is unknown or nothing is quantized.
FixReport analysis_fix(LayerAnalyzer& an, const AnalysisOptions& opt, const AnalysisReport& rep,
                       const FixOptions& fo = FixOptions());

}  // namespace qp
