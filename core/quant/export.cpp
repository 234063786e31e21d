// Fake-quant and QDQ exports, activation ranges from calibration data, encodings and export report JSON.
#include "core/quant/export.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/ir/error.h"
#include "core/quant/layers.h"
#include "core/quant/opset_upgrade.h"
#include "core/quant/report.h"

namespace qp {

using json = nlohmann::json;

namespace {

int bits_of(const ExportConfig& c, const std::string& layer) {
  auto it = c.layer_bits.find(layer);
  return it != c.layer_bits.end() ? it->second : c.default_bits;
}

QuantSpec activation_spec(int bits) {
  QuantSpec s;
  s.bits = bits;
  s.scheme = Scheme::kAsymmetric;
  s.is_signed = false;
  s.range_mode = RangeMode::kFull;
  return s;
}

QuantSpec weight_spec(const ExportConfig& c, int bits) {
  QuantSpec s;
  s.bits = bits;
  s.scheme = c.scheme;
  s.is_signed = c.scheme == Scheme::kSymmetric;  // as the sweep: asymmetric weights use the unsigned grid
  s.range_mode = c.range_mode;
  return s;
}

// The tensor a layer reads its activation from: the first non-empty input that is not a weight.
std::string activation_input(const Graph& g, const Node& n, const Layer& l) {
  const size_t limit = n.op == Op::kConv || n.op == Op::kConvTranspose ? 1 : 2;
  for (size_t i = 0; i < std::min(limit, n.inputs.size()); ++i)
    if (!n.inputs[i].empty() && n.inputs[i] != l.weight && !g.weight(n.inputs[i])) return n.inputs[i];
  return "";
}

const Node* node_named(const Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// Quantizes one weight: params per tensor or per channel, integer codes and dequantized values.
struct WeightCodes {
  std::vector<int32_t> codes;
  std::vector<float> dequant;
};

WeightCodes quantize_weight(const Tensor& w, LayerExport& le, const ExportConfig& c) {
  const int64_t numel = w.numel();
  int64_t channels = 1, inner = numel;
  if (le.granularity == Granularity::kChannel) {
    ChannelView v = channel_view(w, le.axis);
    channels = v.channels;
    le.params.clear();
    for (int64_t ch = 0; ch < channels; ++ch) {
      const float* x = v.data + ch * v.inner;
      const RangeStats st = range_stats(x, static_cast<size_t>(v.inner), c.weight_range.method == RangeMethod::kAciq);
      const auto r = range_select(x, static_cast<size_t>(v.inner), st, le.spec, c.weight_range);
      le.params.push_back(quant_params(le.spec, r.first, r.second));
    }
    inner = 1;
    for (size_t i = static_cast<size_t>(le.axis) + 1; i < w.dims.size(); ++i) inner *= w.dims[i];
  } else {
    const RangeStats st = range_stats(w.f32(), static_cast<size_t>(numel), c.weight_range.method == RangeMethod::kAciq);
    const auto r = range_select(w.f32(), static_cast<size_t>(numel), st, le.spec, c.weight_range);
    le.params = {quant_params(le.spec, r.first, r.second)};
  }
  WeightCodes out;
  out.codes.resize(static_cast<size_t>(numel));
  out.dequant.resize(static_cast<size_t>(numel));
  const float* x = w.f32();
  double sig = 0, err = 0;
  for (int64_t i = 0; i < numel; ++i) {
    const QParams& p = le.params[static_cast<size_t>(channels == 1 ? 0 : (i / inner) % channels)];
    // As QuantizeLinear: x / scale, round half to even, add the zero point, saturate (in double: no overflow).
    const double q = std::clamp(std::nearbyint(static_cast<double>(x[i]) / p.scale) + p.zero_point,
                                static_cast<double>(p.qmin), static_cast<double>(p.qmax));
    out.codes[static_cast<size_t>(i)] = static_cast<int32_t>(q);
    // As DequantizeLinear: (q - zero_point) * scale in float32, so the fake-quant weights equal what a runtime
    // computes from the QDQ model bit for bit.
    const float d = static_cast<float>(q - p.zero_point) * p.scale;
    out.dequant[static_cast<size_t>(i)] = d;
    sig += static_cast<double>(x[i]) * x[i];
    err += (static_cast<double>(d) - x[i]) * (static_cast<double>(d) - x[i]);
  }
  le.sqnr_db = sqnr_db(sig, err);
  return out;
}

struct Plan {
  std::vector<LayerExport> layers;
  Graph graph;  // the input graph, opset-upgraded for QDQ
  ExportReport report;
  bool int4 = false;
};

bool has_non_finite(const Tensor& w) {
  const float* x = w.f32();
  for (int64_t i = 0, n = w.numel(); i < n; ++i)
    if (!std::isfinite(x[i])) return true;
  return false;
}

// Decides every layer's quantizer and, for QDQ, the opset: 10 for QDQ at all, 13 for per-axis weights, 21 for
// int4. Each step down is reported; failing 10 is an error.
Plan make_plan(const Graph& g, const ExportConfig& c, bool qdq) {
  export_config_validate(c, g);
  Plan plan;
  ExportReport& rep = plan.report;
  rep.format = qdq ? "qdq" : "fake_quant";
  rep.opset_before = rep.opset_after = g.opset("");
  rep.ir_before = rep.ir_after = g.ir_version;
  std::map<std::string, std::string> weight_owner;
  bool any = false, low_bits = false;
  for (const Layer& l : find_layers(g)) {
    LayerExport le;
    le.layer = l.name;
    le.op_type = l.op_type;
    le.weight = l.weight;
    le.bits = bits_of(c, l.name);
    le.axis = l.channel_axis;
    const Tensor* w = g.weight(l.weight);
    if (!l.skip.empty()) le.skip = l.skip;
    else if (le.bits == 0) le.skip = "kept float32 (bits 0)";
    else if (w->stored_dtype != DType::kFloat32 && w->stored_dtype != DType::kUndefined)
      le.skip = "weight is stored as " + dtype_name(w->stored_dtype) + "; only float32 weights are quantized";
    else if (weight_owner.count(l.weight))
      le.skip = "weight shared with layer '" + weight_owner[l.weight] + "', quantized there";
    else if (has_non_finite(*w))
      le.skip = "weight holds NaN or Inf; not quantized";
    if (!le.skip.empty()) {
      le.bits = le.skip.rfind("weight shared", 0) == 0 ? le.bits : 0;
    } else {
      weight_owner[l.weight] = l.name;
      le.spec = weight_spec(c, le.bits);
      any = true;
      low_bits |= le.bits <= 4;
    }
    plan.layers.push_back(std::move(le));
  }
  const bool want_channel = any && c.granularity == Granularity::kChannel;
  bool want_int4 = any && low_bits && c.allow_int4 && qdq;
  Granularity gran = c.granularity;
  plan.graph = g;
  if (qdq && (any || c.activation_bits > 0)) {
    const int64_t have = g.opset("");
    auto attempt = [&](int64_t target) {
      if (have >= target) return true;
      if (!c.allow_opset_upgrade) {
        rep.opset_blockers.push_back("opset " + std::to_string(target) + " needed, upgrade not allowed");
        return false;
      }
      Graph work = g;
      OpsetUpgrade up = opset_upgrade(work, target);
      if (!up.ok) {
        for (const auto& b : up.blockers) rep.opset_blockers.push_back("to opset " + std::to_string(target) + ": " + b);
        return false;
      }
      plan.graph = std::move(work);
      rep.opset_rewrites = up.rewrites;
      return true;
    };
    bool done = false;
    if (want_int4) {
      done = attempt(21);
      if (!done) {
        want_int4 = false;
        rep.notes.push_back("4-bit weights are stored on an int8 grid (codes limited to the 4-bit range): the opset "
                            "could not be raised to 21 for int4");
      }
    }
    if (!done && want_channel) {
      done = attempt(13);
      if (!done) {
        gran = Granularity::kTensor;
        rep.notes.push_back("weights are quantized per tensor: per-axis DequantizeLinear needs opset 13, which this "
                            "model could not be raised to");
      }
    }
    // Opset 11, not 10: onnxruntime's optimizer (level 'all') quantizes biases of QDQ groups with a Round node,
    // which opset 10 lacks, and then refuses the model. 10 is the fallback when 11 cannot be reached.
    if (!done) {
      if (attempt(11)) {
        done = true;
      } else if (have >= 10 || attempt(10)) {
        done = true;
        rep.notes.push_back("opset 10: onnxruntime's graph optimizer may refuse this QDQ model (it inserts Round, "
                            "an opset-11 op); run it with optimizations disabled");
      }
    }
    if (!done) {
      std::string msg = "cannot export QDQ: QuantizeLinear/DequantizeLinear need opset 10, the model has opset " +
                        std::to_string(have) + " and cannot be raised";
      for (const auto& b : rep.opset_blockers) msg += "; " + b;
      throw Error(msg);
    }
    rep.opset_after = plan.graph.opset("");
    rep.ir_after = plan.graph.ir_version;
  }
  plan.int4 = want_int4;
  if (any && low_bits && qdq) rep.int4_storage = want_int4 ? "int4" : "int8_grid";
  rep.granularity = gran;
  for (auto& le : plan.layers) {
    le.granularity = gran;
    if (gran == Granularity::kTensor) le.axis = -1;
  }
  return plan;
}

std::string pack_codes(const std::vector<int32_t>& codes, DType t) {
  if (t == DType::kInt4 || t == DType::kUint4) {  // two per byte, first element in the low nibble
    std::string out((codes.size() + 1) / 2, '\0');
    for (size_t i = 0; i < codes.size(); ++i) {
      const uint8_t nib = static_cast<uint8_t>(codes[i]) & 0x0f;
      out[i / 2] = static_cast<char>(static_cast<uint8_t>(out[i / 2]) | (i % 2 ? nib << 4 : nib));
    }
    return out;
  }
  std::string out(codes.size(), '\0');
  for (size_t i = 0; i < codes.size(); ++i) out[i] = static_cast<char>(static_cast<uint8_t>(codes[i]));
  return out;
}

void rewire(Graph& g, const std::string& from, const std::string& to, const Node* except,
            std::vector<std::string>* consumers) {
  for (auto& n : g.nodes) {
    if (&n == except) continue;
    bool hit = false;
    for (auto& in : n.inputs)
      if (in == from) {
        in = to;
        hit = true;
      }
    if (hit && consumers) consumers->push_back(n.name);
  }
}

}  // namespace

// --------------------------------------------------------------------------------------------------------------

std::vector<std::string> activation_tensors(const Graph& g, const std::map<std::string, int>& layer_bits,
                                            int default_bits) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& v : g.inputs)
    if (v.dtype == DType::kFloat32 && seen.insert(v.name).second) out.push_back(v.name);
  for (const Layer& l : find_layers(g)) {
    auto it = layer_bits.find(l.name);
    if (!l.skip.empty() || (it != layer_bits.end() ? it->second : default_bits) == 0) continue;
    const Node* n = node_named(g, l.name);
    const std::string a = n ? activation_input(g, *n, l) : "";
    if (!a.empty() && seen.insert(a).second) out.push_back(a);
  }
  return out;
}

