// ONNX exporter: qp::Graph -> ModelProto bytes (the only other code besides the loader that sees protobuf types).
#pragma once

#include <cstdint>
#include <string>

#include "core/ir/graph.h"

namespace qp {

// Serialises the graph as an ONNX model. What the bytes hold:
// - ir_version, opset imports, domain, doc string, graph name, metadata as in the Graph; producer_name becomes
//   "quantplay" (producer_version the project's version) and the original producer is kept in the metadata entry
//   "quantplay.original_producer" (added once: a re-export keeps the first one);
// - inputs, outputs and value_info with element types and shapes (symbolic dims kept as dim_param); for
//   ir_version < 4 the initializers are listed as graph inputs too, as those IR versions require;
// - nodes in the Graph's (topological) order with every attribute type the IR keeps;
// - weights that came from initializers as initializers (raw_data, inline: external data is written inline);
//   weights that came from Constant nodes as Constant nodes (named after their output, placed first);
// - float16/bfloat16 weights (widened to float32 at load) are converted back to their stored type
//   (round to nearest even), so the graph type-checks as before: for unchanged weights this is exact.
// Throws qp::Error naming the node or tensor for what the IR cannot write back: a node with a subgraph attribute
// (If/Loop/Scan bodies are not kept), an attribute of a type the IR does not keep (sparse tensors, type protos),
// string tensors (their data is not held), data that does not match its shape, or a model over 2 GiB.
std::string onnx_save(const Graph& g);

// The metadata key that keeps the producer the model had before quantplay wrote it.
constexpr const char* kOriginalProducerKey = "quantplay.original_producer";

}  // namespace qp
