// BatchNormalization / constant-affine folding into the preceding layer and Gemm alpha/beta folding (§2.1).
#include "core/quant/passes/bn_fold.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "core/ir/error.h"
#include "core/quant/passes/dfq_util.h"

namespace qp {

namespace {

using dfq::GraphIndex;

// The folded node as y = a[c] * x + b[c] over the layer's output channels.
struct Affine {
  std::vector<double> a, b;
  bool is_bn = false;
  std::vector<float> beta, gamma;  // BN only
};

bool is_affine_op(Op op) { return op == Op::kMul || op == Op::kAdd || op == Op::kSub || op == Op::kDiv; }

// Rank of the layer's output: Conv/ConvTranspose keep the weight's rank, Gemm is 2-D.
size_t layer_out_rank(const Graph& g, const Node& p) {
  if (p.op == Op::kGemm) return 2;
  const Tensor* w = g.weight(p.inputs[1]);
  return w ? w->dims.size() : 0;
}

// A constant that broadcasts against [N, C, ...] without changing its shape and holds one value per channel (or
// one value). Returns the per-channel values, or empty with a reason.
bool per_channel_constant(const Tensor& k, size_t out_rank, int64_t channels, std::vector<double>& v,
                          std::string& reason) {
  if (k.dtype != DType::kFloat32) {
    reason = "constant is " + dtype_name(k.dtype);
    return false;
  }
  if (k.dims.size() > out_rank) {
    reason = "constant has more dims than the layer's output (broadcast would change the shape)";
    return false;
  }
  const int64_t n = k.numel();
  v.assign(static_cast<size_t>(channels), 0.0);
  if (n == 1) {
    for (auto& x : v) x = k.f32()[0];
    return true;
  }
  // Right-aligned against the output: only the channel axis (1) may be > 1.
  const size_t off = out_rank - k.dims.size();
  for (size_t i = 0; i < k.dims.size(); ++i) {
    const size_t axis = off + i;
    const int64_t want = axis == 1 ? channels : 1;
    if (k.dims[i] != want && k.dims[i] != 1) {
      reason = "constant of shape " + shape_str(k.dims) + " is not per channel";
      return false;
    }
  }
  if (n != channels) {
    reason = "constant of shape " + shape_str(k.dims) + " is not per channel";
    return false;
  }
  for (int64_t c = 0; c < channels; ++c) v[static_cast<size_t>(c)] = k.f32()[c];
  return true;
}

bool bn_affine(const Graph& g, const Node& bn, int64_t channels, Affine& af, std::string& reason) {
  if (bn.attr_int("training_mode", 0) != 0) {
    reason = "training_mode = 1";
    return false;
  }
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (!bn.outputs[i].empty()) {
      reason = "running-statistics outputs are used";
      return false;
    }
  if (bn.inputs.size() < 5) {
    reason = "fewer than 5 inputs";
    return false;
  }
  const Tensor* t[4];
  for (int i = 0; i < 4; ++i) {
    t[i] = g.weight(bn.inputs[static_cast<size_t>(i + 1)]);
    if (!t[i] || t[i]->dtype != DType::kFloat32) {
      reason = "parameter '" + bn.inputs[static_cast<size_t>(i + 1)] + "' is not a float32 constant";
      return false;
    }
    if (t[i]->numel() != channels) {
      reason = "parameter '" + bn.inputs[static_cast<size_t>(i + 1)] + "' has " + std::to_string(t[i]->numel()) +
               " values for " + std::to_string(channels) + " channels";
      return false;
    }
  }
  const double eps = bn.attr_float("epsilon", 1e-5f);
  af.is_bn = true;
  af.a.resize(static_cast<size_t>(channels));
  af.b.resize(static_cast<size_t>(channels));
  af.beta.resize(static_cast<size_t>(channels));
  af.gamma.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double gamma = t[0]->f32()[c], beta = t[1]->f32()[c], mean = t[2]->f32()[c], var = t[3]->f32()[c];
    const double inv = 1.0 / std::sqrt(var + eps);
    af.a[static_cast<size_t>(c)] = gamma * inv;
    af.b[static_cast<size_t>(c)] = beta - gamma * mean * inv;
    af.beta[static_cast<size_t>(c)] = static_cast<float>(beta);
    af.gamma[static_cast<size_t>(c)] = static_cast<float>(gamma);
  }
  return true;
}

}  // namespace

