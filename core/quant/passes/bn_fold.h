// BatchNormalization folding into the preceding Conv / ConvTranspose / Gemm (ALGORITHMS.md §2.1), Gemm alpha/beta
// folding, and PP-OCR's "learnable affine" Mul/Add-by-constant after a conv where folding it is exact.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/passes/pass.h"

namespace qp {

// What the folded BN said about a layer's output channels: under BN's assumption, output channel c of the folded
// layer has mean beta[c] and standard deviation |gamma[c]| (before the activation). Later passes that rescale the
// layer's output channels (CLE) must rescale these too; analytic bias correction and data-free HBA read them.
struct BnStats {
  std::vector<float> beta, gamma;
};
// Layer (node name of the Conv/ConvTranspose/Gemm) -> statistics of its output channels.
using BnStatsMap = std::map<std::string, BnStats>;

struct BnFoldResult {
  Graph graph;
  PassReport report;
  BnStatsMap bn_stats;  // one entry per layer a BN was folded into
  std::vector<std::pair<std::string, std::string>> folded;   // (BN or affine node, layer it went into)
  std::vector<std::pair<std::string, std::string>> refused;  // (node, reason): several consumers, graph output, ...
};

// `verify` (may be null): data to verify the result on besides the seeded random inputs (see pass.h).
BnFoldResult bn_fold(const Graph& g, const CalibrationSet* verify = nullptr);

}  // namespace qp
