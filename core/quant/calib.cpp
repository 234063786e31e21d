// Calibration data sets (see calib.h).
#include "core/quant/calib.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/ir/error.h"
#include "core/runtime/executor.h"

namespace qp {

CalibrationSet calibration_random(const Graph& g, const RandomCalibration& opt) {
  if (opt.samples < 1 || opt.samples > 100000)
    throw Error("calibration: samples must be in 1..100000, got " + std::to_string(opt.samples));
  if (!(opt.hi > opt.lo) && !(opt.std > 0))
    throw Error("calibration: the range [lo, hi) is empty");
  if (!(opt.std >= 0) || !std::isfinite(opt.mean)) throw Error("calibration: std must be >= 0 and mean finite");
  // Symbolic dims not given: 1 for a leading (batch) dim, 64 for the others, a size every real model here accepts
  // (a multiple of 32, as PP-OCR det needs; 1x1 would collapse an image model's pooling).
  std::map<std::string, int64_t> dims = opt.dims;
  for (const auto& in : g.inputs)
    for (size_t i = 0; i < in.shape.size(); ++i)
      if (!in.shape[i].known() && !in.shape[i].param.empty() && !dims.count(in.shape[i].param))
        dims[in.shape[i].param] = i == 0 ? 1 : 64;
  CalibrationSet cs;
  for (int i = 0; i < opt.samples; ++i) {
    const bool normal = opt.std > 0;
    Sample s = random_inputs(g, opt.seed + static_cast<uint64_t>(i), dims, normal ? 0.0f : opt.lo,
                             normal ? 1.0f : opt.hi);
    if (normal) {
      // Box-Muller over the uniform draws, so the normal data stays a pure function of the seed.
      for (auto& kv : s) {
        Value& v = kv.second;
        if (v.dtype != DType::kFloat32) continue;
        float* x = v.f32();
        const int64_t n = v.numel();
        for (int64_t k = 0; k < n; k += 2) {
          const double u1 = std::max(1e-12, static_cast<double>(x[k]));
          const double u2 = k + 1 < n ? static_cast<double>(x[k + 1]) : 0.25;
          const double r = std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
          x[k] = static_cast<float>(opt.mean + opt.std * r * std::cos(t));
          if (k + 1 < n) x[k + 1] = static_cast<float>(opt.mean + opt.std * r * std::sin(t));
        }
      }
    }
    cs.samples.push_back(std::move(s));
  }
  char buf[160];
  if (opt.std > 0)
    std::snprintf(buf, sizeof buf, "random (seed %llu, normal mean %g std %g, %d samples)",
                  static_cast<unsigned long long>(opt.seed), opt.mean, opt.std, opt.samples);
  else
    std::snprintf(buf, sizeof buf, "random (seed %llu, uniform [%g, %g), %d samples)",
                  static_cast<unsigned long long>(opt.seed), opt.lo, opt.hi, opt.samples);
  cs.source = buf;
  return cs;
}

const ValueInfo& calibration_input(const Graph& g) {
  if (g.inputs.size() == 1) return g.inputs[0];
  const ValueInfo* found = nullptr;
  int n = 0;
  std::string names;
  for (const auto& vi : g.inputs) {
    names += (names.empty() ? "'" : ", '") + vi.name + "'";
    if (vi.dtype == DType::kFloat32 && vi.has_shape && vi.shape.size() == 4) {
      found = &vi;
      ++n;
    }
  }
  if (n != 1)
    throw Error("calibration data feeds one input, but the model has " + std::to_string(g.inputs.size()) +
                " inputs (" + names + ")" + (n ? " and several are images" : " and none is a float32 image"));
  return *found;
}

namespace {

std::string input_desc(const ValueInfo& vi) {
  return "input '" + vi.name + "' " + dtype_name(vi.dtype) + " " + (vi.has_shape ? shape_str(vi.shape) : "[?]");
}

// Does `dims` fit the declared shape `want` (symbolic/unknown dims fit anything)?
bool fits(const std::vector<int64_t>& dims, size_t from, const std::vector<Dim>& want, size_t want_from) {
  if (dims.size() - from != want.size() - want_from) return false;
  for (size_t i = 0; i < want.size() - want_from; ++i) {
    const Dim& d = want[want_from + i];
    if (d.known() && d.value != dims[from + i]) return false;
  }
  return true;
}

}  // namespace

CalibrationSet calibration_from_tensors(const Graph& g, const std::vector<Tensor>& tensors,
                                        const std::vector<std::string>& names, int batch, int max_samples) {
  if (batch < 1) throw Error("calibration: batch must be at least 1, got " + std::to_string(batch));
  const ValueInfo& in = calibration_input(g);
  CalibrationSet cs;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const Tensor& x = tensors[t];
    const std::string what = t < names.size() ? names[t] : x.name;
    if (max_samples > 0 && static_cast<int>(cs.samples.size()) >= max_samples) break;
    DType dt = x.dtype;
    if (in.dtype == DType::kFloat32 && dt == DType::kFloat64) dt = DType::kFloat32;
    if (in.dtype != DType::kUndefined && dt != in.dtype)
      throw Error(what + ": " + dtype_name(x.dtype) + " " + shape_str(x.dims) + " does not fit " + input_desc(in) +
                  " (element type)");
    if (dtype_size(dt) == 0) throw Error(what + ": element type " + dtype_name(x.dtype) + " cannot be fed to a model");
    // With the batch dim (dims as declared, any batch), or without it (one sample).
    bool has_batch = true;
    if (in.has_shape) {
      if (fits(x.dims, 0, in.shape, 0)) has_batch = true;
      else if (!in.shape.empty() && fits(x.dims, 0, in.shape, 1)) has_batch = false;
      else
        throw Error(what + ": shape " + shape_str(x.dims) + " does not fit " + input_desc(in) +
                    " (with or without its batch dim)");
    }
    if (has_batch && x.dims.empty()) throw Error(what + ": a scalar cannot be a batch of samples");
    const int64_t rows = has_batch ? x.dims[0] : 1;
    std::vector<int64_t> row_dims = x.dims;
    if (has_batch) row_dims.erase(row_dims.begin());
    const int64_t row_elems = shape_numel(row_dims);
    const size_t es = dtype_size(x.dtype);
    if (static_cast<int64_t>(x.data.size()) != rows * row_elems * static_cast<int64_t>(es))
      throw Error(what + ": holds " + std::to_string(x.data.size()) + " bytes, expected " +
                  std::to_string(rows * row_elems * static_cast<int64_t>(es)));
    // Symbolic batch: `batch` rows per sample; a fixed batch dim takes rows one sample at a time as declared.
    int64_t per = batch;
    if (in.has_shape && !in.shape.empty() && in.shape[0].known()) per = in.shape[0].value;
    if (per < 1) per = 1;
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
      if (max_samples > 0 && static_cast<int>(cs.samples.size()) >= max_samples) break;
      const int64_t nr = std::min(per, rows - r0);
      if (in.has_shape && !in.shape.empty() && in.shape[0].known() && nr != in.shape[0].value)
        throw Error(what + ": " + std::to_string(rows) + " rows do not split into batches of " + std::to_string(per));
      std::vector<int64_t> dims = row_dims;
      dims.insert(dims.begin(), nr);
      Value v = value_alloc(dt, dims);
      const int64_t n = nr * row_elems;
      if (dt == x.dtype) {
        std::memcpy(v.data, x.data.data() + static_cast<size_t>(r0 * row_elems) * es, static_cast<size_t>(n) * es);
      } else {  // float64 -> float32
        const double* src = reinterpret_cast<const double*>(x.data.data()) + r0 * row_elems;
        float* dst = v.f32();
        for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
      }
      Sample s;
      s[in.name] = std::move(v);
      cs.samples.push_back(std::move(s));
    }
  }
  if (cs.samples.empty()) throw Error("calibration: no samples in " + std::to_string(tensors.size()) + " tensors");
  cs.source = std::to_string(cs.samples.size()) + (cs.samples.size() == 1 ? " sample from " : " samples from ") +
              (tensors.size() == 1 ? (names.empty() ? tensors[0].name : names[0]) : std::to_string(tensors.size()) + " tensors");
  return cs;
}

