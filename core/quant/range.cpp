// Range setting methods for weights; all statistics in double, deterministic.
#include "core/quant/range.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <tuple>
#include <vector>

#include "core/ir/error.h"
#include "core/quant/qdq_error.h"

namespace qp {

bool operator==(const RangeOptions& a, const RangeOptions& b) {
  return a.method == b.method && a.percentile == b.percentile && a.aciq == b.aciq;
}

std::string range_method_name(const RangeOptions& r) {
  switch (r.method) {
    case RangeMethod::kMinMax: return "minmax";
    case RangeMethod::kMse: return "mse";
    case RangeMethod::kPercentile: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "percentile:%g", r.percentile);
      return buf;
    }
    case RangeMethod::kAciq:
      return std::string("aciq:") + (r.aciq == AciqDist::kLaplace ? "laplace" : r.aciq == AciqDist::kGauss ? "gauss" : "mix");
  }
  return "?";
}

RangeOptions range_options_parse(const std::string& s) {
  RangeOptions r;
  const size_t colon = s.find(':');
  const std::string head = s.substr(0, colon), arg = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (head == "minmax" && arg.empty()) {
    r.method = RangeMethod::kMinMax;
  } else if (head == "mse" && arg.empty()) {
    r.method = RangeMethod::kMse;
  } else if (head == "percentile") {
    r.method = RangeMethod::kPercentile;
    if (!arg.empty()) {
      char* end = nullptr;
      r.percentile = std::strtod(arg.c_str(), &end);
      if (*end != '\0' || !(r.percentile > 50 && r.percentile <= 100))
        throw Error("range '" + s + "': the percentile must be a number in (50, 100]");
    }
  } else if (head == "aciq") {
    r.method = RangeMethod::kAciq;
    if (arg.empty() || arg == "mix") r.aciq = AciqDist::kMix;
    else if (arg == "laplace") r.aciq = AciqDist::kLaplace;
    else if (arg == "gauss") r.aciq = AciqDist::kGauss;
    else throw Error("range '" + s + "': ACIQ takes laplace, gauss or mix");
  } else {
    throw Error("range '" + s + "' is not one of minmax, percentile[:P], mse, aciq[:laplace|gauss|mix]");
  }
  return r;
}

RangeStats range_stats(const float* x, size_t n, bool with_mad) {
  RangeStats st;
  st.n = n;
  double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
  if (n == 0 || !f32_moments(x, n, &mn, &mx, &sum, &sq)) {
    // Slow path for tensors with NaN/Inf: count them and leave them out (§1.4).
    mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) {
      const double v = x[i];
      if (!std::isfinite(v)) {
        ++st.non_finite;
        continue;
      }
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      sum += v;
      sq += v * v;
    }
  }
  const size_t nf = n - st.non_finite;
  if (nf == 0) return st;
  st.min = mn;
  st.max = mx;
  st.sum_sq = sq;
  st.mean = sum / static_cast<double>(nf);
  st.std = std::sqrt(std::max(0.0, sq / static_cast<double>(nf) - st.mean * st.mean));
  if (with_mad) {
    double mad = 0;
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(x[i])) mad += std::fabs(x[i] - st.mean);
    st.mean_abs_dev = mad / static_cast<double>(nf);
    st.has_mad = true;
  }
  return st;
}

// --- ACIQ ------------------------------------------------------------------------------------------------

double aciq_mse_laplace(double a, double b, int bits) {
  return 2 * b * b * std::exp(-a / b) + a * a / (3 * std::pow(4.0, bits));
}

double aciq_mse_gauss(double a, double s, int bits) {
  return (a * a + s * s) * (1 - std::erf(a / (s * std::sqrt(2.0)))) -
         std::sqrt(2 / M_PI) * a * s * std::exp(-a * a / (2 * s * s)) + a * a / (3 * std::pow(4.0, bits));
}

namespace {
template <typename F>
double golden_min(F f, double lo, double hi) {
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = hi - g * (hi - lo), d = lo + g * (hi - lo);
  for (int it = 0; it < 200; ++it) {
    if (f(c) < f(d)) hi = d;
    else lo = c;
    c = hi - g * (hi - lo);
    d = lo + g * (hi - lo);
  }
  return (lo + hi) / 2;
}
}  // namespace

namespace {
// Optimal alpha per bit-width 1..17 (17: the one-sided 16-bit case), searched once.
struct AciqTable {
  double laplace[18], gauss[18];
  AciqTable() {
    for (int m = 1; m <= 17; ++m) {
      laplace[m] = golden_min([m](double a) { return aciq_mse_laplace(a, 1, m); }, 0.01, 40);
      gauss[m] = golden_min([m](double a) { return aciq_mse_gauss(a, 1, m); }, 0.01, 12);
    }
  }
};
const AciqTable& aciq_table() {
  static const AciqTable t;
  return t;
}
}  // namespace

double aciq_alpha_laplace(int bits) { return aciq_table().laplace[std::clamp(bits, 1, 17)]; }
double aciq_alpha_gauss(int bits) { return aciq_table().gauss[std::clamp(bits, 1, 17)]; }

// --- helpers -----------------------------------------------------------------------------------------------

