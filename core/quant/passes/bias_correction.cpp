// Bias correction: analytic, empirical (sequential per layer) and iterative (see bias_correction.h, ALGORITHMS.md §3).
#include "core/quant/passes/bias_correction.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "core/ir/error.h"
#include "core/quant/layers.h"
#include "core/runtime/executor.h"

namespace qp {

std::string bias_correction_mode_name(BiasCorrectionMode m) {
  switch (m) {
    case BiasCorrectionMode::kAnalytic: return "analytic";
    case BiasCorrectionMode::kEmpirical: return "empirical";
    case BiasCorrectionMode::kIterative: return "iterative";
  }
  return "?";
}

double clipped_normal_mean(double mu, double sigma, double lo, double hi) {
  if (!(sigma > 0)) return std::min(std::max(mu, lo), hi);
  const double kInvSqrt2Pi = 0.3989422804014327;
  auto pdf = [&](double z) { return std::isfinite(z) ? kInvSqrt2Pi * std::exp(-0.5 * z * z) : 0.0; };
  auto cdf = [&](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double a = (lo - mu) / sigma, b = (hi - mu) / sigma;
  const double pa = cdf(a), pb = cdf(b);
  double m = mu * (pb - pa) + sigma * (pdf(a) - pdf(b));
  if (std::isfinite(lo)) m += lo * pa;
  if (std::isfinite(hi)) m += hi * (1 - pb);
  return m;
}

namespace {

using Clock = std::chrono::steady_clock;

// One layer the pass corrects, in the working graph.
struct Target {
  std::string layer, op_type, weight, bias, out, data_in;  // out: the pre-activation value that carries the bias
  int out_axis = 1;          // channel axis of `out` (-1: last)
  int64_t channels = 0;
  double beta = 1;           // Gemm: out = alpha A B + beta C
  bool bias_created = false;
  std::string note;          // non-empty: left alone
};

// Copies `g` and gives every correctable layer a private per-channel bias (zero when it had none).
Graph prepare(const Graph& g, std::vector<Target>& targets) {
  Graph w = g;
  GraphNames names(w);
  std::map<std::string, int> readers;
  for (const auto& n : w.nodes)
    for (const auto& x : n.inputs) ++readers[x];
  const std::vector<Layer> layers = find_layers(g);
  auto node_index = [&](const std::string& name) {
    for (size_t i = 0; i < w.nodes.size(); ++i)
      if (w.nodes[i].name == name) return i;
    throw Error("bias correction: node '" + name + "' vanished");
  };
  for (const auto& l : layers) {
    Target t;
    t.layer = l.name;
    t.op_type = l.op_type;
    t.weight = l.weight;
    size_t ni = node_index(l.name);
    if (!l.skip.empty()) {
      t.note = l.skip;
      targets.push_back(t);
      continue;
    }
    int bias_slot = 2;
    {
      Node& n = w.nodes[ni];
      t.data_in = n.inputs.empty() ? "" : n.inputs[0];
      t.out = n.outputs.empty() ? "" : n.outputs[0];
      if (n.op == Op::kConv) {
        t.channels = l.channels;
      } else if (n.op == Op::kConvTranspose) {
        t.channels = l.channels * l.groups;
      } else if (n.op == Op::kGemm) {
        if (n.inputs.size() < 2 || n.inputs[1] != l.weight) t.note = "the constant operand is A";
        t.channels = l.channels;
        t.beta = n.attr_float("beta", 1.0f);
        if (t.beta == 0) t.note = "Gemm beta is 0";
      } else {  // MatMul
        if (n.inputs.size() < 2 || n.inputs[1] != l.weight || l.shape.size() != 2) {
          t.note = "MatMul with a constant A or a batched weight";
        } else {
          t.channels = l.channels;
          t.out_axis = -1;
          bias_slot = -1;
        }
      }
    }
    if (!t.note.empty()) {
      targets.push_back(t);
      continue;
    }
    if (bias_slot < 0) {  // MatMul: the bias lives in a following Add
      if (!l.bias.empty()) {
        t.bias = l.bias;
        const std::string mm_out = w.nodes[ni].outputs[0];
        for (const auto& n : w.nodes)
          if (n.op == Op::kAdd && std::find(n.inputs.begin(), n.inputs.end(), mm_out) != n.inputs.end())
            t.out = n.outputs[0];
        if (readers[t.bias] > 1) {
          Tensor c = w.weights.at(t.bias);
          c.name = names.fresh(t.bias + "_" + t.layer);
          for (auto& n : w.nodes)
            if (n.outputs[0] == t.out)
              for (auto& x : n.inputs)
                if (x == t.bias) x = c.name;
          t.bias = c.name;
          w.weights[c.name] = c;
          t.bias_created = true;
        }
      } else {
        const std::string orig = w.nodes[ni].outputs[0];
        const std::string mm = names.fresh(orig + "_matmul");
        t.bias = names.fresh(l.name + "_bias");
        w.weights[t.bias] = tensor_f32(t.bias, {t.channels}, std::vector<float>(static_cast<size_t>(t.channels), 0.0f));
        w.nodes[ni].outputs[0] = mm;
        Node add;
        add.name = names.fresh(l.name + "_bias_add");
        add.op_type = "Add";
        add.op = Op::kAdd;
        add.inputs = {mm, t.bias};
        add.outputs = {orig};
        w.nodes.insert(w.nodes.begin() + static_cast<std::ptrdiff_t>(ni) + 1, add);
        t.out = orig;
        t.bias_created = true;
      }
      targets.push_back(t);
      continue;
    }
    Node& n = w.nodes[ni];
    const std::string cur = n.inputs.size() > static_cast<size_t>(bias_slot) ? n.inputs[static_cast<size_t>(bias_slot)] : "";
    const Tensor* b = cur.empty() ? nullptr : w.weight(cur);
    if (!cur.empty() && !b) {
      t.note = "the bias is computed, not a weight";
    } else if (b && b->dtype != DType::kFloat32) {
      t.note = "the bias is " + dtype_name(b->dtype);
    } else if (b && b->numel() == t.channels && readers[cur] == 1) {
      t.bias = cur;
    } else if (b && b->numel() != t.channels && b->numel() != 1) {
      t.note = "the bias has " + std::to_string(b->numel()) + " values for " + std::to_string(t.channels) + " channels";
    } else {  // none, scalar or shared: a private [channels] copy
      std::vector<float> v(static_cast<size_t>(t.channels), 0.0f);
      if (b && b->numel() == 1) std::fill(v.begin(), v.end(), b->f32()[0]);
      else if (b) v.assign(b->f32(), b->f32() + t.channels);
      t.bias = names.fresh(l.name + "_bias");
      std::vector<int64_t> dims = {t.channels};
      if (b && b->numel() == t.channels) dims = b->dims;
      w.weights[t.bias] = tensor_f32(t.bias, dims, v);
      if (n.inputs.size() <= static_cast<size_t>(bias_slot)) n.inputs.resize(static_cast<size_t>(bias_slot) + 1);
      n.inputs[static_cast<size_t>(bias_slot)] = t.bias;
      t.bias_created = true;
    }
    targets.push_back(t);
  }
  return w;
}

// Per-channel sums of one tensor along `axis` (-1: last).
struct ChannelAcc {
  std::vector<double> sum, sq;
  double count = 0;  // elements per channel
  void add(const Value& v, int axis) {
    if (v.dtype != DType::kFloat32) throw Error("bias correction: " + v.describe() + " is not float32");
    const int64_t r = static_cast<int64_t>(v.rank());
    int64_t ax = axis < 0 ? r - 1 : std::min<int64_t>(axis, r - 1);
    if (r == 0) ax = 0;
    const int64_t c = r ? v.shape[static_cast<size_t>(ax)] : 1;
    int64_t inner = 1;
    for (int64_t i = ax + 1; i < r; ++i) inner *= v.shape[static_cast<size_t>(i)];
    if (sum.empty()) sum.assign(static_cast<size_t>(c), 0.0), sq.assign(static_cast<size_t>(c), 0.0);
    if (sum.size() != static_cast<size_t>(c)) throw Error("bias correction: channel count changes across samples");
    const float* x = v.f32();
    const int64_t n = v.numel();
    for (int64_t i = 0; i < n; ++i) {
      const double e = x[i];
      const size_t ch = static_cast<size_t>((i / inner) % c);
      sum[ch] += e;
      sq[ch] += e * e;
    }
    count += c ? static_cast<double>(n) / static_cast<double>(c) : 0;
  }
  std::vector<double> mean() const {
    std::vector<double> m(sum.size());
    for (size_t i = 0; i < m.size(); ++i) m[i] = count > 0 ? sum[i] / count : 0;
    return m;
  }
  std::vector<double> stdev() const {
    std::vector<double> s(sum.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const double m = count > 0 ? sum[i] / count : 0;
      s[i] = count > 0 ? std::sqrt(std::max(0.0, sq[i] / count - m * m)) : 0;
    }
    return s;
  }
};

// The quantized model evaluated layer by layer: values of every sample are cached, nodes are marked dirty when an
// upstream bias changes, and a layer's output is obtained by running only its dirty ancestors as a small graph
// whose inputs are read from the cache (so each node runs about once per sweep). Without the cache (memory budget)
// every request runs all ancestors from the graph inputs.
class QuantizedEval {
 public:
  QuantizedEval(const Graph& g, const CalibrationSet& data, std::map<std::string, FakeQuant> fq, bool cached)
      : g_(g), data_(data), fq_(std::move(fq)), cached_(cached) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& o : g.nodes[i].outputs)
        if (!o.empty()) producer_[o] = static_cast<int>(i);
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& x : g.nodes[i].inputs)
        if (!x.empty()) consumers_[x].push_back(static_cast<int>(i));
    for (const auto& in : g.inputs) graph_inputs_.insert(in.name);
    dirty_.assign(g.nodes.size(), true);
    if (cached_) {
      caches_.resize(data.samples.size());
      for (size_t s = 0; s < data.samples.size(); ++s) caches_[s] = data.samples[s];
    }
  }

