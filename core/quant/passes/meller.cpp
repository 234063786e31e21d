// Meller et al. activation-aware equalization (see meller.h, ALGORITHMS.md §2.3).
#include "core/quant/passes/meller.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/ir/error.h"
#include "core/quant/layers.h"
#include "core/runtime/executor.h"

namespace qp {

namespace {

constexpr double kTiny = 1e-30;  // the reference adds it to every denominator

}  // namespace

MellerScale meller_scale(const MellerScaleInput& in, const MellerOptions& opt) {
  const size_t n = in.w_max.size();
  if (in.a_max.size() != n || in.p_min.size() != n || (!in.m.empty() && in.m.size() != n))
    throw Error("meller: channel counts of weights, activations and successor weights differ");
  MellerScale s;
  s.t.resize(n);
  auto m = [&](size_t c) { return in.m.empty() ? 1.0 : in.m[c]; };
  double a_max = 0, k_max = 0;
  for (size_t c = 0; c < n; ++c) {
    a_max = std::max(a_max, std::fabs(in.a_max[c]) * m(c));
    k_max = std::max(k_max, std::fabs(in.w_max[c]) * m(c));
  }
  for (size_t c = 0; c < n; ++c) {
    const double grow = a_max / (std::fabs(in.a_max[c]) + kTiny);
    const double post = std::min(grow, opt.max_activation_scale);
    const double pre = opt.pre_act_limit ? std::max(a_max / (std::fabs(in.p_min[c]) + kTiny), 1.0)
                                         : std::numeric_limits<double>::infinity();
    const double kern = k_max / (std::fabs(in.w_max[c]) + kTiny);
    s.t[c] = std::min(kern, std::min(post, pre));
    if (grow > opt.max_activation_scale && s.t[c] == post) ++s.caps_hit;
  }
  return s;
}

namespace {

using Clock = std::chrono::steady_clock;

struct ChannelStats {
  std::vector<double> max, min;
};

// Per-channel (axis 1; axis 0 for 1-D) extrema of every float value over the calibration set.
std::map<std::string, ChannelStats> collect_stats(const Graph& g, const CalibrationSet& calib) {
  Executor ex(g);
  ex.check_runnable();
  RunOptions ro;
  ro.capture_all = true;
  std::map<std::string, ChannelStats> st;
  for (const auto& s : calib.samples) {
    const auto res = ex.run(s, ro);
    for (const auto& kv : res) {
      const Value& v = kv.second;
      if (v.dtype != DType::kFloat32 || v.rank() == 0 || v.numel() == 0) continue;
      const size_t ax = v.rank() >= 2 ? 1 : 0;
      const int64_t c = v.shape[ax];
      int64_t inner = 1;
      for (size_t i = ax + 1; i < v.rank(); ++i) inner *= v.shape[i];
      ChannelStats& cs = st[kv.first];
      if (cs.max.empty()) {
        cs.max.assign(static_cast<size_t>(c), -std::numeric_limits<double>::infinity());
        cs.min.assign(static_cast<size_t>(c), std::numeric_limits<double>::infinity());
      }
      if (cs.max.size() != static_cast<size_t>(c)) continue;
      const float* x = v.f32();
      for (int64_t i = 0; i < v.numel(); ++i) {
        const size_t ch = static_cast<size_t>((i / inner) % c);
        const double e = x[i];
        if (!std::isfinite(e)) throw Error("meller: value '" + kv.first + "' is not finite on the calibration data");
        cs.max[ch] = std::max(cs.max[ch], e);
        cs.min[ch] = std::min(cs.min[ch], e);
      }
    }
  }
  return st;
}

// A layer the pass can scale: its weight is private and its bias (if any) one value per output channel.
struct LayerInfo {
  std::string name, weight, bias;
  int node = -1;
  Op op = Op::kUnsupported;
  int axis = 0;           // output-channel axis of the weight
  int64_t channels = 0;   // output channels
  int64_t groups = 1;
  bool trans_b = false;   // Gemm
  std::string skip;           // why it cannot be equalized itself
  std::string consumer_skip;  // why its input channels cannot be scaled
};

struct Reach {
  struct Consumer {
    int layer;           // index into the layer table
    int64_t offset = 0;  // input channel of the consumer that receives channel 0
    int64_t tile = 1;    // flattened positions per channel (Gemm/MatMul after Flatten)
  };
  std::vector<Consumer> consumers;
  std::vector<int> owners;                                  // residual-add owners (layer indices)
  std::vector<std::pair<std::string, int64_t>> values;      // (value, channel offset) that carry t
  std::vector<int> concats;                                 // Concat node indices reached
  std::string blocked;
};

class Pass {
 public:
  Pass(const Graph& g, const CalibrationSet& calib, const MellerOptions& opt) : g_(g), w_(g), opt_(opt) {
    stats_ = collect_stats(g, calib);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& o : g.nodes[i].outputs)
        if (!o.empty()) producer_[o] = static_cast<int>(i);
      for (const auto& x : g.nodes[i].inputs)
        if (!x.empty()) consumers_[x].push_back(static_cast<int>(i));
    }
    for (const auto& o : g.outputs) graph_outputs_.insert(o.name);
    for (const auto& l : find_layers(g)) {
      LayerInfo li;
      li.name = l.name;
      li.weight = l.weight;
      li.bias = l.bias;
      li.axis = l.channel_axis;
      li.groups = l.groups;
      for (size_t i = 0; i < g.nodes.size(); ++i)
        if (g.nodes[i].name == l.name) li.node = static_cast<int>(i);
      const Node& n = g.nodes[static_cast<size_t>(li.node)];
      li.op = n.op;
      li.channels = l.channels;
      li.trans_b = n.attr_int("transB", 0) != 0;
      if (!l.skip.empty()) li.skip = l.skip;
      else if (n.op == Op::kConvTranspose) li.skip = "ConvTranspose is not handled";
      else if (n.op == Op::kMatMul && (n.inputs.size() < 2 || n.inputs[1] != l.weight || l.shape.size() != 2))
        li.skip = "MatMul with a constant A or a batched weight";
      else if (n.op == Op::kGemm && (n.inputs.size() < 2 || n.inputs[1] != l.weight || n.attr_int("transA", 0)))
        li.skip = "Gemm with a constant A or transA";
      else if (consumers_[l.weight].size() != 1) li.skip = "its weight is shared with another node";
      li.consumer_skip = li.skip;
      if (!li.skip.empty()) {
      } else if (!l.bias.empty() && (consumers_[l.bias].size() != 1 || l.bias_params != l.channels))
        li.skip = "its bias is shared or not one value per channel";
      else if (n.op == Op::kMatMul && !l.bias.empty())
        li.skip = "MatMul with a bias Add";  // the Add is the pre-activation value; not handled here
      else if (n.op == Op::kGemm && n.inputs.size() > 2 && !n.inputs[2].empty() && l.bias.empty())
        li.skip = "its Gemm C is computed";
      layer_of_node_[li.node] = static_cast<int>(layers_.size());
      layers_.push_back(li);
    }
    if (opt.bn_stats) bn_ = *opt.bn_stats;
  }

