// Ops of the resize family: Resize (opsets 10-19) and the deprecated Upsample. Interpolation is separable, so
// every mode runs as one 1-D pass per resized axis over precomputed taps (index, weight) that follow the ONNX
// reference coordinate rules; nearest mode is a pure index gather that works for every dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/runtime/kernels/layout_copy.h"
#include "core/runtime/kernels/layout_util.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Ctm { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCrop };
// kSimple: Upsample and Resize-10 (floor when upsampling an axis, ceil when downsampling, as runtimes did then).
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct Params {
  Mode mode = Mode::kNearest;
  Ctm ctm = Ctm::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
};

// Taps of one axis: output coordinate x reads in[idx[x*n + k]] with weight w[x*n + k]; extrap[x] marks
// tf_crop_and_resize coordinates that fall outside the input (their value is the extrapolation value).
struct AxisTaps {
  int64_t in = 0, out = 0, n = 0;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> extrap;
  bool any_extrap = false;
  bool identity = false;
};

double cubic_kernel(double x, double a) {
  x = std::fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

// Filter weights for a source coordinate with fractional part `ratio` in (0, 1], taps starting at offset `start`
// relative to the left neighbour. Antialiasing stretches the filter by 1/scale when downsampling.
void coeffs(const Params& p, double ratio, double scale, std::vector<double>& c, int64_t& start) {
  c.clear();
  if (p.mode == Mode::kNearest) {
    start = 0;
    bool right = false;
    if (ratio == 1.0) right = true;  // the source coordinate is an integer: the right tap sits on it
    else if (p.nearest == Nearest::kRoundPreferFloor) right = ratio > 0.5;
    else if (p.nearest == Nearest::kRoundPreferCeil) right = ratio >= 0.5;
    else if (p.nearest == Nearest::kFloor) right = false;
    else right = true;
    c = {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
    return;
  }
  const double s = p.antialias ? std::min(scale, 1.0) : 1.0;
  if (p.mode == Mode::kLinear) {
    start = p.antialias ? static_cast<int64_t>(std::floor(-1 / s) + 1) : 0;
    const int64_t n = 2 - 2 * start;
    for (int64_t i = 0; i < n; ++i) c.push_back(std::max(0.0, 1 - std::fabs((start + i - ratio) * s)));
  } else {
    start = p.antialias ? static_cast<int64_t>(std::floor(-2 / s) + 1) : -1;
    const int64_t n = 2 - 2 * start;
    for (int64_t i = 0; i < n; ++i) c.push_back(cubic_kernel(s * (start + i - ratio), p.cubic_a));
  }
  if (p.antialias) {
    const double sum = std::accumulate(c.begin(), c.end(), 0.0);
    if (sum != 0)
      for (double& v : c) v /= sum;
  }
}

// Source coordinate of output coordinate x on an axis of `in` elements resized by `scale` to `out`.
double source_coord(const Params& p, double x, int64_t in, int64_t out, double scale, double r0, double r1) {
  const double ow = scale * static_cast<double>(in);  // the reference uses the unrounded output length
  const double L = static_cast<double>(in);
  switch (p.ctm) {
    case Ctm::kAlignCorners: return ow == 1 ? 0.0 : x * (L - 1) / (ow - 1);
    case Ctm::kAsymmetric: return x / scale;
    case Ctm::kTfCrop: {
      const double xo = ow == 1 ? (r1 - r0) * (L - 1) / 2 : x * (r1 - r0) * (L - 1) / (ow - 1);
      return xo + r0 * (L - 1);
    }
    case Ctm::kPytorchHalfPixel: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Ctm::kHalfPixelSymmetric: {
      const double adj = static_cast<double>(out) / ow;
      return L / 2 * (1 - adj) + (x + 0.5) / scale - 0.5;
    }
    case Ctm::kHalfPixel:
    default: return (x + 0.5) / scale - 0.5;
  }
}

AxisTaps axis_taps(const Params& p, int64_t in, int64_t out, double scale, double r0, double r1) {
  AxisTaps t;
  t.in = in;
  t.out = out;
  std::vector<double> c;
  int64_t start = 0;
  bool ident = out == in;
  t.extrap.assign(static_cast<size_t>(out), 0);
  for (int64_t x = 0; x < out; ++x) {
    const double xo = source_coord(p, static_cast<double>(x), in, out, scale, r0, r1);
    if (p.ctm == Ctm::kTfCrop && (xo < 0 || xo > static_cast<double>(in - 1))) {
      t.extrap[static_cast<size_t>(x)] = 1;
      t.any_extrap = true;
      ident = false;
    }
    if (p.mode == Mode::kNearest && p.nearest == Nearest::kSimple) {
      if (t.n == 0) t.n = 1, t.idx.reserve(static_cast<size_t>(out)), t.w.reserve(static_cast<size_t>(out));
      int64_t i = static_cast<int64_t>(scale < 1 ? std::ceil(xo) : std::floor(xo));
      i = std::min(std::max<int64_t>(i, 0), in - 1);
      t.idx.push_back(i);
      t.w.push_back(1.0f);
      ident = ident && i == x;
      continue;
    }
    const double fl = std::floor(xo);
    const double ratio = xo == fl ? 1.0 : xo - fl;
    const int64_t left = static_cast<int64_t>(fl) - (xo == fl ? 1 : 0);
    coeffs(p, ratio, scale, c, start);
    const int64_t n = static_cast<int64_t>(c.size());
    if (t.n == 0) {
      t.n = n;
      t.idx.reserve(static_cast<size_t>(out * n));
      t.w.reserve(static_cast<size_t>(out * n));
    }
    // The reference pads the axis by ceil(n/2) edge copies and takes the n nearest padded positions, so the
    // window shifts inward rather than running off the padded axis.
    const int64_t pad = (n + 1) / 2;
    const int64_t w0 = std::min(std::max<int64_t>(left + start + pad, 0), in + 2 * pad - n) - pad;
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = w0 + k;
      const bool outside = pos < 0 || pos >= in;
      if (p.exclude_outside && outside) c[static_cast<size_t>(k)] = 0;
      sum += c[static_cast<size_t>(k)];
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = std::min(std::max<int64_t>(w0 + k, 0), in - 1);
      double wk = c[static_cast<size_t>(k)];
      if (p.exclude_outside && sum != 0) wk /= sum;
      t.idx.push_back(pos);
      t.w.push_back(static_cast<float>(wk));
      ident = ident && (wk == 0 || (wk == 1 && pos == x));
    }
  }
  t.identity = ident;
  return t;
}

// One 1-D pass along an axis: src viewed as [outer, in, inner] -> dst [outer, out, inner].
void pass_f32(const float* src, float* dst, int64_t outer, int64_t inner, const AxisTaps& t) {
  const int64_t n = t.n;
  for (int64_t o = 0; o < outer; ++o) {
    const float* s = src + o * t.in * inner;
    float* d = dst + o * t.out * inner;
    if (inner == 1) {
      for (int64_t x = 0; x < t.out; ++x) {
        const int64_t* ix = &t.idx[static_cast<size_t>(x * n)];
        const float* wx = &t.w[static_cast<size_t>(x * n)];
        float acc = 0;
        for (int64_t k = 0; k < n; ++k) acc += wx[k] * s[ix[k]];
        d[x] = acc;
      }
      continue;
    }
    // Whole rows of `inner` contiguous elements per tap keep the inner loop streaming.
    for (int64_t x = 0; x < t.out; ++x) {
      float* dr = d + x * inner;
      const int64_t* ix = &t.idx[static_cast<size_t>(x * n)];
      const float* wx = &t.w[static_cast<size_t>(x * n)];
      bool first = true;
      for (int64_t k = 0; k < n; ++k) {
        const float wk = wx[k];
        if (wk == 0 && !(first && k + 1 == n)) continue;
        const float* sr = s + ix[k] * inner;
        if (first) {
          for (int64_t i = 0; i < inner; ++i) dr[i] = wk * sr[i];
          first = false;
        } else {
          for (int64_t i = 0; i < inner; ++i) dr[i] += wk * sr[i];
        }
      }
    }
  }
}

// Writes the extrapolation value over every output position that an out-of-range coordinate on some axis maps to.
void fill_extrapolated(Value& y, const std::vector<AxisTaps>& taps, double value, const OpContext& ctx) {
  const size_t es = dtype_bytes(y.dtype);
  uint8_t elem[8] = {};
  if (!layout_store_scalar(y.dtype, value, elem)) ctx.fail("cannot write the extrapolation value as " + dtype_name(y.dtype));
  for (size_t a = 0; a < taps.size(); ++a) {
    if (!taps[a].any_extrap) continue;
    const int64_t outer = shape_prod(y.shape, 0, a), inner = shape_prod(y.shape, a + 1, y.rank());
    char* d = static_cast<char*>(y.data);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t x = 0; x < y.shape[a]; ++x)
        if (taps[a].extrap[static_cast<size_t>(x)])
          layout_fill(d + static_cast<size_t>((o * y.shape[a] + x) * inner) * es, elem, es, inner);
  }
}