  void set_bias(const std::string& name, const Value& v) {
    subst_[name] = v;
    std::vector<int> stack = consumers_[name];
    std::set<int> seen;
    while (!stack.empty()) {
      const int k = stack.back();
      stack.pop_back();
      if (!seen.insert(k).second) continue;
      dirty_[static_cast<size_t>(k)] = true;
      for (const auto& o : g_.nodes[static_cast<size_t>(k)].outputs)
        for (int c : consumers_[o]) stack.push_back(c);
    }
  }

  // Per-channel statistics of `value` over all samples, with the current biases.
  ChannelAcc eval(const std::string& value, int axis) {
    auto pit = producer_.find(value);
    if (pit == producer_.end()) throw Error("bias correction: nothing produces '" + value + "'");
    // Nodes to run: ancestors of `value` that are dirty (clean nodes have clean ancestors).
    std::set<int> todo;
    std::vector<int> stack = {pit->second};
    while (!stack.empty()) {
      const int k = stack.back();
      stack.pop_back();
      if (todo.count(k) || (cached_ && !dirty_[static_cast<size_t>(k)])) continue;
      todo.insert(k);
      for (const auto& x : g_.nodes[static_cast<size_t>(k)].inputs) {
        auto p = producer_.find(x);
        if (p != producer_.end()) stack.push_back(p->second);
      }
    }
    ChannelAcc acc;
    if (todo.empty()) {
      for (auto& c : caches_) acc.add(c.at(value), axis);
      return acc;
    }
    Graph sub;
    sub.opsets = g_.opsets;
    sub.ir_version = g_.ir_version;
    std::set<std::string> produced, read;
    for (int k : todo) {
      const Node& n = g_.nodes[static_cast<size_t>(k)];
      sub.nodes.push_back(n);
      for (const auto& o : n.outputs)
        if (!o.empty()) produced.insert(o);
    }
    for (const auto& n : sub.nodes)
      for (const auto& x : n.inputs) {
        if (x.empty()) continue;
        if (const Tensor* t = g_.weight(x)) sub.weights[x] = *t;
        else if (!produced.count(x)) read.insert(x);
      }
    for (const auto& x : read) {
      ValueInfo vi;
      vi.name = x;
      sub.inputs.push_back(vi);
    }
    for (const auto& o : produced) {
      ValueInfo vi;
      vi.name = o;
      sub.outputs.push_back(vi);
    }
    RunOptions opt;
    for (const auto& kv : fq_)
      if (sub.weights.count(kv.first) || produced.count(kv.first) || (read.count(kv.first) && graph_inputs_.count(kv.first)))
        opt.fake_quant[kv.first] = kv.second;
    for (const auto& kv : subst_)
      if (sub.weights.count(kv.first)) opt.substitute[kv.first] = kv.second;
    Executor ex(sub);
    ex.check_runnable();
    for (size_t s = 0; s < data_.samples.size(); ++s) {
      std::map<std::string, Value> in;
      for (const auto& x : read) {
        const auto& src = cached_ ? caches_[s] : data_.samples[s];
        auto it = src.find(x);
        if (it == src.end()) throw Error("bias correction: no value '" + x + "' for sample " + std::to_string(s));
        in[x] = it->second;
      }
      std::map<std::string, Value> res = ex.run(in, opt);
      nodes_run_ += ex.last_stats().nodes_run;
      acc.add(res.at(value), axis);
      if (cached_)
        for (auto& kv : res) caches_[s][kv.first] = kv.second.owner ? kv.second : value_clone(kv.second);
    }
    if (cached_)
      for (int k : todo) dirty_[static_cast<size_t>(k)] = false;
    return acc;
  }