  MellerResult run() {
    MellerResult r;
    r.options = opt_;
    for (size_t i = 0; i < layers_.size(); ++i) r.layers.push_back(equalize(static_cast<int>(i)));
    r.graph = w_;
    r.bn_stats = bn_;
    return r;
  }

 private:
  const Node& node(int k) const { return w_.nodes[static_cast<size_t>(k)]; }

  int layer_at(int node_idx) const {
    auto it = layer_of_node_.find(node_idx);
    return it == layer_of_node_.end() ? -1 : it->second;
  }

  const std::vector<int>& cons(const std::string& v) const {
    static const std::vector<int> kNone;
    auto it = consumers_.find(v);
    return it == consumers_.end() ? kNone : it->second;
  }

  int64_t value_channels(const std::string& v) const {
    auto it = stats_.find(v);
    return it == stats_.end() ? -1 : static_cast<int64_t>(it->second.max.size());
  }

  // Max |w| per output channel of a layer's current weight.
  std::vector<double> out_channel_max(const LayerInfo& l) const {
    const Tensor& t = w_.weights.at(l.weight);
    ChannelView v = channel_view(t, l.axis);
    std::vector<double> m(static_cast<size_t>(v.channels), 0.0);
    for (int64_t c = 0; c < v.channels; ++c)
      for (int64_t i = 0; i < v.inner; ++i) m[static_cast<size_t>(c)] = std::max(m[static_cast<size_t>(c)], std::fabs(static_cast<double>(v.data[c * v.inner + i])));
    return m;
  }

