// The weight sweep: each weight is read once for all bit-widths by the fused kernel (per tensor or per channel).
#include "core/quant/sweep.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#ifndef __EMSCRIPTEN__
#include <thread>
#endif
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

bool operator==(const SweepOptions& a, const SweepOptions& b) {
  return a.bits == b.bits && a.granularity == b.granularity && a.scheme == b.scheme && a.range_mode == b.range_mode &&
         a.range == b.range && a.reference_kernel == b.reference_kernel;
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

namespace {

struct LayerSums {
  std::vector<QdqAccum> acc;
  double sum_sq = 0, n = 0;
};

// Whole-tensor statistics, from the cache when it has them (they do not depend on the options).
RangeStats tensor_stats(const Tensor& w, bool with_mad, SweepCache* cache) {
  if (cache) {
    std::lock_guard<std::mutex> lock(cache->mu);
    auto it = cache->stats.find(w.name);
    if (it != cache->stats.end() && (!with_mad || it->second.has_mad)) return it->second;
  }
  const RangeStats st = range_stats(w.f32(), static_cast<size_t>(w.numel()), with_mad);
  if (cache) {
    std::lock_guard<std::mutex> lock(cache->mu);
    cache->stats[w.name] = st;
  }
  return st;
}

void sweep_layer(const Graph& g, const SweepOptions& opt, SweepCache* cache, LayerSweep& ls, LayerSums& sums) {
  const Layer& l = ls.layer;
  const Tensor* w = g.weight(l.weight);
  if (!l.skip.empty() || !w) {
    ls.flags.push_back("skipped");
    return;
  }
  const size_t nb = opt.bits.size();
  const size_t n = static_cast<size_t>(l.params);
  const bool with_mad = opt.range.method == RangeMethod::kAciq;
  const bool per_tensor = opt.granularity == Granularity::kTensor;
  // Whole-tensor statistics (double); non-finite values stop the layer (§1.4).
  const RangeStats whole = tensor_stats(*w, with_mad && per_tensor, cache);
  ls.stats.non_finite = static_cast<int64_t>(whole.non_finite);
  ls.stats.min = whole.min;
  ls.stats.max = whole.max;
  ls.stats.absmax = std::max(-whole.min, whole.max);
  ls.stats.mean = whole.mean;
  ls.stats.std = whole.std;
  ls.stats.max_over_std = whole.std > 0 ? ls.stats.absmax / whole.std : 0;
  if (ls.stats.non_finite > 0) {
    ls.flags.push_back("non_finite");
    return;
  }
  if (n == 0) return;
  if (n < 16) ls.flags.push_back("tiny");
  sums.acc.assign(nb, QdqAccum{});
  auto kernel = opt.reference_kernel ? &f32_qdq_error_ref : &f32_qdq_error;
  std::vector<QdqParams> q(nb);
  ChannelView view;
  if (per_tensor) {
    view.data = w->f32();
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
      q[k] = qdq_params_for_data(quant_params(spec, r.first, r.second), st.min, st.max);
    }
    kernel(row, len, q.data(), nb, sums.acc.data(), nullptr);  // the signal comes from the statistics
  }
  sums.sum_sq = whole.sum_sq;
  sums.n = static_cast<double>(n);
  ls.results.resize(nb);
  for (size_t k = 0; k < nb; ++k) {
    ls.results[k].bits = opt.bits[k];
    finish(ls.results[k], sums.sum_sq, sums.acc[k], sums.n);
  }
  if (!(sums.sum_sq > 0)) ls.flags.push_back("zero_signal");
}

}  // namespace

SweepReport quant_sweep(const Graph& g, const SweepOptions& opt, const Progress& progress, SweepCache* cache) {
  sweep_options_validate(opt);
  const auto t0 = std::chrono::steady_clock::now();
  SweepReport rep;
  rep.options = opt;
  rep.simd_target = opt.reference_kernel ? "scalar reference" : f32_qdq_error_target();
  const size_t nb = opt.bits.size();

  const std::vector<Layer> layers = find_layers(g);
  rep.layers.resize(layers.size());
  std::vector<LayerSums> sums(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) rep.layers[i].layer = layers[i];

  // Layers are independent: natively they are shared out over threads (results do not depend on the
  // split: each layer's sums are its own, and the model totals are added in layer order below).
  size_t threads = 1;
#ifndef __EMSCRIPTEN__
  threads = opt.threads > 0 ? static_cast<size_t>(opt.threads) : std::max(1u, std::thread::hardware_concurrency());
#endif
  threads = std::max<size_t>(1, std::min(threads, layers.size()));
  std::atomic<size_t> next{0};
  std::mutex progress_mu;
  size_t done = 0;
  std::exception_ptr failure;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < layers.size();) {
      try {
        sweep_layer(g, opt, cache, rep.layers[i], sums[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(progress_mu);
        if (!failure) failure = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(progress_mu);
      ++done;
      if (progress) progress(done, layers.size(), layers[i].name);
    }
  };
#ifndef __EMSCRIPTEN__
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
#else
  worker();
#endif
  if (failure) std::rethrow_exception(failure);

  std::vector<QdqAccum> model_acc(nb);
  double model_ss = 0, model_n = 0;
  for (const auto& s : sums) {
    if (s.acc.empty()) continue;
    for (size_t k = 0; k < nb; ++k) {
      model_acc[k].sq_err += s.acc[k].sq_err;
      model_acc[k].clipped += s.acc[k].clipped;
      model_acc[k].max_abs_err = std::max(model_acc[k].max_abs_err, s.acc[k].max_abs_err);
    }
    model_ss += s.sum_sq;
    model_n += s.n;
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
