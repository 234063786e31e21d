// Layout ops (Transpose, Concat, Split, Slice, Pad, Gather, Expand, Tile, DepthToSpace, SpaceToDepth) against
// naive index-mapping references on seeded random shapes, every element size, plus pinned errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/runtime/kernels/layout_util.h"
#include "core/runtime/shape_util.h"
#include "tests/support/op_runner.h"

using namespace qp;
using qp_test::error_of;
using qp_test::attr_i;
using qp_test::attr_ints;
using qp_test::attr_s;
using qp_test::run_op;

namespace {

// A tensor of `t` whose element i holds a value distinct per element (mod the type's range).
Value seq(DType t, std::vector<int64_t> shape, double base = 1.0) {
  Value v = value_alloc(t, std::move(shape));
  const size_t es = dtype_bytes(t);
  for (int64_t i = 0; i < v.numel(); ++i) {
    double x = base + static_cast<double>(i);
    if (t == DType::kUint8 || t == DType::kInt8) x = static_cast<double>(i % 100);
    if (t == DType::kFloat16) x = static_cast<double>(i % 2000);
    layout_store_scalar(t, x, static_cast<char*>(v.data) + static_cast<size_t>(i) * es);
  }
  return v;
}

Value ints(std::vector<int64_t> v) { return value_i64({static_cast<int64_t>(v.size())}, v); }

std::vector<int64_t> unravel(int64_t i, const std::vector<int64_t>& shape) {
  std::vector<int64_t> c(shape.size());
  for (size_t a = shape.size(); a-- > 0;) c[a] = i % shape[a], i /= shape[a];
  return c;
}

int64_t ravel(const std::vector<int64_t>& c, const std::vector<int64_t>& shape) {
  int64_t i = 0;
  for (size_t a = 0; a < shape.size(); ++a) i = i * shape[a] + c[a];
  return i;
}

// Reference: out element at coordinate c = in element at src(c) (or `fill` when src returns false).
std::vector<double> map_ref(const Value& x, const std::vector<int64_t>& out,
                            const std::function<bool(const std::vector<int64_t>&, std::vector<int64_t>&)>& src,
                            double fill = 0) {
  const std::vector<double> xv = value_to_doubles(x);
  std::vector<double> r(static_cast<size_t>(shape_numel(out)));
  std::vector<int64_t> s;
  for (size_t i = 0; i < r.size(); ++i) {
    const std::vector<int64_t> c = unravel(static_cast<int64_t>(i), out);
    r[i] = src(c, s) ? xv[static_cast<size_t>(ravel(s, x.shape))] : fill;
  }
  return r;
}

std::vector<int64_t> random_shape(std::mt19937& g, int rmin, int rmax, int dmax) {
  const int r = std::uniform_int_distribution<int>(rmin, rmax)(g);
  std::vector<int64_t> s(static_cast<size_t>(r));
  for (auto& d : s) d = std::uniform_int_distribution<int>(1, dmax)(g);
  return s;
}

// One type per element size (4, 8, 1, 2 bytes).
const DType kTypes[] = {DType::kFloat32, DType::kInt64, DType::kUint8, DType::kFloat16};

DType pick_type(std::mt19937& g) { return kTypes[std::uniform_int_distribution<int>(0, 3)(g)]; }

}  // namespace

TEST_CASE("layout: Transpose matches the index mapping for random shapes, perms and element sizes") {
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    std::mt19937 g(seed);
    // Small ranks with larger dims cross the 16x16 tile edges; high ranks exercise axis merging.
    const bool big = seed % 3 == 0;
    const std::vector<int64_t> shape = big ? random_shape(g, 2, 4, 40) : random_shape(g, 1, 6, 5);
    std::vector<int64_t> perm(shape.size());
    for (size_t k = 0; k < perm.size(); ++k) perm[k] = static_cast<int64_t>(k);
    std::shuffle(perm.begin(), perm.end(), g);
    const DType t = pick_type(g);
    INFO("seed " << seed << " shape " << shape_str(shape) << " perm " << shape_str(perm) << " " << dtype_name(t));
    const Value x = seq(t, shape);
    const auto y = run_op("Transpose", {&x}, {attr_ints("perm", perm)});
    std::vector<int64_t> out(shape.size());
    for (size_t k = 0; k < shape.size(); ++k) out[k] = shape[static_cast<size_t>(perm[k])];
    REQUIRE(y[0].shape == out);
    CHECK(y[0].dtype == t);
    const auto ref = map_ref(x, out, [&](const std::vector<int64_t>& c, std::vector<int64_t>& s) {
      s.assign(shape.size(), 0);
      for (size_t k = 0; k < c.size(); ++k) s[static_cast<size_t>(perm[k])] = c[k];
      return true;
    });
    CHECK(value_to_doubles(y[0]) == ref);
  }
}

