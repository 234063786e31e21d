// OpContext helpers and the op table assembled from the family registrars.
#include "core/runtime/op_context.h"

namespace qp {

const Value& OpContext::req(size_t i) const {
  const Value* v = in(i);
  if (!v) {
    const std::string nm = i < node.inputs.size() && !node.inputs[i].empty() ? " ('" + node.inputs[i] + "')" : "";
    fail("input " + std::to_string(i) + nm + " is required");
  }
  return *v;
}

Value& OpContext::alloc(size_t i, DType t, std::vector<int64_t> shape) {
  if (i >= outputs.size()) fail("op wrote output " + std::to_string(i) + " but the node has " +
                                std::to_string(outputs.size()) + " outputs");
  for (int64_t d : shape)
    if (d < 0) fail("output " + std::to_string(i) + " would have a negative dim: " + shape_str(shape));
  // Element counts come from the model's data: refuse what cannot fit before size_t (32-bit in wasm) wraps.
  const int64_t n = shape_numel(shape);
  const double bytes = static_cast<double>(n) * static_cast<double>(dtype_bytes(t));
  const double cap = sizeof(size_t) == 4 ? 4294967295.0 : 17179869184.0;  // wasm heap limit; 16 GiB natively
  if (bytes > cap)
    fail("output " + std::to_string(i) + " would be " + dtype_name(t) + " " + shape_str(shape) + " (" +
         std::to_string(static_cast<int64_t>(bytes / 1048576)) + " MiB): too large to allocate");
  outputs[i] = allocator ? allocator(t, shape) : value_alloc(t, shape);
  return outputs[i];
}

Value& OpContext::alias(size_t i, size_t j, std::vector<int64_t> shape) {
  const Value& src = req(j);
  if (i >= outputs.size()) fail("op wrote output " + std::to_string(i) + " beyond the node's outputs");
  if (shape_numel(shape) != src.numel())
    fail("cannot view " + src.describe() + " as " + shape_str(shape) + ": element counts differ");
  Value v = src;
  v.shape = std::move(shape);
  outputs[i] = std::move(v);
  return outputs[i];
}

void OpContext::fail(const std::string& msg) const { throw Error(node.describe() + ": " + msg); }

const Value& OpContext::req_f32(size_t i) const {
  const Value& v = req(i);
  check_f32(i);
  return v;
}

void OpContext::check_f32(size_t i) const {
  const Value* v = in(i);
  if (v && v->dtype != DType::kFloat32)
    fail("input " + std::to_string(i) + " is " + dtype_name(v->dtype) + "; only float32 is supported");
}

const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable t{};
#define QP_REGISTER_FAMILY(f) register_ops_##f(t);
    QP_OP_FAMILIES(QP_REGISTER_FAMILY)
#undef QP_REGISTER_FAMILY
    return t;
  }();
  return table;
}

}  // namespace qp
