// Ops of the matmul family: Gemm (all opset forms) and MatMul (numpy semantics), float32, over the packed GEMM.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_gemm.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {

namespace {

// B packed once per constant value (one entry per batch of B), rebuilt when the constant inputs change.
struct PackedRhs {
  uint64_t key = 0;
  std::vector<int64_t> b_shape;
  bool trans = false;
  std::vector<F32PackedB> packed;
};

bool rhs_cacheable(const OpContext& ctx) {
  return ctx.const_key != 0 && ctx.input_is_const.size() > 1 && ctx.input_is_const[1];
}

// The cached packing of B (batches of k x n at `batch_stride`, element (k, n) at k * rs + n * cs).
const PackedRhs& cached_rhs(OpContext& ctx, const Value& b, bool trans, size_t batches, size_t batch_stride,
                            size_t k, size_t n, size_t rs, size_t cs) {
  auto st = std::static_pointer_cast<PackedRhs>(ctx.state);
  if (!st || st->key != ctx.const_key || st->b_shape != b.shape || st->trans != trans) {
    st = std::make_shared<PackedRhs>();
    st->key = ctx.const_key;
    st->b_shape = b.shape;
    st->trans = trans;
    st->packed.resize(batches);
    for (size_t i = 0; i < batches; ++i)
      f32_gemm_pack_b_full(b.f32() + i * batch_stride, k, n, rs, cs, st->packed[i]);
    ctx.state = st;
  }
  return *st;
}

F32GemmB rhs_per_block(const float* b, size_t rs, size_t cs) {
  F32GemmB src;
  src.pack = [b, rs, cs](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
    f32_gemm_pack_b(b, rs, cs, k0, kc, n0, nc, dst);
  };
  return src;
}

void op_gemm(OpContext& ctx) {
  for (size_t i = 0; i < 3; ++i) ctx.check_f32(i);
  const Value& a = ctx.req(0);
  const Value& b = ctx.req(1);
  const Value* c = ctx.opset < 11 ? &ctx.req(2) : ctx.in(2);
  if (a.rank() != 2) ctx.fail("A " + shape_str(a.shape) + " must be 2-D");
  if (b.rank() != 2) ctx.fail("B " + shape_str(b.shape) + " must be 2-D");
  const Node& node = ctx.node;
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  const int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  const int64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (k != kb)
    ctx.fail("A " + shape_str(a.shape) + " (transA " + std::to_string(ta) + ") and B " + shape_str(b.shape) +
             " (transB " + std::to_string(tb) + ") disagree on K: " + std::to_string(k) + " vs " + std::to_string(kb));
  // C broadcasts unidirectionally to [M, N]; before opset 7 only with broadcast=1, otherwise it must be [M, N].
  if (c) {
    const std::vector<int64_t> mn = {m, n};
    bool ok = c->rank() <= 2;
    for (size_t i = 0; ok && i < c->rank(); ++i) {
      const int64_t dc = c->shape[c->rank() - 1 - i], dy = mn[1 - i];
      ok = dc == dy || dc == 1;
    }
    if (ok && ctx.opset < 7 && node.attr_int("broadcast", 0) == 0) ok = c->shape == mn;
    if (!ok) ctx.fail("C " + shape_str(c->shape) + " does not broadcast to [M,N] = " + shape_str(mn));
  }
  Value& y = ctx.alloc(0, DType::kFloat32, {m, n});
  if (m == 0 || n == 0) return;
  float* yp = y.f32();

  F32GemmEpilogue ep = f32_gemm_epilogue(ctx.epilogue);
  ep.alpha = alpha;
  if (c && beta != 0.0f) {
    const int64_t cr = c->rank() == 2 ? c->shape[0] : 1, cc = c->rank() >= 1 ? c->shape[c->rank() - 1] : 1;
    if (beta == 1.0f && cr == 1 && cc == n && n > 1) {
      ep.bias_n = c->f32();
    } else if (beta == 1.0f && cc == 1 && cr == m && m > 1) {
      ep.bias_m = c->f32();
    } else {
      const float* cp = c->f32();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) yp[i * n + j] = beta * cp[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
      ep.accumulate = true;
    }
  }
  F32PackedA pa;
  f32_gemm_pack_a(a.f32(), static_cast<size_t>(m), static_cast<size_t>(k), ta ? 1 : static_cast<size_t>(k),
                  ta ? static_cast<size_t>(m) : 1, pa);
  const size_t rs = tb ? 1 : static_cast<size_t>(n), cs = tb ? static_cast<size_t>(k) : 1;
  F32GemmB src;
  if (rhs_cacheable(ctx)) {
    src.packed = &cached_rhs(ctx, b, tb, 1, 0, static_cast<size_t>(k), static_cast<size_t>(n), rs, cs).packed[0];
  } else {
    src = rhs_per_block(b.f32(), rs, cs);
  }
  f32_gemm_packed(static_cast<size_t>(m), static_cast<size_t>(n), static_cast<size_t>(k), pa, src, yp,
                  static_cast<size_t>(n), ep);
}

void op_matmul(OpContext& ctx) {
  for (size_t i = 0; i < 2; ++i) ctx.check_f32(i);
  const Value& a = ctx.req(0);
  const Value& b = ctx.req(1);
  if (a.rank() == 0 || b.rank() == 0)
    ctx.fail("A " + shape_str(a.shape) + " and B " + shape_str(b.shape) + " must have rank >= 1");
  // numpy: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the added dim is dropped from the result.
  std::vector<int64_t> as = a.shape, bs = b.shape;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), kb = bs[bs.size() - 2], n = bs.back();
  if (k != kb)
    ctx.fail("A " + shape_str(a.shape) + " and B " + shape_str(b.shape) + " disagree on K: " + std::to_string(k) +
             " vs " + std::to_string(kb));
  const std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  std::vector<int64_t> batch;
  if (!shape_broadcast(a_batch, b_batch, batch))
    ctx.fail("batch dims of A " + shape_str(a.shape) + " and B " + shape_str(b.shape) + " do not broadcast");
  std::vector<int64_t> y_shape = batch;
  if (a.rank() > 1) y_shape.push_back(m);
  if (b.rank() > 1) y_shape.push_back(n);
  Value& y = ctx.alloc(0, DType::kFloat32, y_shape);
  if (y.numel() == 0) return;

