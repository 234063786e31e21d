// JSON of the layer-wise analysis and of its options (nlohmann-json); per-layer values as parallel arrays.
#include "core/quant/analysis/analysis_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/quant/report.h"

namespace qp {

using nlohmann::json;

namespace {

// +inf (an SNR with no noise at all) is the string "inf", as analysis_json.h documents; NaN and -inf are null.
json num(double v) {
  if (std::isfinite(v)) return json(v);
  return v > 0 && std::isinf(v) ? json("inf") : json(nullptr);
}

json weight_cfg_json(const LayerWeightConfig& c) {
  return json{{"bits", c.bits},
              {"granularity", granularity_name(c.granularity)},
              {"scheme", scheme_name(c.scheme)},
              {"range_mode", c.range_mode == RangeMode::kRestricted ? "restricted" : "full"},
              {"range", range_method_name(c.range)}};
}

json act_cfg_json(const LayerActConfig& c) {
  return json{{"bits", c.bits}, {"scheme", scheme_name(c.scheme)}, {"range", range_method_name(c.range)}};
}

json options_json(const AnalysisOptions& o) {
  json ov = json::object();
  for (const auto& kv : o.overrides) {
    json e = json::object();
    if (kv.second.fp32) e["fp32"] = true;
    if (kv.second.has_weight) e["weight"] = weight_cfg_json(kv.second.weight);
    if (kv.second.has_act) e["act"] = act_cfg_json(kv.second.act);
    ov[kv.first] = e;
  }
  return json{{"weight", weight_cfg_json(o.weight)},
              {"act", act_cfg_json(o.act)},
              {"quantize_weights", o.quantize_weights},
              {"quantize_activations", o.quantize_activations},
              {"variants", o.variants},
              {"overrides", ov},
              {"flag_snr_db", o.flag_snr_db},
              {"flag_share", o.flag_share},
              {"flag_gain_z", o.flag_gain_z},
              {"act_subsample", o.act_subsample}};
}

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw Error("options." + field + ": " + what); }

int get_bits(const json& j, const std::string& f) {
  if (!j.is_number_integer()) bad(f, "must be an integer");
  const int64_t b = j.get<int64_t>();
  if (b < 2 || b > 16) bad(f, std::to_string(b) + " is outside 2..16");
  return static_cast<int>(b);
}

std::string get_str(const json& j, const std::string& f) {
  if (!j.is_string()) bad(f, "must be a string");
  return j.get<std::string>();
}

bool get_bool(const json& j, const std::string& f) {
  if (!j.is_boolean()) bad(f, "must be true or false");
  return j.get<bool>();
}

double get_num(const json& j, const std::string& f) {
  if (!j.is_number()) bad(f, "must be a number");
  return j.get<double>();
}

Scheme get_scheme(const json& j, const std::string& f) {
  const std::string s = get_str(j, f);
  if (s == "sym" || s == "symmetric") return Scheme::kSymmetric;
  if (s == "asym" || s == "asymmetric") return Scheme::kAsymmetric;
  bad(f, "'" + s + "' is not sym or asym");
}

RangeOptions get_range(const json& j, const std::string& f) {
  try {
    return range_options_parse(get_str(j, f));
  } catch (const Error& e) {
    bad(f, e.what());
  }
}

void check_keys(const json& j, const std::string& f, std::initializer_list<const char*> keys) {
  if (!j.is_object()) bad(f, "must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : keys) ok |= it.key() == k;
    if (!ok) bad(f + "." + it.key(), "unknown field");
  }
}

void read_weight(const json& j, const std::string& f, LayerWeightConfig& c) {
  check_keys(j, f, {"bits", "granularity", "scheme", "range_mode", "range"});
  if (j.contains("bits")) c.bits = get_bits(j["bits"], f + ".bits");
  if (j.contains("granularity")) {
    const std::string g = get_str(j["granularity"], f + ".granularity");
    if (g == "tensor") c.granularity = Granularity::kTensor;
    else if (g == "channel") c.granularity = Granularity::kChannel;
    else bad(f + ".granularity", "'" + g + "' is not tensor or channel");
  }
  if (j.contains("scheme")) c.scheme = get_scheme(j["scheme"], f + ".scheme");
  if (j.contains("range_mode")) {
    const std::string m = get_str(j["range_mode"], f + ".range_mode");
    if (m == "restricted") c.range_mode = RangeMode::kRestricted;
    else if (m == "full") c.range_mode = RangeMode::kFull;
    else bad(f + ".range_mode", "'" + m + "' is not restricted or full");
  }
  if (j.contains("range")) c.range = get_range(j["range"], f + ".range");
}

void read_act(const json& j, const std::string& f, LayerActConfig& c) {
  check_keys(j, f, {"bits", "scheme", "range"});
  if (j.contains("bits")) c.bits = get_bits(j["bits"], f + ".bits");
  if (j.contains("scheme")) c.scheme = get_scheme(j["scheme"], f + ".scheme");
  if (j.contains("range")) c.range = get_range(j["range"], f + ".range");
}

}  // namespace

