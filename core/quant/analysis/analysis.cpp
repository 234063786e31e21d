// Layer-wise analysis (ALGORITHMS.md §4.2): samples stream one at a time; per sample one fp32 pass caches the values
// the layer runs read, then each layer's runs recompute only what lies downstream of its quantizers
// (Executor::run_from). The fp32 pass that calibrates the activations is that same pass: its caches are kept for
// the layer runs while they fit AnalysisOptions::cache_budget_bytes (§4.2 calibrates and caches in two passes), and
// a layer run stops propagating where its quantized values come out equal to the fp32 ones (skip_unchanged).
#include "core/quant/analysis/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "core/ir/error.h"

namespace qp {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Sum of squared differences of two float32 tensors of one shape, and sum of squares of the reference.
void diff_power(const Value& q, const Value& ref, double* noise, double* signal) {
  if (q.dtype != DType::kFloat32 || ref.dtype != DType::kFloat32) return;
  if (q.shape != ref.shape)
    throw Error("quantized run gave " + q.describe() + " where the fp32 run gave " + ref.describe());
  const float* a = q.f32();
  const float* b = ref.f32();
  const int64_t n = ref.numel();
  double s = 0, p = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    s += d * d;
    p += static_cast<double>(b[i]) * b[i];
  }
  if (noise) *noise += s;
  if (signal) *signal += p;
}

double power(const Value& v) {
  double p = 0;
  diff_power(v, v, nullptr, &p);
  return p;
}

const char* act_fusable[] = {"BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish"};

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

double snr_from_nsr(double nsr) {
  if (std::isnan(nsr)) return std::numeric_limits<double>::quiet_NaN();
  if (nsr <= 0) return std::numeric_limits<double>::infinity();
  return -10 * std::log10(nsr);
}

void analysis_options_validate(const AnalysisOptions& o) {
  auto bits = [](const std::string& f, int b) {
    if (b < 2 || b > 16) throw Error("options." + f + ": " + std::to_string(b) + " is outside 2..16");
  };
  bits("weight.bits", o.weight.bits);
  bits("act.bits", o.act.bits);
  for (const auto& kv : o.overrides) {
    if (kv.second.has_weight) bits("overrides." + kv.first + ".weight.bits", kv.second.weight.bits);
    if (kv.second.has_act) bits("overrides." + kv.first + ".act.bits", kv.second.act.bits);
  }
  if (o.act_subsample < 1024) throw Error("options.act_subsample: must be at least 1024");
  if (o.cache_budget_bytes < 0) throw Error("options.cache_budget_bytes: must be at least 0");
  if (!o.quantize_weights && !o.quantize_activations)
    throw Error("options: nothing to analyse (weights and activations both left in float32)");
}

std::string layer_act_point(const Graph& g, const Layer& l) {
  const Node* node = nullptr;
  for (const auto& n : g.nodes)
    if (n.name == l.name) node = &n;
  if (!node || node->outputs.empty()) return "";
  std::map<std::string, std::vector<const Node*>> consumers;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty()) consumers[in].push_back(&n);
  std::set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  std::string v = node->outputs[0];
  for (int guard = 0; guard < 8; ++guard) {
    if (outputs.count(v)) break;
    auto it = consumers.find(v);
    if (it == consumers.end() || it->second.size() != 1) break;
    const Node& c = *it->second[0];
    if (c.inputs.empty() || c.inputs[0] != v || c.outputs.size() != 1 || c.outputs[0].empty()) break;
    bool fusable = false;
    for (const char* op : act_fusable) fusable |= c.op_type == op;
    // MatMul bias: an Add with a constant operand (find_layers recorded it as the layer's bias).
    if (c.op_type == "Add" && l.op_type == "MatMul" && !l.bias.empty() && c.inputs.size() == 2 && c.inputs[1] == l.bias)
      fusable = true;
    if (!fusable) break;
    v = c.outputs[0];
  }
  return v;
}

// Activation statistics over the calibration set, per activation point.
struct ActCalibration {
  std::vector<RangeStats> st;
  std::vector<std::vector<float>> sub;
  bool done = false;
};

struct LayerAnalyzer::Impl {
  const Graph& g;
  const CalibrationSet& data;
  std::vector<Layer> layers;
  std::vector<std::string> points;
  Executor fp, q;  // fp: fp32 caches and per-layer suffix runs; q: all-quantized runs (keeps its quantized weights)
  ActCalibration cal;
  std::vector<std::string> outputs;
  double full_flops = 0;
  int64_t full_nodes = 0;
  double cost = 0;  // forward-pass equivalents since the last reset
  int64_t nodes_run = 0;
  // Class output and labels.
  int class_out = -1;
  bool class_checked = false;
  // fp32 outputs per sample, kept when small (for repeated measure()).
  std::vector<std::map<std::string, Value>> fp_outputs;
  bool fp_outputs_ok = false;
  // Per-layer results by configuration key.
  struct Cached {
    NoiseStat w, a, wa;
    double local_noise = 0, agree = 0, cost = 0, cost_per_sample = 0;
    int64_t rows = 0;
  };
  std::map<std::string, Cached> cache;
  // fp32 caches by sample: only the values some layer run reads (cache_reads()), kept within the budget so the
  // calibration pass doubles as the cache pass and later analyses need no fp32 pass at all.
  std::set<std::string> reads;
  bool reads_ok = false;
  std::vector<std::map<std::string, Value>> kept;  // by sample; empty: not kept
  std::vector<int64_t> kept_size;
  int64_t kept_bytes = 0;
  int64_t max_cache_bytes = 0;  // largest cache of one sample since the last reset

