// Calibration data sets (see calib.h).
#include "core/quant/calib.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/ir/error.h"
#include "core/runtime/executor.h"

namespace qp {

CalibrationSet calibration_random(const Graph& g, const RandomCalibration& opt) {
  if (opt.samples < 1 || opt.samples > 100000)
    throw Error("calibration: samples must be in 1..100000, got " + std::to_string(opt.samples));
  if (!(opt.hi > opt.lo) && !(opt.std > 0))
    throw Error("calibration: the range [lo, hi) is empty");
  if (!(opt.std >= 0) || !std::isfinite(opt.mean)) throw Error("calibration: std must be >= 0 and mean finite");
  CalibrationSet cs;
  for (int i = 0; i < opt.samples; ++i) {
    const bool normal = opt.std > 0;
    Sample s = random_inputs(g, opt.seed + static_cast<uint64_t>(i), opt.dims, normal ? 0.0f : opt.lo,
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

}  // namespace qp