std::vector<int64_t> calibration_labels(const Tensor& t, const std::string& what) {
  std::vector<int64_t> out;
  const int64_t n = t.numel();
  const char* d = t.data.data();
  if (static_cast<int64_t>(t.data.size()) < n * static_cast<int64_t>(dtype_size(t.dtype)) || dtype_size(t.dtype) == 0)
    throw Error(what + ": labels must be a numeric tensor");
  for (int64_t i = 0; i < n; ++i) {
    double v;
    switch (t.dtype) {
      case DType::kInt64: { int64_t x; std::memcpy(&x, d + i * 8, 8); out.push_back(x); continue; }
      case DType::kInt32: { int32_t x; std::memcpy(&x, d + i * 4, 4); out.push_back(x); continue; }
      case DType::kUint8: out.push_back(static_cast<uint8_t>(d[i])); continue;
      case DType::kInt8: out.push_back(static_cast<int8_t>(d[i])); continue;
      case DType::kFloat32: { float x; std::memcpy(&x, d + i * 4, 4); v = x; break; }
      case DType::kFloat64: { std::memcpy(&v, d + i * 8, 8); break; }
      default: throw Error(what + ": labels of type " + dtype_name(t.dtype) + " are not supported");
    }
    if (!(v == std::floor(v)) || std::fabs(v) > 1e15)
      throw Error(what + ": label " + std::to_string(i) + " is not an integer");
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

void image_preprocess_validate(const ImagePreprocess& p) {
  auto bad = [](const std::string& f, const std::string& w) { throw Error("preprocess." + f + ": " + w); };
  if (p.resize_shorter < 0 || p.resize_shorter > 16384) bad("resize_shorter", "must be in 0..16384");
  if (p.resize_w < 0 || p.resize_h < 0 || p.resize_w > 16384 || p.resize_h > 16384) bad("resize", "must be in 0..16384");
  if ((p.resize_w > 0) != (p.resize_h > 0)) bad("resize", "give both width and height");
  if (p.resize_shorter > 0 && p.resize_w > 0) bad("resize", "choose either the shorter side or an exact size");
  if (p.crop_w < 0 || p.crop_h < 0 || (p.crop_w > 0) != (p.crop_h > 0)) bad("crop", "give both width and height (> 0)");
  if (!std::isfinite(p.scale) || p.scale == 0) bad("scale", "must be finite and non-zero");
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(p.mean[c])) bad("mean", "must be finite");
    if (!std::isfinite(p.std[c]) || p.std[c] == 0) bad("std", "must be finite and non-zero");
  }
}

