// One layer in detail: histograms, the analysis' clipping ranges and the QE-vs-bits curve, through the public
// LayerAnalyzer API so the ranges drawn are exactly the ones the analysis quantizes with.
#include "core/quant/analysis/detail.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/quant/report.h"

namespace qp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The options with this layer's weight (or activation) width set to `b`, wherever the width comes from (the global
// config or the layer's own override), as weight_bit_sensitivity does.
AnalysisOptions with_weight_bits(const AnalysisOptions& opt, const std::string& layer, int b) {
  AnalysisOptions o = opt;
  o.quantize_weights = true;
  o.weight.bits = b;
  auto it = o.overrides.find(layer);
  if (it != o.overrides.end() && it->second.has_weight) it->second.weight.bits = b;
  return o;
}

AnalysisOptions with_act_bits(const AnalysisOptions& opt, const std::string& layer, int b) {
  AnalysisOptions o = opt;
  o.quantize_activations = true;
  o.act.bits = b;
  auto it = o.overrides.find(layer);
  if (it != o.overrides.end() && it->second.has_act) it->second.act.bits = b;
  return o;
}

// The weight through its quantizer, per channel rows (fq.axis >= 0) or as one tensor.
QuantEffect weight_effect(const Tensor& w, const FakeQuant& fq) {
  QuantEffect e;
  if (fq.axis >= 0) {
    const ChannelView cv = channel_view(w, static_cast<int>(fq.axis));
    if (fq.params.size() != static_cast<size_t>(cv.channels))
      throw Error("weight '" + w.name + "': quantizer has " + std::to_string(fq.params.size()) + " channels, the weight " +
                  std::to_string(cv.channels));
    for (int64_t ch = 0; ch < cv.channels; ++ch)
      quant_effect_add(cv.data + ch * cv.inner, static_cast<size_t>(cv.inner), fq.params[static_cast<size_t>(ch)],
                       fq.spec.rounding, e);
  } else {
    quant_effect_add(w.f32(), static_cast<size_t>(w.numel()), fq.params.at(0), fq.spec.rounding, e);
  }
  return e;
}

double frac(int64_t a, int64_t n) { return n > 0 ? static_cast<double>(a) / static_cast<double>(n) : 0; }

}  // namespace

void layer_detail_options_validate(const LayerDetailOptions& o) {
  if (o.bins < 1 || o.bins > 4096) throw Error("detail.bins: " + std::to_string(o.bins) + " is outside 1..4096");
  if (o.bits.empty()) throw Error("detail.bits: must list at least one bit-width");
  for (size_t i = 0; i < o.bits.size(); ++i)
    if (o.bits[i] < 2 || o.bits[i] > 16)
      throw Error("detail.bits[" + std::to_string(i) + "]: " + std::to_string(o.bits[i]) + " is outside 2..16");
}

LayerDetailOptions layer_detail_options_from_json(const std::string& text) {
  using nlohmann::json;
  json j;
  try {
    j = text.empty() ? json::object() : json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("detail: not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) throw Error("detail: must be an object");
  LayerDetailOptions o;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string f = "detail." + it.key();
    const json& v = it.value();
    if (it.key() == "bins") {
      if (!v.is_number_integer()) throw Error(f + ": must be an integer");
      o.bins = static_cast<int>(std::max<int64_t>(std::min<int64_t>(v.get<int64_t>(), 1 << 20), -1));
    } else if (it.key() == "bits") {
      if (!v.is_array()) throw Error(f + ": must be an array of bit-widths");
      o.bits.clear();
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number_integer()) throw Error(f + "[" + std::to_string(i) + "]: must be an integer");
        o.bits.push_back(static_cast<int>(std::max<int64_t>(std::min<int64_t>(v[i].get<int64_t>(), 1000), -1)));
      }
    } else if (it.key() == "output_snr" || it.key() == "act_curve") {
      if (!v.is_boolean()) throw Error(f + ": must be true or false");
      (it.key() == "output_snr" ? o.output_snr : o.act_curve) = v.get<bool>();
    } else {
      throw Error(f + ": unknown field");
    }
  }
  layer_detail_options_validate(o);
  return o;
}