TEST_CASE("layout: Transpose default perm reverses, size-1 moves alias, NCHW->NHWC tiles, bad perms fail") {
  const Value x = seq(DType::kFloat32, {2, 3});
  auto y = run_op("Transpose", {&x});
  CHECK(y[0].shape == std::vector<int64_t>{3, 2});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 4, 2, 5, 3, 6});
  const Value v = seq(DType::kFloat32, {1, 5, 1, 7});
  y = run_op("Transpose", {&v}, {attr_ints("perm", {2, 1, 0, 3})});
  CHECK(y[0].data == v.data);  // same byte order: no copy
  CHECK(y[0].shape == std::vector<int64_t>{1, 5, 1, 7});
  const Value img = seq(DType::kFloat32, {2, 19, 5, 7});
  y = run_op("Transpose", {&img}, {attr_ints("perm", {0, 2, 3, 1})});
  const auto got = value_to_doubles(y[0]);
  const auto xv = value_to_doubles(img);
  bool ok = true;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 19; ++c)
      for (int h = 0; h < 5; ++h)
        for (int w = 0; w < 7; ++w) ok = ok && got[static_cast<size_t>(((n * 5 + h) * 7 + w) * 19 + c)] == xv[static_cast<size_t>(((n * 19 + c) * 5 + h) * 7 + w)];
  CHECK(ok);
  CHECK(error_of([&] { run_op("Transpose", {&x}, {attr_ints("perm", {0, 0})}); }) ==
        "node 'n0' (Transpose): perm [0,0] is not a permutation of the axes of float32 [2,3]");
  CHECK(error_of([&] { run_op("Transpose", {&x}, {attr_ints("perm", {0})}); }).find("does not fit") != std::string::npos);
}

TEST_CASE("layout: Concat joins along any axis, any dtype, empty inputs included") {
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    std::mt19937 g(seed);
    std::vector<int64_t> shape = random_shape(g, 1, 4, 4);
    const int64_t r = static_cast<int64_t>(shape.size());
    const int64_t axis = std::uniform_int_distribution<int64_t>(-r, r - 1)(g);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    const int n = std::uniform_int_distribution<int>(1, 4)(g);
    const DType t = pick_type(g);
    INFO("seed " << seed << " shape " << shape_str(shape) << " axis " << axis << " inputs " << n);
    std::vector<Value> xs;
    std::vector<const Value*> ins;
    std::vector<int64_t> out = shape;
    out[a] = 0;
    for (int i = 0; i < n; ++i) {
      shape[a] = std::uniform_int_distribution<int64_t>(0, 3)(g);
      xs.push_back(seq(t, shape, 100.0 * i));
      out[a] += shape[a];
    }
    for (auto& v : xs) ins.push_back(&v);
    const auto y = run_op("Concat", ins, {attr_i("axis", axis)});
    REQUIRE(y[0].shape == out);
    // Reference: walk the output along the axis and find which input owns the coordinate.
    std::vector<double> ref(static_cast<size_t>(shape_numel(out)));
    for (size_t i = 0; i < ref.size(); ++i) {
      auto c = unravel(static_cast<int64_t>(i), out);
      size_t k = 0;
      while (c[a] >= xs[k].shape[a]) c[a] -= xs[k++].shape[a];
      ref[i] = value_to_doubles(xs[k])[static_cast<size_t>(ravel(c, xs[k].shape))];
    }
    CHECK(value_to_doubles(y[0]) == ref);
  }
  const Value a = seq(DType::kFloat32, {1, 2, 4}), b = seq(DType::kFloat32, {1, 3, 5});
  CHECK(error_of([&] { run_op("Concat", {&a, &b}, {attr_i("axis", 1)}); }) ==
        "node 'n0' (Concat): input 1 is float32 [1,3,5], expected float32 with the dims of input 0 [1,2,4] except on axis 1");
  CHECK(error_of([&] { run_op("Concat", {&a, &b}, {attr_i("axis", 3)}); }).find("axis 3 is out of range") != std::string::npos);
}

