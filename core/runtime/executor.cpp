// The executor: a plan per set of input shapes (order, liveness, fused activations, folded constants), a buffer
// pool reused by liveness, and the analysis hooks (capture, substitute, fake-quantize, recompute downstream).
#include "core/runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <new>
#include <set>
#include <sstream>

#include "core/ir/error.h"
#include "core/runtime/op_context.h"

namespace qp {

bool FakeQuant::operator==(const FakeQuant& o) const {
  if (axis != o.axis || params.size() != o.params.size()) return false;
  if (spec.bits != o.spec.bits || spec.scheme != o.spec.scheme || spec.is_signed != o.spec.is_signed ||
      spec.range_mode != o.spec.range_mode || spec.rounding != o.spec.rounding)
    return false;
  for (size_t i = 0; i < params.size(); ++i) {
    const QParams &a = params[i], &b = o.params[i];
    if (a.scale != b.scale || a.zero_point != b.zero_point || a.qmin != b.qmin || a.qmax != b.qmax) return false;
  }
  return true;
}

void fake_quant_apply(Value& v, const FakeQuant& fq) {
  if (v.dtype != DType::kFloat32) throw Error("cannot fake-quantize " + v.describe() + ": only float32 is supported");
  const int64_t n = v.numel();
  int64_t axis = fq.axis, channels = 1, inner = n;
  if (axis >= 0 || axis < -1) {
    const int64_t r = static_cast<int64_t>(v.rank());
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) throw Error("fake-quant axis " + std::to_string(fq.axis) + " is outside " + v.describe());
    channels = v.shape[static_cast<size_t>(axis)];
    inner = 1;
    for (size_t i = static_cast<size_t>(axis) + 1; i < v.rank(); ++i) inner *= v.shape[i];
  }
  if (!fq.params.empty() && fq.params.size() != static_cast<size_t>(channels))
    throw Error("fake-quant has " + std::to_string(fq.params.size()) + " parameter sets for " + v.describe() +
                (fq.axis == -1 ? " (per tensor: expected 1)" : " along axis " + std::to_string(fq.axis) +
                                                               " (expected " + std::to_string(channels) + ")"));
  float* x = v.f32();
  const int64_t outer = channels ? n / (channels * std::max<int64_t>(inner, 1)) : 0;
  for (int64_t c = 0; c < channels; ++c) {
    QParams p;
    if (!fq.params.empty()) {
      p = fq.params[static_cast<size_t>(c)];
    } else {  // dynamic min-max over this channel
      double lo = 0, hi = 0;
      bool any = false;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const double e = x[(o * channels + c) * inner + i];
          if (!std::isfinite(e)) continue;
          lo = any ? std::min(lo, e) : e;
          hi = any ? std::max(hi, e) : e;
          any = true;
        }
      p = quant_params(fq.spec, lo, hi);
    }
    const float inv = 1.0f / p.scale;
    for (int64_t o = 0; o < outer; ++o) {
      float* row = x + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        float q = row[i] * inv;
        q = fq.spec.rounding == Rounding::kHalfEven ? std::nearbyint(q) : std::round(q);
        q = std::min(std::max(q + p.zero_point, p.qmin), p.qmax);
        row[i] = (q - p.zero_point) * p.scale;
      }
    }
  }
}

namespace {

// Buffers reused by liveness: a released buffer goes back to the free list and serves the next request of a
// similar size. After the first run of a plan every request is served from the pool (no allocation).
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  ~BufferPool() {
    for (auto& f : free_) std::free(f.second);
  }
  std::shared_ptr<void> get(size_t bytes) {
    bytes = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    void* p = nullptr;
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first <= bytes * 2) {  // reuse unless it would waste more than half
      bytes = it->first;
      p = it->second;
      free_.erase(it);
    } else {
      p = std::aligned_alloc(64, bytes);
      if (!p) throw std::bad_alloc();
      held_ += static_cast<int64_t>(bytes);
    }
    live_ += static_cast<int64_t>(bytes);
    peak_ = std::max(peak_, live_);
    std::weak_ptr<BufferPool> self = shared_from_this();
    return std::shared_ptr<void>(p, [self, bytes](void* q) {
      if (auto pool = self.lock()) {
        pool->live_ -= static_cast<int64_t>(bytes);
        pool->free_.emplace(bytes, q);
      } else {
        std::free(q);
      }
    });
  }
  int64_t held() const { return held_; }
  int64_t peak() const { return peak_; }
  void reset_peak() { peak_ = live_; }

 private:
  std::multimap<size_t, void*> free_;
  int64_t held_ = 0, live_ = 0, peak_ = 0;
};

bool is_subgraph_op(const Node& n) {
  static const char* kOps[] = {"If", "Loop", "Scan", "LSTM", "GRU", "RNN", "SequenceMap"};
  if (n.has_subgraph) return true;
  for (const char* o : kOps)
    if (n.op_type == o && (n.domain.empty() || n.domain == "ai.onnx")) return true;
  return false;
}