  Impl(const Graph& graph, const CalibrationSet& d) : g(graph), data(d), fp(graph), q(graph) {
    fp.check_runnable();
    if (data.samples.empty()) throw Error("analysis: the calibration set is empty");
    for (auto& l : find_layers(g)) {
      points.push_back(layer_act_point(g, l));
      layers.push_back(std::move(l));
    }
    for (const auto& o : g.outputs) outputs.push_back(o.name);
  }

  // What the layer runs of analyse() and weight_bit_sensitivity() read from a cache, for every layer and run kind
  // (weights, activations re-quantized from the cache, both, and both after the weight run), plus the act points
  // (references of the local noise) and the graph outputs. Everything else a capture_all pass would hold (values
  // produced inside each downstream set) is recomputed by the runs anyway, so the numbers are the same.
  const std::set<std::string>& cache_reads() {
    if (reads_ok) return reads;
    RunOptions rq;
    rq.requant_cached = true;
    for (size_t l = 0; l < layers.size(); ++l) {
      if (!points[l].empty()) reads.insert(points[l]);
      if (!layers[l].skip.empty()) continue;
      std::vector<std::set<std::string>> sets{{layers[l].weight}};
      if (!points[l].empty()) sets.push_back({points[l]}), sets.push_back({layers[l].weight, points[l]});
      for (const auto& ch : sets)
        for (const auto& v : fp.downstream_reads(ch, rq)) reads.insert(v);
    }
    for (const auto& o : outputs) reads.insert(o);
    reads_ok = true;
    return reads;
  }

  // Drops kept caches (last samples first) until they fit `budget`.
  void trim_kept(int64_t budget) {
    for (size_t s = kept.size(); s-- > 0 && kept_bytes > budget;) {
      if (kept[s].empty()) continue;
      kept[s].clear();
      kept_bytes -= kept_size[s];
      kept_size[s] = 0;
    }
  }

  // The fp32 cache of sample s: the kept one, or a fresh pass (counted), kept when it fits the budget.
  std::map<std::string, Value> sample_cache(size_t s, int64_t budget, bool* fresh = nullptr) {
    if (kept.size() != data.samples.size()) kept.assign(data.samples.size(), {}), kept_size.assign(data.samples.size(), 0);
    if (fresh) *fresh = kept[s].empty();
    if (!kept[s].empty()) {
      max_cache_bytes = std::max(max_cache_bytes, kept_size[s]);
      return kept[s];
    }
    RunOptions ro;
    ro.capture = cache_reads();
    // Unfused, as capture_all runs are and as run_from recomputes: the cached values are bit for bit what the
    // layer runs would compute for the unquantized parts.
    ro.fuse = false;
    auto c = fp.run(data.samples[s], ro);
    note_full_pass(fp);
    account(fp);
    // Graph inputs belong to the calibration set; views share their producer's buffer and are counted twice (an
    // upper bound).
    int64_t b = 0;
    for (const auto& kv : c) {
      bool input = false;
      for (const auto& in : g.inputs) input |= in.name == kv.first;
      if (!input) b += static_cast<int64_t>(kv.second.bytes());
    }
    max_cache_bytes = std::max(max_cache_bytes, b);
    if (kept_bytes + b <= budget) {
      kept[s] = c;
      kept_size[s] = b;
      kept_bytes += b;
    }
    return c;
  }

  void account(const Executor& e) {
    const RunStats& s = e.last_stats();
    cost += full_flops > 0 ? s.flops / full_flops : static_cast<double>(s.nodes_run) / std::max<int64_t>(full_nodes, 1);
    nodes_run += s.nodes_run;
  }

  // What one full pass costs: the flops of the first fp32 run (fusion and folding change no flops), and every node
  // of the graph (what an unfused pass runs).
  void note_full_pass(const Executor& e) {
    if (full_nodes > 0) return;
    full_flops = e.last_stats().flops;
    full_nodes = static_cast<int64_t>(g.nodes.size());
  }

  void calibrate(const AnalysisOptions& opt, const AnalysisCallback& progress, Clock::time_point t0) {
    if (cal.done) return;
    const size_t np = points.size();
    cal.st.assign(np, RangeStats{});
    cal.sub.assign(np, {});
    std::vector<double> mn(np, INFINITY), mx(np, -INFINITY), sum(np, 0), sq(np, 0);
    std::vector<size_t> cnt(np, 0), nonfin(np, 0);
    const size_t ns = data.samples.size();
    const size_t per_sample = (static_cast<size_t>(opt.act_subsample) + ns - 1) / ns;
    for (size_t s = 0; s < ns; ++s) {
      if (progress) {
        AnalysisProgress pr;
        pr.stage = "calibrate";
        pr.sample = static_cast<int>(s);
        pr.samples = static_cast<int>(ns);
        pr.layers = static_cast<int>(layers.size());
        pr.elapsed_ms = ms_since(t0);
        if (!progress(pr)) throw Error("analysis cancelled");
      }
      const auto res = sample_cache(s, opt.cache_budget_bytes);
      for (size_t i = 0; i < np; ++i) {
        if (points[i].empty()) continue;
        const Value& v = res.at(points[i]);
        if (v.dtype != DType::kFloat32) continue;
        const float* x = v.f32();
        const size_t n = static_cast<size_t>(v.numel());
        for (size_t k = 0; k < n; ++k) {
          const double e = x[k];
          if (!std::isfinite(e)) {
            ++nonfin[i];
            continue;
          }
          mn[i] = std::min(mn[i], e);
          mx[i] = std::max(mx[i], e);
          sum[i] += e;
          sq[i] += e * e;
          ++cnt[i];
        }
        // A fixed pseudo-random pick (the same natively and in wasm), so strided layouts cannot alias channels.
        auto& sub = cal.sub[i];
        if (n <= per_sample) {
          for (size_t k = 0; k < n; ++k)
            if (std::isfinite(x[k])) sub.push_back(x[k]);
        } else {
          for (size_t k = 0; k < per_sample; ++k) {
            // 64-bit arithmetic throughout: size_t is 32 bits in wasm.
            const uint64_t key = (static_cast<uint64_t>(s) << 32) ^ (static_cast<uint64_t>(k) * 2654435761ull + i);
            const float e = x[splitmix64(key) % static_cast<uint64_t>(n)];
            if (std::isfinite(e)) sub.push_back(e);
          }
        }
      }
    }
    for (size_t i = 0; i < np; ++i) {
      RangeStats& st = cal.st[i];
      st.n = cnt[i];
      st.non_finite = nonfin[i];
      if (cnt[i] == 0) continue;
      st.min = mn[i];
      st.max = mx[i];
      st.sum_sq = sq[i];
      st.mean = sum[i] / static_cast<double>(cnt[i]);
      st.std = std::sqrt(std::max(0.0, sq[i] / static_cast<double>(cnt[i]) - st.mean * st.mean));
      double mad = 0;
      for (float e : cal.sub[i]) mad += std::fabs(e - st.mean);
      st.mean_abs_dev = cal.sub[i].empty() ? 0 : mad / static_cast<double>(cal.sub[i].size());
      st.has_mad = true;
    }
    cal.done = true;
  }