  const F32GemmEpilogue ep = f32_gemm_epilogue(ctx.epilogue);
  const size_t K = static_cast<size_t>(k), N = static_cast<size_t>(n), M = static_cast<size_t>(m);
  const int64_t b_batches = shape_prod(b_batch, 0, b_batch.size());
  const bool cache = rhs_cacheable(ctx);
  if (b_batches == 1) {
    // One B for every batch: A's batches are contiguous rows of one taller GEMM.
    const size_t rows = static_cast<size_t>(shape_prod(a_batch, 0, a_batch.size())) * M;
    F32PackedA pa;
    f32_gemm_pack_a(a.f32(), rows, K, K, 1, pa);
    F32GemmB src;
    if (cache) src.packed = &cached_rhs(ctx, b, false, 1, 0, K, N, N, 1).packed[0];
    else src = rhs_per_block(b.f32(), N, 1);
    f32_gemm_packed(rows, N, K, pa, src, y.f32(), N, ep);
    return;
  }
  const std::vector<int64_t> sa = shape_broadcast_strides(a_batch, batch), sb = shape_broadcast_strides(b_batch, batch);
  const PackedRhs* rhs =
      cache ? &cached_rhs(ctx, b, false, static_cast<size_t>(b_batches), K * N, K, N, N, 1) : nullptr;
  const int64_t total = shape_prod(batch, 0, batch.size());
  std::vector<int64_t> idx(batch.size(), 0);
  F32PackedA pa;
  for (int64_t t = 0; t < total; ++t) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < batch.size(); ++d) {
      ia += idx[d] * sa[d];
      ib += idx[d] * sb[d];
    }
    f32_gemm_pack_a(a.f32() + ia * static_cast<int64_t>(M * K), M, K, K, 1, pa);
    F32GemmB src;
    if (rhs) src.packed = &rhs->packed[static_cast<size_t>(ib)];
    else src = rhs_per_block(b.f32() + ib * static_cast<int64_t>(K * N), N, 1);
    f32_gemm_packed(M, N, K, pa, src, y.f32() + t * static_cast<int64_t>(M * N), N, ep);
    for (size_t d = batch.size(); d-- > 0;) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

void register_ops_matmul(OpTable& t) {
  t[static_cast<int>(Op::kGemm)] = op_gemm;
  t[static_cast<int>(Op::kMatMul)] = op_matmul;
}

}  // namespace qp
