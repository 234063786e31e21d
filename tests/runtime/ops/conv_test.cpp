// Conv and ConvTranspose ops: hand-checked values, auto_pad forms, 1-D/2-D/3-D and groups against the reference,
// fused epilogues, packed-weight caching by const_key, and pinned error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_conv.h"
#include "tests/support/op_runner.h"

using namespace qp;
using namespace qp_test;

namespace {

Value rand_value(std::mt19937& gen, std::vector<int64_t> shape) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = u(gen);
  return value_f32(std::move(shape), v);
}

void check_close(const Value& got, const std::vector<int64_t>& shape, const std::vector<float>& want) {
  REQUIRE(got.shape == shape);
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got.f32()[i] == doctest::Approx(want[i]).epsilon(1e-5));
  }
}

// The reference for a Conv with explicit begin pads and a given output size.
std::vector<float> conv_ref(const Value& x, const Value& w, const Value* b, int64_t groups,
                            const std::vector<int64_t>& out, const std::vector<int64_t>& s,
                            const std::vector<int64_t>& d, const std::vector<int64_t>& pad_begin, bool transpose,
                            Act act = Act::kNone, float a = 0, float bb = 0) {
  F32ConvNdGeom g;
  g.batch = static_cast<size_t>(x.shape[0]);
  g.c_in = static_cast<size_t>(x.shape[1]);
  g.c_out = static_cast<size_t>(transpose ? w.shape[1] * groups : w.shape[0]);
  g.groups = static_cast<size_t>(groups);
  g.in.assign(x.shape.begin() + 2, x.shape.end());
  g.out = out;
  g.k.assign(w.shape.begin() + 2, w.shape.end());
  g.s = s;
  g.d = d;
  g.pad = pad_begin;
  std::vector<float> y(g.batch * g.c_out * static_cast<size_t>(shape_numel(out)));
  if (transpose) f32_conv_transpose_ref(x.f32(), w.f32(), b ? b->f32() : nullptr, y.data(), g, act, a, bb);
  else f32_conv_ref(x.f32(), w.f32(), b ? b->f32() : nullptr, y.data(), g, act, a, bb);
  return y;
}

void check_vs(const Value& got, const std::vector<float>& want, float tol = 1e-5f) {
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got.f32()[i] - want[i]) <= tol * std::max(1.0f, std::fabs(want[i])))) {
      if (++bad <= 3) {
        INFO("element " << i << " got " << got.f32()[i] << " want " << want[i]);
        CHECK(false);
      }
    }
  CHECK(bad == 0);
}

// Runs a node with a persistent state and a chosen const_key, as the executor does across runs.
Value run_keyed(const std::string& op, const std::vector<const Value*>& in, const std::vector<Attribute>& attrs,
                std::shared_ptr<void>& state, uint64_t key) {
  Node node;
  node.name = "n0";
  node.op_type = op;
  node.op = op_from_name("", op);
  for (size_t i = 0; i < in.size(); ++i) node.inputs.push_back("in" + std::to_string(i));
  node.outputs = {"out0"};
  node.attrs = attrs;
  std::vector<Value> outs(1);
  OpContext ctx(node, outs, state);
  ctx.opset = 17;
  ctx.inputs = in;
  ctx.const_key = key;
  ctx.input_is_const = std::vector<bool>(in.size(), true);
  ctx.input_is_const[0] = false;
  op_table()[static_cast<int>(node.op)](ctx);
  return outs[0];
}

}  // namespace