  const LayerOverride* override_of(size_t l, const AnalysisOptions& opt) const {
    auto it = opt.overrides.find(layers[l].name);
    return it == opt.overrides.end() ? nullptr : &it->second;
  }

  bool skipped(size_t l, const AnalysisOptions& opt, std::string* why) const {
    const LayerOverride* ov = override_of(l, opt);
    if (ov && ov->fp32) {
      if (why) *why = "kept in float32";
      return true;
    }
    if (!layers[l].skip.empty()) {
      if (why) *why = layers[l].skip;
      return true;
    }
    return false;
  }

  bool weight_fq(size_t l, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc) {
    if (!opt.quantize_weights || skipped(l, opt, nullptr)) return false;
    const LayerOverride* ov = override_of(l, opt);
    const LayerWeightConfig& c = ov && ov->has_weight ? ov->weight : opt.weight;
    const Layer& L = layers[l];
    const Tensor& w = *g.weight(L.weight);
    fq = FakeQuant{};
    fq.spec.bits = c.bits;
    fq.spec.scheme = c.scheme;
    fq.spec.is_signed = c.scheme == Scheme::kSymmetric;
    fq.spec.range_mode = c.range_mode;
    const bool with_mad = c.range.method == RangeMethod::kAciq;
    if (c.granularity == Granularity::kChannel && w.dims.size() >= 1) {
      const ChannelView cv = channel_view(w, L.channel_axis);
      fq.axis = L.channel_axis;
      for (int64_t ch = 0; ch < cv.channels; ++ch) {
        const float* row = cv.data + ch * cv.inner;
        const RangeStats st = range_stats(row, static_cast<size_t>(cv.inner), with_mad);
        const auto r = range_select(row, static_cast<size_t>(cv.inner), st, fq.spec, c.range);
        fq.params.push_back(quant_params(fq.spec, r.first, r.second));
      }
    } else {
      const size_t n = static_cast<size_t>(w.numel());
      const RangeStats st = range_stats(w.f32(), n, with_mad);
      const auto r = range_select(w.f32(), n, st, fq.spec, c.range);
      fq.params.push_back(quant_params(fq.spec, r.first, r.second));
    }
    if (desc)
      *desc = std::to_string(c.bits) + "b " + scheme_name(c.scheme) + " " + granularity_name(c.granularity) + " " +
              range_method_name(c.range);
    return true;
  }

  bool act_fq(size_t l, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc, double* plo, double* phi) {
    if (!opt.quantize_activations || skipped(l, opt, nullptr) || points[l].empty()) return false;
    const LayerOverride* ov = override_of(l, opt);
    const LayerActConfig& c = ov && ov->has_act ? ov->act : opt.act;
    if (!cal.done) throw Error("analysis: activations are not calibrated");
    const RangeStats& st = cal.st[l];
    const std::vector<float>& sub = cal.sub[l];
    if (st.n == 0) return false;  // not float32, or nothing finite
    fq = FakeQuant{};
    fq.spec.bits = c.bits;
    fq.spec.scheme = c.scheme;
    fq.spec.is_signed = c.scheme == Scheme::kSymmetric && st.min < 0;
    fq.spec.range_mode = RangeMode::kFull;
    const auto r = range_select(sub.data(), sub.size(), st, fq.spec, c.range);
    fq.params.push_back(quant_params(fq.spec, r.first, r.second));
    if (plo) *plo = r.first;
    if (phi) *phi = r.second;
    if (desc)
      *desc = std::to_string(c.bits) + "b " + scheme_name(c.scheme) +
              (c.scheme == Scheme::kSymmetric && !fq.spec.is_signed ? " unsigned" : "") + " " +
              range_method_name(c.range);
    return true;
  }

  static std::string fq_key(const FakeQuant& f) {
    std::string k = std::to_string(f.spec.bits) + "/" + std::to_string(static_cast<int>(f.spec.scheme)) +
                    std::to_string(f.spec.is_signed) + std::to_string(static_cast<int>(f.spec.range_mode)) + "/" +
                    std::to_string(f.axis) + ":";
    for (const auto& p : f.params) k += fmt("%a,", p.scale) + fmt("%a;", p.zero_point);
    return k;
  }