std::string analysis_json(const AnalysisReport& r, int indent) {
  json names = json::array(), ops = json::array(), weights = json::array(), points = json::array(),
       skipped = json::array(), wcfg = json::array(), acfg = json::array(), arange = json::array(),
       snr_w = json::array(), snr_a = json::array(), snr_wa = json::array(), share = json::array(),
       local = json::array(), gain = json::array(), cum = json::array(), top1 = json::array(),
       cost = json::array(), flags = json::array(), params = json::array(), per_output = json::array();
  for (const auto& l : r.layers) {
    names.push_back(l.layer.name);
    ops.push_back(l.layer.op_type);
    weights.push_back(l.layer.weight);
    params.push_back(l.layer.params);
    points.push_back(l.act_point);
    skipped.push_back(l.skipped ? json(l.skip_reason) : json(nullptr));
    wcfg.push_back(l.weight_config);
    acfg.push_back(l.act_config);
    arange.push_back(l.act_config.empty() ? json(nullptr) : json::array({num(l.act_lo), num(l.act_hi)}));
    snr_w.push_back(num(l.w.snr_db));
    snr_a.push_back(num(l.a.snr_db));
    snr_wa.push_back(num(l.wa.snr_db));
    share.push_back(num(l.share));
    local.push_back(num(l.local_sqnr_db));
    gain.push_back(num(l.gain_db));
    cum.push_back(num(l.cumulative_snr_db));
    top1.push_back(l.top1_agree >= 0 ? json(l.top1_agree) : json(nullptr));
    cost.push_back(l.cost);
    flags.push_back(l.flags);
    json po = json::array();
    for (size_t o = 0; o < l.wa.noise.size() && o < r.signal.size(); ++o)
      po.push_back(r.signal[o] > 0 && l.wa.noise[o] > 0 ? json(-10 * std::log10(l.wa.noise[o] / r.signal[o])) : json(nullptr));
    per_output.push_back(po);
  }
  json outputs = json::array();
  for (size_t o = 0; o < r.outputs.size(); ++o) {
    const double n = o < r.all.noise.size() ? r.all.noise[o] : 0, s = o < r.signal.size() ? r.signal[o] : 0;
    outputs.push_back(json{{"name", r.outputs[o]},
                           {"signal", num(s)},
                           {"snr_all", s > 0 && n > 0 ? num(-10 * std::log10(n / s)) : json(nullptr)},
                           {"snr_pred", o < r.snr_pred_per_output.size() ? num(r.snr_pred_per_output[o]) : json(nullptr)}});
  }
  auto opt_num = [](double v) { return v >= 0 ? json(v) : json(nullptr); };
  json o{{"schema", kSchema},
         {"kind", "analysis"},
         {"options", options_json(r.options)},
         {"data", json{{"source", r.data_source}, {"samples", r.samples}, {"rows", r.rows}, {"cancelled", r.cancelled}}},
         {"outputs", outputs},
         {"summary", json{{"snr_all", num(r.all.snr_db)},
                          {"snr_pred", num(r.snr_pred_db)},
                          {"interaction", num(r.interaction_db)},
                          {"class_output", r.class_output.empty() ? json(nullptr) : json(r.class_output)},
                          {"top1_agree", opt_num(r.top1_agree)},
                          {"accuracy_fp32", opt_num(r.accuracy_fp32)},
                          {"accuracy_quant", opt_num(r.accuracy_quant)}}},
         {"cost", json{{"unit", "forward-pass equivalents: flops run / flops of one full fp32 pass of one sample"},
                       {"pass_equivalents", r.cost},
                       {"naive", r.naive_cost},
                       {"naive_wa", r.naive_wa_cost},
                       {"ratio", r.naive_cost > 0 ? json(r.cost / r.naive_cost) : json(nullptr)},
                       {"ratio_wa", r.naive_wa_cost > 0 ? json(r.cost / r.naive_wa_cost) : json(nullptr)},
                       {"layer_runs_per_sample", r.layer_runs},
                       {"nodes_run", r.nodes_run},
                       {"nodes_per_pass", r.nodes_per_pass},
                       {"full_pass_flops", r.full_pass_flops},
                       {"cache_bytes", r.cache_bytes},
                       {"floor", r.cost_floor},
                       {"ratio_floor_wa", r.naive_wa_cost > 0 ? json(r.cost_floor / r.naive_wa_cost) : json(nullptr)},
                       {"cache_budget_bytes", r.options.cache_budget_bytes},
                       {"kept_bytes", r.kept_bytes},
                       {"kept_samples", r.kept_samples},
                       {"elapsed_ms", r.elapsed_ms}}},
         {"layers", json{{"name", names},
                         {"op", ops},
                         {"weight", weights},
                         {"params", params},
                         {"act_point", points},
                         {"skipped", skipped},
                         {"weight_config", wcfg},
                         {"act_config", acfg},
                         {"act_range", arange},
                         {"snr_w", snr_w},
                         {"snr_a", snr_a},
                         {"snr_wa", snr_wa},
                         {"snr_wa_per_output", per_output},
                         {"share", share},
                         {"local_sqnr", local},
                         {"gain", gain},
                         {"cumulative_snr", cum},
                         {"top1_agree", top1},
                         {"cost", cost},
                         {"flags", flags}}}};
  return o.dump(indent);
}

