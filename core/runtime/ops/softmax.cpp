// Softmax and LogSoftmax: the opset < 13 form flattens to 2-D at `axis`, opset >= 13 normalises along `axis`.
#include <cstdint>
#include <string>

#include "core/runtime/kernels/f32_softmax.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

void softmax_common(OpContext& ctx, bool log) {
  const Value& x = ctx.req_f32(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const bool coerce_2d = ctx.opset < 13;
  int64_t axis = ctx.node.attr_int("axis", coerce_2d ? 1 : -1);
  const int64_t given = axis;
  if (rank == 0 || !axis_normalize(axis, rank))
    ctx.fail("axis " + std::to_string(given) + " is out of range for input " + x.describe());
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = shape_prod(x.shape, 0, a);
  const int64_t n = coerce_2d ? shape_prod(x.shape, a, x.rank()) : x.shape[a];
  const int64_t inner = coerce_2d ? 1 : shape_prod(x.shape, a + 1, x.rank());
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  if (x.numel() == 0) return;
  f32_softmax(x.f32(), y.f32(), static_cast<size_t>(outer), static_cast<size_t>(n), static_cast<size_t>(inner), log);
}

void op_softmax(OpContext& ctx) { softmax_common(ctx, false); }
void op_log_softmax(OpContext& ctx) { softmax_common(ctx, true); }

}  // namespace

void register_ops_softmax(OpTable& t) {
  t[static_cast<int>(Op::kSoftmax)] = op_softmax;
  t[static_cast<int>(Op::kLogSoftmax)] = op_log_softmax;
}

}  // namespace qp