  int64_t nodes_run() const { return nodes_run_; }

 private:
  const Graph& g_;
  const CalibrationSet& data_;
  std::map<std::string, FakeQuant> fq_;
  bool cached_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_inputs_;
  std::vector<bool> dirty_;
  std::vector<std::map<std::string, Value>> caches_;
  std::map<std::string, Value> subst_;
  int64_t nodes_run_ = 0;
};

// --- analytic: expected layer inputs from BN statistics ---------------------------------------------------------

// Per-channel description of a value under BN's Gaussian model: either N(mu, sigma^2) per channel or just means.
struct Dist {
  bool gaussian = false;
  std::vector<double> mu, sigma;
};

bool clip_bounds(const Graph& g, const Node& n, double& lo, double& hi) {
  lo = -std::numeric_limits<double>::infinity();
  hi = std::numeric_limits<double>::infinity();
  if (n.attr("min") || n.attr("max")) {  // opset < 11
    lo = n.attr_float("min", -std::numeric_limits<float>::infinity());
    hi = n.attr_float("max", std::numeric_limits<float>::infinity());
    return true;
  }
  for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty()) continue;
    const Tensor* t = g.weight(n.inputs[i]);
    if (!t || t->numel() != 1 || t->dtype != DType::kFloat32) return false;
    (i == 1 ? lo : hi) = t->f32()[0];
  }
  return true;
}