ActivationRanges activation_ranges(const Graph& g, const CalibrationSet& data, const std::vector<std::string>& tensors,
                                   const RangeOptions& method, int bits) {
  if (data.samples.empty()) throw Error("activation ranges: the calibration set has no samples");
  const QuantSpec spec = activation_spec(bits);
  Executor ex(g);
  ex.check_runnable();
  RunOptions opt;
  std::set<std::string> inputs;
  for (const auto& v : g.inputs) inputs.insert(v.name);
  for (const auto& t : tensors)
    if (!inputs.count(t)) opt.capture.insert(t);
  const bool gather = method.method != RangeMethod::kMinMax;
  std::map<std::string, std::vector<float>> all;
  ActivationRanges out;
  for (size_t si = 0; si < data.samples.size(); ++si) {
    const Sample& s = data.samples[si];
    const auto res = ex.run(s, opt);
    for (const auto& t : tensors) {
      const Value* v = nullptr;
      auto is = s.find(t);
      if (is != s.end()) v = &is->second;
      auto ir = res.find(t);
      if (!v && ir != res.end()) v = &ir->second;
      if (!v) throw Error("activation ranges: tensor '" + t + "' was not produced by the run");
      if (v->dtype != DType::kFloat32)
        throw Error("activation ranges: tensor '" + t + "' is " + v->describe() + ", only float32 is quantized");
      ActivationRange& r = out[t];
      const float* x = v->f32();
      for (int64_t i = 0, n = v->numel(); i < n; ++i) {
        if (!std::isfinite(x[i])) {
          ++r.non_finite;
          continue;
        }
        if (r.count == 0) r.observed_min = r.observed_max = x[i];
        r.observed_min = std::min<double>(r.observed_min, x[i]);
        r.observed_max = std::max<double>(r.observed_max, x[i]);
        ++r.count;
        if (gather) all[t].push_back(x[i]);
      }
    }
  }
  for (auto& kv : out) {
    ActivationRange& r = kv.second;
    r.min = r.observed_min;
    r.max = r.observed_max;
    if (gather && !all[kv.first].empty()) {
      const auto& x = all[kv.first];
      const RangeStats st = range_stats(x.data(), x.size(), method.method == RangeMethod::kAciq);
      const auto sel = range_select(x.data(), x.size(), st, spec, method);
      r.min = sel.first;
      r.max = sel.second;
    }
  }
  return out;
}