TEST_CASE("conv: basic 3x3 with and without padding (hand values)") {
  std::vector<float> xs(25);
  for (int i = 0; i < 25; ++i) xs[i] = static_cast<float>(i);
  const Value x = value_f32({1, 1, 5, 5}, xs);
  const Value w = value_f32({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  auto y = run_op("Conv", {&x, &w}, {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1})});
  check_close(y[0], {1, 1, 5, 5}, {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                   93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
  y = run_op("Conv", {&x, &w});
  check_close(y[0], {1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162});
}

TEST_CASE("conv: auto_pad SAME_UPPER, SAME_LOWER and VALID equal explicit pads") {
  std::mt19937 gen(11);
  const Value x = rand_value(gen, {1, 3, 7, 8}), w = rand_value(gen, {4, 3, 4, 3}), b = rand_value(gen, {4});
  // SAME with stride 2: out = ceil(in / 2) = 4 x 4; total pads = (4-1)*2 + k - in: 3 (h), 1 (w); the odd cell
  // goes to the end for SAME_UPPER and to the beginning for SAME_LOWER.
  auto upper = run_op("Conv", {&x, &w, &b}, {attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})});
  auto lower = run_op("Conv", {&x, &w, &b}, {attr_s("auto_pad", "SAME_LOWER"), attr_ints("strides", {2, 2})});
  auto upper_x = run_op("Conv", {&x, &w, &b}, {attr_ints("pads", {1, 0, 2, 1}), attr_ints("strides", {2, 2})});
  auto lower_x = run_op("Conv", {&x, &w, &b}, {attr_ints("pads", {2, 1, 1, 0}), attr_ints("strides", {2, 2})});
  REQUIRE(upper[0].shape == std::vector<int64_t>{1, 4, 4, 4});
  REQUIRE(upper_x[0].shape == std::vector<int64_t>{1, 4, 4, 4});
  check_vs(upper[0], std::vector<float>(upper_x[0].f32(), upper_x[0].f32() + 64));
  check_vs(lower[0], std::vector<float>(lower_x[0].f32(), lower_x[0].f32() + 64));
  auto valid = run_op("Conv", {&x, &w}, {attr_s("auto_pad", "VALID"), attr_ints("pads", {0, 0, 0, 0})});
  CHECK(valid[0].shape == std::vector<int64_t>{1, 4, 4, 6});
}

TEST_CASE("conv: seeded random 1-D, 2-D (groups, depthwise, dilation) and 3-D against the reference") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
    const size_t nd = seed % 5 == 0 ? 3 : (seed % 3 == 0 ? 1 : 2);
    const int64_t groups = seed % 4 == 1 ? pick(2, 4) : 1;
    const bool depthwise = seed % 8 == 1;
    const int64_t cg = depthwise ? 1 : pick(1, 4), mg = depthwise ? pick(1, 2) : pick(1, 5);
    std::vector<int64_t> xs = {pick(1, 2), cg * groups}, ws = {mg * groups, cg}, s, d, pads(2 * nd), out;
    for (size_t i = 0; i < nd; ++i) {
      const int64_t in = pick(nd == 3 ? 2 : 3, nd == 3 ? 6 : 19), k = pick(1, 4);
      xs.push_back(in);
      ws.push_back(k);
      s.push_back(pick(1, 3));
      d.push_back(pick(1, 2));
      pads[i] = pick(0, 2);
      pads[nd + i] = pick(0, 2);
    }
    bool ok = true;
    for (size_t i = 0; i < nd; ++i) {
      const int64_t span = xs[2 + i] + pads[i] + pads[nd + i] - ((ws[2 + i] - 1) * d[i] + 1);
      ok = ok && span >= 0;
      out.push_back(span / s[i] + 1);
    }
    if (!ok) continue;
    const Value x = rand_value(gen, xs), w = rand_value(gen, ws), b = rand_value(gen, {ws[0]});
    const Epilogue ep{static_cast<Act>(seed % 4), seed % 4 == 2 ? -0.3f : 0.2f, 0.6f};
    INFO("seed " << seed << " X " << shape_str(xs) << " W " << shape_str(ws) << " group " << groups << " strides "
                 << shape_str(s) << " dilations " << shape_str(d) << " pads " << shape_str(pads));
    const auto y = run_op("Conv", {&x, &w, seed % 2 ? &b : nullptr},
                          {attr_i("group", groups), attr_ints("strides", s), attr_ints("dilations", d),
                           attr_ints("pads", pads)},
                          1, 11, ep);
    std::vector<int64_t> ys = {xs[0], ws[0]};
    ys.insert(ys.end(), out.begin(), out.end());
    CHECK(y[0].shape == ys);
    check_vs(y[0], conv_ref(x, w, seed % 2 ? &b : nullptr, groups, out, s, d,
                            std::vector<int64_t>(pads.begin(), pads.begin() + static_cast<long>(nd)), false, ep.act,
                            ep.a, ep.b),
             1e-4f);
  }
}