  // Calls f(element index, input channel) for every weight element of consumer layer `l`.
  template <class F>
  void for_input_channels(const LayerInfo& l, F f) const {
    const Tensor& t = w_.weights.at(l.weight);
    if (l.op == Op::kConv) {
      const int64_t m = t.dims[0], cg = t.dims[1];
      int64_t taps = 1;
      for (size_t i = 2; i < t.dims.size(); ++i) taps *= t.dims[i];
      const int64_t mg = m / std::max<int64_t>(l.groups, 1);
      for (int64_t o = 0; o < m; ++o)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t k = 0; k < taps; ++k) f((o * cg + c) * taps + k, (o / mg) * cg + c);
    } else {  // Gemm / MatMul, 2-D
      const bool trans = l.op == Op::kGemm && l.trans_b;
      const int64_t k = trans ? t.dims[1] : t.dims[0], n = trans ? t.dims[0] : t.dims[1];
      for (int64_t a = 0; a < t.dims[0]; ++a)
        for (int64_t b = 0; b < t.dims[1]; ++b) f(a * t.dims[1] + b, trans ? b : a);
      (void)k;
      (void)n;
    }
  }

  int64_t input_channels(const LayerInfo& l) const {
    const Tensor& t = w_.weights.at(l.weight);
    if (l.op == Op::kConv) return t.dims[1] * l.groups;
    return (l.op == Op::kGemm && l.trans_b) ? t.dims[1] : t.dims[0];
  }

  // Follows `v` (carrying channel offset `off` of `ctot` channels) to everything that must absorb 1/t.
  void walk(const std::string& v, int64_t off, int64_t ctot, bool flat, int self, Reach& r, std::set<std::string>& seen) {
    if (!r.blocked.empty() || !seen.insert(v).second) return;
    if (graph_outputs_.count(v)) return void(r.blocked = "its output reaches the graph output '" + v + "'");
    if (!flat) r.values.emplace_back(v, off);
    for (int k : cons(v)) {
      const Node& n = node(k);
      const int li = layer_at(k);
      if (li >= 0 && !n.inputs.empty() && n.inputs[0] == v) {
        const LayerInfo& l = layers_[static_cast<size_t>(li)];
        if (!l.consumer_skip.empty()) return void(r.blocked = "consumer " + n.describe() + ": " + l.consumer_skip);
        const int64_t kin = input_channels(l);
        Reach::Consumer c{li, off, 1};
        if (flat) {
          if (ctot <= 0 || kin % ctot) return void(r.blocked = "cannot map channels through the flatten into " + n.describe());
          c.tile = kin / ctot;
          c.offset = off * c.tile;
        } else if (kin != ctot) {
          return void(r.blocked = n.describe() + " reads " + std::to_string(kin) + " channels of " + std::to_string(ctot));
        }
        r.consumers.push_back(c);
        continue;
      }
      if (flat) return void(r.blocked = "a flattened tensor reaches " + n.describe());
      switch (n.op) {
        case Op::kMaxPool:
        case Op::kAveragePool:
        case Op::kGlobalAveragePool:
        case Op::kGlobalMaxPool:
        case Op::kIdentity:
        case Op::kDropout:
        case Op::kRelu:
        case Op::kLeakyRelu:
          walk(n.outputs[0], off, ctot, false, self, r, seen);
          break;
        case Op::kPRelu:
          if (n.inputs[0] != v) return void(r.blocked = "reaches the slope of " + n.describe());
          walk(n.outputs[0], off, ctot, false, self, r, seen);
          break;
        case Op::kPad: {
          const std::string mode = n.attr_string("mode", "constant");
          const Tensor* cv = n.inputs.size() > 2 && !n.inputs[2].empty() ? w_.weight(n.inputs[2]) : nullptr;
          if (mode != "constant" || (cv && cv->numel() == 1 && cv->dtype == DType::kFloat32 && cv->f32()[0] != 0) ||
              (n.inputs.size() > 2 && !n.inputs[2].empty() && !cv))
            return void(r.blocked = n.describe() + " pads with a non-zero value");
          walk(n.outputs[0], off, ctot, false, self, r, seen);
          break;
        }
        case Op::kFlatten:
          if (n.attr_int("axis", 1) != 1) return void(r.blocked = n.describe() + " is not at axis 1");
          walk(n.outputs[0], off, ctot, true, self, r, seen);
          break;
        case Op::kConcat: {
          const int64_t axis = n.attr_int("axis", 0);
          if (axis != 1) return void(r.blocked = n.describe() + " is not on the channel axis");
          int64_t before = 0, total = 0;
          bool found = false;
          for (const auto& x : n.inputs) {
            const int64_t c = value_channels(x);
            if (c < 0) return void(r.blocked = n.describe() + ": no statistics for '" + x + "'");
            if (x == v && !found) {
              found = true;
              before = total;
            }
            total += c;
          }
          if (std::count(n.inputs.begin(), n.inputs.end(), v) > 1)
            return void(r.blocked = n.describe() + " reads the value twice");
          r.concats.push_back(k);
          walk(n.outputs[0], off + before, total, false, self, r, seen);
          break;
        }
        case Op::kAdd: {
          if (n.inputs.size() != 2) return void(r.blocked = n.describe() + " is not binary");
          const std::string& other = n.inputs[0] == v ? n.inputs[1] : n.inputs[0];
          if (other != v) {
            auto p = producer_.find(other);
            const int ol = p == producer_.end() ? -1 : layer_at(p->second);
            if (ol < 0 || ol == self || !layers_[static_cast<size_t>(ol)].skip.empty() || cons(other).size() != 1)
              return void(r.blocked = n.describe() + ": the other addend '" + other + "' is not the private output of a layer");
            if (off != 0 || layers_[static_cast<size_t>(ol)].channels != ctot)
              return void(r.blocked = n.describe() + ": addend channels do not line up");
            if (std::find(r.owners.begin(), r.owners.end(), ol) == r.owners.end()) r.owners.push_back(ol);
            r.values.emplace_back(other, 0);
          }
          walk(n.outputs[0], off, ctot, false, self, r, seen);
          break;
        }
        default:
          return void(r.blocked = "its output reaches " + n.describe() + ", which does not commute with channel scaling");
      }
      if (!r.blocked.empty()) return;
    }
  }

  // The activation right after a layer: the post-activation value and its kind; false when it is not homogeneous.
  bool activation(const LayerInfo& l, std::string& post, std::string& kind, double& bound, std::string& why) const {
    const std::string& out = node(l.node).outputs[0];
    post = out;
    kind = "linear";
    bound = std::numeric_limits<double>::infinity();
    const auto& cs = cons(out);
    if (cs.size() != 1 || graph_outputs_.count(out)) return true;
    const Node& a = node(cs[0]);
    switch (a.op) {
      case Op::kRelu: kind = "relu"; break;
      case Op::kLeakyRelu: kind = "leaky_relu"; break;
      case Op::kClip: {
        double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
        if (a.attr("min") || a.attr("max")) {
          lo = a.attr_float("min", -std::numeric_limits<float>::infinity());
          hi = a.attr_float("max", std::numeric_limits<float>::infinity());
        } else {
          for (size_t i = 1; i < 3 && i < a.inputs.size(); ++i) {
            if (a.inputs[i].empty()) continue;
            const Tensor* t = w_.weight(a.inputs[i]);
            if (!t || t->numel() != 1 || t->dtype != DType::kFloat32) return why = a.describe() + " has computed bounds", false;
            (i == 1 ? lo : hi) = t->f32()[0];
          }
        }
        if (lo != 0) return why = a.describe() + " does not clip at 0", false;
        char buf[48];
        std::snprintf(buf, sizeof buf, "clip(0,%g)", hi);
        kind = buf;
        bound = hi;
        break;
      }
      case Op::kSigmoid: case Op::kTanh: case Op::kHardSwish: case Op::kHardSigmoid: case Op::kElu:
      case Op::kGelu: case Op::kSoftplus: case Op::kSoftmax: case Op::kLogSoftmax:
        return why = "activation " + a.op_type + " is not positively homogeneous", false;
      default: return true;  // linear: the consumers are walked
    }
    post = a.outputs[0];
    return true;
  }

  static void scale_out_channels(Tensor& t, int axis, const std::vector<double>& s) {
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; ++i) outer *= t.dims[static_cast<size_t>(i)];
    for (size_t i = static_cast<size_t>(axis) + 1; i < t.dims.size(); ++i) inner *= t.dims[i];
    const int64_t c = t.dims[static_cast<size_t>(axis)];
    float* x = t.f32_mut();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < inner; ++i) {
          float& e = x[(o * c + ch) * inner + i];
          e = static_cast<float>(static_cast<double>(e) * s[static_cast<size_t>(ch)]);
        }
  }

  void scale_layer_outputs(const LayerInfo& l, const std::vector<double>& t) {
    scale_out_channels(w_.weights.at(l.weight), l.axis, t);
    if (!l.bias.empty()) {
      Tensor& b = w_.weights.at(l.bias);
      float* x = b.f32_mut();
      for (int64_t c = 0; c < b.numel(); ++c) x[c] = static_cast<float>(static_cast<double>(x[c]) * t[static_cast<size_t>(c)]);
    }
    auto it = bn_.find(l.name);
    if (it != bn_.end())
      for (size_t c = 0; c < t.size() && c < it->second.beta.size(); ++c) {
        it->second.beta[c] = static_cast<float>(it->second.beta[c] * t[c]);
        it->second.gamma[c] = static_cast<float>(it->second.gamma[c] * t[c]);
      }
  }

  MellerLayer equalize(int li) {
    const LayerInfo& l = layers_[static_cast<size_t>(li)];
    MellerLayer out;
    out.layer = l.name;
    out.op_type = node(l.node).op_type;
    if (!l.skip.empty()) return out.note = l.skip, out;
    const std::string& pre = node(l.node).outputs[0];
    // A residual-add owner is scaled together with the layer whose output it adds (§2.3.5), never on its own.
    for (int k : cons(pre))
      if (node(k).op == Op::kAdd && cons(pre).size() == 1) return out.note = "residual-add owner (scaled with the other addend)", out;
    std::string post, why;
    double bound = 0;
    if (!activation(l, post, out.activation, bound, why)) return out.note = why, out;
    auto sp = stats_.find(pre);
    auto sa = stats_.find(post);
    if (sp == stats_.end() || sa == stats_.end()) return out.note = "no calibration statistics for its output", out;
    if (static_cast<int64_t>(sa->second.max.size()) != l.channels)
      return out.note = "output channels do not match the weight", out;
    Reach reach;
    std::set<std::string> seen;
    if (post != pre) seen.insert(pre);
    walk(post, 0, l.channels, false, li, reach, seen);
    if (!reach.blocked.empty()) return out.note = reach.blocked, out;
    if (reach.consumers.empty()) return out.note = "no consumer layer absorbs the inverse scale", out;

    // Successor weighting (two-step): per channel, the consumers' largest normalised column.
    MellerScaleInput in;
    in.w_max = out_channel_max(l);
    in.a_max = sa->second.max;
    in.p_min = sp->second.min;
    const size_t nc = static_cast<size_t>(l.channels);
    if (opt_.two_steps && !(opt_.reference_compat && reach.consumers.size() == 1)) {
      in.m.assign(nc, 0.0);
      for (const auto& c : reach.consumers) {
        const LayerInfo& cl = layers_[static_cast<size_t>(c.layer)];
        const Tensor& t = w_.weights.at(cl.weight);
        std::vector<double> col(nc, 0.0);
        double all = 0;
        for_input_channels(cl, [&](int64_t e, int64_t ch) {
          const double a = std::fabs(static_cast<double>(t.f32()[e]));
          all = std::max(all, a);
          const int64_t local = ch - c.offset;
          if (local >= 0 && local < static_cast<int64_t>(nc) * c.tile) {
            const size_t lc = static_cast<size_t>(local / c.tile);
            col[lc] = std::max(col[lc], a);
          }
        });
        for (size_t ch = 0; ch < nc; ++ch) in.m[ch] = std::max(in.m[ch], col[ch] / (all + kTiny));
      }
    }
    MellerScale s = meller_scale(in, opt_);
    std::vector<double>& t = s.t;
    out.caps_hit = s.caps_hit;
    // Concat rule: stretch the branch to the largest range among the concat's producers.
    if (!reach.concats.empty()) {
      double r = 0, cur = 0;
      for (int k : reach.concats)
        for (const auto& x : node(k).inputs)
          for (double m : stats_.at(x).max) r = std::max(r, m);
      for (size_t c = 0; c < nc; ++c) cur = std::max(cur, std::fabs(in.a_max[c]) * t[c]);
      if (cur > 0 && r > 0) {
        out.concat_factor = r / cur;
        for (auto& x : t) x *= out.concat_factor;
      }
    }
    if (std::isfinite(bound))
      for (auto& x : t)
        if (x < opt_.relu6_attn_limit) {
          x = opt_.relu6_attn_limit;
          ++out.floors_hit;
        }
    // Residual rule: the owners carry the same vector; both normalised by their minima, element-wise min, then m.
    for (int ol : reach.owners) {
      const LayerInfo& K = layers_[static_cast<size_t>(ol)];
      const std::string& kout = node(K.node).outputs[0];
      MellerScaleInput kin;
      kin.w_max = out_channel_max(K);
      kin.a_max = stats_.at(kout).max;
      kin.p_min = stats_.at(kout).min;
      kin.m = in.m;
      const MellerScale ks = meller_scale(kin, opt_);
      const double tmin = *std::min_element(t.begin(), t.end()), kmin = *std::min_element(ks.t.begin(), ks.t.end());
      for (size_t c = 0; c < nc; ++c) {
        t[c] = std::min(t[c] / (tmin + kTiny), ks.t[c] / (kmin + kTiny));
        if (!in.m.empty()) t[c] = std::max(t[c], in.m[c]);
      }
      out.residual_owners.push_back(K.name);
    }
    for (double x : t)
      if (!std::isfinite(x) || !(x > 0)) return out.note = "non-finite or zero scale", out;

    // Apply: the layer's output channels (and the residual owners') * t, the consumers' input channels / t.
    scale_layer_outputs(l, t);
    for (int ol : reach.owners) scale_layer_outputs(layers_[static_cast<size_t>(ol)], t);
    for (const auto& c : reach.consumers) {
      const LayerInfo& cl = layers_[static_cast<size_t>(c.layer)];
      Tensor& tw = w_.weights.at(cl.weight);
      float* x = tw.f32_mut();
      for_input_channels(cl, [&](int64_t e, int64_t ch) {
        const int64_t local = ch - c.offset;
        if (local >= 0 && local < static_cast<int64_t>(nc) * c.tile)
          x[e] = static_cast<float>(static_cast<double>(x[e]) / t[static_cast<size_t>(local / c.tile)]);
      });
      out.consumers.push_back(cl.name);
    }
    // Statistics of every value that now carries t (later layers read them: concat ranges, owners).
    std::set<std::string> done;
    auto scale_stats = [&](const std::string& v, int64_t off) {
      if (!done.insert(v).second) return;
      auto it = stats_.find(v);
      if (it == stats_.end()) return;
      for (size_t c = 0; c < nc && off + static_cast<int64_t>(c) < static_cast<int64_t>(it->second.max.size()); ++c) {
        it->second.max[static_cast<size_t>(off) + c] *= t[c];
        it->second.min[static_cast<size_t>(off) + c] *= t[c];
      }
    };
    scale_stats(pre, 0);
    for (const auto& v : reach.values) scale_stats(v.first, v.second);
    for (int ol : reach.owners) scale_stats(node(layers_[static_cast<size_t>(ol)].node).outputs[0], 0);

    out.equalized = true;
    out.scale = t;
    out.scale_min = *std::min_element(t.begin(), t.end());
    out.scale_max = *std::max_element(t.begin(), t.end());
    double sum = 0;
    for (double x : t) sum += x;
    out.scale_mean = sum / static_cast<double>(t.size());
    return out;
  }

  const Graph& g_;
  Graph w_;
  MellerOptions opt_;
  std::map<std::string, ChannelStats> stats_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::vector<LayerInfo> layers_;
  std::map<int, int> layer_of_node_;
  BnStatsMap bn_;
};

}  // namespace