  NoiseStat make_stat(const std::vector<double>& noise, const std::vector<double>& signal) const {
    NoiseStat s;
    s.noise = noise;
    double acc = 0;
    int used = 0;
    for (size_t o = 0; o < noise.size(); ++o)
      if (signal[o] > 0) {
        acc += noise[o] / signal[o];
        ++used;
      }
    s.nsr = used ? acc / used : std::numeric_limits<double>::quiet_NaN();
    s.snr_db = snr_from_nsr(s.nsr);
    return s;
  }

  // Index of a graph output [rows, classes, 1, ...] (classes > 1), or -1.
  void find_class_output(const std::map<std::string, Value>& res) {
    if (class_checked) return;
    class_checked = true;
    for (size_t o = 0; o < outputs.size(); ++o) {
      const Value& v = res.at(outputs[o]);
      if (v.dtype != DType::kFloat32 || v.rank() < 2 || v.shape[1] < 2) continue;
      int64_t rest = 1;
      for (size_t d = 2; d < v.rank(); ++d) rest *= v.shape[d];
      if (rest != 1) continue;
      class_out = static_cast<int>(o);
      return;
    }
  }

  static std::vector<int64_t> argmax_rows(const Value& v) {
    std::vector<int64_t> r;
    const int64_t rows = v.shape[0], c = v.numel() / std::max<int64_t>(rows, 1);
    const float* x = v.f32();
    for (int64_t i = 0; i < rows; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (x[i * c + k] > x[i * c + best]) best = k;  // first maximum on ties
      r.push_back(best);
    }
    return r;
  }

  static int64_t agree(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    int64_t n = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) n += a[i] == b[i];
    return n;
  }

  // All weights and activation quantizers under `opt`.
  RunOptions all_quant(const AnalysisOptions& opt) {
    RunOptions ro;
    for (size_t l = 0; l < layers.size(); ++l) {
      FakeQuant f;
      if (weight_fq(l, opt, f, nullptr)) ro.fake_quant[layers[l].weight] = f;
      if (act_fq(l, opt, f, nullptr, nullptr, nullptr)) ro.fake_quant[points[l]] = f;
    }
    return ro;
  }
};

LayerAnalyzer::LayerAnalyzer(const Graph& g, const CalibrationSet& data) : impl_(new Impl(g, data)) {}
LayerAnalyzer::~LayerAnalyzer() = default;
const std::vector<Layer>& LayerAnalyzer::layers() const { return impl_->layers; }
const std::vector<std::string>& LayerAnalyzer::act_points() const { return impl_->points; }

bool LayerAnalyzer::weight_quantizer(size_t layer, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc) {
  return impl_->weight_fq(layer, opt, fq, desc);
}

bool LayerAnalyzer::act_quantizer(size_t layer, const AnalysisOptions& opt, FakeQuant& fq, std::string* desc,
                                  double* lo, double* hi) {
  Impl& m = *impl_;
  if (!m.cal.done) {
      m.calibrate(opt, {}, Clock::now());
  }
  return m.act_fq(layer, opt, fq, desc, lo, hi);
}

const std::vector<float>& LayerAnalyzer::act_values(size_t layer, const AnalysisOptions& opt, RangeStats* stats) {
  Impl& m = *impl_;
  if (layer >= m.layers.size()) throw Error("analysis: layer index " + std::to_string(layer) + " out of range");
  if (!m.cal.done) m.calibrate(opt, {}, Clock::now());
  if (stats) *stats = m.cal.st[layer];
  return m.cal.sub[layer];
}

