// Runs one op outside any graph, for op tests: build a Node with attributes, hand it Values, get its outputs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/runtime/op_context.h"
#include "core/runtime/value.h"

namespace qp_test {

inline qp::Attribute attr_i(const std::string& n, int64_t v) {
  qp::Attribute a;
  a.name = n;
  a.type = qp::AttrType::kInt;
  a.i = v;
  return a;
}
inline qp::Attribute attr_f(const std::string& n, float v) {
  qp::Attribute a;
  a.name = n;
  a.type = qp::AttrType::kFloat;
  a.f = v;
  return a;
}
inline qp::Attribute attr_s(const std::string& n, const std::string& v) {
  qp::Attribute a;
  a.name = n;
  a.type = qp::AttrType::kString;
  a.s = v;
  return a;
}
inline qp::Attribute attr_ints(const std::string& n, std::vector<int64_t> v) {
  qp::Attribute a;
  a.name = n;
  a.type = qp::AttrType::kInts;
  a.ints = std::move(v);
  return a;
}
inline qp::Attribute attr_floats(const std::string& n, std::vector<float> v) {
  qp::Attribute a;
  a.name = n;
  a.type = qp::AttrType::kFloats;
  a.floats = std::move(v);
  return a;
}

// The message of the error `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Runs `op_type` on `inputs` (nullptr entries are omitted optional inputs) with `attrs`; `n_out` outputs.
// Throws what the op throws. `epilogue` lets linear-op tests exercise fused activations.
inline std::vector<qp::Value> run_op(const std::string& op_type, const std::vector<const qp::Value*>& inputs,
                                     const std::vector<qp::Attribute>& attrs = {}, size_t n_out = 1,
                                     int64_t opset = 17, qp::Epilogue epilogue = {},
                                     std::vector<bool> input_is_const = {}) {
  qp::Node node;
  node.name = "n0";
  node.op_type = op_type;
  node.op = qp::op_from_name("", op_type);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  for (size_t i = 0; i < n_out; ++i) node.outputs.push_back("out" + std::to_string(i));
  node.attrs = attrs;
  if (!qp::op_runnable(node.op)) throw qp::Error("op " + op_type + " is not runnable");
  std::vector<qp::Value> outs(n_out);
  std::shared_ptr<void> state;
  qp::OpContext ctx(node, outs, state);
  ctx.opset = opset;
  ctx.inputs = inputs;
  ctx.epilogue = epilogue;
  ctx.input_is_const = input_is_const.empty() ? std::vector<bool>(inputs.size(), false) : input_is_const;
  ctx.const_key = 0;
  qp::op_table()[static_cast<int>(node.op)](ctx);
  return outs;
}

}  // namespace qp_test