TEST_CASE("layout: Split by attribute, input, num_outputs (uneven) and equal parts") {
  const Value x = seq(DType::kFloat32, {2, 5});
  auto y = run_op("Split", {&x}, {attr_i("axis", 1), attr_ints("split", {2, 3})}, 2, 11);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 2, 6, 7});
  CHECK(value_to_doubles(y[1]) == std::vector<double>{3, 4, 5, 8, 9, 10});
  const Value sp = ints({4, 0, 1});
  y = run_op("Split", {&x, &sp}, {attr_i("axis", -1)}, 3, 13);
  CHECK(y[0].shape == std::vector<int64_t>{2, 4});
  CHECK(y[1].shape == std::vector<int64_t>{2, 0});
  CHECK(value_to_doubles(y[2]) == std::vector<double>{5, 10});
  y = run_op("Split", {&x}, {attr_i("axis", 1), attr_i("num_outputs", 2)}, 2, 18);
  CHECK(y[0].shape == std::vector<int64_t>{2, 3});
  CHECK(value_to_doubles(y[1]) == std::vector<double>{4, 5, 9, 10});
  const Value x6 = seq(DType::kInt64, {6});
  y = run_op("Split", {&x6}, {}, 3, 13);
  CHECK(value_to_doubles(y[2]) == std::vector<double>{5, 6});
  CHECK(error_of([&] { run_op("Split", {&x}, {attr_i("axis", 1)}, 2, 13); }) ==
        "node 'n0' (Split): cannot split axis 1 of float32 [2,5] into 2 equal parts");
  CHECK(error_of([&] { run_op("Split", {&x}, {attr_i("axis", 1), attr_ints("split", {2, 2})}, 2, 11); })
            .find("does not divide axis 1") != std::string::npos);
}

TEST_CASE("layout: Slice matches the spec's clamping for random starts, ends and steps, negative and huge") {
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    std::mt19937 g(seed);
    const std::vector<int64_t> shape = random_shape(g, 1, 4, 7);
    const int64_t r = static_cast<int64_t>(shape.size());
    std::vector<int64_t> axes, starts, ends, steps;
    std::vector<int64_t> all(shape.size());
    for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int64_t>(k);
    std::shuffle(all.begin(), all.end(), g);
    const size_t na = std::uniform_int_distribution<size_t>(1, shape.size())(g);
    auto bound = [&](int64_t d) {
      const int pick = std::uniform_int_distribution<int>(0, 9)(g);
      if (pick == 0) return big;
      if (pick == 1) return small;
      return std::uniform_int_distribution<int64_t>(-d - 2, d + 2)(g);
    };
    for (size_t i = 0; i < na; ++i) {
      const int64_t a = all[i];
      axes.push_back(seed % 2 ? a - r : a);
      starts.push_back(bound(shape[static_cast<size_t>(a)]));
      ends.push_back(bound(shape[static_cast<size_t>(a)]));
      int64_t st = std::uniform_int_distribution<int64_t>(-3, 3)(g);
      steps.push_back(st == 0 ? 1 : st);
    }
    INFO("seed " << seed << " shape " << shape_str(shape) << " starts " << shape_str(starts) << " ends "
                 << shape_str(ends) << " axes " << shape_str(axes) << " steps " << shape_str(steps));
    // Reference: per axis, the list of source indices the spec's loop visits.
    std::vector<std::vector<int64_t>> pick(shape.size());
    for (size_t a = 0; a < shape.size(); ++a)
      for (int64_t i = 0; i < shape[a]; ++i) pick[a].push_back(i);
    for (size_t i = 0; i < na; ++i) {
      const size_t a = static_cast<size_t>(axes[i] < 0 ? axes[i] + r : axes[i]);
      const long double d = static_cast<long double>(shape[a]);
      long double s = static_cast<long double>(starts[i]), e = static_cast<long double>(ends[i]);
      if (s < 0) s += d;
      if (e < 0) e += d;
      if (steps[i] > 0) s = std::clamp(s, 0.0L, d), e = std::clamp(e, 0.0L, d);
      else s = std::clamp(s, 0.0L, d - 1), e = std::clamp(e, -1.0L, d - 1);
      pick[a].clear();
      for (long double j = s; steps[i] > 0 ? j < e : j > e; j += steps[i]) pick[a].push_back(static_cast<int64_t>(j));
    }
    std::vector<int64_t> out;
    for (auto& p : pick) out.push_back(static_cast<int64_t>(p.size()));
    const DType t = pick_type(g);
    const Value x = seq(t, shape);
    const Value vs = ints(starts), ve = ints(ends), va = ints(axes), vst = ints(steps);
    const auto y = run_op("Slice", {&x, &vs, &ve, &va, &vst}, {}, 1, 13);
    REQUIRE(y[0].shape == out);
    const auto ref = map_ref(x, out, [&](const std::vector<int64_t>& c, std::vector<int64_t>& s) {
      s.resize(c.size());
      for (size_t a = 0; a < c.size(); ++a) s[a] = pick[a][static_cast<size_t>(c[a])];
      return true;
    });
    CHECK(value_to_doubles(y[0]) == ref);
  }
}