bool expect(const Graph& g, const std::map<std::string, int>& producer, const BnStatsMap& bn, const std::string& v,
            Dist& d, std::string& why, int depth = 0) {
  if (depth > 64) return why = "input chain too deep", false;
  auto p = producer.find(v);
  if (p == producer.end()) return why = "'" + v + "' is a graph input", false;
  const Node& n = g.nodes[static_cast<size_t>(p->second)];
  auto st = bn.find(n.name);
  if (st != bn.end() && n.outputs[0] == v) {
    d.gaussian = true;
    d.mu.assign(st->second.beta.begin(), st->second.beta.end());
    d.sigma.resize(st->second.gamma.size());
    for (size_t i = 0; i < d.sigma.size(); ++i) d.sigma[i] = std::fabs(st->second.gamma[i]);
    return true;
  }
  auto to_means = [](Dist& x) { x.gaussian = false; x.sigma.clear(); };
  switch (n.op) {
    case Op::kRelu:
    case Op::kClip: {
      Dist in;
      if (!expect(g, producer, bn, n.inputs[0], in, why, depth + 1)) return false;
      if (!in.gaussian) return why = n.describe() + " follows no BN-modelled layer", false;
      double lo = 0, hi = std::numeric_limits<double>::infinity();
      if (n.op == Op::kClip && !clip_bounds(g, n, lo, hi)) return why = n.describe() + " has computed bounds", false;
      d.gaussian = false;
      d.mu.resize(in.mu.size());
      for (size_t i = 0; i < in.mu.size(); ++i) d.mu[i] = clipped_normal_mean(in.mu[i], in.sigma[i], lo, hi);
      return true;
    }
    case Op::kIdentity:
    case Op::kDropout:
      return expect(g, producer, bn, n.inputs[0], d, why, depth + 1);
    case Op::kAveragePool:
    case Op::kGlobalAveragePool:
    case Op::kFlatten:
    case Op::kReshape:  // channel-major flattening: the consumer tiles the means (see layer_input_means)
      if (!expect(g, producer, bn, n.inputs[0], d, why, depth + 1)) return false;
      to_means(d);
      return true;
    case Op::kAdd: {
      Dist a, b;
      if (n.inputs.size() != 2) return why = n.describe() + " is not binary", false;
      if (!expect(g, producer, bn, n.inputs[0], a, why, depth + 1)) return false;
      if (!expect(g, producer, bn, n.inputs[1], b, why, depth + 1)) return false;
      if (a.mu.size() != b.mu.size()) return why = n.describe() + ": branch channel counts differ", false;
      d.gaussian = false;
      d.mu.resize(a.mu.size());
      for (size_t i = 0; i < a.mu.size(); ++i) d.mu[i] = a.mu[i] + b.mu[i];
      return true;
    }
    case Op::kConcat: {
      if (n.attr_int("axis", 0) != 1) return why = n.describe() + " is not on the channel axis", false;
      d.gaussian = false;
      d.mu.clear();
      for (const auto& x : n.inputs) {
        Dist a;
        if (!expect(g, producer, bn, x, a, why, depth + 1)) return false;
        d.mu.insert(d.mu.end(), a.mu.begin(), a.mu.end());
      }
      return true;
    }
    default:
      return why = "input comes from " + n.describe() + ", which the BN model does not cover", false;
  }
}