void export_config_validate(const ExportConfig& c, const Graph& g) {
  auto check_bits = [](int b, const std::string& field) {
    if (b != 0 && (b < 2 || b > 8))
      throw Error("export config: " + field + " = " + std::to_string(b) + " is outside 2..8 (0 keeps float32)");
  };
  check_bits(c.default_bits, "bits");
  if (c.activation_bits != 0 && c.activation_bits != 8)
    throw Error("export config: activation_bits = " + std::to_string(c.activation_bits) +
                " is not supported (8, or 0 for weights only)");
  if (!c.layer_bits.empty()) {
    std::set<std::string> names;
    for (const Layer& l : find_layers(g)) names.insert(l.name);
    for (const auto& kv : c.layer_bits) {
      if (!names.count(kv.first))
        throw Error("export config: layer_bits names '" + kv.first + "', which is not a quantizable layer of the model");
      check_bits(kv.second, "layer_bits['" + kv.first + "']");
    }
  }
}

ExportConfig export_config_from_json(const std::string& text) {
  ExportConfig c;
  json o;
  try {
    o = text.empty() ? json::object() : json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string("options: not valid JSON (") + e.what() + ")");
  }
  if (o.is_null()) o = json::object();
  if (!o.is_object()) throw Error("options: expected an object, got " + o.dump());
  auto bad = [](const std::string& f, const std::string& what) -> Error { return Error("options." + f + ": " + what); };
  auto get_int = [&](const json& v, const std::string& f) {
    if (!v.is_number_integer()) throw bad(f, "expected an integer, got " + v.dump());
    return static_cast<int>(std::max<int64_t>(-1, std::min<int64_t>(v.get<int64_t>(), 1000)));
  };
  auto get_str = [&](const char* f) {
    if (!o[f].is_string()) throw bad(f, "expected a string, got " + o[f].dump());
    return o[f].get<std::string>();
  };
  auto get_bool = [&](const char* f) {
    if (!o[f].is_boolean()) throw bad(f, "expected true or false, got " + o[f].dump());
    return o[f].get<bool>();
  };
  for (auto it = o.begin(); it != o.end(); ++it) {
    const std::string& k = it.key();
    if (k == "bits") c.default_bits = get_int(it.value(), k);
    else if (k == "activation_bits") c.activation_bits = get_int(it.value(), k);
    else if (k == "layer_bits") {
      if (!it.value().is_object()) throw bad(k, "expected an object {layer: bits}, got " + it.value().dump());
      for (auto l = it.value().begin(); l != it.value().end(); ++l)
        c.layer_bits[l.key()] = get_int(l.value(), "layer_bits['" + l.key() + "']");
    } else if (k == "scheme") {
      const std::string s = get_str("scheme");
      if (s == "sym") c.scheme = Scheme::kSymmetric;
      else if (s == "asym") c.scheme = Scheme::kAsymmetric;
      else throw bad(k, "'" + s + "' is not one of sym, asym");
    } else if (k == "granularity") {
      const std::string s = get_str("granularity");
      if (s == "tensor") c.granularity = Granularity::kTensor;
      else if (s == "channel") c.granularity = Granularity::kChannel;
      else throw bad(k, "'" + s + "' is not one of tensor, channel");
    } else if (k == "range_mode") {
      const std::string s = get_str("range_mode");
      if (s == "restricted") c.range_mode = RangeMode::kRestricted;
      else if (s == "full") c.range_mode = RangeMode::kFull;
      else throw bad(k, "'" + s + "' is not one of restricted, full");
    } else if (k == "range") {
      try {
        c.weight_range = range_options_parse(get_str("range"));
      } catch (const Error& e) {
        throw bad(k, e.what());
      }
    } else if (k == "allow_int4") c.allow_int4 = get_bool("allow_int4");
    else if (k == "allow_opset_upgrade") c.allow_opset_upgrade = get_bool("allow_opset_upgrade");
    else throw bad(k, "unknown field");
  }
  return c;
}