TEST_CASE("layout: Slice opset-1 attributes, int32 inputs, default axes and errors") {
  const Value x = seq(DType::kFloat32, {3, 4});
  auto y = run_op("Slice", {&x}, {attr_ints("starts", {1, -2}), attr_ints("ends", {3, 100}), attr_ints("axes", {0, 1})}, 1, 9);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{7, 8, 11, 12});
  Value s32 = value_alloc(DType::kInt32, {1}), e32 = value_alloc(DType::kInt32, {1});
  s32.ptr<int32_t>()[0] = -1;
  e32.ptr<int32_t>()[0] = -4;
  const Value st = ints({-1});
  y = run_op("Slice", {&x, &s32, &e32, nullptr, &st}, {}, 1, 13);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4});  // rows reversed
  const Value s = ints({0}), e = ints({2}), zero = ints({0}), ax = ints({0});
  CHECK(error_of([&] { run_op("Slice", {&x, &s, &e, &ax, &zero}, {}, 1, 13); }) == "node 'n0' (Slice): step on axis 0 is 0");
  const Value ax2 = ints({2});
  CHECK(error_of([&] { run_op("Slice", {&x, &s, &e, &ax2}, {}, 1, 13); }) ==
        "node 'n0' (Slice): axis 2 is out of range for float32 [3,4]");
}

TEST_CASE("layout: Pad constant, reflect, edge and wrap match index formulas, negative pads crop") {
  const char* modes[] = {"constant", "reflect", "edge", "wrap"};
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    std::mt19937 g(seed);
    const std::vector<int64_t> shape = random_shape(g, 1, 4, 5);
    const std::string mode = modes[seed % 4];
    std::vector<int64_t> b(shape.size()), e(shape.size()), out(shape.size());
    for (size_t a = 0; a < shape.size(); ++a) {
      const int64_t d = shape[a];
      // Reflect/wrap pads stay within what one mirror/period covers in numpy; crops keep at least one element.
      const int64_t hi = mode == "reflect" ? d - 1 : mode == "wrap" ? d : 3;
      b[a] = std::uniform_int_distribution<int64_t>(-(d - 1) / 2, hi)(g);
      e[a] = std::uniform_int_distribution<int64_t>(-(d - 1) / 2, hi)(g);
      out[a] = d + b[a] + e[a];
    }
    std::vector<int64_t> pads = b;
    pads.insert(pads.end(), e.begin(), e.end());
    const DType t = pick_type(g);
    INFO("seed " << seed << " shape " << shape_str(shape) << " mode " << mode << " pads " << shape_str(pads) << " " << dtype_name(t));
    const Value x = seq(t, shape, 3);
    const Value vp = ints(pads);
    Value cv = value_alloc(t, {});
    layout_store_scalar(t, 7, cv.data);
    const auto y = run_op("Pad", {&x, &vp, mode == "constant" ? &cv : nullptr}, {attr_s("mode", mode)}, 1, 19);
    REQUIRE(y[0].shape == out);
    const auto ref = map_ref(x, out, [&](const std::vector<int64_t>& c, std::vector<int64_t>& s) {
      s.resize(c.size());
      for (size_t a = 0; a < c.size(); ++a) {
        const int64_t d = shape[a];
        int64_t i = c[a] - b[a];
        if (i < 0 || i >= d) {
          if (mode == "constant") return false;
          if (mode == "edge") i = i < 0 ? 0 : d - 1;
          if (mode == "wrap") i = i < 0 ? i + d : i - d;
          if (mode == "reflect") i = d == 1 ? 0 : i < 0 ? -i : 2 * (d - 1) - i;
        }
        s[a] = i;
      }
      return true;
    }, 7);
    CHECK(value_to_doubles(y[0]) == ref);
  }
}