// Resizes input 0 to `out` with per-axis scales and roi (start, end per axis); shared by Resize and Upsample.
void run_resize(OpContext& ctx, const Params& p, const std::vector<int64_t>& out, const std::vector<double>& scales,
                const std::vector<double>& roi0, const std::vector<double>& roi1) {
  const Value& x = ctx.req(0);
  const size_t r = x.rank();
  std::vector<AxisTaps> taps(r);
  bool all_identity = true;
  for (size_t a = 0; a < r; ++a) {
    if (x.shape[a] == 0) {
      if (out[a] != 0) ctx.fail("cannot resize the empty axis " + std::to_string(a) + " of " + x.describe());
      taps[a].identity = true;
      continue;
    }
    taps[a] = axis_taps(p, x.shape[a], out[a], scales[a], roi0[a], roi1[a]);
    all_identity = all_identity && taps[a].identity;
  }
  if (all_identity) return (void)ctx.alias(0, 0, x.shape);
  if (p.mode == Mode::kNearest) {
    std::vector<std::vector<int64_t>> tables(r);
    for (size_t a = 0; a < r; ++a) {
      if (x.shape[a] == 0) continue;
      const AxisTaps& t = taps[a];
      tables[a].resize(static_cast<size_t>(t.out));
      // Nearest taps are one-hot: keep the index whose weight is 1.
      for (int64_t o = 0; o < t.out; ++o) {
        int64_t pick = t.idx[static_cast<size_t>(o * t.n)];
        for (int64_t k = 0; k < t.n; ++k)
          if (t.w[static_cast<size_t>(o * t.n + k)] != 0) pick = t.idx[static_cast<size_t>(o * t.n + k)];
        tables[a][static_cast<size_t>(o)] = pick;
      }
    }
    Value& y = layout_alloc(ctx, 0, x.dtype, out);
    if (y.numel() == 0) return;
    layout_gather_tables(x.data, x.shape, tables, y.data, dtype_bytes(x.dtype));
    fill_extrapolated(y, taps, p.extrapolation, ctx);
    return;
  }
  if (x.dtype != DType::kFloat32)
    ctx.fail(std::string(p.mode == Mode::kLinear ? "linear" : "cubic") + " mode supports float32 only, got " + x.describe());
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  if (y.numel() == 0) return;
  // Shrinking axes first keeps the intermediate tensors small.
  std::vector<size_t> order;
  for (size_t a = 0; a < r; ++a)
    if (!taps[a].identity) order.push_back(a);
  // Among equal ratios the innermost axis goes first: its pass gathers element by element, the others stream rows.
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    const double ri = static_cast<double>(out[i]) / static_cast<double>(x.shape[i]);
    const double rj = static_cast<double>(out[j]) / static_cast<double>(x.shape[j]);
    return ri != rj ? ri < rj : i > j;
  });
  std::vector<int64_t> cur = x.shape;
  std::vector<float> bufs[2];
  const float* src = x.f32();
  for (size_t step = 0; step < order.size(); ++step) {
    const size_t a = order[step];
    std::vector<int64_t> next = cur;
    next[a] = out[a];
    float* dst;
    if (step + 1 == order.size()) {
      dst = y.f32();
    } else {
      std::vector<float>& b = bufs[step % 2];
      b.resize(static_cast<size_t>(shape_numel(next)));
      dst = b.data();
    }
    pass_f32(src, dst, shape_prod(cur, 0, a), shape_prod(cur, a + 1, r), taps[a]);
    src = dst;
    cur = next;
  }
  fill_extrapolated(y, taps, p.extrapolation, ctx);
}

