// DFQ cross-layer equalization (ALGORITHMS.md §2.2, §2.5): the search for equalizable links (its own function, part
// of the report), pairs and conv -> depthwise -> conv triplets, one pass or iterated, and the per-layer weight SQNR
// that shows its effect.
#pragma once

#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/pass.h"

namespace qp {

enum class CleMode : uint8_t { kOnePass, kIterate };
enum class CleRange : uint8_t { kMaxAbs, kMaxMinusMin };
// What to do with a ReLU6 (Clip(0, 6), or any Clip(0, k)) between two layers:
//   kReplace: replace it by Relu and equalize (DFQ/AIMET); the fp32 deviation of the replacement is reported.
//   kBound:   keep it; per channel, with m_c = max pre-activation over the calibration data, the scale s_c (layer 1's
//             output channel is divided by s_c) is raised to at least m_c / k when m_c <= k, so the scaled channel
//             never reaches the clip either (identical clipping on that data), and fixed to 1 when m_c > k (the channel
//             clips; any other scale would move the clip point). Needs calibration data, else the link is refused.
//   kRefuse:  do not equalize across it.
enum class Relu6Policy : uint8_t { kReplace, kBound, kRefuse };

struct CleOptions {
  CleMode mode = CleMode::kOnePass;
  CleRange range = CleRange::kMaxAbs;
  Relu6Policy relu6 = Relu6Policy::kRefuse;
  bool triplets = true;     // conv -> depthwise -> conv solved in closed form; false: pairs only
  int max_sweeps = 100;     // kIterate: stop after this many sweeps ...
  double tol = 1e-4;        // ... or when max_i |log s_i| of a sweep is below tol
  double s_min = 1e-6, s_max = 1e6;  // scale guards (§2.5)
};

// One place where two layers meet (a "link", found by cle_find_links) or, after grouping, one equalization set.
struct CleLink {
  std::string kind;                  // "pair" or "triplet"
  std::vector<std::string> layers;   // node names: 2 (pair) or 3 (triplet); refused links: the layers reached (>= 1)
  std::vector<std::string> between;  // op types passed through, in order ("Relu", "MaxPool", "|" between hops)
  std::vector<std::string> relu6;    // names of Clip(0, k) nodes on the link
  bool accepted = false;
  std::string reason;                // why refused ("" when accepted)
};

// Every weighted layer's way forward: accepted pairs (each hop of a chain) and refused links with the reason
// (several consumers, graph output, non-homogeneous activation such as hardswish or an SE gate, residual Add,
// Concat, group != 1 and != depthwise, ReLU6 under kRefuse, weight shared, ...). Topological order.
std::vector<CleLink> cle_find_links(const Graph& g, const CleOptions& opt);

// The equalization sets: accepted links grouped as AIMET does (a chain splits into conv-dw-conv triplets where the
// middle layer is depthwise, pairs elsewhere); refused links are passed through unchanged.
std::vector<CleLink> cle_group_links(const Graph& g, const std::vector<CleLink>& links, const CleOptions& opt);

struct CleSetResult {
  CleLink link;
  // Layer 1's output channel i is divided by scale[0][i] and the next layer's input channel multiplied by it;
  // triplets have scale[1] for the second hop (s23). Cumulative over sweeps.
  std::vector<std::vector<double>> scale;
  // Per layer of the set: per-output-channel weight range (max|w| or max-min) before and after.
  std::vector<std::vector<double>> out_ranges_before, out_ranges_after;
  std::vector<int> bounded_channels;  // kBound: channels per hop whose scale the ReLU6 bound changed
};

struct CleResult {
  Graph graph;
  PassReport report;
  std::vector<CleLink> links;     // cle_find_links' answer (the search)
  std::vector<CleSetResult> sets; // what was equalized
  BnStatsMap bn_stats;            // the input's stats with beta, gamma divided by the layer's output scale
  int sweeps = 0;
  double last_max_log_scale = 0;  // max |log s| of the last sweep (kIterate convergence)
  std::vector<std::string> relu6_replaced;  // Clip nodes replaced by Relu (kReplace)
  // kReplace: the model before vs after the replacement alone, and the replaced model vs the result (the
  // equalization alone, which must be exact). report.verification compares the input with the result.
  std::vector<Verification> relu6_deviation, equalization_only;
};

// `data` (may be null): calibration data for the kBound policy and for verification. `bn` (may be null): stats of
// the layers' output channels from bn_fold, rescaled into the result.
CleResult cle_equalize(const Graph& g, const CleOptions& opt, const CalibrationSet* data = nullptr,
                       const BnStatsMap* bn = nullptr);

// Per-tensor symmetric weight SQNR (dB) of every quantizable layer at `bits` (quant_sweep), for before/after tables.
struct LayerSqnr {
  std::string layer, weight;
  double sqnr_db = 0;
};
std::vector<LayerSqnr> weight_sqnr(const Graph& g, int bits = 8);

std::string cle_mode_name(CleMode m);
std::string cle_range_name(CleRange r);
std::string relu6_policy_name(Relu6Policy p);

}  // namespace qp
