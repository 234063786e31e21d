// `quantplay equalize | biascorrect | export`: the graph passes and the exports, over core/quant/passes and
// core/quant/export. Each writes a new file; the model given is only read.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/onnx/writer.h"
#include "core/quant/export.h"
#include "core/quant/passes/pipeline.h"

namespace qpcli {

namespace {

using nlohmann::json;

struct PassArgs {
  std::string model, out, method = "dfq", cle_mode = "one_pass", cle_range = "max_abs", relu6 = "refuse",
                      hba_source = "data", bc = "off", granularity = "tensor", scheme = "sym", range = "minmax";
  bool no_bn_fold = false, no_triplets = false, hba = false, two_step = false, as_json = false, effect = false;
  int bits = 8, bc_sweeps = 3;
  std::string effect_bits = "8,4", labels;
  CalibArgs calib;
};

void add_weight_quant_options(CLI::App* sc, PassArgs& a) {
  sc->add_option("--bits", a.bits, "weight bit-width the bias correction targets")->capture_default_str()
      ->check(CLI::Range(2, 16))->group("Weight quantizer");
  sc->add_option("--granularity", a.granularity, "tensor | channel")->capture_default_str()
      ->check(CLI::IsMember({"tensor", "channel"}))->group("Weight quantizer");
  sc->add_option("--scheme", a.scheme, "sym | asym")->capture_default_str()->check(CLI::IsMember({"sym", "asym"}))
      ->group("Weight quantizer");
  sc->add_option("--range", a.range, "minmax | percentile:P | mse | aciq[:laplace|gauss|mix]")->capture_default_str()
      ->group("Weight quantizer");
}

std::string options_json(const PassArgs& a) {
  json o{{"bn_fold", !a.no_bn_fold}, {"equalize", a.method}, {"cle_mode", a.cle_mode}, {"cle_range", a.cle_range},
         {"relu6", a.relu6}, {"triplets", !a.no_triplets}, {"hba", a.hba}, {"hba_source", a.hba_source},
         {"meller_two_step", a.two_step}, {"bias_correction", a.bc}, {"bits", a.bits},
         {"granularity", a.granularity}, {"scheme", a.scheme}, {"range", a.range}, {"bc_sweeps", a.bc_sweeps}};
  return o.dump();
}

void print_pipeline(const std::string& js) {
  const json j = json::parse(js);
  for (const auto& s : j["steps"]) {
    const std::string kind = s["kind"].get<std::string>();
    std::printf("%s (%.1f ms)\n", kind.c_str(), s["report"]["ms"].is_number() ? s["report"]["ms"].get<double>() : 0.0);
    for (const auto& n : s["report"]["notes"]) std::printf("  %s\n", n.get<std::string>().c_str());
    if (kind == "cle") {
      Table t({"link", "layers", "through", "result"}, 4);
      for (const auto& l : s["links"]) {
        std::string layers, through;
        for (const auto& x : l["layers"]) layers += (layers.empty() ? "" : " -> ") + x.get<std::string>();
        for (const auto& x : l["between"]) through += (through.empty() ? "" : " ") + x.get<std::string>();
        t.add({l["kind"].get<std::string>(), layers, through.empty() ? "-" : through,
               l["accepted"].get<bool>() ? "equalized" : "refused: " + l["reason"].get<std::string>()});
      }
      t.print(stdout);
    }
    for (const auto& v : s["report"]["verification"])
      std::printf("  fp32 check on %s: max |dy|/max|y| = %s\n", v["inputs"].get<std::string>().c_str(),
                  v["max_rel_dev"].is_number() ? fmt("%.3g", v["max_rel_dev"].get<double>()).c_str() : "inf");
  }
  const auto& v = j["verification"];
  std::printf("result vs input model (fp32, %s): max |dy|/max|y| = %s\n", v["inputs"].get<std::string>().c_str(),
              v["max_rel_dev"].is_number() ? fmt("%.3g", v["max_rel_dev"].get<double>()).c_str() : "inf");
}

void print_effect(const std::string& js) {
  const json j = json::parse(js);
  Table t({"variant", "bits", "SQNR w (dB)", "SQNR w+a (dB)", "mean |shift|", "top-1 agree w", "accuracy w",
           "accuracy w+a", "fp32 dev"});
  auto cell = [](const json& v, const char* f) { return v.is_number() ? fmt(f, v.get<double>()) : std::string("-"); };
  for (const auto& r : j["rows"])
    t.add({r["variant"].get<std::string>(), std::to_string(r["bits"].get<int>()), cell(r["sqnr_w_db"], "%.2f"),
           cell(r["sqnr_wa_db"], "%.2f"), cell(r["mean_abs_shift_w"], "%.3g"), cell(r["top1_agree_w"], "%.3f"),
           cell(r["accuracy_w"], "%.3f"), cell(r["accuracy_wa"], "%.3f"), cell(r["fp32_dev"], "%.2g")});
  t.print(stdout);
}

std::vector<int64_t> read_labels_npy(const std::string& path) {
  const qp::Tensor t = read_input_file(path);
  std::vector<int64_t> out;
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case qp::DType::kInt64: out.push_back(reinterpret_cast<const int64_t*>(t.data.data())[i]); break;
      case qp::DType::kInt32: out.push_back(reinterpret_cast<const int32_t*>(t.data.data())[i]); break;
      case qp::DType::kFloat32: out.push_back(static_cast<int64_t>(t.f32()[i])); break;
      default: throw qp::Error(path + ": labels must be int64, int32 or float32, not " + qp::dtype_name(t.dtype));
    }
  }
  return out;
}