Mode parse_mode(const OpContext& ctx, const std::string& m, bool allow_cubic) {
  if (m == "nearest") return Mode::kNearest;
  if (m == "linear" || m == "bilinear") return Mode::kLinear;
  if (m == "cubic" && allow_cubic) return Mode::kCubic;
  ctx.fail("unknown mode '" + m + "'");
}

std::vector<double> float_list(const OpContext& ctx, size_t i, const char* what) {
  std::vector<double> v;
  const Value& t = ctx.req(i);
  if (!layout_read_floats(t, v)) ctx.fail(std::string(what) + " must be a float tensor, got " + t.describe());
  return v;
}

// Output dims from per-axis scales: floor(scale * dim), as the reference computes them.
std::vector<int64_t> sizes_from_scales(const OpContext& ctx, const Value& x, const std::vector<double>& scales) {
  std::vector<int64_t> out(x.rank());
  for (size_t a = 0; a < x.rank(); ++a) {
    const double s = scales[a];
    if (!(s > 0) || !std::isfinite(s)) ctx.fail("scales must be positive, got " + std::to_string(s) + " for axis " + std::to_string(a));
    const double o = std::floor(s * static_cast<double>(x.shape[a]));
    if (o > 1e12) ctx.fail("scale " + std::to_string(s) + " makes axis " + std::to_string(a) + " of " + x.describe() + " too large");
    out[a] = static_cast<int64_t>(o);
  }
  return out;
}