Graph export_fake_quant(const Graph& g, const ExportConfig& c, ExportReport* report) {
  Plan plan = make_plan(g, c, false);
  // The granularity decision is the QDQ export's, so both exports hold the same weights.
  if (c.granularity == Granularity::kChannel) {
    try {
      const Plan q = make_plan(g, c, true);
      for (size_t i = 0; i < plan.layers.size(); ++i) {
        plan.layers[i].granularity = q.layers[i].granularity;
        plan.layers[i].axis = q.layers[i].axis;
      }
      plan.report.granularity = q.report.granularity;
      for (const auto& n : q.report.notes)
        if (n.find("per tensor") != std::string::npos) plan.report.notes.push_back(n);
    } catch (const Error&) {
      // No QDQ form possible (opset < 10 that cannot be raised): the fake-quant model keeps the requested granularity.
    }
  }
  Graph out = g;
  for (auto& le : plan.layers) {
    if (!le.skip.empty()) continue;
    Tensor& w = out.weights.at(le.weight);
    const WeightCodes codes = quantize_weight(w, le, c);
    w.data.assign(reinterpret_cast<const char*>(codes.dequant.data()), codes.dequant.size() * 4);
  }
  if (report) {
    *report = std::move(plan.report);
    report->layers = std::move(plan.layers);
  }
  return out;
}

