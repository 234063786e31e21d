// JSON serialisation of reports and parsing of JSON options (nlohmann-json); non-finite numbers become null.
#include "core/quant/report.h"

#include "core/runtime/op_context.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"

namespace qp {

using nlohmann::json;

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json shape_json(const std::vector<Dim>& dims) {
  json a = json::array();
  for (const auto& d : dims) a.push_back(d.known() ? json(d.value) : json(d.param.empty() ? "?" : d.param));
  return a;
}

json value_json(const ValueInfo& v) {
  json o{{"name", v.name}, {"dtype", dtype_name(v.dtype)}};
  o["shape"] = v.has_shape ? shape_json(v.shape) : json(nullptr);
  return o;
}

json layer_json(const Layer& l) {
  json o{{"name", l.name},          {"op", l.op_type},     {"weight", l.weight},
         {"shape", l.shape},        {"params", l.params},  {"channel_axis", l.channel_axis},
         {"channels", l.channels},  {"groups", l.groups},  {"bias", l.bias.empty() ? json(nullptr) : json(l.bias)},
         {"bias_params", l.bias_params}};
  if (!l.skip.empty()) o["skip"] = l.skip;
  return o;
}

json error_json(const QuantError& e) {
  return json{{"bits", e.bits},        {"qe", num(e.qe)},
              {"sqnr_db", num(e.sqnr_db)}, {"nqe", num(e.nqe)},
              {"max_abs_err", num(e.max_abs_err)}, {"clipped_frac", num(e.clipped_frac)}};
}

json sweep_options_json(const SweepOptions& o) {
  return json{{"bits", o.bits},
              {"granularity", granularity_name(o.granularity)},
              {"scheme", scheme_name(o.scheme)},
              {"range", range_method_name(o.range)},
              {"range_mode", o.range_mode == RangeMode::kRestricted ? "restricted" : "full"},
              {"rounding", "half_even"},
              {"kernel", o.reference_kernel ? "reference" : "simd"}};
}

json sweep_body(const SweepReport& r) {
  json layers = json::array();
  for (const auto& ls : r.layers) {
    json o = layer_json(ls.layer);
    o["stats"] = json{{"min", num(ls.stats.min)},   {"max", num(ls.stats.max)},
                      {"absmax", num(ls.stats.absmax)}, {"mean", num(ls.stats.mean)},
                      {"std", num(ls.stats.std)},   {"max_over_std", num(ls.stats.max_over_std)},
                      {"non_finite", ls.stats.non_finite}};
    json res = json::array();
    for (const auto& e : ls.results) res.push_back(error_json(e));
    o["results"] = res;
    o["flags"] = ls.flags;
    layers.push_back(o);
  }
  json model = json::array();
  for (const auto& e : r.model) model.push_back(error_json(e));
  return json{{"options", sweep_options_json(r.options)}, {"layers", layers}, {"model", model},
              {"elapsed_ms", r.elapsed_ms}, {"simd_target", r.simd_target}};
}

// --- options from JSON ---------------------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw Error("options." + field + ": " + what); }

std::string get_string(const json& o, const char* key, const std::string& dflt) {
  if (!o.contains(key)) return dflt;
  if (!o[key].is_string()) bad(key, "expected a string, got " + o[key].dump());
  return o[key].get<std::string>();
}

std::vector<double> get_numbers(const json& o, const char* key, std::vector<double> dflt) {
  if (!o.contains(key)) return dflt;
  const json& a = o[key];
  if (a.is_number()) return {a.get<double>()};
  if (!a.is_array()) bad(key, "expected a number or an array of numbers, got " + a.dump());
  std::vector<double> out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) bad(std::string(key) + "[" + std::to_string(i) + "]", "expected a number, got " + a[i].dump());
    out.push_back(a[i].get<double>());
  }
  return out;
}

json parse_object(const std::string& text) {
  if (text.empty()) return json::object();
  json o;
  try {
    o = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string("options: not valid JSON (") + e.what() + ")");
  }
  if (o.is_null()) return json::object();
  if (!o.is_object()) throw Error("options: expected an object, got " + o.dump());
  return o;
}