// Multiply-accumulates x 2 of the linear ops, from the shapes they ran with (the other ops are memory-bound).
double node_flops(const Node& n, const std::vector<const Value*>& in, const std::vector<Value>& out) {
  if (out.empty() || in.size() < 2 || !in[0] || !in[1]) return 0;
  const double on = static_cast<double>(out[0].numel());
  const Value& w = *in[1];
  switch (n.op) {
    case Op::kConv: {  // each output: Cin/group x kernel MACs = W's numel / Cout
      const double cout = w.shape.empty() ? 1 : static_cast<double>(w.shape[0]);
      return cout > 0 ? 2 * on * static_cast<double>(w.numel()) / cout : 0;
    }
    case Op::kConvTranspose: {  // each input element meets Cout/group x kernel weights
      const double cin = w.shape.empty() ? 1 : static_cast<double>(w.shape[0]);
      return cin > 0 ? 2 * static_cast<double>(in[0]->numel()) * static_cast<double>(w.numel()) / cin : 0;
    }
    case Op::kGemm: {
      const Value& a = *in[0];
      const double k = a.rank() == 2 ? static_cast<double>(n.attr_int("transA", 0) ? a.shape[0] : a.shape[1]) : 0;
      return 2 * on * k;
    }
    case Op::kMatMul: {
      const Value& a = *in[0];
      return a.rank() ? 2 * on * static_cast<double>(a.shape.back()) : 0;
    }
    default: return 0;
  }
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

}  // namespace

struct Executor::Impl {
  const Graph& g;
  std::map<std::string, int> ids;
  std::vector<std::string> names;       // by value id
  std::vector<const Tensor*> weight;    // by value id: the graph's weight, or null
  std::vector<int> producer;            // by value id: node index or -1
  std::vector<int> graph_input_index;   // by value id: index into g.inputs or -1
  struct NodeRec {
    const Node* node = nullptr;
    OpFn fn = nullptr;
    std::vector<int> in, out;            // value ids (-1: omitted)
    std::shared_ptr<void> state;
  };
  std::vector<NodeRec> nodes;
  std::vector<std::string> unsupported;

  // Weight bindings: a generation number per weight that changes whenever what the ops see changes.
  struct Binding {
    const void* source = nullptr;
    bool quantized = false;
    FakeQuant fq;
    Value value;
    uint64_t gen = 0;
  };
  std::map<int, Binding> bindings;
  uint64_t next_gen = 1;

  // One plan per signature (input shapes and types, hooks).
  struct Plan {
    std::vector<int> order;               // node indices to run (fused-away and folded nodes excluded after run 1)
    std::vector<Epilogue> epilogue;       // by node index
    std::vector<int> out_redirect;        // by node index: value id the fused node writes instead (-1: none)
    std::vector<bool> skip;               // by node index: fused into its producer
    std::vector<int> last_use;            // by value id: last position in `order` reading it (-1: never freed)
    std::map<int, Value> folded;          // values computed at plan time (constants given the shapes)
    std::vector<bool> is_const;           // by value id
    uint64_t plan_gen = 0;
    bool complete = false;                // folded values known (after the first run)
  };
  std::map<std::string, Plan> plans;
  std::shared_ptr<BufferPool> pool = std::make_shared<BufferPool>();
  RunStats stats;