Graph export_qdq(const Graph& g, const ExportConfig& c, const ActivationRanges& ranges, ExportReport* report) {
  Plan plan = make_plan(g, c, true);
  Graph& out = plan.graph;
  ExportReport& rep = plan.report;
  GraphNames names(out);
  std::vector<Node> dq_nodes;

  for (auto& le : plan.layers) {
    if (!le.skip.empty()) continue;
    const Tensor w = out.weights.at(le.weight);
    const WeightCodes codes = quantize_weight(w, le, c);
    const bool sym = le.spec.is_signed;
    DType storage = sym ? DType::kInt8 : DType::kUint8;
    if (plan.int4 && le.bits <= 4) storage = sym ? DType::kInt4 : DType::kUint4;
    le.storage = storage;
    const bool per_axis = le.granularity == Granularity::kChannel;
    std::vector<int64_t> pdims;
    if (per_axis) pdims = {static_cast<int64_t>(le.params.size())};
    std::string scales, zps;
    std::vector<int32_t> zp_codes;
    for (const auto& p : le.params) {
      scales.append(reinterpret_cast<const char*>(&p.scale), 4);
      zp_codes.push_back(static_cast<int32_t>(p.zero_point));
    }
    const std::string qn = names.fresh(le.weight + "_quantized"), sn = names.fresh(le.weight + "_scale"),
                      zn = names.fresh(le.weight + "_zero_point"), dn = names.fresh(le.weight + "_dequantized");
    out.weights.emplace(qn, tensor_make(qn, storage, w.dims, pack_codes(codes.codes, storage)));
    out.weights.emplace(sn, tensor_make(sn, DType::kFloat32, pdims, scales));
    out.weights.emplace(zn, tensor_make(zn, storage, pdims, pack_codes(zp_codes, storage)));
    Node dq = node_make(names.fresh(le.weight + "_DequantizeLinear"), "DequantizeLinear", {qn, sn, zn}, {dn});
    if (per_axis) {
      Attribute a;
      a.name = "axis";
      a.type = AttrType::kInt;
      a.i = le.axis;
      dq.attrs.push_back(a);
    }
    rewire(out, le.weight, dn, nullptr, nullptr);
    bool still_used = false;
    for (const auto& o : out.outputs) still_used |= o.name == le.weight;
    if (!still_used) out.weights.erase(le.weight);
    dq_nodes.push_back(std::move(dq));
    ++rep.dequantize_nodes;
  }

  // Activation QDQ pairs, placed right after the producer (graph inputs: first).
  std::map<std::string, std::pair<Node, Node>> pairs;
  if (c.activation_bits > 0) {
    std::map<std::string, int> bits;
    for (const auto& le : plan.layers) bits[le.layer] = le.bits;  // shared weights keep their bits: quantized
    const QuantSpec spec = activation_spec(c.activation_bits);
    for (const auto& t : activation_tensors(g, bits, 0)) {
      auto it = ranges.find(t);
      if (it == ranges.end()) {
        std::string who;
        for (const auto& n : g.nodes)
          if (std::find(n.inputs.begin(), n.inputs.end(), t) != n.inputs.end()) {
            who = " (input of " + n.describe() + ")";
            break;
          }
        throw Error("cannot export QDQ: no activation range for tensor '" + t + "'" + who +
                    "; measure it with activation_ranges on calibration data");
      }
      ActivationExport ae;
      ae.tensor = t;
      ae.spec = spec;
      ae.range = it->second;
      if (!std::isfinite(ae.range.min) || !std::isfinite(ae.range.max))
        throw Error("cannot export QDQ: the range of tensor '" + t + "' is not finite");
      ae.params = quant_params(spec, ae.range.min, ae.range.max);
      const std::string sn = names.fresh(t + "_scale"), zn = names.fresh(t + "_zero_point"),
                        qn = names.fresh(t + "_quantized"), dn = names.fresh(t + "_dequantized");
      out.weights.emplace(sn, tensor_make(sn, DType::kFloat32, {}, std::string(reinterpret_cast<const char*>(&ae.params.scale), 4)));
      out.weights.emplace(zn, tensor_make(zn, DType::kUint8, {}, pack_codes({static_cast<int32_t>(ae.params.zero_point)}, DType::kUint8)));
      Node q = node_make(names.fresh(t + "_QuantizeLinear"), "QuantizeLinear", {t, sn, zn}, {qn});
      Node d = node_make(names.fresh(t + "_DequantizeLinear"), "DequantizeLinear", {qn, sn, zn}, {dn});
      rewire(out, t, dn, nullptr, &ae.consumers);
      q.inputs[0] = t;
      for (const auto& o : out.outputs)
        if (o.name == t)
          rep.notes.push_back("tensor '" + t + "' is also a graph output: the output stays unquantized");
      pairs.emplace(t, std::make_pair(std::move(q), std::move(d)));
      rep.activations.push_back(std::move(ae));
      rep.quantize_nodes += 1;
      rep.dequantize_nodes += 1;
    }
  }
  std::vector<Node> nodes = std::move(dq_nodes);
  auto emit_pairs = [&](const std::string& v) {
    auto it = pairs.find(v);
    if (it == pairs.end()) return;
    nodes.push_back(std::move(it->second.first));
    nodes.push_back(std::move(it->second.second));
    pairs.erase(it);
  };
  for (const auto& v : out.inputs) emit_pairs(v.name);
  for (auto& n : out.nodes) {
    const std::vector<std::string> outs = n.outputs;
    nodes.push_back(std::move(n));
    for (const auto& o : outs) emit_pairs(o);
  }
  if (!pairs.empty()) throw Error("cannot export QDQ: tensor '" + pairs.begin()->first + "' has no producer");
  out.nodes = std::move(nodes);
  graph_sort_topological(out);  // validates: every input produced, no cycle
  if (report) {
    *report = std::move(rep);
    report->layers = std::move(plan.layers);
  }
  return std::move(out);
}

