// Mixed-precision weights from measured sensitivity: each layer's output noise at each weight bit-width (only that
// layer's weights quantized), a greedy allocation that trades bytes for predicted output SNR (a Pareto front), chosen
// points verified by measurement, and MixQuant's allocations (§5) scored the same way at their sizes.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/quant/analysis/analysis.h"
#include "core/quant/mixquant.h"

namespace qp {

struct MixedOptions {
  std::vector<int> bits = {8, 7, 6, 5, 4, 3, 2};
  int verify = 4;                 // front points verified by measurement (spread evenly over the sizes), plus ends
  bool mixquant = true;           // score MixQuant's configurations (and the front point of the same size) too
  std::vector<double> qem = {1.5, 2, 3, 4, 8, 16};
  std::vector<Baseline> baselines = {Baseline::kLayer, Baseline::kModel};
};

struct Allocation {
  std::map<std::string, int> bits;     // layer node name -> weight bits (layers kept in float32 are absent)
  double weight_bytes = 0;             // quantized layers at their bits + float32 layers at 4 bytes
  double mean_bits = 0;                // parameter-weighted over the quantized layers
  double snr_pred_db = 0;              // -10 log10(sum over layers of the measured single-layer noise ratio)
  double snr_meas_db = std::numeric_limits<double>::quiet_NaN();  // all these weights quantized, measured
  double top1_agree = -1, accuracy = -1;
};

struct MixQuantPoint {
  double qem = 0;
  Baseline baseline = Baseline::kLayer;
  Allocation alloc;                    // MixQuant's bits, predicted and measured with the analysis' quantizer
  Allocation front;                    // the largest front point no bigger than it, measured
};

struct MixedReport {
  std::vector<std::string> layers;     // quantized layers, topological order
  std::vector<int64_t> params;
  std::vector<int> bits;               // the bit-widths swept
  std::vector<std::vector<double>> snr_db;  // [layer][bits index]: output SNR with only that layer's weights quantized
  std::vector<Allocation> front;       // from every layer at the largest bit-width down to all at the smallest
  std::vector<MixQuantPoint> mixquant;
  double fp32_bytes = 0;
  double cost = 0;                     // forward-pass equivalents
  double elapsed_ms = 0;
};

// Weights only (activations stay float32: the allocation is about weight bytes). Other weight settings from
// opt.weight; layers with an fp32 override stay float32. Throws qp::Error on a bad bit list.
MixedReport mixed_precision(LayerAnalyzer& an, const Graph& g, const AnalysisOptions& opt, const MixedOptions& mo = {},
                            const AnalysisCallback& progress = {});

// Greedy allocation over a sensitivity table (pure; what a size slider re-runs): starting from the largest bit-width
// everywhere, repeatedly lower the layer and bit-width with the least added noise per byte saved.
std::vector<Allocation> mixed_front(const std::vector<std::string>& layers, const std::vector<int64_t>& params,
                                    const std::vector<int>& bits, const std::vector<std::vector<double>>& nsr,
                                    double fp32_bytes_other);

}  // namespace qp