AnalysisReport LayerAnalyzer::analyse(const AnalysisOptions& opt, const AnalysisCallback& progress) {
  analysis_options_validate(opt);
  Impl& m = *impl_;
  for (const auto& kv : opt.overrides) {
    bool found = false;
    for (const auto& l : m.layers) found |= l.name == kv.first;
    if (!found) throw Error("options.overrides: '" + kv.first + "' is not a quantizable layer of this model");
  }
  const auto t0 = Clock::now();
  m.cost = 0;
  m.nodes_run = 0;
  m.max_cache_bytes = 0;
  m.trim_kept(opt.cache_budget_bytes);
  if (opt.quantize_activations) m.calibrate(opt, progress, t0);

  const size_t L = m.layers.size(), no = m.outputs.size(), ns = m.data.samples.size();
  AnalysisReport rep;
  rep.options = opt;
  rep.outputs = m.outputs;
  rep.data_source = m.data.source;
  rep.layers.resize(L);

  // Quantizers per layer and which layers need runs.
  struct Plan {
    bool has_w = false, has_a = false, run = false;
    FakeQuant w, a;
    std::string key;
    double est = 0;  // estimated suffix cost (share of the graph's nodes downstream)
  };
  std::vector<Plan> plan(L);
  const double total_nodes = static_cast<double>(std::max<size_t>(m.g.nodes.size(), 1));
  double est_total = 2;  // fp32 cache + all-quantized run, per sample
  for (size_t l = 0; l < L; ++l) {
    LayerResult& r = rep.layers[l];
    r.layer = m.layers[l];
    r.act_point = m.points[l];
    r.skipped = m.skipped(l, opt, &r.skip_reason);
    Plan& p = plan[l];
    p.has_w = m.weight_fq(l, opt, p.w, &r.weight_config);
    p.has_a = m.act_fq(l, opt, p.a, &r.act_config, &r.act_lo, &r.act_hi);
    if (!p.has_w && !p.has_a) {
      if (!r.skipped && r.skip_reason.empty()) r.skip_reason = "nothing to quantize";
      r.skipped = true;
      continue;
    }
    p.key = std::to_string(l) + "|" + std::to_string(opt.variants) + "|" + (p.has_w ? Impl::fq_key(p.w) : "-") + "|" +
            (p.has_a ? Impl::fq_key(p.a) : "-");
    p.run = !m.cache.count(p.key);
    if (p.run) {
      std::set<std::string> ch;
      if (p.has_w) ch.insert(m.layers[l].weight);
      if (p.has_a) ch.insert(m.points[l]);
      const int variants = (p.has_w && p.has_a && opt.variants) ? 3 : 1;
      p.est = variants * static_cast<double>(m.fp.downstream_nodes(ch).size()) / total_nodes;
      est_total += p.est;  // per sample
    }
  }

  // Accumulators (committed per sample so a cancel keeps whole samples only).
  struct Acc {
    std::vector<double> w, a, wa;
    double local = 0, agree = 0, cost = 0;
    int64_t rows = 0;
  };
  std::vector<Acc> acc(L), pend(L);
  for (auto* v : {&acc, &pend})
    for (auto& a : *v) a.w.assign(no, 0), a.a.assign(no, 0), a.wa.assign(no, 0);
  std::vector<double> signal(no, 0), all_noise(no, 0), p_signal(no, 0), p_all(no, 0);
  std::vector<double> cum_noise(L, 0), cum_sig(L, 0), p_cum_noise(L, 0), p_cum_sig(L, 0), loc_sig(L, 0), p_loc_sig(L, 0);
  int64_t rows = 0, p_rows = 0, agree_all = 0, p_agree_all = 0, ok_fp = 0, p_ok_fp = 0, ok_q = 0, p_ok_q = 0;
  const bool have_labels = !m.data.labels.empty();

  const RunOptions ro_all = m.all_quant(opt);
  RunOptions ro_all_cap = ro_all;
  for (size_t l = 0; l < L; ++l)
    if (!m.points[l].empty()) ro_all_cap.capture.insert(m.points[l]);

  double done_units = 0;
  double job_units = est_total * static_cast<double>(ns);
  for (size_t s = 0; s < ns; ++s)
    if (s < m.kept.size() && !m.kept[s].empty()) job_units -= 1;  // no fp32 pass for this sample
  int samples_done = 0;
  bool cancelled = false;
  int64_t label_pos = 0;

  for (size_t s = 0; s < ns && !cancelled; ++s) {
    for (auto& p : pend) {
      std::fill(p.w.begin(), p.w.end(), 0);
      std::fill(p.a.begin(), p.a.end(), 0);
      std::fill(p.wa.begin(), p.wa.end(), 0);
      p.local = p.agree = p.cost = 0;
      p.rows = 0;
    }
    std::fill(p_signal.begin(), p_signal.end(), 0);
    std::fill(p_all.begin(), p_all.end(), 0);
    std::fill(p_cum_noise.begin(), p_cum_noise.end(), 0);
    std::fill(p_cum_sig.begin(), p_cum_sig.end(), 0);
    std::fill(p_loc_sig.begin(), p_loc_sig.end(), 0);
    p_rows = p_agree_all = p_ok_fp = p_ok_q = 0;

    bool fresh = false;
    const std::map<std::string, Value> cache = m.sample_cache(s, opt.cache_budget_bytes, &fresh);
    m.find_class_output(cache);
    std::vector<int64_t> top_fp;
    if (m.class_out >= 0) {
      top_fp = Impl::argmax_rows(cache.at(m.outputs[static_cast<size_t>(m.class_out)]));
      p_rows = static_cast<int64_t>(top_fp.size());
      if (have_labels) {
        if (label_pos + p_rows > static_cast<int64_t>(m.data.labels.size()))
          throw Error("analysis: the calibration set has " + std::to_string(m.data.labels.size()) +
                      " labels, fewer than its rows");
        for (int64_t i = 0; i < p_rows; ++i) p_ok_fp += top_fp[static_cast<size_t>(i)] == m.data.labels[static_cast<size_t>(label_pos + i)];
      }
    }
    for (size_t o = 0; o < no; ++o) p_signal[o] = power(cache.at(m.outputs[o]));
    for (size_t l = 0; l < L; ++l)
      if (!m.points[l].empty()) p_loc_sig[l] = power(cache.at(m.points[l]));
    done_units += fresh ? 1 : 0;

    size_t layer_i = 0;
    for (size_t l = 0; l < L && !cancelled; ++l) {
      const Plan& p = plan[l];
      if (!p.run) continue;
      Acc& a = pend[l];
      // `after_w`: the weights-and-activations run starts from the weight-only run's values, re-quantizing its
      // (unquantized) act point, so the layer itself and what lies between it and its act point run once, not twice.
      // Activation-only runs re-quantize the cached act point: the layer does not run at all. Same numbers as
      // running each from the fp32 cache with both quantizers: the kernels are deterministic.
      struct V { bool w, a; std::vector<double>* dst; bool main, after_w; };
      std::vector<V> vs;
      if (p.has_w && p.has_a) {
        if (opt.variants) vs = {{false, true, &a.a, false, false}, {true, false, &a.w, false, false}};
        vs.push_back({true, true, &a.wa, true, opt.variants});
      } else if (p.has_w) {
        vs = {{true, false, &a.w, true, false}};
      } else {
        vs = {{false, true, &a.a, true, false}};
      }
      std::map<std::string, Value> w_cache;  // fp32 cache overlaid with the weight-only run's values
      for (const V& v : vs) {
        RunOptions ro;
        ro.requant_cached = true;
        // Exact: a quantizer that leaves a value bit for bit as it was changes nothing downstream of it.
        ro.skip_unchanged = true;
        if (!m.points[l].empty()) ro.capture.insert(m.points[l]);
        std::set<std::string> changed;
        if (v.w) {
          ro.fake_quant[m.layers[l].weight] = p.w;
          if (!v.after_w) changed.insert(m.layers[l].weight);
        }
        if (v.a) {
          ro.fake_quant[m.points[l]] = p.a;
          changed.insert(m.points[l]);
        }
        const auto res = m.fp.run_from(v.after_w ? w_cache : cache, changed, ro);
        if (v.w && !v.a && opt.variants && p.has_a) {
          w_cache = cache;
          for (const auto& kv : res) w_cache[kv.first] = kv.second;
        }
        const double c0 = m.cost;
        m.account(m.fp);
        a.cost += m.cost - c0;
        for (size_t o = 0; o < no; ++o) diff_power(res.at(m.outputs[o]), cache.at(m.outputs[o]), &(*v.dst)[o], nullptr);
        if (v.main) {
          if (!m.points[l].empty()) diff_power(res.at(m.points[l]), cache.at(m.points[l]), &a.local, nullptr);
          if (m.class_out >= 0) {
            a.agree += static_cast<double>(
                Impl::agree(Impl::argmax_rows(res.at(m.outputs[static_cast<size_t>(m.class_out)])), top_fp));
            a.rows += static_cast<int64_t>(top_fp.size());
          }
        }
      }
      if (!(p.has_w && p.has_a)) a.wa = p.has_w ? a.w : a.a;
      w_cache.clear();
      done_units += p.est;
      ++layer_i;
      if (progress) {
        AnalysisProgress pr;
        pr.stage = "analyse";
        pr.sample = static_cast<int>(s);
        pr.samples = static_cast<int>(ns);
        pr.layer = static_cast<int>(layer_i);
        pr.layers = static_cast<int>(L);
        pr.fraction = std::min(1.0, done_units / job_units);
        pr.elapsed_ms = ms_since(t0);
        pr.eta_ms = pr.fraction > 0 ? pr.elapsed_ms * (1 - pr.fraction) / pr.fraction : 0;
        if (!progress(pr)) cancelled = true;
      }
    }
    if (cancelled) break;

    // Every quantizer on: measured SNR, cumulative SNR at every activation point.
    const auto resq = m.q.run(m.data.samples[s], ro_all_cap);
    m.account(m.q);
    done_units += 1;
    for (size_t o = 0; o < no; ++o) diff_power(resq.at(m.outputs[o]), cache.at(m.outputs[o]), &p_all[o], nullptr);
    for (size_t l = 0; l < L; ++l)
      if (!m.points[l].empty()) diff_power(resq.at(m.points[l]), cache.at(m.points[l]), &p_cum_noise[l], nullptr);
    if (m.class_out >= 0) {
      const auto top_q = Impl::argmax_rows(resq.at(m.outputs[static_cast<size_t>(m.class_out)]));
      p_agree_all = Impl::agree(top_q, top_fp);
      if (have_labels)
        for (size_t i = 0; i < top_q.size(); ++i) p_ok_q += top_q[i] == m.data.labels[static_cast<size_t>(label_pos) + i];
    }

    // Commit the sample.
    for (size_t l = 0; l < L; ++l) {
      Acc& A = acc[l];
      const Acc& P = pend[l];
      for (size_t o = 0; o < no; ++o) A.w[o] += P.w[o], A.a[o] += P.a[o], A.wa[o] += P.wa[o];
      A.local += P.local;
      A.agree += P.agree;
      A.cost += P.cost;
      A.rows += P.rows;
      cum_noise[l] += p_cum_noise[l];
      cum_sig[l] += p_loc_sig[l];
      loc_sig[l] += p_loc_sig[l];
    }
    for (size_t o = 0; o < no; ++o) signal[o] += p_signal[o], all_noise[o] += p_all[o];
    rows += p_rows;
    agree_all += p_agree_all;
    ok_fp += p_ok_fp;
    ok_q += p_ok_q;
    label_pos += p_rows;
    ++samples_done;
  }
  if (samples_done == 0) throw Error("analysis cancelled");

  // Results per layer (cached ones from earlier analyses of the same configuration).
  const bool complete = !cancelled;
  double sum_nsr = 0, floor_per_sample = 2;  // + one fp32 and one all-quantized pass
  std::vector<double> pred_noise(no, 0);
  for (size_t l = 0; l < L; ++l) {
    LayerResult& r = rep.layers[l];
    const Plan& p = plan[l];
    if (r.skipped) {
      r.w = r.a = r.wa = m.make_stat(std::vector<double>(no, 0), signal);
      r.local_sqnr_db = r.gain_db = std::numeric_limits<double>::infinity();
    } else {
      Impl::Cached c;
      if (p.run) {
        const Acc& A = acc[l];
        c.w = m.make_stat(A.w, signal);
        c.a = m.make_stat(A.a, signal);
        c.wa = m.make_stat(A.wa, signal);
        c.local_noise = A.local;
        c.agree = A.agree;
        c.rows = A.rows;
        c.cost = A.cost;
        c.cost_per_sample = A.cost / samples_done;
        if (complete) m.cache[p.key] = c;
      } else {
        c = m.cache.at(p.key);
      }
      r.w = c.w;
      r.a = c.a;
      r.wa = c.wa;
      if (!p.has_w) r.w = m.make_stat(std::vector<double>(no, 0), signal);
      if (!p.has_a) r.a = m.make_stat(std::vector<double>(no, 0), signal);
      r.local_sqnr_db = loc_sig[l] > 0 ? snr_from_nsr(c.local_noise / loc_sig[l]) : std::numeric_limits<double>::quiet_NaN();
      r.gain_db = r.local_sqnr_db - r.wa.snr_db;
      r.top1_agree = c.rows > 0 ? c.agree / static_cast<double>(c.rows) : -1;
      r.cost = p.run ? c.cost : 0;
      r.cost_per_sample = c.cost_per_sample;
      floor_per_sample += c.cost_per_sample;
      sum_nsr += r.wa.nsr;
      for (size_t o = 0; o < no; ++o) pred_noise[o] += r.wa.noise[o];
    }
    r.cumulative_snr_db = cum_sig[l] > 0 ? snr_from_nsr(cum_noise[l] / cum_sig[l]) : std::numeric_limits<double>::quiet_NaN();
  }
  for (size_t l = 0; l < L; ++l) {
    LayerResult& r = rep.layers[l];
    r.share = !r.skipped && sum_nsr > 0 ? r.wa.nsr / sum_nsr : 0;
  }
  rep.signal = signal;
  rep.all = m.make_stat(all_noise, signal);
  rep.snr_pred_db = snr_from_nsr(sum_nsr);
  rep.interaction_db = rep.snr_pred_db - rep.all.snr_db;
  for (size_t o = 0; o < no; ++o)
    rep.snr_pred_per_output.push_back(signal[o] > 0 ? snr_from_nsr(pred_noise[o] / signal[o]) : std::numeric_limits<double>::quiet_NaN());

  // Flags: low SNR, dominant share, gain outlier by a robust z-score (median and MAD of the finite gains).
  std::vector<double> gains;
  for (const auto& r : rep.layers)
    if (!r.skipped && std::isfinite(r.gain_db)) gains.push_back(r.gain_db);
  double med = 0, mad = 0;
  if (gains.size() >= 3) {
    std::vector<double> t = gains;
    std::sort(t.begin(), t.end());
    med = t.size() % 2 ? t[t.size() / 2] : (t[t.size() / 2 - 1] + t[t.size() / 2]) / 2;
    for (auto& v : t) v = std::fabs(v - med);
    std::sort(t.begin(), t.end());
    mad = t.size() % 2 ? t[t.size() / 2] : (t[t.size() / 2 - 1] + t[t.size() / 2]) / 2;
  }
  for (auto& r : rep.layers) {
    if (r.skipped) continue;
    if (r.wa.snr_db < opt.flag_snr_db) r.flags.push_back("low_snr");
    if (r.share > opt.flag_share) r.flags.push_back("dominant");
    if (mad > 0 && std::isfinite(r.gain_db) && 0.6745 * std::fabs(r.gain_db - med) / mad > opt.flag_gain_z)
      r.flags.push_back("gain_outlier");
  }

  if (m.class_out >= 0) {
    rep.class_output = m.outputs[static_cast<size_t>(m.class_out)];
    rep.rows = rows;
    rep.top1_agree = rows ? static_cast<double>(agree_all) / static_cast<double>(rows) : -1;
    if (have_labels && rows) {
      rep.accuracy_fp32 = static_cast<double>(ok_fp) / static_cast<double>(rows);
      rep.accuracy_quant = static_cast<double>(ok_q) / static_cast<double>(rows);
    }
  }
  rep.samples = samples_done;
  rep.cancelled = cancelled;
  rep.cost = m.cost;
  int64_t runs_per_sample = 2;
  for (size_t l = 0; l < L; ++l)
    if (!rep.layers[l].skipped) {
      const Plan& p = plan[l];
      runs_per_sample += (p.has_w && p.has_a && opt.variants) ? 3 : 1;
    }
  rep.layer_runs = runs_per_sample - 2;
  int64_t nq = 0;
  for (const auto& r : rep.layers) nq += !r.skipped;
  rep.naive_cost = static_cast<double>(runs_per_sample) * samples_done;
  rep.naive_wa_cost = static_cast<double>(nq + 1) * samples_done;
  rep.nodes_run = m.nodes_run;
  rep.nodes_per_pass = m.full_nodes;
  rep.full_pass_flops = m.full_flops;
  rep.cost_floor = floor_per_sample * samples_done;
  rep.cache_bytes = m.max_cache_bytes;
  rep.kept_bytes = m.kept_bytes;
  for (const auto& k : m.kept) rep.kept_samples += !k.empty();
  rep.elapsed_ms = ms_since(t0);
  return rep;
}