namespace {

// Bilinear resize of a float plane set (C x h x w, interleaved per pixel) with half-pixel centres.
std::vector<float> resize_bilinear(const std::vector<float>& src, int w, int h, int c, int nw, int nh) {
  std::vector<float> dst(static_cast<size_t>(nw) * nh * c);
  const double sx = static_cast<double>(w) / nw, sy = static_cast<double>(h) / nh;
  for (int y = 0; y < nh; ++y) {
    const double fy = std::max(0.0, (y + 0.5) * sy - 0.5);
    const int y0 = std::min(static_cast<int>(fy), h - 1), y1 = std::min(y0 + 1, h - 1);
    const double wy = fy - y0;
    for (int x = 0; x < nw; ++x) {
      const double fx = std::max(0.0, (x + 0.5) * sx - 0.5);
      const int x0 = std::min(static_cast<int>(fx), w - 1), x1 = std::min(x0 + 1, w - 1);
      const double wx = fx - x0;
      for (int k = 0; k < c; ++k) {
        auto at = [&](int yy, int xx) { return static_cast<double>(src[(static_cast<size_t>(yy) * w + xx) * c + k]); };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        dst[(static_cast<size_t>(y) * nw + x) * c + k] = static_cast<float>(v);
      }
    }
  }
  return dst;
}

}  // namespace