SweepOptions sweep_from(const json& o, SweepOptions s) {
  if (o.contains("bits")) {
    s.bits.clear();
    size_t i = 0;
    for (double b : get_numbers(o, "bits", {})) {
      if (b != std::floor(b)) bad("bits[" + std::to_string(i) + "]", "expected an integer, got " + json(b).dump());
      s.bits.push_back(static_cast<int>(std::max(-1.0, std::min(b, 1000.0))));
      ++i;
    }
  }
  const std::string g = get_string(o, "granularity", granularity_name(s.granularity));
  if (g == "tensor") s.granularity = Granularity::kTensor;
  else if (g == "channel") s.granularity = Granularity::kChannel;
  else bad("granularity", "'" + g + "' is not one of tensor, channel");
  const std::string sc = get_string(o, "scheme", scheme_name(s.scheme));
  if (sc == "sym") s.scheme = Scheme::kSymmetric;
  else if (sc == "asym") s.scheme = Scheme::kAsymmetric;
  else bad("scheme", "'" + sc + "' is not one of sym, asym");
  const std::string rm = get_string(o, "range_mode", s.range_mode == RangeMode::kRestricted ? "restricted" : "full");
  if (rm == "restricted") s.range_mode = RangeMode::kRestricted;
  else if (rm == "full") s.range_mode = RangeMode::kFull;
  else bad("range_mode", "'" + rm + "' is not one of restricted, full");
  if (o.contains("range")) {
    try {
      s.range = range_options_parse(get_string(o, "range", ""));
    } catch (const Error& e) {
      bad("range", e.what());
    }
  }
  if (o.contains("kernel")) {
    const std::string k = get_string(o, "kernel", "simd");
    if (k != "simd" && k != "reference") bad("kernel", "'" + k + "' is not one of simd, reference");
    s.reference_kernel = k == "reference";
  }
  try {
    sweep_options_validate(s);
  } catch (const Error& e) {
    throw Error(std::string("options.") + e.what());
  }
  return s;
}

}  // namespace

std::vector<OpCount> op_counts(const Graph& g) {
  std::map<std::pair<std::string, std::string>, OpCount> m;
  for (const auto& n : g.nodes) {
    OpCount& c = m[{n.domain, n.op_type}];
    c.op_type = n.op_type;
    c.domain = n.domain;
    c.supported = op_runnable(n.op) && !n.has_subgraph;  // the engine can run it
    ++c.count;
    if (!c.supported && c.nodes.size() < 8) c.nodes.push_back(n.name);
  }
  if (g.constant_nodes > 0) m[{"", "Constant"}] = OpCount{"Constant", "", g.constant_nodes, true, {}};
  std::vector<OpCount> out;
  for (auto& kv : m) out.push_back(kv.second);
  return out;
}

int64_t weight_parameters(const Graph& g) {
  int64_t n = 0;
  for (const auto& kv : g.weights) n += kv.second.numel();
  return n;
}