std::map<std::string, FakeQuant> export_activation_fake_quant(const ExportReport& r) {
  std::map<std::string, FakeQuant> m;
  for (const auto& a : r.activations) {
    FakeQuant fq;
    fq.spec = a.spec;
    fq.axis = -1;
    fq.params = {a.params};
    m[a.tensor] = fq;
  }
  return m;
}

// --------------------------------------------------------------------------------------------------------------
// JSON

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// AIMET's convention: x = scale * (u + offset) with u on the unsigned 0..2^b-1 grid, so offset = q_lo - zero_point
// where q_lo is -2^(b-1) for a signed grid and 0 for an unsigned one; min/max span the full 2^b-level grid.
json encoding_json(const QuantSpec& s, const QParams& p) {
  const double q_lo = s.is_signed ? -std::ldexp(1.0, s.bits - 1) : 0.0;
  const double offset = q_lo - p.zero_point;
  return json{{"bitwidth", s.bits},
              {"dtype", "int"},
              {"is_symmetric", s.scheme == Scheme::kSymmetric ? "True" : "False"},
              {"scale", num(p.scale)},
              {"offset", static_cast<int64_t>(offset)},
              {"min", num(static_cast<double>(p.scale) * offset)},
              {"max", num(static_cast<double>(p.scale) * (offset + std::ldexp(1.0, s.bits) - 1))},
              {"zero_point", static_cast<int64_t>(p.zero_point)},
              {"qmin", static_cast<int64_t>(p.qmin)},
              {"qmax", static_cast<int64_t>(p.qmax)}};
}

}  // namespace