namespace {

json measurement_json(const LayerAnalyzer::Measurement& m) {
  return json{{"snr", num(m.all.snr_db)},
              {"top1_agree", m.top1_agree >= 0 ? json(m.top1_agree) : json(nullptr)},
              {"accuracy", m.accuracy >= 0 ? json(m.accuracy) : json(nullptr)}};
}

json alloc_json(const Allocation& a) {
  return json{{"weight_bytes", a.weight_bytes},
              {"mean_bits", a.mean_bits},
              {"snr_pred", num(a.snr_pred_db)},
              {"snr_measured", num(a.snr_meas_db)},
              {"top1_agree", a.top1_agree >= 0 ? json(a.top1_agree) : json(nullptr)},
              {"accuracy", a.accuracy >= 0 ? json(a.accuracy) : json(nullptr)},
              {"bits", a.bits}};
}

}  // namespace

std::string fix_json(const FixReport& r, int indent) {
  json trials = json::array();
  for (const auto& t : r.trials)
    trials.push_back(json{{"method", range_method_name(t.method)},
                          {"local", measurement_json(t.local)},
                          {"global", measurement_json(t.global)}});
  json o{{"schema", kSchema},
         {"kind", "analysis_fix"},
         {"layer", r.layer},
         {"layer_index", r.layer_index},
         {"cause", r.cause},
         {"snr_w", num(r.snr_w_db)},
         {"snr_a", num(r.snr_a_db)},
         {"before", measurement_json(r.before)},
         {"ceiling", measurement_json(r.ceiling)},
         {"trials", trials},
         {"best", r.trials.empty() ? json(nullptr) : json(range_method_name(r.trials[r.best].method))},
         {"fixed_options", options_json(r.fixed)},
         {"cost", r.cost}};
  return o.dump(indent);
}

std::string mixed_json(const MixedReport& r, int indent) {
  json snr = json::array();
  for (const auto& row : r.snr_db) {
    json a = json::array();
    for (double v : row) a.push_back(num(v));
    snr.push_back(a);
  }
  json front = json::array();
  for (const auto& a : r.front) front.push_back(alloc_json(a));
  json mq = json::array();
  for (const auto& p : r.mixquant)
    mq.push_back(json{{"qem", p.qem}, {"baseline", baseline_name(p.baseline)}, {"mixquant", alloc_json(p.alloc)},
                      {"front", alloc_json(p.front)}});
  json o{{"schema", kSchema},   {"kind", "mixed_precision"}, {"layers", r.layers}, {"params", r.params},
         {"bits", r.bits},      {"snr", snr},                {"front", front},     {"mixquant", mq},
         {"fp32_bytes", r.fp32_bytes}, {"cost", r.cost},     {"elapsed_ms", r.elapsed_ms}};
  return o.dump(indent);
}

