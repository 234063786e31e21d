// DFQ cross-layer equalization: link search, AIMET-style grouping into pairs/triplets, equalization (§2.2, §2.5).
#include "core/quant/passes/cle.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "core/ir/error.h"
#include "core/quant/passes/dfq_util.h"
#include "core/quant/sweep.h"
#include "core/runtime/executor.h"

namespace qp {

namespace {

using dfq::GraphIndex;
using dfq::WeightChannels;

constexpr size_t kNone = static_cast<size_t>(-1);

// A link with what the equalization needs besides the public description.
struct Link {
  CleLink pub;
  size_t from = kNone, to = kNone;  // node indices
  int64_t spatial = 1;              // Flatten before a Gemm: Gemm input k belongs to channel k / spatial
  std::vector<size_t> clips;        // Clip(0, k) nodes on the link
};

// Clip bounds (attributes before opset 11, constant inputs after); false when a bound is not a constant.
bool clip_bounds(const Graph& g, const Node& c, double& lo, double& hi) {
  lo = -std::numeric_limits<double>::infinity();
  hi = std::numeric_limits<double>::infinity();
  if (c.attr("min") || c.attr("max")) {
    lo = c.attr_float("min", std::numeric_limits<float>::lowest());
    hi = c.attr_float("max", std::numeric_limits<float>::max());
    if (lo <= std::numeric_limits<float>::lowest()) lo = -std::numeric_limits<double>::infinity();
    if (hi >= std::numeric_limits<float>::max()) hi = std::numeric_limits<double>::infinity();
  }
  for (size_t i = 1; i <= 2 && i < c.inputs.size(); ++i) {
    if (c.inputs[i].empty()) continue;
    const Tensor* t = g.weight(c.inputs[i]);
    if (!t || t->dtype != DType::kFloat32 || t->numel() != 1) return false;
    (i == 1 ? lo : hi) = t->f32()[0];
  }
  return true;
}

// A constant of one value per channel (axis 1) or a single value.
bool per_channel_const(const Tensor* t) {
  if (!t || t->dtype != DType::kFloat32) return false;
  if (t->numel() == 1) return true;
  int big = 0;
  for (size_t i = 0; i < t->dims.size(); ++i)
    if (t->dims[i] != 1) ++big;
  // [C], [C,1,1] or [1,C,1,1]: only one dim > 1. ([C] right-aligns to the last axis: accept it for 2-D outputs,
  // which is where PRelu/Mul by [C] is per channel; the checker below cannot see the rank, so be conservative.)
  if (big != 1) return false;
  return t->dims.size() >= 2 && t->dims.back() == 1 ? true : t->dims.size() == 1;
}

bool non_homogeneous(Op op) {
  switch (op) {
    case Op::kHardSwish: case Op::kSigmoid: case Op::kTanh: case Op::kHardSigmoid: case Op::kSoftmax:
    case Op::kElu: case Op::kSoftplus: case Op::kGelu: case Op::kErf: case Op::kLogSoftmax: case Op::kExp:
    case Op::kLog: case Op::kSqrt: case Op::kPow: case Op::kAbs:
      return true;
    default:
      return false;
  }
}

// Several readers of a layer's output: name the common patterns (x * gate(x)) for the report.
std::string classify_fanout(const Graph& g, const GraphIndex& ix, const std::string& t) {
  auto it = ix.consumers.find(t);
  std::set<size_t> cons(it->second.begin(), it->second.end());
  std::vector<std::string> names;
  for (size_t c : cons) names.push_back(g.nodes[c].name + " (" + g.nodes[c].op_type + ")");
  // Does some reader reach a Mul that also reads t, within a few hops? Then t feeds x * gate(x).
  for (size_t m : cons) {
    if (g.nodes[m].op != Op::kMul) continue;
    for (size_t s : cons) {
      if (s == m) continue;
      bool pooled = false;
      std::vector<size_t> frontier{s};
      for (int depth = 0; depth < 8 && !frontier.empty(); ++depth) {
        std::vector<size_t> next;
        for (size_t f : frontier) {
          const Op op = g.nodes[f].op;
          if (op == Op::kGlobalAveragePool || op == Op::kReduceMean || op == Op::kGlobalMaxPool) pooled = true;
          for (const auto& o : g.nodes[f].outputs) {
            auto ci = ix.consumers.find(o);
            if (ci == ix.consumers.end()) continue;
            for (size_t n2 : ci->second) {
              if (n2 == m)
                return pooled ? "SE block: data-dependent Mul gate (" + g.nodes[m].name + ")"
                              : "non-homogeneous activation x*gate(x), e.g. hardswish x*Clip(x+3,0,6)/6 (" +
                                    g.nodes[m].name + ")";
              next.push_back(n2);
            }
          }
        }
        frontier = std::move(next);
      }
    }
  }
  bool residual = false;
  for (size_t c : cons) residual = residual || g.nodes[c].op == Op::kAdd;
  std::string s = residual ? "several consumers incl. a residual Add: " : "several consumers: ";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

std::string group_problem(const Node& n, const WeightChannels& wc) {
  if (wc.groups == 1) return "";
  if (n.op == Op::kConv && wc.groups == wc.out_channels && wc.groups == wc.in_channels) return "";
  return "group != 1 and != depthwise (" + n.name + ": group " + std::to_string(wc.groups) + ", " +
         std::to_string(wc.in_channels) + " -> " + std::to_string(wc.out_channels) + " channels)";
}

bool is_depthwise(const Node& n, const WeightChannels& wc) {
  return n.op == Op::kConv && wc.groups > 1 && wc.groups == wc.out_channels && wc.groups == wc.in_channels;
}

bool finite_weight(const Tensor& t) {
  const float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

struct Finder {
  const Graph& g;
  const CleOptions& opt;
  GraphIndex ix;
  std::map<size_t, WeightChannels> wcs;
  std::map<size_t, std::string> wc_err;

  Finder(const Graph& graph, const CleOptions& o) : g(graph), opt(o), ix(graph) {}

  const WeightChannels* channels(size_t ni, std::string& why) {
    auto it = wcs.find(ni);
    if (it != wcs.end()) return &it->second;
    auto e = wc_err.find(ni);
    if (e != wc_err.end()) {
      why = e->second;
      return nullptr;
    }
    WeightChannels wc;
    std::string r;
    if (!dfq::layer_weight_channels(g, g.nodes[ni], wc, r)) {
      wc_err[ni] = r;
      why = r;
      return nullptr;
    }
    return &wcs.emplace(ni, std::move(wc)).first->second;
  }

  Link walk(size_t ni) {
    Link L;
    L.from = ni;
    const Node& n = g.nodes[ni];
    L.pub.kind = "pair";
    L.pub.layers = {n.name};
    auto refuse = [&](const std::string& why) {
      L.pub.accepted = false;
      L.pub.reason = why;
      return L;
    };
    bool flattened = false;
    std::string t = n.outputs.empty() ? "" : n.outputs[0];
    for (int step = 0; step < 256; ++step) {
      if (ix.is_output(t)) return refuse("graph output ('" + t + "')");
      auto it = ix.consumers.find(t);
      if (it == ix.consumers.end() || it->second.empty()) return refuse("output unused");
      if (ix.n_consumers(t) > 1) return refuse(classify_fanout(g, ix, t));
      const size_t ci = it->second[0];
      const Node& c = g.nodes[ci];
      if (dfq::is_weighted_layer(c)) {
        L.pub.layers.push_back(c.name);
        L.to = ci;
        if (c.inputs.empty() || c.inputs[0] != t) return refuse("feeds " + c.name + "'s weight or bias, not its data input");
        return check_pair(L, flattened);
      }
      for (size_t k = 1; k < c.outputs.size(); ++k)
        if (!c.outputs[k].empty() && ix.consumers.count(c.outputs[k]))
          return refuse(c.op_type + " " + c.name + ": second output is used");
      if (c.inputs.empty() || c.inputs[0] != t) {
        if (c.op == Op::kMul || c.op == Op::kAdd) {
          // Commutative ops may read the layer's output as their second operand: normalise below.
        } else {
          return refuse(c.op_type + " " + c.name + " reads the value as a parameter");
        }
      }
      const std::string other = c.inputs.size() >= 2 ? (c.inputs[0] == t ? c.inputs[1] : c.inputs[0]) : "";
      switch (c.op) {
        case Op::kRelu: case Op::kIdentity: case Op::kDropout: case Op::kMaxPool: case Op::kAveragePool:
        case Op::kGlobalAveragePool: case Op::kGlobalMaxPool: case Op::kLeakyRelu: case Op::kResize:
        case Op::kUpsample:
          break;
        case Op::kPRelu:
          if (!per_channel_const(g.weight(other))) return refuse("PRelu " + c.name + ": slope is not per channel");
          break;
        case Op::kPad: {
          const std::string mode = c.attr_string("mode", "constant");
          if (mode == "constant") {
            double v = c.attr_float("value", 0.0f);
            if (c.inputs.size() > 2 && !c.inputs[2].empty()) {
              const Tensor* pv = g.weight(c.inputs[2]);
              if (!pv || pv->dtype != DType::kFloat32 || pv->numel() != 1) return refuse("Pad " + c.name + ": pad value is not a constant");
              v = pv->f32()[0];
            }
            if (v != 0) return refuse("Pad " + c.name + " with a non-zero value");
          }
          break;
        }
        case Op::kClip: {
          double lo, hi;
          if (!clip_bounds(g, c, lo, hi)) return refuse("Clip " + c.name + " with non-constant bounds");
          if (lo == 0 && std::isinf(hi)) break;  // a Relu
          if (lo == 0 && hi > 0 && std::isfinite(hi)) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "Clip(0,%g)", hi);
            if (opt.relu6 == Relu6Policy::kRefuse)
              return refuse(std::string("ReLU6 ") + buf + " " + c.name + " (policy: refuse)");
            L.clips.push_back(ci);
            L.pub.relu6.push_back(c.name);
            break;
          }
          char buf[96];
          std::snprintf(buf, sizeof buf, "bounded activation Clip(%g,%g) %s", lo, hi, c.name.c_str());
          return refuse(buf);
        }
        case Op::kMul: case Op::kDiv: {
          const Tensor* k = g.weight(other);
          if (!k) return refuse("data-dependent " + c.op_type + " " + c.name + " (e.g. an SE gate)");
          if (!per_channel_const(k)) return refuse(c.op_type + " " + c.name + " by a constant that is not per channel");
          break;
        }
        case Op::kFlatten:
          if (c.attr_int("axis", 1) != 1) return refuse("Flatten " + c.name + " with axis != 1");
          flattened = true;
          break;
        case Op::kReshape: {
          const Tensor* s = c.inputs.size() > 1 ? g.weight(c.inputs[1]) : nullptr;
          if (!s || s->dims.size() != 1 || s->numel() != 2)
            return refuse("Reshape " + c.name + " is not a constant flatten to 2-D");
          flattened = true;
          break;
        }
        case Op::kBatchNormalization:
          return refuse("BatchNormalization " + c.name + " not folded (run bn_fold first)");
        case Op::kAdd: case Op::kSub:
          if (!g.weight(other)) return refuse("residual " + c.op_type + " " + c.name);
          return refuse(c.op_type + " " + c.name + " of a constant (not positively homogeneous)");
        case Op::kConcat:
          return refuse("Concat " + c.name);
        default:
          if (non_homogeneous(c.op)) return refuse("non-homogeneous activation " + c.op_type + " " + c.name);
          return refuse(c.op_type + " " + c.name + " between the layers is not supported");
      }
      L.pub.between.push_back(c.op_type);
      if (c.outputs.empty()) return refuse(c.name + " has no output");
      t = c.outputs[0];
    }
    return refuse("path too long");
  }

  Link check_pair(Link& L, bool flattened) {
    auto refuse = [&](const std::string& why) {
      L.pub.accepted = false;
      L.pub.reason = why;
      return L;
    };
    const Node& a = g.nodes[L.from];
    const Node& b = g.nodes[L.to];
    std::string why;
    const WeightChannels* wa = channels(L.from, why);
    if (!wa) return refuse(a.name + ": " + why);
    const WeightChannels* wb = channels(L.to, why);
    if (!wb) return refuse(b.name + ": " + why);
    std::string gp = group_problem(a, *wa);
    if (gp.empty()) gp = group_problem(b, *wb);
    if (!gp.empty()) return refuse(gp);
    if (b.op == Op::kGemm && b.attr_int("transA", 0) != 0) return refuse(b.name + ": Gemm with transA");
    if (flattened) {
      if (b.op != Op::kGemm) return refuse("Flatten/Reshape before " + b.op_type + " " + b.name);
      if (wb->in_channels % wa->out_channels != 0) return refuse("flattened size is not a multiple of the channels");
      L.spatial = wb->in_channels / wa->out_channels;
    } else if (wb->in_channels != wa->out_channels) {
      return refuse("channel counts differ (" + std::to_string(wa->out_channels) + " vs " +
                    std::to_string(wb->in_channels) + ")");
    }
    for (const Node* n : {&a, &b}) {
      auto it = ix.weight_uses.find(n->inputs[1]);
      if (it != ix.weight_uses.end() && it->second > 1) return refuse("weight shared (" + n->inputs[1] + ")");
      if (!finite_weight(*g.weight(n->inputs[1]))) return refuse(n->name + ": non-finite weights");
    }
    std::vector<double> tmp;
    if (!dfq::read_bias(g, a, wa->out_channels, tmp)) return refuse(a.name + ": bias is not one value per channel");
    if (!dfq::read_bias(g, b, wb->out_channels, tmp)) return refuse(b.name + ": bias is not one value per channel");
    for (double v : tmp)
      if (!std::isfinite(v)) return refuse(b.name + ": non-finite bias");
    L.pub.accepted = true;
    L.pub.reason.clear();
    return L;
  }

  std::vector<Link> all() {
    std::vector<Link> out;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (dfq::is_weighted_layer(g.nodes[i]) && !g.nodes[i].outputs.empty()) out.push_back(walk(i));
    return out;
  }
};

// One equalization set: 2 or 3 layers, its hops (1 or 2 links).
struct Set {
  std::vector<size_t> layers;  // node indices
  std::vector<const Link*> hops;
};

std::vector<Set> group_sets(Finder& f, const std::vector<Link>& links) {
  std::map<size_t, const Link*> next;
  std::set<size_t> has_in;
  for (const auto& l : links)
    if (l.pub.accepted) {
      next[l.from] = &l;
      has_in.insert(l.to);
    }
  std::vector<Set> sets;
  for (size_t i = 0; i < f.g.nodes.size(); ++i) {  // chain heads in topological order
    if (!next.count(i) || has_in.count(i)) continue;
    std::vector<const Link*> chain;
    for (size_t cur = i; next.count(cur); cur = next[cur]->to) chain.push_back(next[cur]);
    size_t k = 0;
    while (k < chain.size()) {
      std::string why;
      const size_t mid = chain[k]->to;
      const WeightChannels* wm = f.channels(mid, why);
      if (f.opt.triplets && k + 1 < chain.size() && wm && is_depthwise(f.g.nodes[mid], *wm)) {
        sets.push_back(Set{{chain[k]->from, mid, chain[k + 1]->to}, {chain[k], chain[k + 1]}});
        k += 2;
      } else {
        sets.push_back(Set{{chain[k]->from, mid}, {chain[k]}});
        k += 1;
      }
    }
  }
  return sets;
}

CleLink set_link(const Graph& g, const Set& s) {
  CleLink l;
  l.kind = s.layers.size() == 3 ? "triplet" : "pair";
  for (size_t n : s.layers) l.layers.push_back(g.nodes[n].name);
  for (size_t h = 0; h < s.hops.size(); ++h) {
    if (h) l.between.push_back("|");
    for (const auto& b : s.hops[h]->pub.between) l.between.push_back(b);
    for (const auto& r : s.hops[h]->pub.relu6) l.relu6.push_back(r);
  }
  l.accepted = true;
  return l;
}

// Per-channel range of the elements whose channel (chan[e] / div) is c.
std::vector<double> channel_ranges(const Tensor& w, const std::vector<int32_t>& chan, int64_t div, int64_t channels,
                                   CleRange mode) {
  std::vector<double> lo(static_cast<size_t>(channels), INFINITY), hi(static_cast<size_t>(channels), -INFINITY);
  const float* p = w.f32();
  for (size_t e = 0; e < chan.size(); ++e) {
    const size_t c = static_cast<size_t>(chan[e] / div);
    const double v = p[e];
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  std::vector<double> r(static_cast<size_t>(channels), 0.0);
  for (size_t c = 0; c < r.size(); ++c) {
    if (hi[c] < lo[c]) continue;
    r[c] = mode == CleRange::kMaxAbs ? std::max(std::fabs(lo[c]), std::fabs(hi[c])) : hi[c] - lo[c];
  }
  return r;
}

void scale_channels(Tensor& w, const std::vector<int32_t>& chan, int64_t div, const std::vector<double>& f) {
  float* p = w.f32_mut();
  for (size_t e = 0; e < chan.size(); ++e)
    p[e] = static_cast<float>(static_cast<double>(p[e]) * f[static_cast<size_t>(chan[e] / div)]);
}


}  // namespace

std::string cle_mode_name(CleMode m) { return m == CleMode::kOnePass ? "one_pass" : "iterate"; }
std::string cle_range_name(CleRange r) { return r == CleRange::kMaxAbs ? "max_abs" : "max_minus_min"; }
std::string relu6_policy_name(Relu6Policy p) {
  return p == Relu6Policy::kReplace ? "replace" : p == Relu6Policy::kBound ? "bound" : "refuse";
}

std::vector<CleLink> cle_find_links(const Graph& g, const CleOptions& opt) {
  Finder f(g, opt);
  std::vector<CleLink> out;
  for (auto& l : f.all()) out.push_back(std::move(l.pub));
  return out;
}

std::vector<CleLink> cle_group_links(const Graph& g, const std::vector<CleLink>& links, const CleOptions& opt) {
  // Re-derive the internal links (node indices) from the graph; `links` decides which are accepted.
  Finder f(g, opt);
  std::vector<Link> all = f.all();
  std::set<std::vector<std::string>> ok;
  for (const auto& l : links)
    if (l.accepted) ok.insert(l.layers);
  for (auto& l : all) l.pub.accepted = l.pub.accepted && ok.count(l.pub.layers);
  std::vector<CleLink> out;
  for (const auto& s : group_sets(f, all)) out.push_back(set_link(g, s));
  for (const auto& l : all)
    if (!l.pub.accepted) out.push_back(l.pub);
  return out;
}

CleResult cle_equalize(const Graph& g, const CleOptions& opt, const CalibrationSet* data, const BnStatsMap* bn) {
  if (opt.max_sweeps < 1) throw Error("cle: max_sweeps must be >= 1");
  if (!(opt.s_min > 0) || !(opt.s_max >= opt.s_min)) throw Error("cle: scale guards must satisfy 0 < s_min <= s_max");
  const double t0 = dfq::now_ms();
  CleResult r;
  r.report.pass = "cle";
  Finder f(g, opt);
  std::vector<Link> links = f.all();

  // kBound: per-channel maxima of every Clip's input on the calibration data (the original graph).
  std::map<size_t, std::vector<double>> clip_max;
  if (opt.relu6 == Relu6Policy::kBound) {
    std::set<std::string> cap;
    for (const auto& l : links)
      if (l.pub.accepted)
        for (size_t c : l.clips) cap.insert(g.nodes[c].inputs[0]);
    if (!cap.empty() && (!data || data->samples.empty())) {
      for (auto& l : links)
        if (l.pub.accepted && !l.clips.empty()) {
          l.pub.accepted = false;
          l.pub.reason = "ReLU6 (policy: bound) needs calibration data";
        }
    } else if (!cap.empty()) {
      Executor ex(g);
      RunOptions ro;
      ro.capture = cap;
      for (const auto& s : data->samples) {
        const auto out = ex.run(s, ro);
        for (const auto& l : links) {
          if (!l.pub.accepted) continue;
          const int64_t C = f.wcs.at(l.from).out_channels;
          for (size_t c : l.clips) {
            std::vector<double> m = dfq::channel_extreme(out.at(g.nodes[c].inputs[0]), C, true);
            if (m.empty()) continue;
            auto& acc = clip_max[c];
            if (acc.empty()) acc.assign(m.size(), -INFINITY);
            for (size_t k = 0; k < m.size(); ++k) acc[k] = std::max(acc[k], m[k]);
          }
        }
      }
      for (auto& l : links)
        for (size_t c : l.clips)
          if (l.pub.accepted && !clip_max.count(c)) {
            l.pub.accepted = false;
            l.pub.reason = "ReLU6 (policy: bound): " + g.nodes[c].name + "'s input is not [N, C, ...] with C channels";
          }
    }
  }
  for (const auto& l : links) r.links.push_back(l.pub);
  const std::vector<Set> sets = group_sets(f, links);

  // kReplace: Clip(0, k) on equalized links becomes Relu first; the equalization then works on that model.
  Graph replaced;
  const bool do_replace = opt.relu6 == Relu6Policy::kReplace;
  r.graph = g;
  if (do_replace) {
    for (const auto& s : sets)
      for (const Link* h : s.hops)
        for (size_t c : h->clips) {
          Node& n = r.graph.nodes[c];
          n.op = Op::kRelu;
          n.op_type = "Relu";
          n.inputs.resize(1);
          n.attrs.clear();
          r.relu6_replaced.push_back(n.name);
        }
    if (!r.relu6_replaced.empty()) replaced = r.graph;
  }
  Graph& G = r.graph;
  GraphIndex ix(G);
  auto& changed = r.report.changed_weights;

  // Per set: cumulative scales per hop, ranges before.
  r.sets.resize(sets.size());
  for (size_t si = 0; si < sets.size(); ++si) {
    CleSetResult& sr = r.sets[si];
    sr.link = set_link(g, sets[si]);
    const int64_t C0 = f.wcs.at(sets[si].layers[0]).out_channels;
    sr.scale.assign(sets[si].hops.size(), std::vector<double>(static_cast<size_t>(C0), 1.0));
    sr.bounded_channels.assign(sets[si].hops.size(), 0);
    for (size_t n : sets[si].layers) {
      const auto& wc = f.wcs.at(n);
      sr.out_ranges_before.push_back(channel_ranges(*G.weight(G.nodes[n].inputs[1]), wc.out_ch, 1, wc.out_channels, opt.range));
    }
  }

  // Bound a hop's cumulative scale so that no channel's clipping changes on the calibration data.
  auto bound = [&](const Link* h, std::vector<double>& cum_new, const std::vector<double>& cum_prev, int& nb) {
    if (opt.relu6 != Relu6Policy::kBound) return;
    for (size_t c : h->clips) {
      double lo, hi;
      clip_bounds(g, g.nodes[c], lo, hi);
      const auto& m = clip_max.at(c);
      for (size_t k = 0; k < cum_new.size(); ++k) {
        double want = cum_new[k];
        if (m[k] > hi) want = 1.0;                        // clips on the data: only s = 1 keeps it
        else if (m[k] / want > hi) want = m[k] / hi;      // would start clipping: scale down less
        if (want != cum_new[k]) {
          ++nb;
          cum_new[k] = want;
        }
      }
    }
    (void)cum_prev;
  };

  auto bias_div = [&](size_t n, const std::vector<double>& d) {
    const Node& node = G.nodes[n];
    if (node.inputs.size() < 3 || node.inputs[2].empty()) return;  // no bias: 0 / s = 0
    std::string why;
    float* b = dfq::writable_bias(G, ix, n, static_cast<int64_t>(d.size()), "cle", changed, why);
    if (!b) throw Error("cle: " + node.describe() + ": " + why);
    for (size_t k = 0; k < d.size(); ++k) b[k] = static_cast<float>(static_cast<double>(b[k]) / d[k]);
  };
  auto weight = [&](size_t n) -> Tensor& { return dfq::writable_input(G, ix, n, 1, "cle", changed); };
  auto guard = [&](double v) { return std::min(std::max(v, opt.s_min), opt.s_max); };

  const int sweeps = opt.mode == CleMode::kIterate ? opt.max_sweeps : 1;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    double maxlog = 0;
    for (size_t si = 0; si < sets.size(); ++si) {
      const Set& s = sets[si];
      CleSetResult& sr = r.sets[si];
      const size_t a = s.layers[0], m = s.layers[1], b = s.layers.back();
      const WeightChannels& wa = f.wcs.at(a);
      const WeightChannels& wb = f.wcs.at(b);
      const int64_t C = wa.out_channels;
      const int64_t sp = s.hops.back()->spatial;
      const std::vector<double> r0 = channel_ranges(*G.weight(G.nodes[a].inputs[1]), wa.out_ch, 1, C, opt.range);
      const std::vector<double> r2 = channel_ranges(*G.weight(G.nodes[b].inputs[1]), wb.in_ch, sp, C, opt.range);
      std::vector<std::vector<double>> step(s.hops.size(), std::vector<double>(static_cast<size_t>(C), 1.0));
      if (s.layers.size() == 2) {
        for (size_t k = 0; k < step[0].size(); ++k)
          if (r0[k] > 0 && r2[k] > 0) step[0][k] = guard(std::sqrt(r0[k] / r2[k]));
      } else {
        const WeightChannels& wm = f.wcs.at(m);
        const std::vector<double> r1 = channel_ranges(*G.weight(G.nodes[m].inputs[1]), wm.out_ch, 1, C, opt.range);
        for (size_t k = 0; k < step[0].size(); ++k) {
          if (!(r0[k] > 0 && r1[k] > 0 && r2[k] > 0)) continue;
          const double c = std::cbrt(r0[k] * r1[k] * r2[k]);
          step[0][k] = guard(r0[k] / c);
          step[1][k] = guard(c / r2[k]);
        }
      }
      for (size_t h = 0; h < s.hops.size(); ++h) {
        std::vector<double> cum(step[h].size());
        for (size_t k = 0; k < cum.size(); ++k) cum[k] = sr.scale[h][k] * step[h][k];
        int nb = 0;
        bound(s.hops[h], cum, sr.scale[h], nb);
        if (sweep == 0 || nb) sr.bounded_channels[h] = std::max(sr.bounded_channels[h], nb);
        for (size_t k = 0; k < cum.size(); ++k) {
          step[h][k] = cum[k] / sr.scale[h][k];
          sr.scale[h][k] = cum[k];
          maxlog = std::max(maxlog, std::fabs(std::log(step[h][k])));
        }
      }
      // Layer 1's output channel k / s; the next layer's input channel k * s (a depthwise middle does both).
      std::vector<double> inv0(step[0].size());
      for (size_t k = 0; k < inv0.size(); ++k) inv0[k] = 1.0 / step[0][k];
      scale_channels(weight(a), wa.out_ch, 1, inv0);
      bias_div(a, step[0]);
      if (s.layers.size() == 3) {
        std::vector<double> mid(step[0].size());
        for (size_t k = 0; k < mid.size(); ++k) mid[k] = step[0][k] / step[1][k];
        scale_channels(weight(m), f.wcs.at(m).out_ch, 1, mid);
        bias_div(m, step[1]);
      }
      scale_channels(weight(b), wb.in_ch, sp, step.back());
    }
    r.sweeps = sweep + 1;
    r.last_max_log_scale = maxlog;
    if (maxlog < opt.tol) break;
  }