std::string encodings_json(const ExportReport& r, int indent) {
  json acts = json::object(), params = json::object();
  for (const auto& a : r.activations) acts[a.tensor] = json::array({encoding_json(a.spec, a.params)});
  for (const auto& l : r.layers) {
    if (!l.skip.empty() || l.params.empty()) continue;
    json list = json::array();
    for (const auto& p : l.params) list.push_back(encoding_json(l.spec, p));
    params[l.weight] = list;
  }
  json meta = json::object();
  for (const auto& l : r.layers)
    if (l.skip.empty() && !l.params.empty())
      meta[l.weight] = json{{"layer", l.layer}, {"granularity", granularity_name(l.granularity)},
                            {"axis", l.granularity == Granularity::kChannel ? json(l.axis) : json(nullptr)}};
  return json{{"schema", kSchema}, {"kind", "encodings"}, {"version", "0.6.1"}, {"format", r.format},
              {"activation_encodings", acts}, {"param_encodings", params}, {"param_layout", meta}}
      .dump(indent);
}

std::string export_report_json(const ExportReport& r, int indent) {
  json layers = json::array();
  for (const auto& l : r.layers) {
    json o{{"name", l.layer}, {"op", l.op_type}, {"weight", l.weight}, {"bits", l.bits}};
    if (l.skip.empty()) {
      o["granularity"] = granularity_name(l.granularity);
      o["axis"] = l.granularity == Granularity::kChannel ? json(l.axis) : json(nullptr);
      o["scheme"] = scheme_name(l.spec.scheme);
      o["storage"] = dtype_name(l.storage);
      o["sqnr_db"] = num(l.sqnr_db);
    } else {
      o["skip"] = l.skip;
    }
    layers.push_back(o);
  }
  json acts = json::array();
  for (const auto& a : r.activations)
    acts.push_back(json{{"tensor", a.tensor}, {"bits", a.spec.bits}, {"scale", num(a.params.scale)},
                        {"zero_point", static_cast<int64_t>(a.params.zero_point)}, {"min", num(a.range.min)},
                        {"max", num(a.range.max)}, {"observed_min", num(a.range.observed_min)},
                        {"observed_max", num(a.range.observed_max)}, {"consumers", a.consumers}});
  return json{{"schema", kSchema},
              {"kind", "export"},
              {"format", r.format},
              {"opset", {{"before", r.opset_before}, {"after", r.opset_after}}},
              {"ir_version", {{"before", r.ir_before}, {"after", r.ir_after}}},
              {"opset_rewrites", r.opset_rewrites},
              {"opset_blockers", r.opset_blockers},
              {"int4_storage", r.int4_storage.empty() ? json(nullptr) : json(r.int4_storage)},
              {"granularity", granularity_name(r.granularity)},
              {"layers", layers},
              {"activations", acts},
              {"quantize_nodes", r.quantize_nodes},
              {"dequantize_nodes", r.dequantize_nodes},
              {"notes", r.notes}}
      .dump(indent);
}

}  // namespace qp
