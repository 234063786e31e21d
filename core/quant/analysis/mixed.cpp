// Sensitivity-driven weight bit allocation: measured single-layer output noise per bit-width, greedy front, checks.
#include "core/quant/analysis/mixed.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/ir/error.h"

namespace qp {

std::vector<Allocation> mixed_front(const std::vector<std::string>& layers, const std::vector<int64_t>& params,
                                    const std::vector<int>& bits, const std::vector<std::vector<double>>& nsr,
                                    double fp32_bytes_other) {
  const size_t L = layers.size(), B = bits.size();
  if (B == 0) throw Error("mixed precision: no bit-widths");
  // Bit indices from the largest width down.
  std::vector<size_t> order(B);
  for (size_t k = 0; k < B; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bits[a] > bits[b]; });
  std::vector<size_t> cur(L, 0);  // position in `order`
  double total_params = 0;
  for (auto p : params) total_params += static_cast<double>(p);
  auto point = [&]() {
    Allocation a;
    double nsr_sum = 0, bit_params = 0;
    a.weight_bytes = fp32_bytes_other;
    for (size_t l = 0; l < L; ++l) {
      const int b = bits[order[cur[l]]];
      a.bits[layers[l]] = b;
      a.weight_bytes += static_cast<double>(params[l]) * b / 8;
      bit_params += static_cast<double>(params[l]) * b;
      nsr_sum += nsr[l][order[cur[l]]];
    }
    a.mean_bits = total_params > 0 ? bit_params / total_params : 0;
    a.snr_pred_db = snr_from_nsr(nsr_sum);
    return a;
  };
  std::vector<Allocation> front{point()};
  for (;;) {
    // The cheapest step in added noise per byte saved; any lower width of a layer (noise need not be convex in bits).
    double best = INFINITY;
    size_t bl = L, bk = 0;
    for (size_t l = 0; l < L; ++l)
      for (size_t k = cur[l] + 1; k < B; ++k) {
        const double saved = static_cast<double>(params[l]) * (bits[order[cur[l]]] - bits[order[k]]) / 8;
        if (saved <= 0) continue;
        const double added = std::max(0.0, nsr[l][order[k]] - nsr[l][order[cur[l]]]);
        const double rate = added / saved;
        if (rate < best) {
          best = rate;
          bl = l;
          bk = k;
        }
      }
    if (bl == L) break;
    cur[bl] = bk;
    Allocation a = point();
    // Keep the front Pareto-optimal: a point that is bigger and no better than the last one kept is dropped.
    while (!front.empty() && front.back().snr_pred_db <= a.snr_pred_db) front.pop_back();
    front.push_back(std::move(a));
  }
  return front;
}

namespace {

// Options that quantize only weights, at the allocation's bits.
AnalysisOptions alloc_options(const AnalysisOptions& opt, const Allocation& a) {
  AnalysisOptions o = opt;
  o.quantize_weights = true;
  o.quantize_activations = false;
  for (const auto& kv : a.bits) {
    LayerOverride ov;
    auto it = opt.overrides.find(kv.first);
    if (it != opt.overrides.end()) ov = it->second;
    if (!ov.has_weight) ov.weight = opt.weight;
    ov.has_weight = true;
    ov.weight.bits = kv.second;
    o.overrides[kv.first] = ov;
  }
  return o;
}

}  // namespace