  for (size_t si = 0; si < sets.size(); ++si)
    for (size_t n : sets[si].layers) {
      const auto& wc = f.wcs.at(n);
      r.sets[si].out_ranges_after.push_back(channel_ranges(*G.weight(G.nodes[n].inputs[1]), wc.out_ch, 1, wc.out_channels, opt.range));
    }
  if (bn) {
    r.bn_stats = *bn;
    for (size_t si = 0; si < sets.size(); ++si)
      for (size_t h = 0; h < sets[si].hops.size(); ++h) {
        auto it = r.bn_stats.find(G.nodes[sets[si].layers[h]].name);
        if (it == r.bn_stats.end()) continue;
        const auto& sc = r.sets[si].scale[h];
        if (it->second.beta.size() != sc.size() || it->second.gamma.size() != sc.size()) continue;
        for (size_t k = 0; k < sc.size(); ++k) {
          it->second.beta[k] = static_cast<float>(it->second.beta[k] / sc[k]);
          it->second.gamma[k] = static_cast<float>(it->second.gamma[k] / sc[k]);
        }
      }
  }
  r.report.ms = dfq::now_ms() - t0;

  int pairs = 0, triplets = 0, refused = 0;
  for (const auto& s : r.sets) (s.link.kind == "triplet" ? triplets : pairs)++;
  for (const auto& l : r.links) refused += !l.accepted;
  char buf[256];
  std::snprintf(buf, sizeof buf, "equalized %d pairs and %d triplets (%s, %s, ReLU6 %s); %d links refused; %d sweep(s), last max|log s| %.3g",
                pairs, triplets, cle_mode_name(opt.mode).c_str(), cle_range_name(opt.range).c_str(),
                relu6_policy_name(opt.relu6).c_str(), refused, r.sweeps, r.last_max_log_scale);
  r.report.notes.push_back(buf);
  if (!r.relu6_replaced.empty()) {
    r.report.notes.push_back(std::to_string(r.relu6_replaced.size()) +
                             " Clip(0,k) replaced by Relu: the result is not function-preserving (see relu6_deviation)");
    PassReport tmp;
    dfq::verify_into(g, replaced, data, tmp);
    r.relu6_deviation = tmp.verification;
    tmp.verification.clear();
    dfq::verify_into(replaced, G, data, tmp);
    r.equalization_only = tmp.verification;
  }
  if (opt.relu6 == Relu6Policy::kBound && !clip_max.empty())
    r.report.notes.push_back("ReLU6 kept with scales bounded on the calibration data: exact on that data only");
  dfq::verify_into(g, G, data, r.report);
  return r;
}

std::vector<LayerSqnr> weight_sqnr(const Graph& g, int bits) {
  SweepOptions o;
  o.bits = {bits};
  o.granularity = Granularity::kTensor;
  o.scheme = Scheme::kSymmetric;
  o.threads = 1;
  const SweepReport rep = quant_sweep(g, o);
  std::vector<LayerSqnr> out;
  for (const auto& l : rep.layers) {
    if (l.results.empty()) continue;
    out.push_back(LayerSqnr{l.layer.name, l.layer.weight, l.results[0].sqnr_db});
  }
  return out;
}

}  // namespace qp