// ΔW · E[x] per output channel (§3.1) for Conv (any group), Gemm and MatMul; false when the layout is not handled.
bool analytic_correction(const Node& n, const Tensor& w, const std::vector<float>& wq, const std::vector<double>& ex_in,
                         std::vector<double>& corr, std::string& why) {
  const size_t numel = static_cast<size_t>(w.numel());
  std::vector<double> dw(numel);
  for (size_t i = 0; i < numel; ++i) dw[i] = static_cast<double>(wq[i]) - static_cast<double>(w.f32()[i]);
  auto tiled = [&](int64_t k, std::vector<double>& e) {
    const int64_t c = static_cast<int64_t>(ex_in.size());
    if (c == 0 || k % c) return false;
    e.resize(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) e[static_cast<size_t>(i)] = ex_in[static_cast<size_t>(i / (k / c))];
    return true;
  };
  if (n.op == Op::kConv) {
    const int64_t m = w.dims[0], cg = w.dims[1], grp = n.attr_int("group", 1);
    int64_t taps = 1;
    for (size_t i = 2; i < w.dims.size(); ++i) taps *= w.dims[i];
    if (static_cast<int64_t>(ex_in.size()) != cg * grp)
      return why = "input has " + std::to_string(ex_in.size()) + " channels, the weight expects " + std::to_string(cg * grp), false;
    const int64_t mg = m / grp;
    corr.assign(static_cast<size_t>(m), 0.0);
    for (int64_t o = 0; o < m; ++o)
      for (int64_t c = 0; c < cg; ++c) {
        double s = 0;
        for (int64_t t = 0; t < taps; ++t) s += dw[static_cast<size_t>((o * cg + c) * taps + t)];
        corr[static_cast<size_t>(o)] += s * ex_in[static_cast<size_t>((o / mg) * cg + c)];
      }
    return true;
  }
  if (n.op == Op::kGemm || n.op == Op::kMatMul) {
    if (w.dims.size() != 2) return why = "weight is not 2-D", false;
    if (n.op == Op::kGemm && n.attr_int("transA", 0)) return why = "Gemm transA", false;
    const bool trans = n.op == Op::kGemm && n.attr_int("transB", 0);
    const int64_t k = trans ? w.dims[1] : w.dims[0], nout = trans ? w.dims[0] : w.dims[1];
    std::vector<double> e;
    if (!tiled(k, e)) return why = "input has " + std::to_string(ex_in.size()) + " channels for " + std::to_string(k) + " features", false;
    const double alpha = n.op == Op::kGemm ? n.attr_float("alpha", 1.0f) : 1.0;
    corr.assign(static_cast<size_t>(nout), 0.0);
    for (int64_t o = 0; o < nout; ++o) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += dw[static_cast<size_t>(trans ? o * k + i : i * nout + o)] * e[static_cast<size_t>(i)];
      corr[static_cast<size_t>(o)] = alpha * s;
    }
    return true;
  }
  return why = n.op_type + " is not handled analytically", false;
}