LayerAnalyzer::Measurement LayerAnalyzer::measure(const AnalysisOptions& opt) {
  analysis_options_validate(opt);
  Impl& m = *impl_;
  m.cost = 0;
  if (opt.quantize_activations) m.calibrate(opt, {}, Clock::now());
  const size_t no = m.outputs.size(), ns = m.data.samples.size();
  const RunOptions ro = m.all_quant(opt);
  std::vector<double> noise(no, 0), signal(no, 0);
  int64_t rows = 0, agree = 0, ok = 0, pos = 0;
  m.trim_kept(opt.cache_budget_bytes);
  auto is_kept = [&](size_t s) { return s < m.kept.size() && !m.kept[s].empty(); };
  bool all_kept = true;
  for (size_t s = 0; s < ns; ++s) all_kept &= is_kept(s);
  if (!m.fp_outputs_ok && !all_kept) {
    // Keep the fp32 outputs when they are small (the fix search and the bit allocation score many configurations).
    int64_t bytes = 0;
    std::vector<std::map<std::string, Value>> keep;
    for (size_t s = 0; s < ns; ++s) {
      auto y = m.fp.run(m.data.samples[s]);
      m.note_full_pass(m.fp);
      m.account(m.fp);
      std::map<std::string, Value> own;
      for (const auto& o : m.outputs) {
        own[o] = value_clone(y.at(o));
        bytes += static_cast<int64_t>(own[o].bytes());
      }
      if (bytes > (int64_t{256} << 20)) break;
      keep.push_back(std::move(own));
    }
    if (keep.size() == ns) {
      m.fp_outputs = std::move(keep);
      m.fp_outputs_ok = true;
    }
  }
  for (size_t s = 0; s < ns; ++s) {
    std::map<std::string, Value> y;
    if (is_kept(s)) {
      y = m.kept[s];
    } else if (m.fp_outputs_ok) {
      y = m.fp_outputs[s];
    } else {
      y = m.fp.run(m.data.samples[s]);
      m.note_full_pass(m.fp);
      m.account(m.fp);
    }
    m.find_class_output(y);
    const auto yq = m.q.run(m.data.samples[s], ro);
    m.account(m.q);
    for (size_t o = 0; o < no; ++o) diff_power(yq.at(m.outputs[o]), y.at(m.outputs[o]), &noise[o], &signal[o]);
    if (m.class_out >= 0) {
      const auto a = Impl::argmax_rows(y.at(m.outputs[static_cast<size_t>(m.class_out)]));
      const auto b = Impl::argmax_rows(yq.at(m.outputs[static_cast<size_t>(m.class_out)]));
      agree += Impl::agree(a, b);
      if (!m.data.labels.empty())
        for (size_t i = 0; i < b.size(); ++i)
          ok += static_cast<size_t>(pos) + i < m.data.labels.size() && b[i] == m.data.labels[static_cast<size_t>(pos) + i];
      rows += static_cast<int64_t>(a.size());
      pos += static_cast<int64_t>(a.size());
    }
  }
  Measurement r;
  r.all = m.make_stat(noise, signal);
  if (rows) {
    r.top1_agree = static_cast<double>(agree) / static_cast<double>(rows);
    if (!m.data.labels.empty()) r.accuracy = static_cast<double>(ok) / static_cast<double>(rows);
  }
  r.cost = m.cost;
  return r;
}