  explicit Impl(const Graph& graph) : g(graph) {
    auto id_of = [&](const std::string& n) {
      auto it = ids.find(n);
      if (it != ids.end()) return it->second;
      const int id = static_cast<int>(names.size());
      ids.emplace(n, id);
      names.push_back(n);
      weight.push_back(nullptr);
      producer.push_back(-1);
      graph_input_index.push_back(-1);
      return id;
    };
    for (size_t i = 0; i < g.inputs.size(); ++i) graph_input_index[static_cast<size_t>(id_of(g.inputs[i].name))] = static_cast<int>(i);
    for (const auto& w : g.weights) weight[static_cast<size_t>(id_of(w.first))] = &w.second;
    std::map<std::string, std::vector<std::string>> bad;
    std::vector<std::string> bad_order;
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const Node& n = g.nodes[k];
      NodeRec r;
      r.node = &n;
      std::string why;
      if (is_subgraph_op(n)) why = " (control flow and recurrent ops are not supported yet)";
      else if (!op_runnable(n.op)) why = n.domain.empty() || n.domain == "ai.onnx" ? "" : " (domain '" + n.domain + "')";
      else r.fn = op_table()[static_cast<int>(n.op)];
      if (!r.fn) {
        const std::string key = n.op_type + why;
        if (!bad.count(key)) bad_order.push_back(key);
        bad[key].push_back(n.name);
      }
      for (const auto& s : n.inputs) r.in.push_back(s.empty() ? -1 : id_of(s));
      for (const auto& s : n.outputs) {
        const int id = s.empty() ? -1 : id_of(s);
        r.out.push_back(id);
        if (id >= 0) producer[static_cast<size_t>(id)] = static_cast<int>(k);
      }
      nodes.push_back(std::move(r));
    }
    for (const auto& key : bad_order) {
      const auto& ns = bad[key];
      std::string line = key + ": ";
      for (size_t i = 0; i < ns.size() && i < 5; ++i) line += (i ? ", " : "") + ns[i];
      if (ns.size() > 5) line += " and " + std::to_string(ns.size() - 5) + " more";
      unsupported.push_back(line);
    }
  }

  int find_id(const std::string& n) const {
    auto it = ids.find(n);
    return it == ids.end() ? -1 : it->second;
  }

  // Checks the inputs against the graph's declarations; returns the plan signature.
  std::string check_inputs(const std::map<std::string, Value>& inputs) const {
    std::map<std::string, int64_t> bound;  // symbolic dim -> size
    std::ostringstream sig;
    check_input_names(g, inputs);
    for (const auto& vi : g.inputs) {
      auto it = inputs.find(vi.name);
      if (it == inputs.end()) throw Error("input '" + vi.name + "' is missing");
      const Value& v = it->second;
      const std::string where = "input '" + vi.name + "'";
      if (vi.dtype != DType::kUndefined && v.dtype != vi.dtype)
        throw Error(where + " is " + v.describe() + ", expected " + dtype_name(vi.dtype) + " " + shape_str(vi.shape));
      if (!v.data && v.numel() > 0) throw Error(where + " has no data");
      if (vi.has_shape) {
        if (v.rank() != vi.shape.size())
          throw Error(where + " is " + v.describe() + ", expected " + std::to_string(vi.shape.size()) + " dims " +
                      shape_str(vi.shape));
        for (size_t d = 0; d < vi.shape.size(); ++d) {
          const Dim& dim = vi.shape[d];
          if (dim.known() && dim.value != v.shape[d])
            throw Error(where + " is " + v.describe() + ", expected " + dtype_name(vi.dtype) + " " + shape_str(vi.shape) + " (dim " +
                        std::to_string(d) + " must be " + std::to_string(dim.value) + ")");
          if (!dim.known() && !dim.param.empty()) {
            auto b = bound.emplace(dim.param, v.shape[d]);
            if (!b.second && b.first->second != v.shape[d])
              throw Error(where + " is " + v.describe() + ": dim '" + dim.param + "' is " +
                          std::to_string(v.shape[d]) + " here but " + std::to_string(b.first->second) +
                          " in an earlier input");
          }
        }
      }
      sig << vi.name << ':' << static_cast<int>(v.dtype) << shape_str(v.shape) << ';';
    }
    return sig.str();
  }

  // The value a weight id binds to under `opt`: the graph's tensor, a substitute, or a fake-quantized copy.
  const Binding& bind_weight(int id, const RunOptions& opt) {
    const Tensor& t = *weight[static_cast<size_t>(id)];
    const std::string& name = names[static_cast<size_t>(id)];
    Value src;
    auto sub = opt.substitute.find(name);
    if (sub != opt.substitute.end()) {
      src = sub->second;
      if (src.dtype != t.dtype || src.shape != t.dims)
        throw Error("substitute for weight '" + name + "' is " + src.describe() + ", expected " +
                    dtype_name(t.dtype) + " " + shape_str(t.dims));
    } else {
      src = value_view(t);
    }
    auto fq = opt.fake_quant.find(name);
    Binding& b = bindings[id];
    const bool want_q = fq != opt.fake_quant.end();
    if (b.gen && b.source == src.data && b.quantized == want_q && (!want_q || b.fq == fq->second)) return b;
    b.source = src.data;
    b.quantized = want_q;
    if (want_q) {
      b.fq = fq->second;
      Value q = value_clone(src);
      try {
        fake_quant_apply(q, b.fq);
      } catch (const std::exception& e) {
        rethrow_with_context("cannot fake-quantize weight '" + name + "'", e);
      }
      b.value = std::move(q);
    } else {
      b.value = src;
    }
    b.gen = next_gen++;
    return b;
  }

  static std::string hooks_signature(const RunOptions& opt) {
    std::ostringstream s;
    s << "fuse=" << opt.fuse << ";all=" << opt.capture_all << ";cap=";
    for (const auto& c : opt.capture) s << c << ',';
    s << ";sub=";
    for (const auto& c : opt.substitute) s << c.first << ',';
    s << ";fq=";
    for (const auto& c : opt.fake_quant) s << c.first << ',';
    return s.str();
  }

  bool observed(int id, const RunOptions& opt, const std::set<int>& outputs) const {
    const std::string& n = names[static_cast<size_t>(id)];
    return opt.capture_all || opt.capture.count(n) || opt.fake_quant.count(n) || outputs.count(id);
  }

  std::set<int> output_ids() const {
    std::set<int> s;
    for (const auto& o : g.outputs) {
      const int id = find_id(o.name);
      if (id >= 0) s.insert(id);
    }
    return s;
  }

  Plan make_plan(const RunOptions& opt) {
    Plan p;
    const size_t nn = nodes.size(), nv = names.size();
    p.epilogue.assign(nn, Epilogue{});
    p.out_redirect.assign(nn, -1);
    p.skip.assign(nn, false);
    p.is_const.assign(nv, false);
    p.plan_gen = next_gen++;
    for (size_t id = 0; id < nv; ++id)
      p.is_const[id] = weight[id] && !opt.substitute.count(names[id]) && !opt.fake_quant.count(names[id]);
    const std::set<int> outs = output_ids();
    // Consumers per value.
    std::vector<std::vector<int>> consumers(nv);
    for (size_t k = 0; k < nn; ++k)
      for (int id : nodes[k].in)
        if (id >= 0) consumers[static_cast<size_t>(id)].push_back(static_cast<int>(k));
    if (opt.fuse) {
      for (size_t k = 0; k < nn; ++k) {
        const Node& n = *nodes[k].node;
        if (n.op != Op::kConv && n.op != Op::kConvTranspose && n.op != Op::kGemm && n.op != Op::kMatMul) continue;
        if (nodes[k].out.size() != 1 || nodes[k].out[0] < 0) continue;
        const int o = nodes[k].out[0];
        if (observed(o, opt, outs) || consumers[static_cast<size_t>(o)].size() != 1) continue;
        const int j = consumers[static_cast<size_t>(o)][0];
        const Node& a = *nodes[static_cast<size_t>(j)].node;
        if (a.inputs.empty() || a.inputs[0] != n.outputs[0] || nodes[static_cast<size_t>(j)].out.size() != 1) continue;
        Epilogue e;
        if (a.op == Op::kRelu) {
          e.act = Act::kRelu;
        } else if (a.op == Op::kLeakyRelu) {
          e.act = Act::kLeakyRelu;
          e.a = a.attr_float("alpha", 0.01f);
        } else if (a.op == Op::kClip) {
          e.act = Act::kClip;
          e.a = -INFINITY;
          e.b = INFINITY;
          bool ok = true;
          if (g.opset("") < 11 && !(a.inputs.size() > 1)) {
            e.a = a.attr_float("min", -INFINITY);
            e.b = a.attr_float("max", INFINITY);
          } else {
            for (size_t q = 1; q < 3 && q < a.inputs.size(); ++q) {
              if (a.inputs[q].empty()) continue;
              const int bid = find_id(a.inputs[q]);
              const Tensor* t = bid >= 0 && p.is_const[static_cast<size_t>(bid)] ? weight[static_cast<size_t>(bid)] : nullptr;
              if (!t || t->dtype != DType::kFloat32 || t->numel() != 1) {
                ok = false;
                break;
              }
              (q == 1 ? e.a : e.b) = t->f32()[0];
            }
          }
          if (!ok) continue;
        } else {
          continue;
        }
        p.epilogue[k] = e;
        p.out_redirect[k] = nodes[static_cast<size_t>(j)].out[0];
        p.skip[static_cast<size_t>(j)] = true;
      }
    }
    for (size_t k = 0; k < nn; ++k)
      if (!p.skip[k]) p.order.push_back(static_cast<int>(k));
    compute_liveness(p, opt, outs);
    return p;
  }

  void compute_liveness(Plan& p, const RunOptions& opt, const std::set<int>& outs) const {
    p.last_use.assign(names.size(), -1);
    for (size_t pos = 0; pos < p.order.size(); ++pos)
      for (int id : nodes[static_cast<size_t>(p.order[pos])].in)
        if (id >= 0) p.last_use[static_cast<size_t>(id)] = static_cast<int>(pos);
    for (size_t id = 0; id < names.size(); ++id)
      if (observed(static_cast<int>(id), opt, outs) || p.folded.count(static_cast<int>(id))) p.last_use[id] = -1;
  }

  Value alloc(DType t, const std::vector<int64_t>& shape) {
    Value v;
    v.dtype = t;
    v.shape = shape;
    const size_t n = v.bytes();
    v.owner = pool->get(n);
    v.data = v.owner.get();
    return v;
  }

  // Runs node k on `vals`, stores its outputs (fake-quantized where asked) and returns its flops.
  double run_node(size_t k, std::vector<Value>& vals, const std::vector<bool>& is_const, const Plan* plan,
                const RunOptions& opt, uint64_t const_gen_seed) {
    NodeRec& r = nodes[k];
    const Node& n = *r.node;
    std::vector<Value> outs(r.out.size());
    OpContext ctx(n, outs, r.state);
    ctx.opset = g.opset("");
    ctx.inputs.resize(r.in.size(), nullptr);
    ctx.input_is_const.resize(r.in.size(), false);
    uint64_t key = 0;
    for (size_t i = 0; i < r.in.size(); ++i) {
      const int id = r.in[i];
      if (id < 0) continue;
      const Value& v = vals[static_cast<size_t>(id)];
      if (v.dtype == DType::kUndefined)
        throw Error(n.describe() + ": input '" + names[static_cast<size_t>(id)] + "' has no value (nothing produced it)");
      ctx.inputs[i] = &v;
      ctx.input_is_const[i] = is_const[static_cast<size_t>(id)];
      if (ctx.input_is_const[i]) {
        // Weights carry their binding generation; folded constants the plan's (their storage lives with it).
        auto b = bindings.find(id);
        const uint64_t gen = b != bindings.end() && weight[static_cast<size_t>(id)] ? b->second.gen : const_gen_seed;
        key = mix(mix(key ? key : 0x51ed27u, gen), reinterpret_cast<uintptr_t>(v.data));
      }
    }
    ctx.const_key = key;
    if (plan) ctx.epilogue = plan->epilogue[k];
    ctx.allocator = [this](DType t, const std::vector<int64_t>& s) { return alloc(t, s); };
    try {
      r.fn(ctx);
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Error(n.describe() + ": out of memory");
    } catch (const std::exception& e) {
      throw Error(n.describe() + ": " + e.what());
    }
    const double flops = node_flops(n, ctx.inputs, outs);
    for (size_t i = 0; i < r.out.size(); ++i) {
      int id = r.out[i];
      if (plan && i == 0 && plan->out_redirect[k] >= 0) id = plan->out_redirect[k];
      if (id < 0) continue;
      Value& v = outs[i];
      if (v.dtype == DType::kUndefined) throw Error(n.describe() + ": op produced no output " + std::to_string(i));
      auto fq = opt.fake_quant.find(names[static_cast<size_t>(id)]);
      if (fq != opt.fake_quant.end()) {
        if (!v.owner || v.owner.use_count() > 1) v = clone_pooled(v);
        try {
          fake_quant_apply(v, fq->second);
        } catch (const std::exception& e) {
          rethrow_with_context("cannot fake-quantize '" + names[static_cast<size_t>(id)] + "'", e);
        }
      }
      vals[static_cast<size_t>(id)] = std::move(v);
    }
    return flops;
  }

  // A graph input (or a cached value, run_from) fake-quantized in a private copy: the caller's tensor is never changed.
  Value quantized_input(size_t id, const Value& v, const FakeQuant& fq) {
    Value c = clone_pooled(v);
    try {
      fake_quant_apply(c, fq);
    } catch (const std::exception& e) {
      rethrow_with_context(std::string("cannot fake-quantize ") + (graph_input_index[id] >= 0 ? "input '" : "'") + names[id] + "'", e);
    }
    return c;
  }

  Value clone_pooled(const Value& v) {
    Value c = alloc(v.dtype, v.shape);
    if (v.bytes()) std::memcpy(c.data, v.data, v.bytes());
    return c;
  }

  void check_runnable() const {
    if (unsupported.empty()) return;
    std::string msg = "cannot run this model: unsupported ops: ";
    for (size_t i = 0; i < unsupported.size(); ++i) msg += (i ? "; " : "") + unsupported[i];
    throw Error(msg);
  }

  std::map<std::string, Value> collect(const std::vector<Value>& vals, const RunOptions& opt) {
    std::map<std::string, Value> res;
    auto take = [&](const std::string& n) {
      const int id = find_id(n);
      if (id < 0) throw Error("cannot capture '" + n + "': the model has no value of that name");
      const Value& v = vals[static_cast<size_t>(id)];
      if (v.dtype == DType::kUndefined) throw Error("cannot capture '" + n + "': it was not computed");
      res[n] = v;
    };
    for (const auto& o : g.outputs) take(o.name);
    for (const auto& c : opt.capture) take(c);
    if (opt.capture_all)
      for (size_t id = 0; id < names.size(); ++id)
        if (!weight[id] && vals[id].dtype != DType::kUndefined) res[names[id]] = vals[id];
    return res;
  }

  std::map<std::string, Value> run(const std::map<std::string, Value>& inputs, const RunOptions& opt) {
    check_runnable();
    const std::string sig = check_inputs(inputs) + "|" + hooks_signature(opt);
    stats = RunStats{};
    pool->reset_peak();
    auto pit = plans.find(sig);
    if (pit == plans.end()) {
      if (plans.size() > 8) plans.clear();  // interactive sessions try many hook sets; keep memory bounded
      pit = plans.emplace(sig, make_plan(opt)).first;
      stats.planned = true;
    }
    Plan& p = pit->second;
    std::vector<Value> vals(names.size());
    std::vector<bool> is_const = p.is_const;
    for (size_t id = 0; id < names.size(); ++id) {
      if (weight[id]) vals[id] = bind_weight(static_cast<int>(id), opt).value;
      if (graph_input_index[id] >= 0) vals[id] = inputs.at(names[id]);
    }
    for (const auto& f : p.folded) {
      vals[static_cast<size_t>(f.first)] = f.second;
      is_const[static_cast<size_t>(f.first)] = true;
    }
    // Graph inputs that get fake-quantized: a private copy, the caller's tensor is never changed.
    for (size_t id = 0; id < names.size(); ++id) {
      if (graph_input_index[id] < 0) continue;
      auto fq = opt.fake_quant.find(names[id]);
      if (fq == opt.fake_quant.end()) continue;
      vals[id] = quantized_input(id, vals[id], fq->second);
    }
    const bool first = !p.complete;
    std::vector<int> kept;  // order without the nodes folded on this first run
    for (size_t pos = 0; pos < p.order.size(); ++pos) {
      const size_t k = static_cast<size_t>(p.order[pos]);
      const NodeRec& r = nodes[k];
      bool fold = false;
      if (first && !opt.capture_all) {
        // Constant given the input shapes: every input constant, or the op reads only shapes.
        const Op op = r.node->op;
        fold = op == Op::kShape || op == Op::kSize;
        if (!fold) {
          fold = true;
          bool any = false;
          for (int id : r.in)
            if (id >= 0) {
              any = true;
              fold &= is_const[static_cast<size_t>(id)];
            }
          fold &= any || op == Op::kConstantOfShape || op == Op::kRange;
        }
        for (int id : r.out)
          if (id >= 0 && opt.fake_quant.count(names[static_cast<size_t>(id)])) fold = false;
        if (p.out_redirect[k] >= 0) fold = false;
      }
      const auto t0 = std::chrono::steady_clock::now();
      stats.flops += run_node(k, vals, is_const, &p, opt, p.plan_gen);
      if (opt.profile)
        stats.node_ms.emplace_back(r.node->name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      ++stats.nodes_run;
      if (fold) {
        for (int id : r.out)
          if (id >= 0) {
            // Folded values live as long as the plan: their own storage, not the pool's.
            vals[static_cast<size_t>(id)] = value_clone(vals[static_cast<size_t>(id)]);
            p.folded[id] = vals[static_cast<size_t>(id)];
            is_const[static_cast<size_t>(id)] = true;
          }
      } else if (first) {
        kept.push_back(static_cast<int>(k));
      }
      for (int id : r.in)
        if (id >= 0 && p.last_use[static_cast<size_t>(id)] == static_cast<int>(pos) && !weight[static_cast<size_t>(id)] &&
            !p.folded.count(id) && graph_input_index[static_cast<size_t>(id)] < 0)
          vals[static_cast<size_t>(id)] = Value{};
    }
    if (first) {
      p.order = kept;
      p.is_const = is_const;
      compute_liveness(p, opt, output_ids());
      p.complete = true;
    }
    stats.pool_bytes = pool->held();
    stats.peak_live_bytes = pool->peak();
    return collect(vals, opt);
  }

  // Nodes to run (in order) for a change of `changed`; `dirty` marks every value that differs from the cache. With
  // `requant`, a changed output of a node none of whose inputs changed goes into `from_cache` (re-quantized from
  // the cached value) and the node is not run.
  std::vector<int> downstream(const std::set<std::string>& changed, std::vector<bool>& dirty, bool requant,
                              std::vector<bool>* from_cache = nullptr) const {
    dirty.assign(names.size(), false);
    if (from_cache) from_cache->assign(names.size(), false);
    for (const auto& c : changed) {
      const int id = find_id(c);
      if (id < 0) throw Error("'" + c + "' is not a value of this model");
      dirty[static_cast<size_t>(id)] = true;
    }
    std::vector<int> run;
    for (size_t k = 0; k < nodes.size(); ++k) {
      bool din = false, dout = false;
      for (int id : nodes[k].in) din |= id >= 0 && dirty[static_cast<size_t>(id)];
      for (int id : nodes[k].out) dout |= id >= 0 && dirty[static_cast<size_t>(id)];
      if (!din && !dout) continue;
      if (!din && requant) {
        for (int id : nodes[k].out)
          if (id >= 0 && dirty[static_cast<size_t>(id)] && from_cache) (*from_cache)[static_cast<size_t>(id)] = true;
        continue;
      }
      run.push_back(static_cast<int>(k));
      for (int id : nodes[k].out)
        if (id >= 0) dirty[static_cast<size_t>(id)] = true;
    }
    return run;
  }

  std::set<std::string> downstream_reads(const std::set<std::string>& changed, const RunOptions& opt) const {
    std::vector<bool> dirty, from_cache;
    const std::vector<int> todo = downstream(changed, dirty, opt.requant_cached, &from_cache);
    std::vector<bool> made(names.size(), false);
    for (int k : todo)
      for (int id : nodes[static_cast<size_t>(k)].out)
        if (id >= 0) made[static_cast<size_t>(id)] = true;
    std::set<std::string> r;
    auto need = [&](int id) {
      if (id >= 0 && !made[static_cast<size_t>(id)] && !weight[static_cast<size_t>(id)]) r.insert(names[static_cast<size_t>(id)]);
    };
    for (int k : todo)
      for (int id : nodes[static_cast<size_t>(k)].in) need(id);
    for (size_t id = 0; id < names.size(); ++id)
      if (from_cache[id] || (dirty[id] && graph_input_index[id] >= 0)) need(static_cast<int>(id));
    for (const auto& o : g.outputs) need(find_id(o.name));
    for (const auto& c : opt.capture) need(find_id(c));
    return r;
  }

  std::map<std::string, Value> run_from(const std::map<std::string, Value>& cache, const std::set<std::string>& changed,
                                        const RunOptions& opt) {
    check_runnable();
    stats = RunStats{};
    pool->reset_peak();
    std::vector<bool> dirty, from_cache;
    const std::vector<int> todo = downstream(changed, dirty, opt.requant_cached, &from_cache);
    std::vector<Value> vals(names.size());
    std::vector<bool> is_const(names.size(), false);
    for (size_t id = 0; id < names.size(); ++id) {
      if (weight[id]) {
        vals[id] = bind_weight(static_cast<int>(id), opt).value;
        is_const[id] = true;
      } else {
        auto it = cache.find(names[id]);
        if (it != cache.end() && !(dirty[id] && producer[id] >= 0 && !from_cache[id])) vals[id] = it->second;
      }
    }
    const bool prune = opt.skip_unchanged;
    // With skip_unchanged: whether a value may differ from the cache (changed weights and inputs always do).
    std::vector<bool> live(names.size(), false), is_changed(names.size(), false);
    for (const auto& c : changed) is_changed[static_cast<size_t>(find_id(c))] = true;
    auto same_as_cache = [&](size_t id) {
      auto it = cache.find(names[id]);
      if (it == cache.end()) return false;
      const Value &a = vals[id], &b = it->second;
      return a.dtype == b.dtype && a.shape == b.shape && (a.data == b.data || std::memcmp(a.data, b.data, a.bytes()) == 0);
    };
    for (size_t id = 0; id < names.size(); ++id)
      if (dirty[id] && (producer[id] < 0 || from_cache[id])) live[id] = true;
    std::map<std::string, Value> res;
    for (size_t id = 0; id < names.size(); ++id) {
      if (!(graph_input_index[id] >= 0 && dirty[id]) && !from_cache[id]) continue;
      if (vals[id].dtype == DType::kUndefined)
        throw Error(std::string("the cache has no value for ") + (from_cache[id] ? "'" : "input '") + names[id] + "'");
      auto fq = opt.fake_quant.find(names[id]);
      if (fq != opt.fake_quant.end()) vals[id] = quantized_input(id, vals[id], fq->second);
      if (from_cache[id]) res[names[id]] = vals[id];
      if (prune) live[id] = !same_as_cache(id);
    }
    // A value a skipped node would have produced: equal to the cached one; from the cache, or recomputed from its
    // (equally unchanged) inputs when the cache does not hold it.
    std::function<void(int)> materialize = [&](int id) {
      if (vals[static_cast<size_t>(id)].dtype != DType::kUndefined) return;
      auto it = cache.find(names[static_cast<size_t>(id)]);
      if (it != cache.end()) {
        vals[static_cast<size_t>(id)] = it->second;
        return;
      }
      const int k = producer[static_cast<size_t>(id)];
      if (k < 0) throw Error("the cache has no value '" + names[static_cast<size_t>(id)] + "'");
      for (int in : nodes[static_cast<size_t>(k)].in)
        if (in >= 0) materialize(in);
      stats.flops += run_node(static_cast<size_t>(k), vals, is_const, nullptr, opt, 0);
      ++stats.nodes_run;
    };
    for (int k : todo) {
      const NodeRec& r = nodes[static_cast<size_t>(k)];
      if (prune) {
        bool any = false;
        for (int id : r.in) any |= id >= 0 && live[static_cast<size_t>(id)];
        for (int id : r.out) any |= id >= 0 && is_changed[static_cast<size_t>(id)];
        if (!any) continue;
        for (int id : r.in)
          if (id >= 0 && dirty[static_cast<size_t>(id)]) materialize(id);
      }
      for (int id : r.in)
        if (id >= 0 && vals[static_cast<size_t>(id)].dtype == DType::kUndefined)
          throw Error("cannot recompute " + r.node->describe() + ": the cache has no value '" +
                      names[static_cast<size_t>(id)] + "' (run with capture_all first)");
      stats.flops += run_node(static_cast<size_t>(k), vals, is_const, nullptr, opt, 0);
      ++stats.nodes_run;
      for (int id : r.out)
        if (id >= 0) {
          res[names[static_cast<size_t>(id)]] = vals[static_cast<size_t>(id)];
          if (prune) live[static_cast<size_t>(id)] = !same_as_cache(static_cast<size_t>(id));
        }
    }
    auto take = [&](const std::string& n) {
      if (res.count(n)) return;
      const int id = find_id(n);
      if (id >= 0 && prune) materialize(id);
      if (id < 0 || vals[static_cast<size_t>(id)].dtype == DType::kUndefined)
        throw Error("the cache has no value '" + n + "'");
      res[n] = vals[static_cast<size_t>(id)];
    };
    for (const auto& o : g.outputs) take(o.name);
    for (const auto& c : opt.capture) take(c);
    stats.pool_bytes = pool->held();
    stats.peak_live_bytes = pool->peak();
    return res;
  }
};