Value image_to_tensor(const Graph& g, const PixelImage& img, const ImagePreprocess& p) {
  image_preprocess_validate(p);
  const ValueInfo& in = calibration_input(g);
  const std::string what = img.name.empty() ? std::string("image") : img.name;
  if (img.width < 1 || img.height < 1 || img.rgba.size() != static_cast<size_t>(img.width) * img.height * 4)
    throw Error(what + ": " + std::to_string(img.rgba.size()) + " bytes of pixels for " + std::to_string(img.width) +
                "x" + std::to_string(img.height) + " RGBA");
  if (in.dtype != DType::kFloat32 || !in.has_shape || in.shape.size() != 4)
    throw Error(what + ": images need a float32 input [N, C, H, W], but " + input_desc(in));
  const Dim& dc = in.shape[1];
  const int64_t C = dc.known() ? dc.value : 3;
  if (C != 1 && C != 3) throw Error(what + ": images give 1 or 3 channels, " + input_desc(in) + " has " + std::to_string(C));
  int64_t H = in.shape[2].known() ? in.shape[2].value : p.crop_h;
  int64_t W = in.shape[3].known() ? in.shape[3].value : p.crop_w;
  // Symbolic H/W without a crop: the resized image's own size.
  int w = img.width, h = img.height;
  if (p.resize_w > 0) {
    w = p.resize_w;
    h = p.resize_h;
  } else if (p.resize_shorter > 0) {
    if (w <= h) {
      h = static_cast<int>(std::lround(static_cast<double>(h) * p.resize_shorter / w));
      w = p.resize_shorter;
    } else {
      w = static_cast<int>(std::lround(static_cast<double>(w) * p.resize_shorter / h));
      h = p.resize_shorter;
    }
  }
  if (H <= 0) H = h;
  if (W <= 0) W = w;
  if (p.crop_h > 0 && in.shape[2].known() && (p.crop_h != H || p.crop_w != W))
    throw Error("preprocess.crop: " + std::to_string(p.crop_w) + "x" + std::to_string(p.crop_h) + " differs from the " +
                input_desc(in));
  if (w < W || h < H)
    throw Error(what + ": after resizing the image is " + std::to_string(w) + "x" + std::to_string(h) +
                ", smaller than the crop " + std::to_string(W) + "x" + std::to_string(H) + " the " + input_desc(in) +
                " needs (resize it larger)");
  // Pixels as floats 0..255 (RGB), resized.
  std::vector<float> px(static_cast<size_t>(img.width) * img.height * 3);
  for (size_t i = 0; i < static_cast<size_t>(img.width) * img.height; ++i)
    for (int k = 0; k < 3; ++k) px[i * 3 + k] = img.rgba[i * 4 + k];
  if (w != img.width || h != img.height) px = resize_bilinear(px, img.width, img.height, 3, w, h);
  const int64_t x0 = (w - W) / 2, y0 = (h - H) / 2;
  Value v = value_alloc(DType::kFloat32, {1, C, H, W});
  float* out = v.f32();
  for (int64_t c = 0; c < C; ++c) {
    const int src_c = C == 1 ? -1 : (p.order == ChannelOrder::kRGB ? static_cast<int>(c) : 2 - static_cast<int>(c));
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const float* q = &px[(static_cast<size_t>(y + y0) * w + static_cast<size_t>(x + x0)) * 3];
        const double raw = src_c < 0 ? 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2] : q[src_c];
        out[(c * H + y) * W + x] = static_cast<float>((raw * p.scale - p.mean[c]) / p.std[c]);
      }
  }
  return v;
}

CalibrationSet calibration_from_pixels(const Graph& g, const std::vector<PixelImage>& images, const ImagePreprocess& p) {
  if (images.empty()) throw Error("calibration: no images");
  const ValueInfo& in = calibration_input(g);
  CalibrationSet cs;
  for (const auto& img : images) {
    Sample s;
    s[in.name] = image_to_tensor(g, img, p);
    cs.samples.push_back(std::move(s));
  }
  cs.source = std::to_string(images.size()) + " images";
  return cs;
}

}  // namespace qp