double norm2(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace

BiasCorrectionResult bias_correction(const Graph& g, const CalibrationSet* calib, const BiasCorrectionOptions& opt) {
  const auto t0 = Clock::now();
  BiasCorrectionResult r;
  r.mode = opt.mode;
  r.report.pass = "bias_correction";
  const bool analytic = opt.mode == BiasCorrectionMode::kAnalytic;
  const bool have_data = calib && !calib->samples.empty();
  if (!analytic && !have_data)
    throw Error("bias correction (" + bias_correction_mode_name(opt.mode) + ") needs calibration data");
  if (analytic && !opt.bn_stats) throw Error("analytic bias correction needs BN statistics (run bn_fold first)");
  if (opt.max_sweeps < 1) throw Error("bias correction: max_sweeps must be >= 1");

  std::vector<Target> targets;
  Graph w = prepare(g, targets);
  r.weight_fake_quant = weight_fake_quant(w, opt.weights);
  std::map<std::string, FakeQuant> qfq = r.weight_fake_quant;
  if (opt.mode == BiasCorrectionMode::kIterative)
    for (const auto& kv : opt.activation_fake_quant) qfq[kv.first] = kv.second;

  std::map<std::string, int> producer;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    for (const auto& o : w.nodes[i].outputs)
      if (!o.empty()) producer[o] = static_cast<int>(i);
  auto node_of = [&](const std::string& name) -> const Node& {
    for (const auto& n : w.nodes)
      if (n.name == name) return n;
    throw Error("bias correction: no node '" + name + "'");
  };

  // Float reference: per-channel mean/std of every target's pre-activation output, one pass per sample.
  std::map<std::string, ChannelAcc> fp;
  std::unique_ptr<QuantizedEval> q;
  if (have_data) {
    Executor ex(w);
    ex.check_runnable();
    RunOptions ro;
    for (const auto& t : targets)
      if (t.note.empty()) ro.capture.insert(t.out);
    int64_t cache_bytes = 0;
    for (size_t s = 0; s < calib->samples.size(); ++s) {
      RunOptions o = ro;
      if (s == 0) o.capture_all = true;  // sizes every value once, for the cache budget
      const auto res = ex.run(calib->samples[s], o);
      for (const auto& t : targets)
        if (t.note.empty()) fp[t.layer].add(res.at(t.out), t.out_axis);
      if (s == 0)
        for (const auto& kv : res) cache_bytes += static_cast<int64_t>(kv.second.bytes());
      ++r.fp_passes;
    }
    r.cached = cache_bytes * static_cast<int64_t>(calib->samples.size()) <= opt.max_cache_bytes;
    q.reset(new QuantizedEval(w, *calib, qfq, r.cached));
  }

  std::map<std::string, std::vector<float>> bias_now;
  for (const auto& t : targets)
    if (t.note.empty()) {
      const Tensor& b = w.weights.at(t.bias);
      bias_now[t.bias].assign(b.f32(), b.f32() + b.numel());
    }
  auto apply = [&](Target& t, BiasCorrectionLayer& L, const std::vector<double>& delta) {
    std::vector<float>& b = bias_now[t.bias];
    if (L.delta.empty()) L.delta.assign(delta.size(), 0.0);
    for (size_t c = 0; c < b.size(); ++c) {
      b[c] = static_cast<float>(static_cast<double>(b[c]) + delta[c]);
      L.delta[c] += delta[c];
    }
    if (q) q->set_bias(t.bias, value_f32(w.weights.at(t.bias).dims, b));
  };

  r.layers.resize(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    r.layers[i].layer = targets[i].layer;
    r.layers[i].op_type = targets[i].op_type;
    r.layers[i].bias = targets[i].bias;
    r.layers[i].bias_created = targets[i].bias_created;
    r.layers[i].note = targets[i].note;
    r.layers[i].method = "none";
  }

  const int sweeps = opt.mode == BiasCorrectionMode::kIterative ? opt.max_sweeps : 1;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    double residual = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
      Target& t = targets[i];
      BiasCorrectionLayer& L = r.layers[i];
      if (!t.note.empty()) continue;
      if (analytic) {
        const Node& n = node_of(t.layer);
        auto fq = r.weight_fake_quant.find(t.weight);
        std::string why;
        Dist d;
        std::vector<double> corr;
        if (fq == r.weight_fake_quant.end()) {
          L.note = "weights stay float";
          continue;
        }
        if (expect(w, producer, *opt.bn_stats, t.data_in, d, why)) {
          const Tensor& wt = w.weights.at(t.weight);
          Value v = value_clone(value_view(wt));
          fake_quant_apply(v, fq->second);
          std::vector<float> wq(v.f32(), v.f32() + v.numel());
          if (analytic_correction(n, wt, wq, d.mu, corr, why)) {
            for (auto& c : corr) c = -c / t.beta;
            apply(t, L, corr);
            L.method = "analytic";
            continue;
          }
        }
        if (!opt.analytic_fallback || !q) {
          L.note = why + (opt.analytic_fallback ? "; no calibration data for the empirical fallback" : "");
          continue;
        }
        L.note = "empirical: " + why;
      }
      // Empirical: mu_fp - mu_q of the pre-activation output with every upstream correction in place.
      const ChannelAcc qa = q->eval(t.out, t.out_axis);
      const ChannelAcc& fa = fp.at(t.layer);
      const std::vector<double> mq = qa.mean(), mf = fa.mean(), sf = fa.stdev();
      if (mq.size() != static_cast<size_t>(t.channels) || mf.size() != mq.size())
        throw Error("bias correction: '" + t.out + "' has " + std::to_string(mq.size()) + " channels, expected " +
                    std::to_string(t.channels));
      std::vector<double> delta(mq.size());
      double err = 0, rel = 0;
      for (size_t c = 0; c < mq.size(); ++c) {
        const double e = mf[c] - mq[c];
        if (!std::isfinite(e)) throw Error("bias correction: non-finite output mean in layer '" + t.layer + "'");
        delta[c] = e / t.beta;
        err = std::max(err, std::fabs(e));
        rel = std::max(rel, std::fabs(e) / std::max(sf[c], 1e-12));
      }
      residual = std::max(residual, rel);
      if (sweep == 0) {
        L.mean_err = err;
        L.mean_err_rel = rel;
      }
      apply(t, L, delta);
      L.method = "empirical";
    }
    r.sweeps = sweep + 1;
    if (!analytic) r.sweep_residual.push_back(residual);
    if (analytic || (sweep > 0 && residual < opt.tolerance)) break;
  }

  for (const auto& t : targets)
    if (t.note.empty()) {
      Tensor& b = w.weights.at(t.bias);
      const std::vector<float>& v = bias_now[t.bias];
      std::copy(v.begin(), v.end(), b.f32_mut());
    }
  int corrected = 0, created = 0;
  for (auto& L : r.layers) {
    L.delta_norm = norm2(L.delta);
    for (double d : L.delta) L.delta_max_abs = std::max(L.delta_max_abs, std::fabs(d));
    if (L.method != "none") {
      ++corrected;
      r.report.changed_weights.push_back(L.bias);
    }
    created += L.bias_created;
  }
  if (q) {
    r.q_nodes_run = q->nodes_run();
    r.q_passes = static_cast<double>(r.q_nodes_run) /
                 (static_cast<double>(std::max<size_t>(w.nodes.size(), 1)) * static_cast<double>(calib->samples.size()));
  }
  r.graph = std::move(w);
  r.report.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  r.report.notes.push_back(bias_correction_mode_name(opt.mode) + " bias correction of " + std::to_string(corrected) + " of " +
                           std::to_string(targets.size()) + " layers" +
                           (created ? " (" + std::to_string(created) + " biases added or made private)" : ""));
  if (q) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "cost: %d fp passes + %.2f quantized pass equivalents (%lld nodes run, %s), %d sweep(s)",
                  r.fp_passes, r.q_passes, static_cast<long long>(r.q_nodes_run),
                  r.cached ? "cached" : "re-run per layer", r.sweeps);
    r.report.notes.push_back(buf);
  }
  if (opt.mode == BiasCorrectionMode::kIterative && !opt.activation_fake_quant.empty())
    r.report.notes.push_back("activation ranges were fixed during the sweeps: re-calibrate them, then run once more (§3.4)");
  return r;
}

}  // namespace qp
