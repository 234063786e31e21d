// Single-layer clipping fix vs the same heuristic everywhere (§4.3), scored by measured all-quantized SNR.
#include "core/quant/analysis/fix.h"

#include <cmath>

#include "core/ir/error.h"

namespace qp {

FixOptions::FixOptions() {
  methods = {range_options_parse("mse"), range_options_parse("percentile:99.99"), range_options_parse("aciq:mix")};
}

FixReport analysis_fix(LayerAnalyzer& an, const AnalysisOptions& opt, const AnalysisReport& rep, const FixOptions& fo) {
  if (rep.layers.size() != an.layers().size()) throw Error("fix: the report is not of this model");
  if (fo.methods.empty()) throw Error("fix: no clipping methods to try");
  FixReport r;
  // The layer: named, or the largest share.
  size_t l = rep.layers.size();
  if (!fo.layer.empty()) {
    for (size_t i = 0; i < rep.layers.size(); ++i)
      if (rep.layers[i].layer.name == fo.layer) l = i;
    if (l == rep.layers.size()) throw Error("fix: '" + fo.layer + "' is not a quantizable layer of this model");
    if (rep.layers[l].skipped) throw Error("fix: layer '" + fo.layer + "' is not quantized (" + rep.layers[l].skip_reason + ")");
  } else {
    for (size_t i = 0; i < rep.layers.size(); ++i)
      if (!rep.layers[i].skipped && (l == rep.layers.size() || rep.layers[i].share > rep.layers[l].share)) l = i;
    if (l == rep.layers.size()) throw Error("fix: no layer is quantized");
  }
  const LayerResult& lr = rep.layers[l];
  r.layer = lr.layer.name;
  r.layer_index = l;
  r.snr_w_db = lr.w.snr_db;
  r.snr_a_db = lr.a.snr_db;
  const bool has_w = opt.quantize_weights && !lr.weight_config.empty();
  const bool has_a = opt.quantize_activations && !lr.act_config.empty();
  if (has_w && has_a && opt.variants) r.cause = lr.w.nsr >= lr.a.nsr ? "weights" : "activations";
  else r.cause = has_w ? "weights" : "activations";
  const bool weights = r.cause == "weights";

  double cost = 0;
  auto measure = [&](const AnalysisOptions& o) {
    LayerAnalyzer::Measurement m = an.measure(o);
    cost += m.cost;
    return m;
  };
  r.before = measure(opt);
  AnalysisOptions ceil = opt;
  ceil.overrides[r.layer] = LayerOverride{};
  ceil.overrides[r.layer].fp32 = true;
  r.ceiling = measure(ceil);

  auto with_local = [&](const RangeOptions& m) {
    AnalysisOptions o = opt;
    LayerOverride ov;
    auto it = opt.overrides.find(r.layer);
    if (it != opt.overrides.end()) ov = it->second;
    if (weights) {
      if (!ov.has_weight) ov.weight = opt.weight;
      ov.has_weight = true;
      ov.weight.range = m;
    } else {
      if (!ov.has_act) ov.act = opt.act;
      ov.has_act = true;
      ov.act.range = m;
    }
    o.overrides[r.layer] = ov;
    return o;
  };
  for (const auto& m : fo.methods) {
    FixTrial t;
    t.method = m;
    t.local = measure(with_local(m));
    AnalysisOptions g = opt;  // every layer, overrides included (their own range replaced too)
    if (weights) g.weight.range = m;
    else g.act.range = m;
    for (auto& kv : g.overrides) {
      if (weights && kv.second.has_weight) kv.second.weight.range = m;
      if (!weights && kv.second.has_act) kv.second.act.range = m;
    }
    t.global = measure(g);
    r.trials.push_back(t);
  }
  for (size_t i = 1; i < r.trials.size(); ++i)
    if (r.trials[i].local.all.nsr < r.trials[r.best].local.all.nsr) r.best = i;
  r.fixed = with_local(r.trials[r.best].method);
  r.cost = cost;
  return r;
}

}  // namespace qp