void op_resize(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const size_t r = x.rank();
  const Node& n = ctx.node;
  Params p;
  const bool v10 = ctx.opset < 11;
  p.mode = parse_mode(ctx, n.attr_string("mode", "nearest"), !v10);
  if (v10) {
    p.ctm = Ctm::kAsymmetric;
    p.nearest = Nearest::kSimple;
  } else {
    const std::string c = n.attr_string("coordinate_transformation_mode", "half_pixel");
    if (c == "half_pixel") p.ctm = Ctm::kHalfPixel;
    else if (c == "half_pixel_symmetric") p.ctm = Ctm::kHalfPixelSymmetric;
    else if (c == "pytorch_half_pixel") p.ctm = Ctm::kPytorchHalfPixel;
    else if (c == "align_corners") p.ctm = Ctm::kAlignCorners;
    else if (c == "asymmetric") p.ctm = Ctm::kAsymmetric;
    else if (c == "tf_crop_and_resize") p.ctm = Ctm::kTfCrop;
    else if (c == "tf_half_pixel_for_nn") ctx.fail("coordinate_transformation_mode 'tf_half_pixel_for_nn' is not supported");
    else ctx.fail("unknown coordinate_transformation_mode '" + c + "'");
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") p.nearest = Nearest::kRoundPreferFloor;
    else if (nm == "round_prefer_ceil") p.nearest = Nearest::kRoundPreferCeil;
    else if (nm == "floor") p.nearest = Nearest::kFloor;
    else if (nm == "ceil") p.nearest = Nearest::kCeil;
    else ctx.fail("unknown nearest_mode '" + nm + "'");
    p.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
    p.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
    p.extrapolation = n.attr_float("extrapolation_value", 0.0f);
    p.antialias = n.attr_int("antialias", 0) != 0 && p.mode != Mode::kNearest;
  }
  // Axes the scales/sizes/roi lists refer to (opset 18), all axes otherwise.
  std::vector<int64_t> axes;
  if (n.attr("axes")) {
    for (int64_t a : n.attr_ints("axes")) {
      int64_t k = a;
      if (!axis_normalize(k, static_cast<int64_t>(r))) ctx.fail("axis " + std::to_string(a) + " is out of range for " + x.describe());
      if (std::find(axes.begin(), axes.end(), k) != axes.end()) ctx.fail("axis " + std::to_string(a) + " is listed twice");
      axes.push_back(k);
    }
  } else {
    for (size_t a = 0; a < r; ++a) axes.push_back(static_cast<int64_t>(a));
  }
  const size_t na = axes.size();
  std::vector<double> scales(r, 1.0), roi0(r, 0.0), roi1(r, 1.0);
  std::vector<int64_t> out = x.shape;
  const Value* sc = ctx.in(v10 ? 1 : 2);
  const Value* sz = v10 ? nullptr : ctx.in(3);
  if (sc && sc->numel() == 0) sc = nullptr;  // opset 11 passes an empty tensor for "not given"
  if (sz && sz->numel() == 0) sz = nullptr;
  if (sc && sz) ctx.fail("got both scales and sizes; give one");
  if (!sc && !sz) ctx.fail("needs scales or sizes");
  if (!v10 && p.ctm == Ctm::kTfCrop) {
    const Value* rv = ctx.in(1);
    if (rv && rv->numel() > 0) {
      const std::vector<double> roi = float_list(ctx, 1, "roi");
      if (roi.size() != 2 * na) ctx.fail("roi has " + std::to_string(roi.size()) + " values, expected " + std::to_string(2 * na));
      for (size_t i = 0; i < na; ++i) {
        roi0[static_cast<size_t>(axes[i])] = roi[i];
        roi1[static_cast<size_t>(axes[i])] = roi[na + i];
      }
    }
  }
  if (sc) {
    const std::vector<double> s = float_list(ctx, v10 ? 1 : 2, "scales");
    if (s.size() != na) ctx.fail("scales has " + std::to_string(s.size()) + " values, expected " + std::to_string(na) + " for " + x.describe());
    for (size_t i = 0; i < na; ++i) scales[static_cast<size_t>(axes[i])] = s[i];
    out = sizes_from_scales(ctx, x, scales);
  } else {
    const std::vector<int64_t> s = layout_ints_input(ctx, 3, "sizes");
    if (s.size() != na) ctx.fail("sizes has " + std::to_string(s.size()) + " values, expected " + std::to_string(na) + " for " + x.describe());
    for (size_t i = 0; i < na; ++i) {
      if (s[i] < 0) ctx.fail("sizes " + shape_str(s) + " has a negative value");
      out[static_cast<size_t>(axes[i])] = s[i];
    }
    for (size_t a = 0; a < r; ++a)
      scales[a] = x.shape[a] ? static_cast<double>(out[a]) / static_cast<double>(x.shape[a]) : 1.0;
    const std::string policy = n.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "not_larger" || policy == "not_smaller") {
      double s0 = policy == "not_larger" ? INFINITY : 0.0;
      for (int64_t a : axes)
        s0 = policy == "not_larger" ? std::min(s0, scales[static_cast<size_t>(a)]) : std::max(s0, scales[static_cast<size_t>(a)]);
      for (int64_t a : axes) {
        scales[static_cast<size_t>(a)] = s0;
        out[static_cast<size_t>(a)] = static_cast<int64_t>(s0 * static_cast<double>(x.shape[static_cast<size_t>(a)]) + 0.5);
      }
    } else if (policy != "stretch") {
      ctx.fail("unknown keep_aspect_ratio_policy '" + policy + "'");
    }
  }
  for (size_t a = 0; a < r; ++a)
    if (x.shape[a] > 0 && !(scales[a] > 0)) ctx.fail("axis " + std::to_string(a) + " of " + x.describe() + " would resize to " + std::to_string(out[a]));
  run_resize(ctx, p, out, scales, roi0, roi1);
}