AnalysisOptions analysis_options_from_json(const std::string& text) {
  json j;
  try {
    j = text.empty() ? json::object() : json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("options: not valid JSON (") + e.what() + ")");
  }
  check_keys(j, "", {"weight", "act", "quantize_weights", "quantize_activations", "variants", "overrides",
                     "flag_snr_db", "flag_share", "flag_gain_z", "act_subsample", "cache_budget_bytes"});
  AnalysisOptions o;
  if (j.contains("weight")) read_weight(j["weight"], "weight", o.weight);
  if (j.contains("act")) read_act(j["act"], "act", o.act);
  if (j.contains("quantize_weights")) o.quantize_weights = get_bool(j["quantize_weights"], "quantize_weights");
  if (j.contains("quantize_activations")) o.quantize_activations = get_bool(j["quantize_activations"], "quantize_activations");
  if (j.contains("variants")) o.variants = get_bool(j["variants"], "variants");
  if (j.contains("flag_snr_db")) o.flag_snr_db = get_num(j["flag_snr_db"], "flag_snr_db");
  if (j.contains("flag_share")) o.flag_share = get_num(j["flag_share"], "flag_share");
  if (j.contains("flag_gain_z")) o.flag_gain_z = get_num(j["flag_gain_z"], "flag_gain_z");
  if (j.contains("act_subsample")) {
    if (!j["act_subsample"].is_number_integer()) bad("act_subsample", "must be an integer");
    o.act_subsample = static_cast<int>(std::min<int64_t>(j["act_subsample"].get<int64_t>(), 1 << 26));
  }
  if (j.contains("cache_budget_bytes")) {
    if (!j["cache_budget_bytes"].is_number_integer() || j["cache_budget_bytes"].get<int64_t>() < 0)
      bad("cache_budget_bytes", "must be an integer >= 0");
    o.cache_budget_bytes = j["cache_budget_bytes"].get<int64_t>();
  }
  if (j.contains("overrides")) {
    const json& ov = j["overrides"];
    if (!ov.is_object()) bad("overrides", "must be an object keyed by layer name");
    for (auto it = ov.begin(); it != ov.end(); ++it) {
      const std::string f = "overrides." + it.key();
      check_keys(it.value(), f, {"fp32", "weight", "act"});
      LayerOverride l;
      if (it.value().contains("fp32")) l.fp32 = get_bool(it.value()["fp32"], f + ".fp32");
      if (it.value().contains("weight")) {
        l.has_weight = true;
        l.weight = o.weight;
        read_weight(it.value()["weight"], f + ".weight", l.weight);
      }
      if (it.value().contains("act")) {
        l.has_act = true;
        l.act = o.act;
        read_act(it.value()["act"], f + ".act", l.act);
      }
      o.overrides[it.key()] = l;
    }
  }
  analysis_options_validate(o);
  return o;
}

namespace {
json parse_object(const std::string& text) {
  json j;
  try {
    j = text.empty() ? json::object() : json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("options: not valid JSON (") + e.what() + ")");
  }
  return j;
}
}  // namespace

FixOptions fix_options_from_json(const std::string& text) {
  const json j = parse_object(text);
  check_keys(j, "", {"methods", "layer"});
  FixOptions f;
  if (j.contains("methods")) {
    if (!j["methods"].is_array() || j["methods"].empty()) bad("methods", "must be a non-empty array of range methods");
    f.methods.clear();
    for (size_t i = 0; i < j["methods"].size(); ++i)
      f.methods.push_back(get_range(j["methods"][i], "methods[" + std::to_string(i) + "]"));
  }
  if (j.contains("layer")) f.layer = get_str(j["layer"], "layer");
  return f;
}

MixedOptions mixed_options_from_json(const std::string& text) {
  const json j = parse_object(text);
  check_keys(j, "", {"bits", "verify", "mixquant", "qem", "baselines"});
  MixedOptions m;
  if (j.contains("bits")) {
    if (!j["bits"].is_array() || j["bits"].empty()) bad("bits", "must be a non-empty array");
    m.bits.clear();
    for (size_t i = 0; i < j["bits"].size(); ++i) m.bits.push_back(get_bits(j["bits"][i], "bits[" + std::to_string(i) + "]"));
  }
  if (j.contains("verify")) {
    if (!j["verify"].is_number_integer() || j["verify"].get<int64_t>() < 0 || j["verify"].get<int64_t>() > 64)
      bad("verify", "must be an integer in 0..64");
    m.verify = j["verify"].get<int>();
  }
  if (j.contains("mixquant")) m.mixquant = get_bool(j["mixquant"], "mixquant");
  if (j.contains("qem")) {
    if (!j["qem"].is_array()) bad("qem", "must be an array of numbers >= 1");
    m.qem.clear();
    for (size_t i = 0; i < j["qem"].size(); ++i) {
      const double q = get_num(j["qem"][i], "qem[" + std::to_string(i) + "]");
      if (!(q >= 1) || !std::isfinite(q)) bad("qem[" + std::to_string(i) + "]", "must be a number >= 1");
      m.qem.push_back(q);
    }
  }
  if (j.contains("baselines")) {
    if (!j["baselines"].is_array()) bad("baselines", "must be an array of layer, model, max");
    m.baselines.clear();
    for (size_t i = 0; i < j["baselines"].size(); ++i) {
      const std::string f = "baselines[" + std::to_string(i) + "]";
      try {
        m.baselines.push_back(baseline_parse(get_str(j["baselines"][i], f)));
      } catch (const Error& e) {
        bad(f, e.what());
      }
    }
  }
  return m;
}

}  // namespace qp
