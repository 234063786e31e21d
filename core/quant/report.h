// JSON reports (schema "quantplay/1", documented in docs/json-schema.md) and JSON options, shared by CLI and wasm.
#pragma once

#include <cstddef>
#include <string>

#include "core/ir/graph.h"
#include "core/quant/mixquant.h"
#include "core/quant/sweep.h"

namespace qp {

constexpr const char* kSchema = "quantplay/1";

// `indent` < 0 gives compact JSON.
std::string inspect_json(const Graph& g, const std::string& file, size_t file_bytes, int indent = -1);
std::string sweep_json(const SweepReport& r, int indent = -1);
// include_sweep = false leaves out the sweep body (layer names and the quantizer stand in for it).
std::string mixquant_json(const MixQuantReport& r, bool include_sweep = true, int indent = -1);

// Options as the wasm API receives them (a JSON object; every field optional). Throws qp::Error naming the
// field: "options.bits[2]: 17 is outside 2..16".
SweepOptions sweep_options_from_json(const std::string& json);
MixQuantOptions mixquant_options_from_json(const std::string& json);

// Op type -> count, and the ops the table does not know, for `inspect` and the page.
struct OpCount {
  std::string op_type, domain;
  int64_t count = 0;
  bool supported = true;
  std::vector<std::string> nodes;  // first few node names, for unsupported ops
};
std::vector<OpCount> op_counts(const Graph& g);

// Elements in all weight tensors (initializers + Constant-node tensors).
int64_t weight_parameters(const Graph& g);

}  // namespace qp