TEST_CASE("conv: fused epilogue equals the activation applied afterwards") {
  std::mt19937 gen(5);
  const Value x = rand_value(gen, {1, 8, 9, 9}), w = rand_value(gen, {6, 8, 3, 3}), b = rand_value(gen, {6});
  const auto plain = run_op("Conv", {&x, &w, &b}, {attr_ints("pads", {1, 1, 1, 1})});
  for (int act = 1; act < 4; ++act) {
    const Epilogue ep{static_cast<Act>(act), act == 2 ? -0.5f : 0.1f, 0.5f};
    const auto fused = run_op("Conv", {&x, &w, &b}, {attr_ints("pads", {1, 1, 1, 1})}, 1, 17, ep);
    std::vector<float> want(plain[0].f32(), plain[0].f32() + plain[0].numel());
    for (float& v : want) v = f32_act(v, ep.act, ep.a, ep.b);
    INFO("act " << act);
    check_vs(fused[0], want);
  }
}

TEST_CASE("conv: packed weights are cached by const_key and rebuilt when it changes") {
  std::mt19937 gen(9);
  const Value x = rand_value(gen, {1, 4, 6, 6}), w1 = rand_value(gen, {5, 4, 3, 3}), w2 = rand_value(gen, {5, 4, 3, 3});
  const auto y1 = run_op("Conv", {&x, &w1});
  const auto y2 = run_op("Conv", {&x, &w2});
  std::shared_ptr<void> state;
  check_vs(run_keyed("Conv", {&x, &w1}, {}, state, 42), std::vector<float>(y1[0].f32(), y1[0].f32() + y1[0].numel()));
  CHECK(static_cast<bool>(state));
  // Same key: the node keeps its packing (the executor promises the weights did not change).
  check_vs(run_keyed("Conv", {&x, &w2}, {}, state, 42), std::vector<float>(y1[0].f32(), y1[0].f32() + y1[0].numel()));
  // New key: repacked.
  check_vs(run_keyed("Conv", {&x, &w2}, {}, state, 43), std::vector<float>(y2[0].f32(), y2[0].f32() + y2[0].numel()));
  // Key 0 (a non-constant input): packed per call.
  check_vs(run_keyed("Conv", {&x, &w1}, {}, state, 0), std::vector<float>(y1[0].f32(), y1[0].f32() + y1[0].numel()));
}

TEST_CASE("conv: errors name the node and the shapes") {
  std::mt19937 gen(1);
  const Value x = rand_value(gen, {1, 3, 5, 5}), w = rand_value(gen, {8, 4, 3, 3});
  CHECK(error_of([&] { run_op("Conv", {&x, &w}); }) ==
        "node 'n0' (Conv): X has 3 channels but W [8,4,3,3] with group 1 expects 4");
  const Value xi = value_alloc(DType::kInt8, {1, 4, 5, 5});
  CHECK(error_of([&] { run_op("Conv", {&xi, &w}); }) == "node 'n0' (Conv): input 0 is int8; only float32 is supported");
  const Value w3 = rand_value(gen, {2, 3, 3, 3}), b5 = rand_value(gen, {5});
  CHECK(error_of([&] { run_op("Conv", {&x, &w3, &b5}); }) ==
        "node 'n0' (Conv): B [5] does not match W [2,3,3,3]: expected [2]");
  CHECK(error_of([&] { run_op("Conv", {&x, &w3}, {attr_ints("kernel_shape", {2, 2})}); }) ==
        "node 'n0' (Conv): kernel_shape [2,2] does not match W's spatial dims [3,3]");
  const Value big = rand_value(gen, {2, 3, 7, 7});
  CHECK(error_of([&] { run_op("Conv", {&x, &big}); }).find("smaller than the dilated kernel") != std::string::npos);
  CHECK(error_of([&] { run_op("Conv", {&x, &w3}, {attr_ints("strides", {0, 1})}); }) ==
        "node 'n0' (Conv): strides [0,1] must be >= 1");
  CHECK(error_of([&] { run_op("Conv", {&x, &w3}, {attr_ints("pads", {1, 1})}); }) ==
        "node 'n0' (Conv): pads has 2 values, expected 4");
  const Value w2d = rand_value(gen, {2, 3, 3});
  CHECK(error_of([&] { run_op("Conv", {&x, &w2d}); }) ==
        "node 'n0' (Conv): W [2,3,3] has rank 3 but X [1,3,5,5] has rank 4");
  const Value wg = rand_value(gen, {3, 1, 3, 3});
  CHECK(error_of([&] { run_op("Conv", {&x, &wg}, {attr_i("group", 2)}); }) ==
        "node 'n0' (Conv): X has 3 channels but W [3,1,3,3] with group 2 expects 2");
}

