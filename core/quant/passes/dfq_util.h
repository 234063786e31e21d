// Internal helpers of the BN-fold, CLE and HBA passes: graph indexes, weight channel layouts, copy-on-write weights,
// the seeded random verification set, and a wall clock.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/passes/pass.h"
#include "core/runtime/value.h"

namespace qp {
namespace dfq {

// Who reads and who writes each value of a graph (node indices into g.nodes); graph outputs count as readers.
struct GraphIndex {
  std::map<std::string, std::vector<size_t>> consumers;
  std::map<std::string, size_t> producer;
  std::set<std::string> outputs;
  std::map<std::string, int> weight_uses;  // weight name -> node inputs reading it
  explicit GraphIndex(const Graph& g);
  size_t n_consumers(const std::string& v) const;
  bool is_output(const std::string& v) const { return outputs.count(v) != 0; }
};

// Output/input channel of every element of a layer's weight (ALGORITHMS.md §0 axes). Layers: Conv, ConvTranspose,
// Gemm with a constant B (alpha folded or not: callers check).
struct WeightChannels {
  int64_t out_channels = 0, in_channels = 0, groups = 1;
  std::vector<int32_t> out_ch, in_ch;  // per element of the weight
};
// Empty `reason` when the layer has a float32 constant weight of a layout we understand.
bool layer_weight_channels(const Graph& g, const Node& n, WeightChannels& wc, std::string& reason);
bool is_weighted_layer(const Node& n);

// A name not used by any weight or node value of `g`, starting from `base`.
std::string fresh_name(const Graph& g, const std::string& base);

// The weight input `slot` of node `ni`, writable: in place when only this node reads it, else copied to a fresh
// name the node now reads (the other readers keep the original). Records the name in `changed` once.
Tensor& writable_input(Graph& g, GraphIndex& ix, size_t ni, size_t slot, const std::string& pass,
                       std::vector<std::string>& changed);

// The per-output-channel bias of a layer, writable (created as zeros when absent, Gemm's C broadcast from a scalar
// or [1,N] widened to [N]). Returns null with `reason` when the bias cannot hold one value per channel.
float* writable_bias(Graph& g, GraphIndex& ix, size_t ni, int64_t channels, const std::string& pass,
                     std::vector<std::string>& changed, std::string& reason);
// Read-only view of the bias (empty vector when the layer has none = zeros); false when not per-channel.
bool read_bias(const Graph& g, const Node& n, int64_t channels, std::vector<double>& bias);

void note_changed(std::vector<std::string>& changed, const std::string& name);

// Seeded random inputs for verification: symbolic batch dims 1, other symbolic dims 64 (a multiple of 32, as
// PP-OCR det needs), uniform [0, 1).
CalibrationSet verification_random(const Graph& g, int samples = 2, uint64_t seed = 1);
// Runs verify_function on random inputs and, if given, on `data`; failures to run become notes, not errors.
void verify_into(const Graph& before, const Graph& after, const CalibrationSet* data, PassReport& rep);

double now_ms();

// Per channel (axis 1) maximum (or minimum) of a float32 [N, C, ...] value over every other axis; empty when the value
// is not float32 [N, channels, ...].
std::vector<double> channel_extreme(const Value& v, int64_t channels, bool max);

}  // namespace dfq
}  // namespace qp