Executor::Executor(const Graph& g) : impl_(new Impl(g)) {}
Executor::~Executor() = default;
const std::vector<std::string>& Executor::unsupported() const { return impl_->unsupported; }
void Executor::check_runnable() const { impl_->check_runnable(); }
std::map<std::string, Value> Executor::run(const std::map<std::string, Value>& inputs, const RunOptions& opt) {
  return impl_->run(inputs, opt);
}
std::map<std::string, Value> Executor::run_from(const std::map<std::string, Value>& cache,
                                                const std::set<std::string>& changed, const RunOptions& opt) {
  return impl_->run_from(cache, changed, opt);
}
const RunStats& Executor::last_stats() const { return impl_->stats; }
std::vector<std::string> Executor::downstream_nodes(const std::set<std::string>& changed) const {
  std::vector<bool> dirty;
  std::vector<std::string> out;
  for (int k : impl_->downstream(changed, dirty, false)) out.push_back(impl_->nodes[static_cast<size_t>(k)].node->name);
  return out;
}
std::set<std::string> Executor::downstream_reads(const std::set<std::string>& changed, const RunOptions& opt) const {
  return impl_->downstream_reads(changed, opt);
}

namespace {
uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void check_input_names(const Graph& g, const std::map<std::string, Value>& inputs) {
  for (const auto& kv : inputs) {
    bool known = false;
    std::string list;
    for (const auto& vi : g.inputs) {
      known |= vi.name == kv.first;
      list += (list.empty() ? "" : ", ") + vi.name;
    }
    if (!known) throw Error("the model has no input named '" + kv.first + "' (inputs: " + list + ")");
  }
}

std::map<std::string, Value> random_inputs(const Graph& g, uint64_t seed, const std::map<std::string, int64_t>& dims,
                                           float lo, float hi) {
  std::map<std::string, Value> out;
  uint64_t s = seed;
  for (const auto& vi : g.inputs) {
    std::vector<int64_t> shape;
    for (const Dim& d : vi.shape) {
      if (d.known()) {
        shape.push_back(d.value);
      } else {
        auto it = dims.find(d.param);
        shape.push_back(it != dims.end() ? it->second : 1);
      }
    }
    const DType t = vi.dtype == DType::kUndefined ? DType::kFloat32 : vi.dtype;
    Value v = value_alloc(t, shape);
    const int64_t n = v.numel();
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t r = splitmix64(s);
      const float u = static_cast<float>(r >> 40) * (1.0f / 16777216.0f);  // 24 bits: exact in float
      switch (t) {
        case DType::kFloat32: v.f32()[i] = lo + (hi - lo) * u; break;
        case DType::kFloat64: v.ptr<double>()[i] = lo + (hi - lo) * static_cast<double>(u); break;
        case DType::kInt64: v.ptr<int64_t>()[i] = static_cast<int64_t>(r % 10); break;
        case DType::kInt32: v.ptr<int32_t>()[i] = static_cast<int32_t>(r % 10); break;
        case DType::kBool: v.ptr<uint8_t>()[i] = static_cast<uint8_t>(r & 1); break;
        case DType::kUint8: v.ptr<uint8_t>()[i] = static_cast<uint8_t>(r % 256); break;
        case DType::kInt8: v.ptr<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(r % 256) - 128); break;
        default: throw Error("cannot make a random input of type " + dtype_name(t) + " for '" + vi.name + "'");
      }
    }
    out[vi.name] = std::move(v);
  }
  return out;
}

}  // namespace qp