void op_upsample(OpContext& ctx) {
  const Value& x = ctx.req(0);
  Params p;
  p.mode = parse_mode(ctx, ctx.node.attr_string("mode", "nearest"), false);
  p.ctm = Ctm::kAsymmetric;
  p.nearest = Nearest::kSimple;
  std::vector<double> scales;
  if (ctx.in(1)) {
    scales = float_list(ctx, 1, "scales");
  } else if (const Attribute* a = ctx.node.attr("scales")) {  // opset 7
    scales.assign(a->floats.begin(), a->floats.end());
  } else if (ctx.node.attr("height_scale")) {  // opset 1: NCHW with two scale attributes
    scales = {1.0, 1.0, ctx.node.attr_float("height_scale", 1), ctx.node.attr_float("width_scale", 1)};
  } else {
    ctx.fail("needs scales");
  }
  if (scales.size() != x.rank()) ctx.fail("scales has " + std::to_string(scales.size()) + " values for " + x.describe());
  const std::vector<int64_t> out = sizes_from_scales(ctx, x, scales);
  run_resize(ctx, p, out, scales, std::vector<double>(x.rank(), 0.0), std::vector<double>(x.rank(), 1.0));
}

}  // namespace

void register_ops_resize(OpTable& t) {
  t[static_cast<int>(Op::kResize)] = op_resize;
  t[static_cast<int>(Op::kUpsample)] = op_upsample;
}

}  // namespace qp