TEST_CASE("conv: ConvTranspose forms (strides, pads, output_padding, output_shape, SAME, groups, 1-D, 3-D)") {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
    const size_t nd = seed % 6 == 0 ? 3 : (seed % 4 == 0 ? 1 : 2);
    const int64_t groups = seed % 3 == 0 ? 2 : 1, cin_g = pick(1, 3), cout_g = pick(1, 4);
    std::vector<int64_t> xs = {pick(1, 2), cin_g * groups}, ws = {cin_g * groups, cout_g}, s, d, pads(2 * nd), op;
    for (size_t i = 0; i < nd; ++i) {
      xs.push_back(pick(1, nd == 3 ? 4 : 7));
      ws.push_back(pick(1, 3));
      s.push_back(pick(1, 3));
      d.push_back(pick(1, 2));
      pads[i] = pick(0, 1);
      pads[nd + i] = pick(0, 1);
      op.push_back(pick(0, s.back() - 1));
    }
    std::vector<int64_t> out, full;
    bool ok = true;
    for (size_t i = 0; i < nd; ++i) {
      full.push_back(s[i] * (xs[2 + i] - 1) + op[i] + (ws[2 + i] - 1) * d[i] + 1);
      out.push_back(full[i] - pads[i] - pads[nd + i]);
      ok = ok && out[i] >= 1;
    }
    if (!ok) continue;
    const Value x = rand_value(gen, xs), w = rand_value(gen, ws), b = rand_value(gen, {cout_g * groups});
    INFO("seed " << seed << " X " << shape_str(xs) << " W " << shape_str(ws) << " group " << groups << " strides "
                 << shape_str(s) << " dilations " << shape_str(d) << " pads " << shape_str(pads)
                 << " output_padding " << shape_str(op));
    const std::vector<int64_t> pb(pads.begin(), pads.begin() + static_cast<long>(nd));
    const auto want = conv_ref(x, w, &b, groups, out, s, d, pb, true);
    const auto y = run_op("ConvTranspose", {&x, &w, &b},
                          {attr_i("group", groups), attr_ints("strides", s), attr_ints("dilations", d),
                           attr_ints("pads", pads), attr_ints("output_padding", op)});
    std::vector<int64_t> ys = {xs[0], cout_g * groups};
    ys.insert(ys.end(), out.begin(), out.end());
    CHECK(y[0].shape == ys);
    check_vs(y[0], want, 1e-4f);
    // output_shape with the same size: total padding split with the extra cell at the beginning.
    std::vector<int64_t> begin(nd);
    for (size_t i = 0; i < nd; ++i) {
      const int64_t t = full[i] - out[i];
      begin[i] = t - t / 2;
    }
    const auto y2 = run_op("ConvTranspose", {&x, &w, &b},
                           {attr_i("group", groups), attr_ints("strides", s), attr_ints("dilations", d),
                            attr_ints("output_shape", out), attr_ints("output_padding", op)});
    CHECK(y2[0].shape == ys);
    check_vs(y2[0], conv_ref(x, w, &b, groups, out, s, d, begin, true), 1e-4f);
  }
}

TEST_CASE("conv: ConvTranspose SAME_UPPER doubles the size with stride 2 and errors are pinned") {
  std::mt19937 gen(3);
  const Value x = rand_value(gen, {1, 2, 3, 3}), w = rand_value(gen, {2, 3, 3, 3});
  const auto y = run_op("ConvTranspose", {&x, &w}, {attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})});
  CHECK(y[0].shape == std::vector<int64_t>{1, 3, 6, 6});
  // full = 2 * 2 + 3 = 7, total pad 1: SAME_UPPER pads the end.
  check_vs(y[0], conv_ref(x, w, nullptr, 1, {6, 6}, {2, 2}, {1, 1}, {0, 0}, true));
  const Value wbad = rand_value(gen, {3, 3, 3, 3});
  CHECK(error_of([&] { run_op("ConvTranspose", {&x, &wbad}); }) ==
        "node 'n0' (ConvTranspose): X has 2 channels but W [3,3,3,3] expects 3");
  const Value b = rand_value(gen, {4});
  CHECK(error_of([&] { run_op("ConvTranspose", {&x, &w, &b}); }) ==
        "node 'n0' (ConvTranspose): B [4] does not match W [2,3,3,3] with group 1: expected [3]");
}