std::string inspect_json(const Graph& g, const std::string& file, size_t file_bytes, int indent) {
  json opsets = json::object();
  for (const auto& [d, v] : g.opsets) opsets[d.empty() ? "ai.onnx" : d] = v;
  json meta = json::object();
  for (const auto& [k, v] : g.metadata) meta[k] = v;
  json ins = json::array(), outs = json::array();
  for (const auto& v : g.inputs) ins.push_back(value_json(v));
  for (const auto& v : g.outputs) outs.push_back(value_json(v));
  json ops = json::array(), unsupported = json::array();
  for (const auto& c : op_counts(g)) {
    ops.push_back(json{{"op", c.op_type}, {"domain", c.domain}, {"count", c.count}, {"supported", c.supported}});
    if (!c.supported)
      unsupported.push_back(json{{"op", c.op_type}, {"domain", c.domain}, {"count", c.count}, {"nodes", c.nodes}});
  }
  json layers = json::array();
  int64_t layer_params = 0;
  for (const auto& l : find_layers(g)) {
    layers.push_back(layer_json(l));
    layer_params += l.params;
  }
  int64_t external = 0, from_constants = 0;
  for (const auto& kv : g.weights) {
    if (!kv.second.external_location.empty()) ++external;
    if (kv.second.source == TensorSource::kConstantNode) ++from_constants;
  }
  json model{{"file", file},
             {"bytes", file_bytes},
             {"ir_version", g.ir_version},
             {"producer", g.producer_name + (g.producer_version.empty() ? "" : " " + g.producer_version)},
             {"graph_name", g.name},
             {"opsets", opsets},
             {"metadata", meta},
             {"inputs", ins},
             {"outputs", outs},
             {"nodes", g.file_nodes},
             {"constant_nodes", g.constant_nodes},
             {"initializers", g.initializers},
             {"weight_tensors", g.weights.size()},
             {"weight_tensors_from_constants", from_constants},
             {"external_tensors", external},
             {"parameters", weight_parameters(g)},
             {"layer_parameters", layer_params},
             {"ops", ops},
             {"unsupported_ops", unsupported}};
  return json{{"schema", kSchema}, {"kind", "inspect"}, {"model", model}, {"layers", layers}}.dump(indent);
}

std::string sweep_json(const SweepReport& r, int indent) {
  json o = sweep_body(r);
  o["schema"] = kSchema;
  o["kind"] = "sweep";
  return o.dump(indent);
}

std::string mixquant_json(const MixQuantReport& r, bool include_sweep, int indent) {
  json configs = json::array();
  for (const auto& c : r.configs) {
    configs.push_back(json{{"qem", c.qem},
                           {"baseline", baseline_name(c.baseline)},
                           {"reference_bits", c.reference_bits},
                           {"reference_qe", c.baseline == Baseline::kLayer ? json(nullptr) : num(c.reference_qe)},
                           {"bits", c.bits},
                           {"mean_bits", num(c.mean_bits)},
                           {"weight_bytes", num(c.weight_bytes)},
                           {"compression_vs_fp32", num(c.compression_vs_fp32)},
                           {"compression_vs_int8", num(c.compression_vs_int8)},
                           {"weight_sqnr_db", num(c.weight_sqnr_db)}});
  }
  json o{{"schema", kSchema}, {"kind", "mixquant"}, {"configs", configs}};
  if (include_sweep) {
    o["sweep"] = sweep_body(r.sweep);
  } else {  // configs only: name the layers their bits refer to, and the quantizer that was searched
    json names = json::array();
    for (const auto& l : r.sweep.layers) names.push_back(l.layer.name);
    o["layers"] = names;
    o["options"] = sweep_options_json(r.sweep.options);
  }
  return o.dump(indent);
}

SweepOptions sweep_options_from_json(const std::string& text) { return sweep_from(parse_object(text), SweepOptions{}); }

MixQuantOptions mixquant_options_from_json(const std::string& text) {
  const json o = parse_object(text);
  MixQuantOptions m;
  m.sweep = sweep_from(o, MixQuantOptions::default_sweep());
  m.qem = get_numbers(o, "qem", m.qem);
  if (o.contains("include_sweep")) {
    if (!o["include_sweep"].is_boolean()) bad("include_sweep", "expected true or false, got " + o["include_sweep"].dump());
    m.include_sweep = o["include_sweep"].get<bool>();
  }
  if (o.contains("baseline")) {
    m.baselines.clear();
    const json& b = o["baseline"];
    auto one = [&](const json& v, const std::string& field) {
      if (!v.is_string()) bad(field, "expected one of \"layer\", \"model\", \"max\", got " + v.dump());
      try {
        m.baselines.push_back(baseline_parse(v.get<std::string>()));
      } catch (const Error& e) {
        bad(field, e.what());
      }
    };
    if (b.is_array())
      for (size_t i = 0; i < b.size(); ++i) one(b[i], "baseline[" + std::to_string(i) + "]");
    else
      one(b, "baseline");
  }
  try {
    mixquant_options_validate(m);
  } catch (const Error& e) {
    throw Error(std::string("options.") + e.what());
  }
  return m;
}

}  // namespace qp