MixedReport mixed_precision(LayerAnalyzer& an, const Graph& g, const AnalysisOptions& opt, const MixedOptions& mo,
                            const AnalysisCallback& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  if (mo.bits.empty()) throw Error("options.bits: empty");
  {
    std::set<int> seen;
    for (size_t i = 0; i < mo.bits.size(); ++i) {
      if (mo.bits[i] < 2 || mo.bits[i] > 16)
        throw Error("options.bits[" + std::to_string(i) + "]: " + std::to_string(mo.bits[i]) + " is outside 2..16");
      if (!seen.insert(mo.bits[i]).second) throw Error("options.bits[" + std::to_string(i) + "]: duplicate");
    }
  }
  AnalysisOptions w = opt;
  w.quantize_weights = true;
  w.quantize_activations = false;
  MixedReport r;
  r.bits = mo.bits;
  double cost = 0;
  const auto nsr = an.weight_bit_sensitivity(w, mo.bits, progress, &cost);
  double other = 0;  // float32 bytes of layers not searched
  std::vector<std::vector<double>> table;
  for (size_t l = 0; l < an.layers().size(); ++l) {
    const Layer& L = an.layers()[l];
    r.fp32_bytes += 4.0 * static_cast<double>(L.params);
    if (nsr[l].empty()) {
      other += 4.0 * static_cast<double>(L.params);
      continue;
    }
    r.layers.push_back(L.name);
    r.params.push_back(L.params);
    table.push_back(nsr[l]);
    std::vector<double> s;
    for (double v : nsr[l]) s.push_back(snr_from_nsr(v));
    r.snr_db.push_back(s);
  }
  r.front = mixed_front(r.layers, r.params, r.bits, table, other);

  auto verify = [&](Allocation& a) {
    const auto m = an.measure(alloc_options(w, a));
    cost += m.cost;
    a.snr_meas_db = m.all.snr_db;
    a.top1_agree = m.top1_agree;
    a.accuracy = m.accuracy;
  };
  // Ends and `verify` points evenly spaced in size.
  if (!r.front.empty()) {
    std::set<size_t> pick{0, r.front.size() - 1};
    const double hi = r.front.front().weight_bytes, lo = r.front.back().weight_bytes;
    for (int k = 1; k <= mo.verify; ++k) {
      const double target = hi - (hi - lo) * k / (mo.verify + 1);
      size_t best = 0;
      for (size_t i = 0; i < r.front.size(); ++i)
        if (std::fabs(r.front[i].weight_bytes - target) < std::fabs(r.front[best].weight_bytes - target)) best = i;
      pick.insert(best);
    }
    for (size_t i : pick) verify(r.front[i]);
  }

  if (mo.mixquant && !r.layers.empty()) {
    MixQuantOptions mq;
    mq.sweep.bits = mo.bits;
    std::sort(mq.sweep.bits.begin(), mq.sweep.bits.end(), std::greater<int>());
    mq.qem = mo.qem;
    mq.baselines = mo.baselines;
    const MixQuantReport rep = mixquant(g, mq);
    std::map<std::string, size_t> row;  // layer name -> row in the table
    for (size_t i = 0; i < r.layers.size(); ++i) row[r.layers[i]] = i;
    for (const auto& c : rep.configs) {
      MixQuantPoint p;
      p.qem = c.qem;
      p.baseline = c.baseline;
      double nsr_sum = 0, bit_params = 0, qp_params = 0;
      p.alloc.weight_bytes = other;
      for (size_t i = 0; i < rep.sweep.layers.size() && i < c.bits.size(); ++i) {
        const std::string& name = rep.sweep.layers[i].layer.name;
        auto it = row.find(name);
        if (it == row.end()) continue;  // fp32 here: counted in `other`
        const int b = c.bits[i] > 0 ? c.bits[i] : mq.sweep.bits.front();
        const size_t k = static_cast<size_t>(std::find(r.bits.begin(), r.bits.end(), b) - r.bits.begin());
        p.alloc.bits[name] = b;
        const double prm = static_cast<double>(r.params[it->second]);
        p.alloc.weight_bytes += prm * b / 8;
        bit_params += prm * b;
        qp_params += prm;
        nsr_sum += table[it->second][k];
      }
      p.alloc.mean_bits = qp_params > 0 ? bit_params / qp_params : 0;
      p.alloc.snr_pred_db = snr_from_nsr(nsr_sum);
      verify(p.alloc);
      size_t f = r.front.size();
      for (size_t i = 0; i < r.front.size(); ++i)
        if (r.front[i].weight_bytes <= p.alloc.weight_bytes * (1 + 1e-12) &&
            (f == r.front.size() || r.front[i].weight_bytes > r.front[f].weight_bytes))
          f = i;
      if (f < r.front.size()) {
        if (std::isnan(r.front[f].snr_meas_db)) verify(r.front[f]);
        p.front = r.front[f];
      }
      r.mixquant.push_back(std::move(p));
    }
  }
  r.cost = cost;
  r.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace qp