double quant_mse(const float* x, size_t n, const QParams& p) {
  if (n == 0) return 0;
  QdqParams q{1.0f / p.scale, p.scale, p.zero_point, p.qmin, p.qmax};
  QdqAccum acc;
  double ss = 0;
  f32_qdq_error(x, n, &q, 1, &acc, &ss);
  return acc.sq_err / static_cast<double>(n);
}

namespace {

double percentile_of(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size())) - 1;
  const size_t k = static_cast<size_t>(std::clamp(rank, 0.0, static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// MSE of every candidate range in one pass of the fused kernel; returns the index of the best
// (ties go to the wider range, which comes later in the candidate list).
size_t best_candidate(const float* x, size_t n, const RangeStats& st, const QuantSpec& spec,
                      const std::vector<std::pair<double, double>>& cand) {
  std::vector<QdqParams> q(cand.size());
  for (size_t i = 0; i < cand.size(); ++i) {
    q[i] = qdq_params_for_data(quant_params(spec, cand[i].first, cand[i].second), st.min, st.max);
  }
  std::vector<QdqAccum> acc(cand.size());
  double ss = 0;
  f32_qdq_error(x, n, q.data(), q.size(), acc.data(), &ss);
  size_t best = 0;
  for (size_t i = 1; i < cand.size(); ++i)
    if (acc[i].sq_err <= acc[best].sq_err) best = i;
  return best;
}

// MSE-optimal range: the range shrunk by a common factor c in (0, 1], searched on a coarse grid of 40 and
// refined on a fine grid of 40 around the best (resolution 1/1600, finer than the K = 200 grid of §1.5.3);
// asymmetric ranges then get one coordinate pass on each end. Deviation from the 2-D grid of §1.5.3: cost
// O(120 N) instead of O(2500 N).
std::pair<double, double> mse_range(const float* x, size_t n, const RangeStats& st, const QuantSpec& spec) {
  double lo = std::min(st.min, 0.0), hi = std::max(st.max, 0.0);
  if (spec.scheme == Scheme::kSymmetric) {
    const double m = std::max(-lo, hi);
    lo = -m;
    hi = m;
  }
  if (hi - lo <= 0) return {lo, hi};
  constexpr int K = 40;
  std::vector<std::pair<double, double>> cand;
  for (int k = 1; k <= K; ++k) cand.emplace_back(lo * k / K, hi * k / K);
  double c = static_cast<double>(best_candidate(x, n, st, spec, cand) + 1) / K;
  cand.clear();
  for (int k = -K / 2; k <= K / 2; ++k) {
    const double f = c + static_cast<double>(k) / (K * K / 2);
    if (f > 0 && f <= 1) cand.emplace_back(lo * f, hi * f);
  }
  const auto best = cand[best_candidate(x, n, st, spec, cand)];
  if (spec.scheme == Scheme::kSymmetric) return best;
  // Asymmetric: refine each end alone (0.9x..1.1x, never past the data) with the other end fixed.
  double blo = best.first, bhi = best.second;
  for (const bool upper : {true, false}) {
    cand.clear();
    for (int k = 0; k <= K; ++k) {
      const double f = 0.9 + 0.2 * k / K;
      if (upper) cand.emplace_back(blo, std::min(bhi * f, hi));
      else cand.emplace_back(std::max(blo * f, lo), bhi);
    }
    std::tie(blo, bhi) = cand[best_candidate(x, n, st, spec, cand)];
  }
  return {blo, bhi};
}

std::pair<double, double> aciq_range(const RangeStats& st, const QuantSpec& spec, AciqDist dist) {
  // One-sided data on an unsigned grid uses the next bit-width's entry (Banner's "positive" table).
  const int m = spec.bits + ((st.min >= 0 && !spec.is_signed) ? 1 : 0);
  const double b = st.mean_abs_dev, sigma = st.std;
  double alpha;
  const double al = aciq_alpha_laplace(m) * b, ag = aciq_alpha_gauss(m) * sigma;
  if (dist == AciqDist::kLaplace) alpha = al;
  else if (dist == AciqDist::kGauss) alpha = ag;
  else alpha = (b > 0 && sigma > 0 && aciq_mse_laplace(al, b, m) <= aciq_mse_gauss(ag, sigma, m)) ? al : ag;
  if (!(alpha > 0) || alpha >= (st.max - st.min) / 2) return {st.min, st.max};
  const double lo = std::max(st.min, st.mean - alpha);
  return {lo, lo + 2 * alpha};
}

}  // namespace

std::pair<double, double> range_select(const float* x, size_t n, const RangeStats& st, const QuantSpec& spec,
                                       const RangeOptions& opt) {
  switch (opt.method) {
    case RangeMethod::kMinMax: return {st.min, st.max};
    case RangeMethod::kPercentile: {
      if (spec.scheme == Scheme::kSymmetric) {
        std::vector<float> a(x, x + n);
        for (auto& v : a) v = std::fabs(v);
        const double alpha = percentile_of(a, opt.percentile);
        return {-alpha, alpha};
      }
      std::vector<float> a(x, x + n);
      const double hi = percentile_of(a, opt.percentile);
      const double lo = percentile_of(a, 100.0 - opt.percentile);
      return {lo, hi};
    }
    case RangeMethod::kMse: return mse_range(x, n, st, spec);
    case RangeMethod::kAciq: return aciq_range(st, spec, opt.aciq);
  }
  return {st.min, st.max};
}

}  // namespace qp