Histogram histogram_build(const float* x, size_t n, double lo, double hi, int bins) {
  Histogram h;
  bins = std::max(bins, 1);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi = lo + 1;
  }
  const double w = (hi - lo) / bins;
  for (int k = 0; k <= bins; ++k) h.edges.push_back(k == bins ? hi : lo + w * k);
  h.counts.assign(static_cast<size_t>(bins), 0);
  const double inv = bins / (hi - lo);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!std::isfinite(v)) continue;
    // Values outside [lo, hi] (none when the range is the data's min/max) land in the end bins.
    const double k = std::floor((v - lo) * inv);
    const int64_t b = k < 0 ? 0 : std::min<int64_t>(static_cast<int64_t>(std::min(k, 1e9)), bins - 1);
    ++h.counts[static_cast<size_t>(b)];
  }
  return h;
}

void quant_effect_add(const float* x, size_t n, const QParams& p, Rounding r, QuantEffect& e) {
  // The float operations of fake_quant_apply, so the local numbers describe what the executor computes.
  const float inv = 1.0f / p.scale;
  double sig = 0, noise = 0;
  int64_t cnt = 0, clipped = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    float q = x[i] * inv;
    q = r == Rounding::kHalfEven ? std::nearbyint(q) : std::round(q);
    const float t = q + p.zero_point;
    const float c = std::min(std::max(t, p.qmin), p.qmax);
    const float xh = (c - p.zero_point) * p.scale;
    const double d = static_cast<double>(xh) - x[i];
    sig += static_cast<double>(x[i]) * x[i];
    noise += d * d;
    clipped += t != c;
    ++cnt;
  }
  e.signal += sig;
  e.noise += noise;
  e.n += cnt;
  e.clipped += clipped;
}

std::pair<double, double> qparams_range(const QParams& p) {
  return {(static_cast<double>(p.qmin) - p.zero_point) * p.scale, (static_cast<double>(p.qmax) - p.zero_point) * p.scale};
}