BnFoldResult bn_fold(const Graph& g, const CalibrationSet* verify) {
  const double t0 = dfq::now_ms();
  BnFoldResult r;
  r.report.pass = "bn_fold";
  r.graph = g;
  Graph& G = r.graph;
  GraphIndex ix(G);
  auto& changed = r.report.changed_weights;

  // Gemm alpha/beta into B and C, so later per-channel transforms see plain weights (§0).
  int gemm_folded = 0;
  for (size_t i = 0; i < G.nodes.size(); ++i) {
    Node& n = G.nodes[i];
    if (n.op != Op::kGemm) continue;
    const float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
    bool did = false;
    if (alpha != 1.0f) {
      const Tensor* b = n.inputs.size() > 1 ? G.weight(n.inputs[1]) : nullptr;
      if (b && b->dtype == DType::kFloat32) {
        Tensor& w = dfq::writable_input(G, ix, i, 1, "alpha", changed);
        float* p = w.f32_mut();
        for (int64_t k = 0; k < w.numel(); ++k) p[k] = static_cast<float>(static_cast<double>(p[k]) * alpha);
        for (auto& a : n.attrs)
          if (a.name == "alpha") a.f = 1.0f;
        did = true;
      } else {
        r.refused.emplace_back(n.name, "alpha = " + std::to_string(alpha) + " with a non-constant B");
      }
    }
    const bool has_c = n.inputs.size() > 2 && !n.inputs[2].empty();
    if (beta != 1.0f && has_c) {
      const Tensor* c = G.weight(n.inputs[2]);
      if (c && c->dtype == DType::kFloat32) {
        Tensor& w = dfq::writable_input(G, ix, i, 2, "beta", changed);
        float* p = w.f32_mut();
        for (int64_t k = 0; k < w.numel(); ++k) p[k] = static_cast<float>(static_cast<double>(p[k]) * beta);
        for (auto& a : n.attrs)
          if (a.name == "beta") a.f = 1.0f;
        did = true;
      } else {
        r.refused.emplace_back(n.name, "beta = " + std::to_string(beta) + " with a non-constant C");
      }
    }
    if (did) ++gemm_folded;
  }

  std::vector<bool> dead(G.nodes.size(), false);
  int n_bn = 0, n_affine = 0;
  for (size_t i = 0; i < G.nodes.size(); ++i) {
    const Node& f = G.nodes[i];
    const bool bn = f.op == Op::kBatchNormalization;
    if (!bn && !is_affine_op(f.op)) continue;
    if (f.inputs.empty() || f.outputs.size() < 1) continue;

    // The data input and, for Mul/Add/Sub/Div, the constant operand.
    std::string x;
    const Tensor* k = nullptr;
    if (bn) {
      x = f.inputs[0];
    } else {
      if (f.inputs.size() != 2) continue;
      const Tensor* k0 = G.weight(f.inputs[0]);
      const Tensor* k1 = G.weight(f.inputs[1]);
      if (k1 && !k0) {
        x = f.inputs[0];
        k = k1;
      } else if (k0 && !k1 && (f.op == Op::kMul || f.op == Op::kAdd)) {
        x = f.inputs[1];
        k = k0;
      } else {
        continue;
      }
    }
    auto pit = ix.producer.find(x);
    const bool from_layer = pit != ix.producer.end() && dfq::is_weighted_layer(G.nodes[pit->second]);
    if (!from_layer) {
      // Mul/Add by constants happen everywhere (hardswish's /6, normalisation): only BNs are worth a line.
      if (bn) r.refused.emplace_back(f.name, "input is not produced by a Conv, ConvTranspose or Gemm");
      continue;
    }
    const size_t pi = pit->second;
    const Node& p = G.nodes[pi];
    auto refuse = [&](const std::string& why) { r.refused.emplace_back(f.name, why + " (layer " + p.name + ")"); };
    // A constant Mul/Add on a value that others read too (hardswish's x + 3) is not an affine of the layer.
    if (ix.is_output(x)) {
      if (bn) refuse("the layer's output is a graph output");
      continue;
    }
    if (ix.n_consumers(x) != 1) {
      if (bn) refuse("the layer's output has several consumers");
      continue;
    }
    dfq::WeightChannels wc;
    std::string reason;
    if (!dfq::layer_weight_channels(G, p, wc, reason)) {
      refuse(reason);
      continue;
    }
    if (p.op == Op::kGemm && p.attr_float("alpha", 1.0f) != 1.0f) {
      refuse("Gemm alpha could not be folded");
      continue;
    }
    std::vector<double> tmp;
    if (!dfq::read_bias(G, p, wc.out_channels, tmp)) {
      refuse("the layer's bias is not one value per output channel");
      continue;
    }
    Affine af;
    if (bn) {
      if (!bn_affine(G, f, wc.out_channels, af, reason)) {
        refuse(reason);
        continue;
      }
    } else {
      std::vector<double> v;
      if (!per_channel_constant(*k, layer_out_rank(G, p), wc.out_channels, v, reason)) {
        refuse(reason);
        continue;
      }
      const size_t C = static_cast<size_t>(wc.out_channels);
      af.a.assign(C, 1.0);
      af.b.assign(C, 0.0);
      for (size_t c = 0; c < C; ++c) {
        if (f.op == Op::kMul) af.a[c] = v[c];
        else if (f.op == Op::kDiv) af.a[c] = 1.0 / v[c];
        else if (f.op == Op::kAdd) af.b[c] = v[c];
        else af.b[c] = -v[c];
      }
      bool finite = true;
      for (size_t c = 0; c < C; ++c) finite = finite && std::isfinite(af.a[c]) && std::isfinite(af.b[c]);
      if (!finite) {
        refuse("constant is not finite (or divides by 0)");
        continue;
      }
    }

    // Fold: W[c] *= a[c]; b[c] = a[c] * b[c] + shift[c].
    bool scales = false;
    for (double a : af.a) scales = scales || a != 1.0;
    if (scales) {
      Tensor& w = dfq::writable_input(G, ix, pi, 1, "fold", changed);
      float* pw = w.f32_mut();
      for (size_t e = 0; e < wc.out_ch.size(); ++e)
        pw[e] = static_cast<float>(static_cast<double>(pw[e]) * af.a[static_cast<size_t>(wc.out_ch[e])]);
    }
    float* pb = dfq::writable_bias(G, ix, pi, wc.out_channels, "fold", changed, reason);
    if (!pb) throw Error("bn_fold: " + p.describe() + ": " + reason);  // read_bias above said it was per channel
    for (size_t c = 0; c < af.a.size(); ++c)
      pb[c] = static_cast<float>(af.a[c] * static_cast<double>(pb[c]) + af.b[c]);

    // Statistics of the layer's output under BN's assumption, carried through later affine folds.
    if (bn) {
      r.bn_stats[p.name] = BnStats{af.beta, af.gamma};
    } else {
      auto st = r.bn_stats.find(p.name);
      if (st != r.bn_stats.end())
        for (size_t c = 0; c < af.a.size(); ++c) {
          st->second.beta[c] = static_cast<float>(af.a[c] * st->second.beta[c] + af.b[c]);
          st->second.gamma[c] = static_cast<float>(af.a[c] * st->second.gamma[c]);
        }
    }

    // The layer now writes the folded node's output value, so downstream names stay.
    G.nodes[pi].outputs[0] = f.outputs[0];
    ix.producer[f.outputs[0]] = pi;
    ix.producer.erase(x);
    dead[i] = true;
    r.folded.emplace_back(f.name, p.name);
    (bn ? n_bn : n_affine)++;
  }

  std::vector<Node> kept;
  kept.reserve(G.nodes.size());
  std::set<std::string> gone;
  for (size_t i = 0; i < G.nodes.size(); ++i) {
    if (dead[i]) {
      for (const auto& in : G.nodes[i].inputs) gone.insert(in);
      continue;
    }
    kept.push_back(std::move(G.nodes[i]));
  }
  G.nodes = std::move(kept);
  // Constants only the folded nodes read (BN parameters, affine scalars) go with them.
  for (const auto& n : G.nodes)
    for (const auto& in : n.inputs) gone.erase(in);
  for (const auto& o : G.outputs) gone.erase(o.name);
  for (const auto& name : gone) G.weights.erase(name);
  r.report.ms = dfq::now_ms() - t0;

  char buf[200];
  std::snprintf(buf, sizeof buf, "folded %d BatchNormalization and %d constant Mul/Add/Sub/Div nodes; %d Gemm alpha/beta",
                n_bn, n_affine, gemm_folded);
  r.report.notes.push_back(buf);
  if (!r.refused.empty()) r.report.notes.push_back(std::to_string(r.refused.size()) + " nodes not folded (see refused)");
  dfq::verify_into(g, G, verify, r.report);
  return r;
}

}  // namespace qp
