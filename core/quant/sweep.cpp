// The weight sweep: each weight is read once for all bit-widths by the fused kernel (per tensor or per channel).
#include "core/quant/sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/ir/error.h"
#include "core/quant/qdq_error.h"

namespace qp {

void sweep_options_validate(const SweepOptions& o) {
  if (o.bits.empty()) throw Error("bits: the list is empty");
  std::set<int> seen;
  for (size_t i = 0; i < o.bits.size(); ++i) {
    if (o.bits[i] < 2 || o.bits[i] > 16)
      throw Error("bits[" + std::to_string(i) + "]: " + std::to_string(o.bits[i]) + " is outside 2..16");
    if (!seen.insert(o.bits[i]).second) throw Error("bits[" + std::to_string(i) + "]: " + std::to_string(o.bits[i]) + " is listed twice");
  }
  if (o.bits.size() > 15) throw Error("bits: at most 15 bit-widths");
}

QuantSpec sweep_spec(const SweepOptions& o, int bits) {
  QuantSpec s;
  s.bits = bits;
  s.scheme = o.scheme;
  s.is_signed = o.scheme == Scheme::kSymmetric;
  s.range_mode = o.range_mode;
  return s;
}

namespace {

void finish(QuantError& e, double sum_sq, const QdqAccum& a, double n) {
  e.qe = n > 0 ? a.sq_err / n : 0;
  e.signal = n > 0 ? sum_sq / n : 0;
  e.sqnr_db = sqnr_db(e.signal, e.qe);
  e.nqe = e.signal > 0 ? e.qe / e.signal : std::nan("");
  e.max_abs_err = a.max_abs_err;
  e.clipped_frac = n > 0 ? a.clipped / n : 0;
}


}  // namespace

SweepReport quant_sweep(const Graph& g, const SweepOptions& opt, const Progress& progress) {
  sweep_options_validate(opt);
  const auto t0 = std::chrono::steady_clock::now();
  SweepReport rep;
  rep.options = opt;
  rep.simd_target = opt.reference_kernel ? "scalar reference" : f32_qdq_error_target();
  const size_t nb = opt.bits.size();
  auto kernel = opt.reference_kernel ? &f32_qdq_error_ref : &f32_qdq_error;

  std::vector<QdqAccum> model_acc(nb);
  double model_ss = 0, model_n = 0;
  const std::vector<Layer> layers = find_layers(g);
  for (size_t li = 0; li < layers.size(); ++li) {
    LayerSweep ls;
    ls.layer = layers[li];
    const Layer& l = ls.layer;
    const Tensor* w = g.weight(l.weight);
    if (!l.skip.empty() || !w) {
      ls.flags.push_back("skipped");
    } else {
      const size_t n = static_cast<size_t>(l.params);
      const float* x = w->f32();
      const bool with_mad = opt.range.method == RangeMethod::kAciq;
      const bool per_tensor = opt.granularity == Granularity::kTensor;
      // Whole-tensor statistics (double); non-finite values stop the layer (§1.4).
      const RangeStats whole = range_stats(x, n, with_mad && per_tensor);
      ls.stats.non_finite = static_cast<int64_t>(whole.non_finite);
      ls.stats.min = whole.min;
      ls.stats.max = whole.max;
      ls.stats.absmax = std::max(-whole.min, whole.max);
      ls.stats.mean = whole.mean;
      ls.stats.std = whole.std;
      ls.stats.max_over_std = whole.std > 0 ? ls.stats.absmax / whole.std : 0;
      if (ls.stats.non_finite > 0) {
        ls.flags.push_back("non_finite");
      } else if (n > 0) {
        if (n < 16) ls.flags.push_back("tiny");
        std::vector<QdqAccum> acc(nb);
        double ss = 0;
        std::vector<QdqParams> q(nb);
        ChannelView view;
        if (per_tensor) {
          view.data = x;
          view.channels = 1;
          view.inner = static_cast<int64_t>(n);
        } else {
          view = channel_view(*w, l.channel_axis);
        }
        for (int64_t c = 0; c < view.channels; ++c) {
          const float* row = view.data + c * view.inner;
          const size_t len = static_cast<size_t>(view.inner);
          const RangeStats st = per_tensor ? whole : range_stats(row, len, with_mad);
          for (size_t k = 0; k < nb; ++k) {
            const QuantSpec spec = sweep_spec(opt, opt.bits[k]);
            const auto r = range_select(row, len, st, spec, opt.range);
            const QParams p = quant_params(spec, r.first, r.second);
            q[k] = qdq_params_for_data(p.scale, p.zero_point, p.qmin, p.qmax, static_cast<float>(st.min),
                                       static_cast<float>(st.max));
          }
          kernel(row, len, q.data(), nb, acc.data(), &ss);
        }
        ls.results.resize(nb);
        for (size_t k = 0; k < nb; ++k) {
          ls.results[k].bits = opt.bits[k];
          finish(ls.results[k], ss, acc[k], static_cast<double>(n));
          model_acc[k].sq_err += acc[k].sq_err;
          model_acc[k].clipped += acc[k].clipped;
          model_acc[k].max_abs_err = std::max(model_acc[k].max_abs_err, acc[k].max_abs_err);
        }
        model_ss += ss;
        model_n += static_cast<double>(n);
        if (!(ss > 0)) ls.flags.push_back("zero_signal");
      }
    }
    rep.layers.push_back(std::move(ls));
    if (progress) progress(li + 1, layers.size(), layers[li].name);
  }
  rep.model.resize(nb);
  for (size_t k = 0; k < nb; ++k) {
    rep.model[k].bits = opt.bits[k];
    finish(rep.model[k], model_ss, model_acc[k], model_n);
  }
  rep.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace qp