std::vector<std::vector<double>> LayerAnalyzer::weight_bit_sensitivity(const AnalysisOptions& opt,
                                                                       const std::vector<int>& bits,
                                                                       const AnalysisCallback& progress, double* cost) {
  analysis_options_validate(opt);
  Impl& m = *impl_;
  const auto t0 = Clock::now();
  m.cost = 0;
  const size_t L = m.layers.size(), no = m.outputs.size(), ns = m.data.samples.size();
  // Quantizers per layer and bit-width (weights only; activations stay fp32 here).
  std::vector<std::vector<FakeQuant>> fqs(L);
  AnalysisOptions o = opt;
  o.quantize_weights = true;
  for (size_t l = 0; l < L; ++l) {
    if (m.skipped(l, opt, nullptr)) continue;
    for (int b : bits) {
      AnalysisOptions ob = o;
      ob.weight.bits = b;
      auto it = ob.overrides.find(m.layers[l].name);
      if (it != ob.overrides.end() && it->second.has_weight) it->second.weight.bits = b;
      FakeQuant f;
      m.weight_fq(l, ob, f, nullptr);
      fqs[l].push_back(f);
    }
  }
  std::vector<std::vector<std::vector<double>>> noise(L, std::vector<std::vector<double>>(bits.size(), std::vector<double>(no, 0)));
  std::vector<double> signal(no, 0);
  const double total = static_cast<double>(ns * L);
  m.trim_kept(opt.cache_budget_bytes);
  for (size_t s = 0; s < ns; ++s) {
    const auto cache = m.sample_cache(s, opt.cache_budget_bytes);
    for (size_t o2 = 0; o2 < no; ++o2) signal[o2] += power(cache.at(m.outputs[o2]));
    for (size_t l = 0; l < L; ++l) {
      for (size_t k = 0; k < fqs[l].size(); ++k) {
        RunOptions ro;
        ro.skip_unchanged = true;
        ro.fake_quant[m.layers[l].weight] = fqs[l][k];
        const auto res = m.fp.run_from(cache, {m.layers[l].weight}, ro);
        m.account(m.fp);
        for (size_t o2 = 0; o2 < no; ++o2)
          diff_power(res.at(m.outputs[o2]), cache.at(m.outputs[o2]), &noise[l][k][o2], nullptr);
      }
      if (progress) {
        AnalysisProgress pr;
        pr.stage = "bits";
        pr.sample = static_cast<int>(s);
        pr.samples = static_cast<int>(ns);
        pr.layer = static_cast<int>(l + 1);
        pr.layers = static_cast<int>(L);
        pr.fraction = static_cast<double>(s * L + l + 1) / total;
        pr.elapsed_ms = ms_since(t0);
        pr.eta_ms = pr.elapsed_ms * (1 - pr.fraction) / pr.fraction;
        if (!progress(pr)) throw Error("analysis cancelled");
      }
    }
  }
  std::vector<std::vector<double>> out(L);
  for (size_t l = 0; l < L; ++l)
    for (size_t k = 0; k < fqs[l].size(); ++k) out[l].push_back(m.make_stat(noise[l][k], signal).nsr);
  if (cost) *cost = m.cost;
  return out;
}

AnalysisReport analyse_layers(const Graph& g, const CalibrationSet& data, const AnalysisOptions& opt,
                              const AnalysisCallback& progress) {
  LayerAnalyzer a(g, data);
  return a.analyse(opt, progress);
}

}  // namespace qp