TEST_CASE("layout: Pad old attribute form, axes input and errors") {
  const Value x = seq(DType::kFloat32, {2, 2});
  auto y = run_op("Pad", {&x}, {attr_ints("pads", {0, 1, 0, 0}), qp_test::attr_f("value", 1.5f)}, 1, 2);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1.5, 1, 2, 1.5, 3, 4});
  const Value p = ints({1, 2}), ax = ints({-1});
  y = run_op("Pad", {&x, &p, nullptr, &ax}, {attr_s("mode", "edge")}, 1, 18);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 1, 2, 2, 2, 3, 3, 4, 4, 4});
  const Value crop = ints({0, -3, 0, 0});
  CHECK(error_of([&] { run_op("Pad", {&x, &crop}, {}, 1, 13); }).find("below zero") != std::string::npos);
  const Value short_pads = ints({1, 1});
  CHECK(error_of([&] { run_op("Pad", {&x, &short_pads}, {}, 1, 13); }) ==
        "node 'n0' (Pad): pads [1,1] needs 4 values for float32 [2,2]");
}

TEST_CASE("layout: Gather on any axis with negative, int32 and int64 indices; out-of-range names the index") {
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    std::mt19937 g(seed);
    const std::vector<int64_t> shape = random_shape(g, 1, 4, 5);
    const int64_t r = static_cast<int64_t>(shape.size());
    const int64_t axis = std::uniform_int_distribution<int64_t>(-r, r - 1)(g);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    const std::vector<int64_t> ishape = random_shape(g, 0, 2, 3);
    const int64_t d = shape[a];
    const bool i32 = seed % 2 == 0;
    Value idx = value_alloc(i32 ? DType::kInt32 : DType::kInt64, ishape);
    std::vector<int64_t> iv(static_cast<size_t>(idx.numel()));
    for (size_t j = 0; j < iv.size(); ++j) {
      iv[j] = std::uniform_int_distribution<int64_t>(-d, d - 1)(g);
      if (i32) idx.ptr<int32_t>()[j] = static_cast<int32_t>(iv[j]);
      else idx.ptr<int64_t>()[j] = iv[j];
    }
    const DType t = pick_type(g);
    INFO("seed " << seed << " shape " << shape_str(shape) << " axis " << axis << " indices " << shape_str(iv));
    const Value x = seq(t, shape);
    const auto y = run_op("Gather", {&x, &idx}, {attr_i("axis", axis)});
    std::vector<int64_t> out(shape.begin(), shape.begin() + static_cast<long>(a));
    out.insert(out.end(), ishape.begin(), ishape.end());
    out.insert(out.end(), shape.begin() + static_cast<long>(a) + 1, shape.end());
    REQUIRE(y[0].shape == out);
    const auto ref = map_ref(x, out, [&](const std::vector<int64_t>& c, std::vector<int64_t>& s) {
      s.assign(c.begin(), c.begin() + static_cast<long>(a));
      std::vector<int64_t> ic(c.begin() + static_cast<long>(a), c.begin() + static_cast<long>(a + ishape.size()));
      int64_t j = iv[static_cast<size_t>(ravel(ic, ishape))];
      s.push_back(j < 0 ? j + d : j);
      s.insert(s.end(), c.begin() + static_cast<long>(a + ishape.size()), c.end());
      return true;
    });
    CHECK(value_to_doubles(y[0]) == ref);
  }
  const Value x = seq(DType::kFloat32, {3, 5});
  const Value bad = value_i64({2, 2}, {0, 1, 4, 5});
  CHECK(error_of([&] { run_op("Gather", {&x, &bad}, {attr_i("axis", 1)}); }) ==
        "node 'n0' (Gather): index 5 at position [1,1] is out of range for axis 1 of float32 [3,5]");
  const Value fidx = value_f32({1}, {0});
  CHECK(error_of([&] { run_op("Gather", {&x, &fidx}); }).find("expected int32 or int64") != std::string::npos);
}