MellerResult meller_equalize(const Graph& g, const CalibrationSet& calib, const MellerOptions& opt) {
  if (calib.samples.empty()) throw Error("meller equalization needs calibration data (activation extrema)");
  if (!(opt.max_activation_scale >= 1)) throw Error("meller: max_activation_scale must be >= 1");
  const auto t0 = Clock::now();
  Pass p(g, calib, opt);
  MellerResult r = p.run();
  r.calib_samples = static_cast<int>(calib.samples.size());
  r.report.pass = "meller";
  r.report.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  int eq = 0, caps = 0, floors = 0;
  std::set<std::string> changed;
  for (const auto& l : r.layers) {
    if (!l.equalized) continue;
    ++eq;
    caps += l.caps_hit;
    floors += l.floors_hit;
  }
  for (const auto& kv : r.graph.weights) {
    const Tensor& a = kv.second;
    const Tensor* b = g.weight(kv.first);
    if (b && b->data != a.data) changed.insert(kv.first);
  }
  r.report.changed_weights.assign(changed.begin(), changed.end());
  r.report.notes.push_back(std::string(opt.two_steps ? "two-step" : "one-step") + " equalization of " +
                           std::to_string(eq) + " of " + std::to_string(r.layers.size()) + " layers (" +
                           std::to_string(caps) + " channels at the " + std::to_string(opt.max_activation_scale).substr(0, 4) +
                           "x cap, " + std::to_string(floors) + " at the bounded-ReLU floor)");
  RandomCalibration rc;
  rc.samples = std::max(1, opt.verify_random_samples);
  r.report.verification.push_back(verify_function(g, r.graph, calibration_random(g, rc)));
  r.report.verification.push_back(verify_function(g, r.graph, calib));
  for (const auto& v : r.report.verification)
    if (v.max_rel_dev > 1e-5) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "fp32 outputs moved by %.3g (relative) on %s: bounded ReLUs clip differently where "
                    "inputs exceed the calibration ranges", v.max_rel_dev, v.inputs.c_str());
      r.report.notes.push_back(buf);
    }
  return r;
}

}  // namespace qp