LayerDetail layer_detail(LayerAnalyzer& a, const Graph& g, size_t layer, const AnalysisOptions& opt,
                         const LayerDetailOptions& o, const AnalysisCallback& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t L = a.layers().size();
  if (layer >= L)
    throw Error("layer index " + std::to_string(layer) + " is out of range: the model has " + std::to_string(L) +
                " quantizable layer" + (L == 1 ? "" : "s"));
  analysis_options_validate(opt);
  layer_detail_options_validate(o);
  LayerDetail d;
  d.index = layer;
  d.layer = a.layers()[layer];
  d.act_point = a.act_points()[layer];
  d.weights_quantized = opt.quantize_weights;
  d.acts_quantized = opt.quantize_activations;
  const std::string& name = d.layer.name;
  auto ov = opt.overrides.find(name);
  if (ov != opt.overrides.end() && ov->second.fp32) {
    d.skipped = true;
    d.skip_reason = "kept in float32";
  } else if (!d.layer.skip.empty()) {
    d.skipped = true;
    d.skip_reason = d.layer.skip;
  }

  // Weights. The quantizer is asked for with quantize_weights on, so an activation-only analysis still shows where
  // its weights would clip (weights_quantized tells the page which case it is).
  const Tensor* w = g.weight(d.layer.weight);
  if (w && w->dtype == DType::kFloat32 && w->data.size() == static_cast<size_t>(w->numel()) * sizeof(float)) {
    const size_t n = static_cast<size_t>(w->numel());
    d.has_weight = true;
    d.weight_stats = range_stats(w->f32(), n, false);
    d.weight_hist = histogram_build(w->f32(), n, d.weight_stats.min, d.weight_stats.max, o.bins);
  }
  FakeQuant wfq;
  if (d.has_weight && !d.skipped) {
    AnalysisOptions wo = opt;
    wo.quantize_weights = true;
    if (a.weight_quantizer(layer, wo, wfq, &d.weight_config)) {
      d.has_weight_range = true;
      d.weight_bits = wfq.spec.bits;
      d.weight_axis = wfq.axis;
      double lo = INFINITY, hi = -INFINITY;
      for (const QParams& p : wfq.params) {
        const auto r = qparams_range(p);
        if (wfq.axis >= 0) {
          d.weight_ch_lo.push_back(r.first);
          d.weight_ch_hi.push_back(r.second);
        }
        lo = std::min(lo, r.first);
        hi = std::max(hi, r.second);
      }
      d.weight_lo = lo;
      d.weight_hi = hi;
      const QuantEffect e = weight_effect(*w, wfq);
      d.weight_clipped_frac = frac(e.clipped, e.n);
      d.weight_sqnr_db = sqnr_db(e.signal, e.noise);
    }
  }

  // Activations: the calibration subsample (a pseudo-random pick of at most opt.act_subsample values spread over
  // the samples) for the histogram and local SQNR; min/max/mean/std exact over every value.
  FakeQuant afq;
  const std::vector<float>* sub = nullptr;
  if (!d.act_point.empty()) {
    RangeStats st;
    sub = &a.act_values(layer, opt, &st);
    if (st.n > 0) {
      d.has_act = true;
      d.act_stats = st;
      d.act_subsample = static_cast<int64_t>(sub->size());
      d.act_hist = histogram_build(sub->data(), sub->size(), st.min, st.max, o.bins);
    }
  }
  if (d.has_act && !d.skipped) {
    AnalysisOptions ao = opt;
    ao.quantize_activations = true;
    if (a.act_quantizer(layer, ao, afq, &d.act_config, &d.act_range_lo, &d.act_range_hi)) {
      d.has_act_range = true;
      d.act_bits = afq.spec.bits;
      const auto r = qparams_range(afq.params.at(0));
      d.act_lo = r.first;
      d.act_hi = r.second;
      QuantEffect e;
      quant_effect_add(sub->data(), sub->size(), afq.params.at(0), afq.spec.rounding, e);
      d.act_clipped_frac = frac(e.clipped, e.n);
      d.act_sqnr_db = sqnr_db(e.signal, e.noise);
    }
  }

  // The curve.
  if (!d.skipped && (d.has_weight_range || d.has_act_range)) {
    d.bits = o.bits;
    const size_t nb = o.bits.size();
    d.w_sqnr_db.assign(nb, kNaN);
    d.out_nsr.assign(nb, kNaN);
    d.out_snr_db.assign(nb, kNaN);
    d.a_sqnr_db.assign(nb, kNaN);
    for (size_t k = 0; k < nb; ++k) {
      FakeQuant f;
      if (d.has_weight_range && a.weight_quantizer(layer, with_weight_bits(opt, name, o.bits[k]), f)) {
        const QuantEffect e = weight_effect(*w, f);
        d.w_sqnr_db[k] = sqnr_db(e.signal, e.noise);
      }
      if (o.act_curve && d.has_act_range && a.act_quantizer(layer, with_act_bits(opt, name, o.bits[k]), f)) {
        QuantEffect e;
        quant_effect_add(sub->data(), sub->size(), f.params.at(0), f.spec.rounding, e);
        d.a_sqnr_db[k] = sqnr_db(e.signal, e.noise);
      }
    }
    if (o.output_snr && d.has_weight_range) {
      // Every other layer kept in float32: weight_bit_sensitivity leaves skipped layers out (no quantizer, no run),
      // so only this layer's suffix runs are paid for.
      AnalysisOptions so = opt;
      so.quantize_weights = true;
      for (const Layer& l : a.layers())
        if (l.name != name) {
          LayerOverride f32;
          f32.fp32 = true;
          so.overrides[l.name] = f32;
        }
      double cost = 0;
      const auto nsr = a.weight_bit_sensitivity(so, o.bits, progress, &cost);
      const std::vector<double>& row = nsr.at(layer);
      if (row.size() != nb)
        throw Error("layer '" + name + "': the bit sweep gave " + std::to_string(row.size()) + " values for " +
                    std::to_string(nb) + " bit-widths");
      for (size_t k = 0; k < nb; ++k) {
        d.out_nsr[k] = row[k];
        d.out_snr_db[k] = snr_from_nsr(row[k]);
      }
      d.cost = cost;
    }
  }
  d.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

namespace {

using nlohmann::json;

// As analysis_json: +inf dB (no noise) is "inf", NaN and -inf are null.
json num(double v) {
  if (std::isfinite(v)) return json(v);
  return v > 0 && std::isinf(v) ? json("inf") : json(nullptr);
}

json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

json stats_json(const RangeStats& s) {
  return json{{"n", static_cast<int64_t>(s.n)}, {"non_finite", static_cast<int64_t>(s.non_finite)},
              {"min", num(s.min)}, {"max", num(s.max)}, {"mean", num(s.mean)}, {"std", num(s.std)}};
}

json hist_json(const Histogram& h) { return json{{"edges", nums(h.edges)}, {"counts", h.counts}}; }

}  // namespace

std::string layer_detail_json(const LayerDetail& d, int indent) {
  json weight = nullptr, act = nullptr;
  if (d.has_weight) {
    weight = json{{"quantized", d.weights_quantized}, {"stats", stats_json(d.weight_stats)},
                  {"histogram", hist_json(d.weight_hist)}};
    if (d.has_weight_range) {
      weight["config"] = d.weight_config;
      weight["bits"] = d.weight_bits;
      weight["granularity"] = d.weight_axis >= 0 ? "channel" : "tensor";
      weight["axis"] = d.weight_axis >= 0 ? json(d.weight_axis) : json(nullptr);
      weight["range"] = json::array({num(d.weight_lo), num(d.weight_hi)});
      weight["channel_range"] = d.weight_axis >= 0 ? json{{"lo", nums(d.weight_ch_lo)}, {"hi", nums(d.weight_ch_hi)}}
                                                   : json(nullptr);
      weight["clipped_frac"] = d.weight_clipped_frac;
      weight["sqnr"] = num(d.weight_sqnr_db);
    }
  }
  if (d.has_act) {
    act = json{{"quantized", d.acts_quantized}, {"stats", stats_json(d.act_stats)}, {"subsample", d.act_subsample},
               {"histogram", hist_json(d.act_hist)}};
    if (d.has_act_range) {
      act["config"] = d.act_config;
      act["bits"] = d.act_bits;
      act["range"] = json::array({num(d.act_range_lo), num(d.act_range_hi)});
      act["grid"] = json::array({num(d.act_lo), num(d.act_hi)});
      act["clipped_frac"] = d.act_clipped_frac;
      act["sqnr"] = num(d.act_sqnr_db);
    }
  }
  json curve = nullptr;
  if (!d.bits.empty()) {
    auto all_nan = [](const std::vector<double>& v) {
      for (double x : v)
        if (!std::isnan(x)) return false;
      return true;
    };
    curve = json{{"bits", d.bits},
                 {"w_sqnr", all_nan(d.w_sqnr_db) ? json(nullptr) : nums(d.w_sqnr_db)},
                 {"out_snr", all_nan(d.out_nsr) ? json(nullptr) : nums(d.out_snr_db)},
                 {"out_nsr", all_nan(d.out_nsr) ? json(nullptr) : nums(d.out_nsr)},
                 {"a_sqnr", all_nan(d.a_sqnr_db) ? json(nullptr) : nums(d.a_sqnr_db)}};
  }
  const Layer& l = d.layer;
  json o{{"schema", kSchema},
         {"kind", "layer_detail"},
         {"layer", json{{"index", d.index},
                        {"name", l.name},
                        {"op", l.op_type},
                        {"weight", l.weight},
                        {"shape", l.shape},
                        {"params", l.params},
                        {"channel_axis", l.channel_axis},
                        {"channels", l.channels},
                        {"act_point", d.act_point}}},
         {"skipped", d.skipped ? json(d.skip_reason) : json(nullptr)},
         {"weight", weight},
         {"act", act},
         {"curve", curve},
         {"cost", json{{"unit", "forward-pass equivalents: flops run / flops of one full fp32 pass of one sample"},
                       {"pass_equivalents", d.cost},
                       {"elapsed_ms", d.elapsed_ms}}}};
  return o.dump(indent);
}

}  // namespace qp