TEST_CASE("layout: Expand broadcasts both ways, aliases when nothing grows, rejects incompatible shapes") {
  const Value x = seq(DType::kFloat32, {3, 1});
  const Value s = ints({2, 1, 4});
  auto y = run_op("Expand", {&x, &s});
  REQUIRE(y[0].shape == std::vector<int64_t>{2, 3, 4});
  const auto got = value_to_doubles(y[0]);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == static_cast<double>((i / 4) % 3 + 1));
  const Value same = ints({1, 3, 1});
  y = run_op("Expand", {&x, &same});
  CHECK(y[0].data == x.data);
  CHECK(y[0].shape == std::vector<int64_t>{1, 3, 1});
  const Value bad = ints({2, 4});
  CHECK(error_of([&] { run_op("Expand", {&x, &bad}); }) == "node 'n0' (Expand): cannot broadcast float32 [3,1] to [2,4]");
  const Value i64 = seq(DType::kInt64, {1, 2});
  const Value s2 = ints({3, 1});
  y = run_op("Expand", {&i64, &s2});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 2, 1, 2, 1, 2});
}

TEST_CASE("layout: Tile repeats every axis; negative repeats fail") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 g(seed);
    const std::vector<int64_t> shape = random_shape(g, 1, 4, 4);
    std::vector<int64_t> reps(shape.size()), out(shape.size());
    for (size_t a = 0; a < shape.size(); ++a) {
      reps[a] = std::uniform_int_distribution<int64_t>(0, 3)(g);
      out[a] = shape[a] * reps[a];
    }
    INFO("seed " << seed << " shape " << shape_str(shape) << " repeats " << shape_str(reps));
    const Value x = seq(pick_type(g), shape);
    const Value vr = ints(reps);
    const auto y = run_op("Tile", {&x, &vr});
    REQUIRE(y[0].shape == out);
    const auto ref = map_ref(x, out, [&](const std::vector<int64_t>& c, std::vector<int64_t>& s) {
      s.resize(c.size());
      for (size_t a = 0; a < c.size(); ++a) s[a] = c[a] % shape[a];
      return true;
    });
    CHECK(value_to_doubles(y[0]) == ref);
  }
  const Value x = seq(DType::kFloat32, {2});
  const Value neg = ints({-1});
  CHECK(error_of([&] { run_op("Tile", {&x, &neg}); }).find("negative") != std::string::npos);
}

TEST_CASE("layout: DepthToSpace DCR and CRD follow the spec's reshape-transpose; SpaceToDepth inverts DCR") {
  // Spec formulas written per element.
  const int64_t n = 2, c = 8, h = 3, w = 2, b = 2;
  const Value x = seq(DType::kFloat32, {n, c, h, w});
  const auto xv = value_to_doubles(x);
  for (const std::string mode : {"DCR", "CRD"}) {
    INFO(mode);
    const auto y = run_op("DepthToSpace", {&x}, {attr_i("blocksize", b), attr_s("mode", mode)});
    REQUIRE(y[0].shape == std::vector<int64_t>{n, c / 4, h * b, w * b});
    const auto yv = value_to_doubles(y[0]);
    bool ok = true;
    for (int64_t in = 0; in < n; ++in)
      for (int64_t oc = 0; oc < c / 4; ++oc)
        for (int64_t oy = 0; oy < h * b; ++oy)
          for (int64_t ox = 0; ox < w * b; ++ox) {
            const int64_t by = oy % b, bx = ox % b;
            const int64_t ic = mode == "DCR" ? (by * b + bx) * (c / 4) + oc : oc * b * b + by * b + bx;
            ok = ok && yv[static_cast<size_t>(((in * (c / 4) + oc) * h * b + oy) * w * b + ox)] ==
                           xv[static_cast<size_t>(((in * c + ic) * h + oy / b) * w + ox / b)];
          }
    CHECK(ok);
  }
  const auto d2s = run_op("DepthToSpace", {&x}, {attr_i("blocksize", 2)});
  const auto s2d = run_op("SpaceToDepth", {&d2s[0]}, {attr_i("blocksize", 2)});
  CHECK(s2d[0].shape == x.shape);
  CHECK(value_to_doubles(s2d[0]) == xv);
  CHECK(error_of([&] { run_op("DepthToSpace", {&x}, {attr_i("blocksize", 3)}); }).find("not a multiple of blocksize^2 = 9") !=
        std::string::npos);
  CHECK(error_of([&] { run_op("SpaceToDepth", {&x}, {attr_i("blocksize", 2)}); }) ==
        "node 'n0' (SpaceToDepth): height and width of float32 [2,8,3,2] are not multiples of blocksize 2");
}
