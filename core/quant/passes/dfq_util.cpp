// Internal helpers of the BN-fold, CLE and HBA passes (see dfq_util.h).
#include "core/quant/passes/dfq_util.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/ir/error.h"

namespace qp {
namespace dfq {

GraphIndex::GraphIndex(const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (const auto& in : n.inputs) {
      if (in.empty()) continue;
      consumers[in].push_back(i);
      if (g.weights.count(in)) ++weight_uses[in];
    }
    for (const auto& o : n.outputs)
      if (!o.empty()) producer[o] = i;
  }
  for (const auto& o : g.outputs) outputs.insert(o.name);
}

size_t GraphIndex::n_consumers(const std::string& v) const {
  auto it = consumers.find(v);
  // A node may read the same value twice (x*x): count distinct readers, which is what "several consumers" means.
  size_t n = 0;
  if (it != consumers.end()) {
    std::set<size_t> s(it->second.begin(), it->second.end());
    n = s.size();
  }
  return n + (outputs.count(v) ? 1 : 0);
}

bool is_weighted_layer(const Node& n) { return n.op == Op::kConv || n.op == Op::kConvTranspose || n.op == Op::kGemm; }

bool layer_weight_channels(const Graph& g, const Node& n, WeightChannels& wc, std::string& reason) {
  const Tensor* w = n.inputs.size() > 1 && !n.inputs[1].empty() ? g.weight(n.inputs[1]) : nullptr;
  if (!w) {
    reason = "weight is not a constant";
    return false;
  }
  if (w->dtype != DType::kFloat32) {
    reason = "weight is " + dtype_name(w->dtype);
    return false;
  }
  const auto& d = w->dims;
  const int64_t numel = w->numel();
  wc.out_ch.assign(static_cast<size_t>(numel), 0);
  wc.in_ch.assign(static_cast<size_t>(numel), 0);
  if (n.op == Op::kConv || n.op == Op::kConvTranspose) {
    if (d.size() < 3) {
      reason = "weight has " + std::to_string(d.size()) + " dims";
      return false;
    }
    const int64_t g_ = n.attr_int("group", 1);
    int64_t k = 1;
    for (size_t i = 2; i < d.size(); ++i) k *= d[i];
    if (g_ < 1 || d[0] % (n.op == Op::kConv ? g_ : g_) != 0) {
      reason = "group does not divide the channels";
      return false;
    }
    wc.groups = g_;
    if (n.op == Op::kConv) {  // [M, C/g, k...]
      const int64_t m = d[0], cg = d[1], mg = m / g_;
      wc.out_channels = m;
      wc.in_channels = cg * g_;
      for (int64_t i = 0; i < numel; ++i) {
        const int64_t o = i / (cg * k), il = (i / k) % cg;
        wc.out_ch[static_cast<size_t>(i)] = static_cast<int32_t>(o);
        wc.in_ch[static_cast<size_t>(i)] = static_cast<int32_t>((o / mg) * cg + il);
      }
    } else {  // [C, M/g, k...]
      const int64_t c = d[0], mg = d[1], cg = c / g_;
      wc.out_channels = mg * g_;
      wc.in_channels = c;
      for (int64_t i = 0; i < numel; ++i) {
        const int64_t ci = i / (mg * k), j = (i / k) % mg;
        wc.out_ch[static_cast<size_t>(i)] = static_cast<int32_t>((ci / cg) * mg + j);
        wc.in_ch[static_cast<size_t>(i)] = static_cast<int32_t>(ci);
      }
    }
    return true;
  }
  if (n.op == Op::kGemm) {
    if (d.size() != 2) {
      reason = "Gemm weight has " + std::to_string(d.size()) + " dims";
      return false;
    }
    const bool tb = n.attr_int("transB", 0) != 0;
    wc.out_channels = tb ? d[0] : d[1];
    wc.in_channels = tb ? d[1] : d[0];
    for (int64_t i = 0; i < numel; ++i) {
      const int64_t r = i / d[1], c = i % d[1];
      wc.out_ch[static_cast<size_t>(i)] = static_cast<int32_t>(tb ? r : c);
      wc.in_ch[static_cast<size_t>(i)] = static_cast<int32_t>(tb ? c : r);
    }
    return true;
  }
  reason = n.op_type + " is not a Conv, ConvTranspose or Gemm";
  return false;
}

std::string fresh_name(const Graph& g, const std::string& base) {
  auto used = [&](const std::string& s) {
    if (g.weights.count(s)) return true;
    for (const auto& n : g.nodes)
      for (const auto& o : n.outputs)
        if (o == s) return true;
    for (const auto& i : g.inputs)
      if (i.name == s) return true;
    return false;
  };
  if (!used(base)) return base;
  for (int k = 1;; ++k) {
    const std::string s = base + "_" + std::to_string(k);
    if (!used(s)) return s;
  }
}

void note_changed(std::vector<std::string>& changed, const std::string& name) {
  for (const auto& c : changed)
    if (c == name) return;
  changed.push_back(name);
}

Tensor& writable_input(Graph& g, GraphIndex& ix, size_t ni, size_t slot, const std::string& pass,
                       std::vector<std::string>& changed) {
  Node& n = g.nodes[ni];
  const std::string name = n.inputs[slot];
  auto it = g.weights.find(name);
  if (it == g.weights.end()) throw Error(n.describe() + ": input '" + name + "' is not a weight");
  int uses = ix.weight_uses[name];
  if (uses > 1) {
    const std::string nn = fresh_name(g, name + "_" + pass);
    Tensor t = it->second;
    t.name = nn;
    t.source = TensorSource::kInitializer;
    g.weights[nn] = std::move(t);
    n.inputs[slot] = nn;
    --ix.weight_uses[name];
    ix.weight_uses[nn] = 1;
    note_changed(changed, nn);
    return g.weights[nn];
  }
  note_changed(changed, name);
  return it->second;
}

bool read_bias(const Graph& g, const Node& n, int64_t channels, std::vector<double>& bias) {
  bias.clear();
  if (n.inputs.size() < 3 || n.inputs[2].empty()) return true;
  const Tensor* b = g.weight(n.inputs[2]);
  if (!b || b->dtype != DType::kFloat32) return false;
  const int64_t k = b->numel();
  if (n.op == Op::kGemm) {
    // C broadcasts against [rows, N]: per channel only as a scalar or [N] / [1, N].
    const bool ok = k == 1 || (k == channels && (b->dims.size() == 1 || (b->dims.size() == 2 && b->dims[0] == 1)));
    if (!ok) return false;
    const double beta = n.attr_float("beta", 1.0f);
    bias.resize(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) bias[static_cast<size_t>(c)] = beta * b->f32()[k == 1 ? 0 : c];
    return true;
  }
  if (k != channels) return false;
  bias.assign(b->f32(), b->f32() + k);
  return true;
}

float* writable_bias(Graph& g, GraphIndex& ix, size_t ni, int64_t channels, const std::string& pass,
                     std::vector<std::string>& changed, std::string& reason) {
  Node& n = g.nodes[ni];
  const bool has = n.inputs.size() >= 3 && !n.inputs[2].empty();
  if (!has) {
    if (n.op == Op::kGemm && n.inputs.size() < 2) {
      reason = "Gemm has no B";
      return nullptr;
    }
    const std::string nn = fresh_name(g, n.name + "_bias");
    g.weights[nn] = tensor_f32(nn, {channels}, std::vector<float>(static_cast<size_t>(channels), 0.0f));
    if (n.inputs.size() < 3) n.inputs.resize(3);
    n.inputs[2] = nn;
    ix.weight_uses[nn] = 1;
    note_changed(changed, nn);
    return g.weights[nn].f32_mut();
  }
  const Tensor* b = g.weight(n.inputs[2]);
  if (!b) {
    reason = "bias is not a constant";
    return nullptr;
  }
  std::vector<double> cur;
  if (!read_bias(g, n, channels, cur)) {
    reason = "bias is not one value per output channel";
    return nullptr;
  }
  Tensor& t = writable_input(g, ix, ni, 2, pass, changed);
  if (n.op == Op::kGemm) {
    // Widen to [N] with beta applied, so later per-channel edits are plain writes.
    t.dims = {channels};
    t.data.assign(static_cast<size_t>(channels) * 4, '\0');
    for (int64_t c = 0; c < channels; ++c) t.f32_mut()[c] = static_cast<float>(cur[static_cast<size_t>(c)]);
    for (auto& a : n.attrs)
      if (a.name == "beta") a.f = 1.0f;
  }
  return t.f32_mut();
}

CalibrationSet verification_random(const Graph& g, int samples, uint64_t seed) {
  RandomCalibration rc;
  rc.samples = samples;
  rc.seed = seed;
  for (const auto& in : g.inputs)
    for (size_t i = 0; i < in.shape.size(); ++i)
      if (!in.shape[i].known() && !in.shape[i].param.empty() && !rc.dims.count(in.shape[i].param))
        rc.dims[in.shape[i].param] = i == 0 ? 1 : 64;
  return calibration_random(g, rc);
}

std::vector<double> channel_extreme(const Value& v, int64_t channels, bool max) {
  if (v.dtype != DType::kFloat32 || v.rank() < 2 || v.shape[1] != channels) return {};
  std::vector<double> m(static_cast<size_t>(channels), max ? -INFINITY : INFINITY);
  int64_t inner = 1;
  for (size_t i = 2; i < v.rank(); ++i) inner *= v.shape[i];
  const float* p = v.f32();
  for (int64_t n = 0; n < v.shape[0]; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      double& e = m[static_cast<size_t>(c)];
      for (int64_t i = 0; i < inner; ++i) {
        const double x = p[(n * channels + c) * inner + i];
        e = max ? std::max(e, x) : std::min(e, x);
      }
    }
  return m;
}

void verify_into(const Graph& before, const Graph& after, const CalibrationSet* data, PassReport& rep) {
  try {
    rep.verification.push_back(verify_function(before, after, verification_random(before)));
  } catch (const std::exception& e) {
    rep.notes.push_back(std::string("verification on random inputs not run: ") + e.what());
  }
  if (data && !data->samples.empty()) {
    try {
      rep.verification.push_back(verify_function(before, after, *data));
    } catch (const std::exception& e) {
      rep.notes.push_back(std::string("verification on calibration data not run: ") + e.what());
    }
  }
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace dfq
}  // namespace qp
