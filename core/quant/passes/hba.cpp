// High-bias absorption across the CLE links (§2.2.5).
#include "core/quant/passes/hba.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/ir/error.h"
#include "core/quant/passes/cle.h"
#include "core/quant/passes/dfq_util.h"
#include "core/runtime/executor.h"

namespace qp {

namespace {

size_t node_index(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return i;
  throw Error("hba: no node '" + name + "'");
}


bool has_activation(const std::vector<std::string>& between) {
  for (const auto& b : between)
    if (b == "Relu" || b == "PRelu" || b == "LeakyRelu") return true;
  return false;
}

// Absorbs c from layer a into layer b (b's input channel k = its weight's in_ch / spatial).
void absorb(Graph& G, dfq::GraphIndex& ix, size_t a, size_t b, const std::vector<double>& c, int64_t spatial,
            std::vector<std::string>& changed, std::vector<double>* db) {
  std::string why;
  dfq::WeightChannels wa, wb;
  dfq::layer_weight_channels(G, G.nodes[a], wa, why);
  dfq::layer_weight_channels(G, G.nodes[b], wb, why);
  float* ba = dfq::writable_bias(G, ix, a, wa.out_channels, "hba", changed, why);
  if (!ba) throw Error("hba: " + G.nodes[a].describe() + ": " + why);
  for (size_t k = 0; k < c.size(); ++k) ba[k] = static_cast<float>(static_cast<double>(ba[k]) - c[k]);
  std::vector<double> add(static_cast<size_t>(wb.out_channels), 0.0);
  const float* w = G.weight(G.nodes[b].inputs[1])->f32();
  for (size_t e = 0; e < wb.out_ch.size(); ++e)
    add[static_cast<size_t>(wb.out_ch[e])] += static_cast<double>(w[e]) * c[static_cast<size_t>(wb.in_ch[e] / spatial)];
  float* bb = dfq::writable_bias(G, ix, b, wb.out_channels, "hba", changed, why);
  if (!bb) throw Error("hba: " + G.nodes[b].describe() + ": " + why);
  for (size_t k = 0; k < add.size(); ++k) bb[k] = static_cast<float>(static_cast<double>(bb[k]) + add[k]);
  if (db) *db = add;
}

}  // namespace

HbaResult hba(const Graph& g, const BnStatsMap& bn, const CalibrationSet* data, const HbaOptions& opt) {
  if (!(opt.sigmas >= 0)) throw Error("hba: sigmas must be >= 0");
  const double t0 = dfq::now_ms();
  HbaResult r;
  r.report.pass = "hba";
  r.graph = g;
  r.bn_stats = bn;
  Graph& G = r.graph;
  dfq::GraphIndex ix(G);
  CleOptions co;
  co.relu6 = Relu6Policy::kRefuse;
  const std::vector<CleLink> links = cle_find_links(g, co);
  const bool by_data = opt.use_data && data && !data->samples.empty();

  // Data: per-channel minima of every layer-1 output on the input graph; shifted below by earlier absorptions.
  std::map<std::string, std::vector<double>> mins;
  if (by_data) {
    RunOptions ro;
    for (const auto& l : links)
      if (l.accepted) ro.capture.insert(g.nodes[node_index(g, l.layers[0])].outputs[0]);
    Executor ex(g);
    for (const auto& s : data->samples) {
      const auto out = ex.run(s, ro);
      for (const auto& name : ro.capture) {
        const Value& v = out.at(name);
        if (v.rank() < 2) continue;
        const std::vector<double> m = dfq::channel_extreme(v, v.shape[1], false);
        auto& acc = mins[name];
        if (acc.empty()) acc = m;
        else
          for (size_t k = 0; k < std::min(acc.size(), m.size()); ++k) acc[k] = std::min(acc[k], m[k]);
      }
    }
  }

  std::map<std::string, std::vector<double>> bias_shift;  // layer -> bias change so far (data mode)
  std::vector<std::pair<size_t, size_t>> applied_idx;
  std::vector<int64_t> applied_sp;
  for (const auto& l : links) {
    if (l.layers.size() < 2) continue;  // no second layer: nothing to absorb into
    HbaLink h;
    h.layers = l.layers;
    h.between = l.between;
    if (!l.accepted) {
      h.reason = l.reason;
      r.links.push_back(std::move(h));
      continue;
    }
    const size_t a = node_index(G, l.layers[0]), b = node_index(G, l.layers[1]);
    dfq::WeightChannels wa, wb;
    std::string why;
    dfq::layer_weight_channels(G, G.nodes[a], wa, why);
    dfq::layer_weight_channels(G, G.nodes[b], wb, why);
    const int64_t C = wa.out_channels;
    const int64_t sp = wb.in_channels / std::max<int64_t>(C, 1);
    std::vector<double> b1;
    dfq::read_bias(G, G.nodes[a], C, b1);
    if (b1.empty()) b1.assign(static_cast<size_t>(C), 0.0);
    std::vector<double> c(static_cast<size_t>(C), 0.0);
    if (!has_activation(l.between)) {
      h.source = "whole_bias";  // linear in between: all of b1 moves (§2.2.5)
      c = b1;
    } else if (by_data) {
      auto it = mins.find(g.nodes[a].outputs[0]);
      if (it == mins.end() || it->second.size() != static_cast<size_t>(C)) {
        h.reason = "pre-activation is not [N, C, ...]";
        r.links.push_back(std::move(h));
        continue;
      }
      h.source = "data";
      const auto sh = bias_shift.find(l.layers[0]);
      for (size_t k = 0; k < c.size(); ++k) {
        const double m = it->second[k] + (sh != bias_shift.end() ? sh->second[k] : 0.0);
        c[k] = std::isfinite(m) ? std::max(0.0, m) : 0.0;
      }
    } else {
      auto st = r.bn_stats.find(l.layers[0]);
      if (st == r.bn_stats.end() || st->second.beta.size() != static_cast<size_t>(C)) {
        h.reason = "no BN statistics for " + l.layers[0] + " (and no calibration data)";
        r.links.push_back(std::move(h));
        continue;
      }
      h.source = "bn";
      for (size_t k = 0; k < c.size(); ++k)
        c[k] = std::max(0.0, static_cast<double>(st->second.beta[k]) - opt.sigmas * std::fabs(st->second.gamma[k]));
    }
    for (double& v : c)
      if (!std::isfinite(v)) v = 0;
    std::vector<double> db;
    absorb(G, ix, a, b, c, sp, r.report.changed_weights, &db);
    for (size_t k = 0; k < c.size(); ++k) {
      h.absorbed_max = std::max(h.absorbed_max, std::fabs(c[k]));
      h.absorbed_sum += c[k];
      h.channels_absorbed += c[k] != 0;
    }
    // Statistics and data minima follow the bias changes.
    auto s1 = r.bn_stats.find(l.layers[0]);
    if (s1 != r.bn_stats.end() && s1->second.beta.size() == c.size())
      for (size_t k = 0; k < c.size(); ++k) s1->second.beta[k] = static_cast<float>(s1->second.beta[k] - c[k]);
    auto s2 = r.bn_stats.find(l.layers[1]);
    if (s2 != r.bn_stats.end() && s2->second.beta.size() == db.size())
      for (size_t k = 0; k < db.size(); ++k) s2->second.beta[k] = static_cast<float>(s2->second.beta[k] + db[k]);
    auto& shb = bias_shift[l.layers[1]];
    if (shb.empty()) shb.assign(db.size(), 0.0);
    for (size_t k = 0; k < db.size(); ++k) shb[k] += db[k];
    h.absorbed = std::move(c);
    h.applied = true;
    applied_idx.emplace_back(a, b);
    applied_sp.push_back(sp);
    r.links.push_back(std::move(h));
  }
  r.report.ms = dfq::now_ms() - t0;

  if (opt.per_link_deviation) {
    // Each link alone on the input graph: which absorption costs what.
    const CalibrationSet rnd = dfq::verification_random(g, 1);
    const CalibrationSet& vs = data && !data->samples.empty() ? *data : rnd;
    size_t k = 0;
    for (auto& h : r.links) {
      if (!h.applied) continue;
      Graph one = g;
      dfq::GraphIndex ix1(one);
      std::vector<std::string> ch;
      absorb(one, ix1, applied_idx[k].first, applied_idx[k].second, h.absorbed, applied_sp[k], ch, nullptr);
      ++k;
      try {
        const Verification v = verify_function(g, one, vs);
        h.max_abs_dev = v.max_abs_dev;
        h.max_rel_dev = v.max_rel_dev;
      } catch (const std::exception& e) {
        h.max_abs_dev = h.max_rel_dev = NAN;
      }
    }
  }
  int n = 0;
  for (const auto& h : r.links) n += h.applied;
  char buf[200];
  std::snprintf(buf, sizeof buf, "absorbed biases across %d links (%s); HBA is exact only where pre-activations stay above c and layer 2 has no zero padding",
                n, by_data ? "calibration minima" : "BN statistics, beta - 3|gamma|");
  r.report.notes.push_back(buf);
  dfq::verify_into(g, G, data, r.report);
  return r;
}

}  // namespace qp
