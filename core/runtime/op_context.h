// What an op kernel sees while it runs: its node, inputs, output allocation, fused epilogue and prepared state.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/error.h"
#include "core/ir/graph.h"
#include "core/runtime/value.h"

namespace qp {

// An activation the planner fused into the producing Conv/ConvTranspose/Gemm/MatMul (applied after the bias).
enum class Act : uint8_t { kNone, kRelu, kClip, kLeakyRelu };
struct Epilogue {
  Act act = Act::kNone;
  float a = 0, b = 0;  // kClip: min, max; kLeakyRelu: alpha
};

class OpContext {
 public:
  const Node& node;
  int64_t opset = 0;                 // the model's default-domain opset
  std::vector<const Value*> inputs;  // one per node input; nullptr for an omitted optional input ("")
  std::vector<Value>& outputs;       // one per node output, filled by the op
  Epilogue epilogue;                 // non-kNone only for the ops listed above, when the planner fused one
  // Per-node state an op may keep across runs (packed weights, ...). `const_key` identifies the values of the
  // inputs marked in `input_is_const` (weights, folded constants); it changes whenever one of them changes
  // (substituted, fake-quantized) and is 0 when no input is constant. An op that caches data derived from an
  // input must check that input is constant and rebuild when const_key differs from the key it stored.
  std::shared_ptr<void>& state;
  uint64_t const_key = 0;
  std::vector<bool> input_is_const;  // per input: a weight (or folded constant)

  OpContext(const Node& n, std::vector<Value>& outs, std::shared_ptr<void>& st) : node(n), outputs(outs), state(st) {}

  size_t num_inputs() const { return inputs.size(); }
  // Input i or nullptr when absent (omitted or beyond the node's inputs).
  const Value* in(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  // Input i; throws "node 'x' (Op): input 2 ('name') is required" when absent.
  const Value& req(size_t i) const;
  // Allocates output i (zero-filled only when the allocator must; ops write every element).
  Value& alloc(size_t i, DType t, std::vector<int64_t> shape);
  // Output i shares input j's storage with a new shape (same numel; checked).
  Value& alias(size_t i, size_t j, std::vector<int64_t> shape);
  // Throws qp::Error "node 'x' (Op): <msg>".
  [[noreturn]] void fail(const std::string& msg) const;
  // Input i, which must be present and float32: "input 0 is int8; only float32 is supported".
  const Value& req_f32(size_t i) const;
  // The same check for an optional input, when it is present.
  void check_f32(size_t i) const;

  // Set by the executor: allocates from its buffer pool.
  std::function<Value(DType, const std::vector<int64_t>&)> allocator;
};

// One function per op: reads ctx.inputs and the node's attributes, checks them (errors name the node and say
// what was expected), allocates and fills ctx.outputs.
using OpFn = void (*)(OpContext&);
using OpTable = std::array<OpFn, kOpCount>;

// The table of every op the runtime can run (nullptr: not yet). Filled once by the family registrars.
const OpTable& op_table();
inline bool op_runnable(Op op) { return op != Op::kUnsupported && op_table()[static_cast<int>(op)] != nullptr; }

// Family registrars, one per file in core/runtime/ops/ (ops/<family>.cpp defines register_ops_<family>).
#define QP_OP_FAMILIES(X) \
  X(elementwise) X(conv) X(matmul) X(shape) X(layout) X(resize) X(norm) X(softmax) X(pool) X(reduce) X(quantize)
#define QP_DECLARE_FAMILY(f) void register_ops_##f(OpTable& t);
QP_OP_FAMILIES(QP_DECLARE_FAMILY)
#undef QP_DECLARE_FAMILY

}  // namespace qp
