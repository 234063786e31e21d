// High-bias absorption (ALGORITHMS.md §2.2.5): move a per-channel constant c >= 0 out of layer 1's bias into layer
// 2's bias across a homogeneous activation, data-free from BN statistics or from calibration minima.
#pragma once

#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/pass.h"

namespace qp {

struct HbaOptions {
  bool use_data = true;            // with calibration data: c = max(0, min over the data of the pre-activation)
  double sigmas = 3;               // data-free: c = max(0, beta - sigmas * |gamma|)
  bool per_link_deviation = true;  // run the model once per link to report each link's own fp32 deviation
};

struct HbaLink {
  std::vector<std::string> layers;  // layer 1, layer 2
  std::vector<std::string> between;
  std::string source;               // "bn", "data", "whole_bias" (no activation between), "" when skipped
  bool applied = false;
  std::string reason;               // why skipped
  std::vector<double> absorbed;     // c per channel
  double absorbed_max = 0, absorbed_sum = 0;
  int channels_absorbed = 0;        // channels with c > 0
  double max_abs_dev = 0, max_rel_dev = 0;  // fp32 output deviation of this link alone (per_link_deviation)
};

struct HbaResult {
  Graph graph;
  PassReport report;           // report.verification: input vs result (not exact: HBA changes outputs slightly)
  std::vector<HbaLink> links;
  BnStatsMap bn_stats;         // beta of layer 1 lowered by c, beta of layer 2 raised by its bias change
};

// Links are cle_find_links' accepted pairs (ReLU6 refused: relu6(z - c) != relu6(z) - c above the clip).
// `data` (may be null) is used for the minima (opt.use_data) and for verification.
HbaResult hba(const Graph& g, const BnStatsMap& bn, const CalibrationSet* data = nullptr, const HbaOptions& opt = {});

}  // namespace qp