// Runs the pipeline for equalize/biascorrect; prints, writes --out.
int run_pass_command(PassArgs& a, bool biascorrect_cmd) {
  qp::PipelineOptions po;
  try {
    if (biascorrect_cmd) {
      a.method = "none";
      if (a.bc == "off") a.bc = "empirical";
    }
    po = qp::pipeline_options_from_json(options_json(a));
    if (!a.out.empty()) check_not_model(a.out, a.model);
    for (int b : parse_bits(a.effect_bits))
      if (b < 2 || b > 16) throw qp::Error("--effect-bits: " + std::to_string(b) + " is outside 2..16");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s\n", e.what());
    return kExitUsage;
  }
  Loaded m;
  if (!load_or_report(a.model, m)) return kExitBadModel;
  try {
    // Always given: the passes that need data use it, and every verification runs on it too.
    const qp::CalibrationSet cs = make_calibration(m.graph, a.calib);
    const qp::PipelineResult r = qp::run_pipeline(m.graph, po, &cs);
    const std::string js = qp::pipeline_json(r, a.as_json ? 2 : -1);
    std::string effect;
    if (a.effect) {
      qp::EffectOptions eo;
      eo.bits = parse_bits(a.effect_bits);
      eo.weights = po.bc.weights;
      if (po.cle.relu6 == qp::Relu6Policy::kReplace) eo.relu6 = po.cle.relu6;
      if (!a.labels.empty()) {
        eo.labels = read_labels_npy(a.labels);
        // --samples N takes the first N rows of --data: the first N labels go with them.
        if (eo.labels.size() > cs.samples.size()) eo.labels.resize(cs.samples.size());
      }
      effect = qp::effect_json(qp::pipeline_effect(m.graph, cs, eo), a.as_json ? 2 : -1);
    }
    if (!a.out.empty()) write_file(a.out, qp::onnx_save(r.graph));
    if (a.as_json) {
      if (effect.empty()) std::printf("%s\n", js.c_str());
      else std::printf("{\"schema\": \"quantplay/1\", \"kind\": \"equalize_effect\", \"equalize\": %s, \"effect\": %s}\n",
                       js.c_str(), effect.c_str());
    } else {
      print_pipeline(js);
      if (!effect.empty()) {
        std::printf("\neffect (model-output SQNR against fp32 on %s):\n", cs.source.c_str());
        print_effect(effect);
      }
      if (!a.out.empty()) std::printf("wrote %s\n", a.out.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s: %s\n", a.model.c_str(), e.what());
    return kExitBadModel;
  }
  return kExitOk;
}

struct ExportArgs {
  std::string model, out, format = "qdq", layer_bits, granularity = "channel", scheme = "sym", range = "minmax",
                      range_mode = "restricted", a_range = "minmax";
  int bits = 8, a_bits = 8;
  bool no_int4 = false, no_opset_upgrade = false, as_json = false;
  CalibArgs calib;
};

std::map<std::string, int> layer_bits_object(const json& o, const std::string& path) {
  std::map<std::string, int> out;
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (!it.value().is_number_integer()) throw qp::Error(path + ": bits of layer '" + it.key() + "' is not an integer");
    out[it.key()] = it.value().get<int>();
  }
  return out;
}

// Per-layer bits from a JSON file: {"layer": bits, ...}, {"layer_bits": {...}}, a MixQuant report
// (`quantplay mixquant --json`; PATH#N picks config N, default 0) or a mixed-precision search (`quantplay analyze
// --mixed --json`; PATH#N picks front point N).
std::map<std::string, int> read_layer_bits(const std::string& spec, bool* absent_is_float) {
  std::string path = spec;
  size_t pick = 0;
  const size_t hash = spec.find_last_of('#');
  if (hash != std::string::npos) {
    path = spec.substr(0, hash);
    char* end = nullptr;
    const unsigned long v = std::strtoul(spec.c_str() + hash + 1, &end, 10);
    if (hash + 1 == spec.size() || *end != '\0') throw qp::Error("--layer-bits " + spec + ": expected FILE or FILE#N");
    pick = v;
  }
  const json j = json::parse(qp::read_file_bytes(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw qp::Error(path + ": not a JSON object");
  *absent_is_float = false;
  try {
    if (j.contains("configs")) {
      const auto& cfgs = j.at("configs");
      if (!cfgs.is_array() || pick >= cfgs.size())
        throw qp::Error(path + ": the MixQuant report has no config " + std::to_string(pick));
      const json names = j.contains("layers") ? j.at("layers") : j.contains("sweep") ? j.at("sweep").at("layers") : json();
      const auto& bits = cfgs.at(pick).at("bits");
      if (!names.is_array() || !bits.is_array() || names.size() != bits.size())
        throw qp::Error(path + ": the MixQuant report's layers and bits do not line up");
      std::map<std::string, int> out;
      for (size_t i = 0; i < bits.size(); ++i)
        out[names[i].is_string() ? names[i].get<std::string>() : names[i].at("name").get<std::string>()] =
            bits[i].get<int>();
      return out;
    }
    // `quantplay analyze --mixed --json`: point N of the front (weight bytes falling with N). Layers the front
    // keeps in float32 are absent from its bits: they stay float.
    const json* mp = j.contains("mixed_precision") ? &j.at("mixed_precision")
                     : j.value("kind", "") == "mixed_precision" ? &j : nullptr;
    if (mp) {
      const auto& front = mp->at("front");
      if (!front.is_array() || pick >= front.size())
        throw qp::Error(path + ": the mixed-precision front has no point " + std::to_string(pick) + " (it has " +
                        std::to_string(front.is_array() ? front.size() : 0) + ")");
      *absent_is_float = true;
      return layer_bits_object(front.at(pick).at("bits"), path);
    }
    return layer_bits_object(j.contains("layer_bits") ? j.at("layer_bits") : j, path);
  } catch (const json::exception& e) {
    throw qp::Error(path + ": not a layer-bits file (" + e.what() + ")");
  }
}

}  // namespace

std::vector<Subcommand> add_transform_commands(CLI::App& app) {
  std::vector<Subcommand> out;
  for (const bool bc_cmd : {false, true}) {
    auto* sc = bc_cmd ? app.add_subcommand("biascorrect", "bias correction of the quantized weights' output shift")
                      : app.add_subcommand("equalize", "BN folding, cross-layer equalization (DFQ or Meller), "
                                                       "high-bias absorption, bias correction");
    auto a = std::make_shared<PassArgs>();
    sc->add_option("MODEL", a->model, "ONNX model file")->required();
    sc->add_option("--out", a->out, "write the transformed fp32 model here (a new file)");
    sc->add_flag("--json", a->as_json, "print the JSON report (schema quantplay/1, docs/json-schema.md)");
    sc->add_flag("--no-bn-fold", a->no_bn_fold, "keep BatchNormalization nodes");
    if (!bc_cmd) {
      sc->add_option("--method", a->method, "dfq | meller | none")->capture_default_str()
          ->check(CLI::IsMember({"dfq", "meller", "none"}));
      sc->add_option("--cle-mode", a->cle_mode, "one_pass | iterate")->capture_default_str()
          ->check(CLI::IsMember({"one_pass", "iterate"}));
      sc->add_option("--cle-range", a->cle_range, "max_abs | max_minus_min")->capture_default_str()
          ->check(CLI::IsMember({"max_abs", "max_minus_min"}));
      sc->add_option("--relu6", a->relu6, "ReLU6 between layers: refuse | replace (with ReLU) | bound (on data)")
          ->capture_default_str()->check(CLI::IsMember({"refuse", "replace", "bound"}));
      sc->add_flag("--no-triplets", a->no_triplets, "pairs only (no conv -> depthwise -> conv closed form)");
      sc->add_flag("--hba", a->hba, "high-bias absorption after DFQ");
      sc->add_option("--hba-source", a->hba_source, "data (calibration minima) | bn (beta - 3|gamma|)")
          ->capture_default_str()->check(CLI::IsMember({"data", "bn"}));
      sc->add_flag("--two-step", a->two_step, "Meller: two-step equalization");
      sc->add_option("--bias-correction", a->bc, "off | analytic | empirical | iterative")->capture_default_str()
          ->check(CLI::IsMember({"off", "analytic", "empirical", "iterative"}));
      sc->add_flag("--effect", a->effect, "measure model-output SQNR for none / CLE / CLE+HBA / CLE+HBA+BC / Meller");
      sc->add_option("--effect-bits", a->effect_bits, "weight bit-widths of the effect table")->capture_default_str();
      sc->add_option("--labels", a->labels, "labels (.npy, one per sample of --data) for accuracy in the effect table");
    } else {
      sc->add_option("--mode", a->bc, "analytic | empirical | iterative")->capture_default_str()
          ->check(CLI::IsMember({"analytic", "empirical", "iterative"}));
      a->bc = "empirical";
    }
    sc->add_option("--sweeps", a->bc_sweeps, "iterative bias correction: at most this many sweeps")
        ->capture_default_str()->check(CLI::Range(1, 20));
    add_weight_quant_options(sc, *a);
    add_calib_options(sc, a->calib);
    out.push_back({sc, [a, bc_cmd] { return run_pass_command(*a, bc_cmd); }});
  }

  auto* ex = app.add_subcommand("export", "write the model as fp32, fake-quant or QDQ ONNX, or its encodings JSON");
  auto e = std::make_shared<ExportArgs>();
  ex->add_option("MODEL", e->model, "ONNX model file")->required();
  ex->add_option("--out", e->out, "output file (a new file; .onnx, or .json for encodings)")->required();
  ex->add_option("--format", e->format, "fp32 | fakequant | qdq | encodings")->capture_default_str()
      ->check(CLI::IsMember({"fp32", "fakequant", "qdq", "encodings"}));
  ex->add_option("--bits", e->bits, "weight bits of every layer (0 keeps float)")->capture_default_str()
      ->check(CLI::IsMember({0, 2, 3, 4, 5, 6, 7, 8}));
  ex->add_option("--layer-bits", e->layer_bits, "per-layer bits: a JSON file {layer: bits}, a MixQuant report or an analyze --mixed report (FILE#N picks one)");
  ex->add_option("--granularity", e->granularity, "tensor | channel")->capture_default_str()
      ->check(CLI::IsMember({"tensor", "channel"}));
  ex->add_option("--scheme", e->scheme, "sym | asym")->capture_default_str()->check(CLI::IsMember({"sym", "asym"}));
  ex->add_option("--range", e->range, "weight range: minmax | percentile:P | mse | aciq[:...]")->capture_default_str();
  ex->add_option("--range-mode", e->range_mode, "restricted | full signed symmetric grid")->capture_default_str()
      ->check(CLI::IsMember({"restricted", "full"}));
  ex->add_option("--a-bits", e->a_bits, "activation bits: 8, or 0 for weights only")->capture_default_str()
      ->check(CLI::IsMember({0, 8}));
  ex->add_option("--a-range", e->a_range, "activation range: minmax | percentile:P | mse | aciq[:...]")
      ->capture_default_str();
  ex->add_flag("--no-int4", e->no_int4, "store <= 4-bit weights on an int8 grid instead of int4 (keeps the opset)");
  ex->add_flag("--no-opset-upgrade", e->no_opset_upgrade, "never raise the model's opset");
  ex->add_flag("--json", e->as_json, "print the export report as JSON");
  add_calib_options(ex, e->calib);
  out.push_back({ex, [e] {
                   qp::ExportConfig c;
                   try {
                     check_not_model(e->out, e->model);
                     c.default_bits = e->bits;
                     if (!e->layer_bits.empty()) {
                       bool absent_is_float = false;
                       c.layer_bits = read_layer_bits(e->layer_bits, &absent_is_float);
                       if (absent_is_float) c.default_bits = 0;
                     }
                     c.granularity = e->granularity == "channel" ? qp::Granularity::kChannel : qp::Granularity::kTensor;
                     c.scheme = e->scheme == "asym" ? qp::Scheme::kAsymmetric : qp::Scheme::kSymmetric;
                     c.range_mode = e->range_mode == "full" ? qp::RangeMode::kFull : qp::RangeMode::kRestricted;
                     c.weight_range = qp::range_options_parse(e->range);
                     c.activation_bits = e->a_bits;
                     c.allow_int4 = !e->no_int4;
                     c.allow_opset_upgrade = !e->no_opset_upgrade;
                     qp::range_options_parse(e->a_range);
                   } catch (const std::exception& err) {
                     std::fprintf(stderr, "quantplay: %s\n", err.what());
                     return kExitUsage;
                   }
                   Loaded m;
                   if (!load_or_report(e->model, m)) return kExitBadModel;
                   try {
                     qp::export_config_validate(c, m.graph);
                     qp::ExportReport rep;
                     std::string bytes;
                     if (e->format == "fp32") {
                       bytes = qp::onnx_save(m.graph);
                     } else if (e->format == "fakequant") {
                       bytes = qp::onnx_save(qp::export_fake_quant(m.graph, c, &rep));
                     } else {
                       qp::ActivationRanges ranges;
                       if (c.activation_bits > 0) {
                         const qp::CalibrationSet cs = make_calibration(m.graph, e->calib);
                         ranges = qp::activation_ranges(m.graph, cs, qp::activation_tensors(m.graph, c.layer_bits, c.default_bits),
                                                        qp::range_options_parse(e->a_range), c.activation_bits);
                       }
                       const qp::Graph q = qp::export_qdq(m.graph, c, ranges, &rep);
                       bytes = e->format == "qdq" ? qp::onnx_save(q) : qp::encodings_json(rep, 2);
                     }
                     write_file(e->out, bytes);
                     if (e->as_json) {
                       std::printf("%s\n", e->format == "fp32" ? "{\"schema\": \"quantplay/1\", \"kind\": \"export\", \"format\": \"fp32\"}"
                                                               : qp::export_report_json(rep, 2).c_str());
                     } else {
                       std::printf("wrote %s (%s, %s bytes)\n", e->out.c_str(), e->format.c_str(),
                                   thousands(static_cast<int64_t>(bytes.size())).c_str());
                       for (const auto& n : rep.notes) std::printf("  %s\n", n.c_str());
                     }
                   } catch (const std::exception& err) {
                     std::fprintf(stderr, "quantplay: %s: %s\n", e->model.c_str(), err.what());
                     return kExitBadModel;
                   }
                   return kExitOk;
                 }});
  return out;
}

}  // namespace qpcli
