// `quantplay analyze`: the layer-wise quantization analysis (ALGORITHMS.md §4) with a progress line, Ctrl-C to stop
// early (the samples finished so far are reported), the single-layer fix and mixed precision on measured
// sensitivity.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/ir/error.h"
#include "core/quant/analysis/analysis_json.h"
#include "core/quant/analysis/detail.h"
#include "core/quant/passes/bn_fold.h"

namespace qpcli {

namespace {

using nlohmann::json;

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

struct AnalyzeArgs {
  std::string model, labels, w_granularity = "channel", w_scheme = "sym", w_range = "minmax", a_scheme = "asym",
                     a_range = "minmax", mixed_bits = "8,7,6,5,4,3,2";
  int w_bits = 8, a_bits = 8;
  int64_t cache_budget_mb = 256;
  bool no_weights = false, no_acts = false, no_variants = false, fix = false, mixed = false, as_json = false,
       quiet = false, no_bn_fold = false;
  std::vector<std::string> overrides, fix_methods, layers;
  CalibArgs calib;
};

std::string options_json(const AnalyzeArgs& a) {
  json o{{"weight", {{"bits", a.w_bits}, {"granularity", a.w_granularity}, {"scheme", a.w_scheme}, {"range", a.w_range}}},
         {"act", {{"bits", a.a_bits}, {"scheme", a.a_scheme}, {"range", a.a_range}}},
         {"quantize_weights", !a.no_weights},
         {"quantize_activations", !a.no_acts},
         {"variants", !a.no_variants},
         {"cache_budget_bytes", a.cache_budget_mb << 20}};
  json ov = json::object();
  for (const auto& s : a.overrides) {
    // LAYER=fp32 | LAYER=w4 | LAYER=a6 | LAYER=w4,a6
    const size_t eq = s.rfind('=');
    if (eq == std::string::npos || eq == 0) throw qp::Error("--override " + s + ": expected LAYER=fp32|wBITS|aBITS|wBITS,aBITS");
    const std::string layer = s.substr(0, eq), what = s.substr(eq + 1);
    json o1 = json::object();
    if (what == "fp32") {
      o1["fp32"] = true;
    } else {
      size_t start = 0;
      while (start <= what.size()) {
        const size_t comma = what.find(',', start);
        const std::string item = what.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        char* end = nullptr;
        const long bits = item.size() > 1 ? std::strtol(item.c_str() + 1, &end, 10) : -1;
        if ((item[0] != 'w' && item[0] != 'a') || bits < 2 || !end || *end != '\0')
          throw qp::Error("--override " + s + ": '" + item + "' is not wBITS or aBITS");
        o1[item[0] == 'w' ? "weight" : "act"] = {{"bits", bits}};
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    ov[layer] = o1;
  }
  o["overrides"] = ov;
  return o.dump();
}

std::string db(const json& v) {
  if (v.is_string()) return v.get<std::string>() == "inf" ? "inf" : v.get<std::string>();
  return v.is_number() ? fmt("%.2f", v.get<double>()) : "-";
}

void print_analysis(const json& j) {
  const auto& s = j["summary"];
  const auto& c = j["cost"];
  const auto& d = j["data"];
  std::printf("data      %s%s\n", d["source"].get<std::string>().c_str(),
              d["cancelled"].get<bool>() ? " (stopped early: the samples finished so far)" : "");
  std::printf("SNR       all quantized %s dB; additive prediction %s dB; interaction %s dB\n", db(s["snr_all"]).c_str(),
              db(s["snr_pred"]).c_str(), db(s["interaction"]).c_str());
  if (s["top1_agree"].is_number())
    std::printf("top-1     agreement with fp32 %.1f %%%s\n", 100 * s["top1_agree"].get<double>(),
                s["accuracy_quant"].is_number()
                    ? (", accuracy fp32 " + fmt("%.1f", 100 * s["accuracy_fp32"].get<double>()) + " % -> quantized " +
                       fmt("%.1f", 100 * s["accuracy_quant"].get<double>()) + " %").c_str()
                    : "");
  std::printf("cost      %.1f forward-pass equivalents = %.2f x the naive (L+1) x N; %.1f s\n",
              c["pass_equivalents"].get<double>(), c["ratio_wa"].is_number() ? c["ratio_wa"].get<double>() : 0.0,
              c["elapsed_ms"].get<double>() / 1000);
  const auto& L = j["layers"];
  Table t({"#", "layer", "op", "SNR w", "SNR a", "SNR w+a", "share", "local SQNR", "gain", "cumulative", "flags"}, 3);
  for (size_t i = 0; i < L["name"].size(); ++i) {
    std::string flags;
    for (const auto& f : L["flags"][i]) flags += (flags.empty() ? "" : " ") + f.get<std::string>();
    if (!L["skipped"][i].is_null()) flags = "skipped: " + L["skipped"][i].get<std::string>();
    t.add({std::to_string(i + 1), L["name"][i].get<std::string>(), L["op"][i].get<std::string>(), db(L["snr_w"][i]),
           db(L["snr_a"][i]), db(L["snr_wa"][i]),
           L["share"][i].is_number() ? fmt("%.3f", L["share"][i].get<double>()) : "-", db(L["local_sqnr"][i]),
           db(L["gain"][i]), db(L["cumulative_snr"][i]), flags});
  }
  t.print(stdout);
}

int run_analyze(AnalyzeArgs& a) {
  qp::AnalysisOptions opt;
  qp::MixedOptions mo;
  qp::FixOptions fo;
  try {
    opt = qp::analysis_options_from_json(options_json(a));
    qp::analysis_options_validate(opt);
    if (!a.fix_methods.empty()) {
      fo.methods.clear();
      for (const auto& m : a.fix_methods) fo.methods.push_back(qp::range_options_parse(m));
    }
    mo.bits = parse_bits(a.mixed_bits);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s\n", e.what());
    return kExitUsage;
  }
  Loaded m;
  if (!load_or_report(a.model, m)) return kExitBadModel;
  try {
    qp::CalibrationSet cs = make_calibration(m.graph, a.calib);
    if (!a.labels.empty()) {
      cs.labels = qp::calibration_labels(read_input_file(a.labels), a.labels);
      // --samples N takes the first N rows of --data: the first N labels go with them.
      if (cs.labels.size() > cs.samples.size()) cs.labels.resize(cs.samples.size());
    }
    const bool tty = !a.quiet && isatty(fileno(stderr));
    std::signal(SIGINT, on_sigint);
    const qp::AnalysisCallback progress = [&](const qp::AnalysisProgress& p) {
      if (!a.quiet) {
        std::fprintf(stderr, "%s%s: sample %d/%d, layer %d/%d, %3.0f %%, %.1f s, ETA %.1f s%s", tty ? "\r" : "",
                     p.stage.c_str(), p.sample, p.samples, p.layer, p.layers, 100 * p.fraction, p.elapsed_ms / 1000,
                     p.eta_ms / 1000, tty ? "   " : "\n");
        std::fflush(stderr);
      }
      return !g_interrupted.load();
    };
    // Progress lines for a pipe are one per sample-layer step: print only every 5 % there.
    double next = 0;
    const qp::AnalysisCallback throttled = [&](const qp::AnalysisProgress& p) {
      if (tty || p.fraction >= next || p.fraction >= 1) {
        next = p.fraction + 0.05;
        return progress(p);
      }
      return !g_interrupted.load();
    };
    // Deployed models have their BatchNormalization folded into the layers, so the weights analysed are the folded
    // ones (ALGORITHMS.md §8.1 step 0) unless --no-bn-fold.
    const qp::Graph g = a.no_bn_fold ? m.graph : qp::bn_fold(m.graph).graph;
    qp::LayerAnalyzer an(g, cs);
    const qp::AnalysisReport rep = an.analyse(opt, throttled);
    if (tty) std::fprintf(stderr, "\n");
    json out = json::parse(qp::analysis_json(rep));
    // Ctrl-C during the fix or the mixed-precision search keeps the analysis already done.
    std::vector<std::string> stopped;
    try {
      if (a.fix && !rep.cancelled && !g_interrupted) out["fix"] = json::parse(qp::fix_json(qp::analysis_fix(an, opt, rep, fo)));
      if (!a.layers.empty() && !rep.cancelled && !g_interrupted) {
        // --layer NAME|INDEX: the page's layer view (histograms with the clipping ranges, QE vs bits).
        json details = json::array();
        for (const auto& want : a.layers) {
          size_t index = rep.layers.size();
          for (size_t i = 0; i < rep.layers.size(); ++i)
            if (rep.layers[i].layer.name == want) index = i;
          if (index == rep.layers.size() && !want.empty() && want.find_first_not_of("0123456789") == std::string::npos)
            index = std::stoul(want);
          if (index >= rep.layers.size())
            throw qp::Error("--layer " + want + ": no quantizable layer of that name, and not an index below " +
                            std::to_string(rep.layers.size()));
          details.push_back(json::parse(qp::layer_detail_json(qp::layer_detail(an, g, index, opt, {}, throttled))));
        }
        out["layer_details"] = details;
      }
      if (a.mixed && !rep.cancelled && !g_interrupted) {
        next = 0;
        out["mixed_precision"] = json::parse(qp::mixed_json(qp::mixed_precision(an, g, opt, mo, throttled)));
        if (tty) std::fprintf(stderr, "\n");
      }
    } catch (const std::exception&) {
      if (!g_interrupted) throw;
      if (tty) std::fprintf(stderr, "\n");
    }
    if (g_interrupted && (a.fix || a.mixed)) {
      if (a.fix && !out.contains("fix")) stopped.push_back("the fix");
      if (a.mixed && !out.contains("mixed_precision")) stopped.push_back("mixed precision");
      for (const auto& s : stopped) std::fprintf(stderr, "quantplay: interrupted: %s not run\n", s.c_str());
    }
    std::signal(SIGINT, SIG_DFL);
    if (a.as_json) {
      std::printf("%s\n", out.dump(2).c_str());
      return kExitOk;
    }
    print_analysis(out);
    if (out.contains("fix")) {
      const auto& f = out["fix"];
      std::printf("\nsingle-layer fix: %s (cause: %s); model SNR %s dB, with the layer in fp32 %s dB\n",
                  f["layer"].get<std::string>().c_str(), f["cause"].get<std::string>().c_str(),
                  db(f["before"]["snr"]).c_str(), db(f["ceiling"]["snr"]).c_str());
      Table t({"clipping", "this layer only (dB)", "every layer (dB)"});
      for (const auto& tr : f["trials"]) t.add({tr["method"].get<std::string>(), db(tr["local"]["snr"]), db(tr["global"]["snr"])});
      t.print(stdout);
    }
    if (out.contains("layer_details")) {
      for (const auto& d : out["layer_details"]) {
        std::printf("\nlayer %s (%s)%s\n", d["layer"]["name"].get<std::string>().c_str(), d["layer"]["op"].get<std::string>().c_str(),
                    d["skipped"].is_string() ? (": not quantized, " + d["skipped"].get<std::string>()).c_str() : "");
        const auto range = [](const json& part, const char* key) {
          if (!part.is_object() || !part.contains(key) || !part[key].is_array()) return std::string("-");
          return "[" + fmt("%.4g", part[key][0].get<double>()) + ", " + fmt("%.4g", part[key][1].get<double>()) + "]";
        };
        const auto frac = [](const json& part) {
          return part.is_object() && part.contains("clipped_frac") ? fmt("%.3f %%", 100 * part["clipped_frac"].get<double>()) : std::string("-");
        };
        Table r({"tensor", "min", "max", "clipping range", "clipped", "SQNR (dB)"});
        for (const char* k : {"weight", "act"}) {
          const json& p = d[k];
          if (!p.is_object()) continue;
          r.add({k == std::string("weight") ? "weights" : "activations (subsample)", fmt("%.4g", p["stats"]["min"].get<double>()),
                 fmt("%.4g", p["stats"]["max"].get<double>()), range(p, k == std::string("weight") ? "range" : "grid"), frac(p),
                 p.contains("sqnr") ? db(p["sqnr"]) : std::string("-")});
        }
        r.print(stdout);
        if (d["curve"].is_object()) {
          const json& c = d["curve"];
          Table t({"bits", "weights SQNR (dB)", "activations SQNR (dB)", "output SNR, this layer's weights (dB)"});
          for (size_t k = 0; k < c["bits"].size(); ++k) {
            const auto at = [&](const char* key) { return c[key].is_array() ? db(c[key][k]) : std::string("-"); };
            t.add({std::to_string(c["bits"][k].get<int>()), at("w_sqnr"), at("a_sqnr"), at("out_snr")});
          }
          t.print(stdout);
        }
      }
    }
    if (out.contains("mixed_precision")) {
      const auto& mp = out["mixed_precision"];
      std::printf("\nmixed precision (weights only; front of weight bytes vs output SNR):\n");
      Table t({"weight bytes", "mean bits", "SNR predicted", "SNR measured"});
      for (const auto& p : mp["front"])
        if (p["snr_measured"].is_number() || p["snr_measured"].is_string())
          t.add({thousands(static_cast<int64_t>(p["weight_bytes"].get<double>())), fmt("%.2f", p["mean_bits"].get<double>()),
                 db(p["snr_pred"]), db(p["snr_measured"])});
      t.print(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%squantplay: %s: %s\n", a.quiet ? "" : "\n", a.model.c_str(), e.what());
    return kExitBadModel;
  }
  return kExitOk;
}

}  // namespace

std::vector<Subcommand> add_analyze_command(CLI::App& app) {
  auto* sc = app.add_subcommand("analyze", "layer-wise quantization analysis: each layer's share of the output error, "
                                           "local vs global, the single-layer fix, mixed precision");
  auto a = std::make_shared<AnalyzeArgs>();
  sc->add_option("MODEL", a->model, "ONNX model file")->required();
  sc->add_flag("--json", a->as_json, "print the JSON report (schema quantplay/1, docs/json-schema.md)");
  sc->add_flag("--quiet", a->quiet, "no progress line");
  sc->add_option("--w-bits", a->w_bits, "weight bits")->capture_default_str()->check(CLI::Range(2, 16))->group("Quantizers");
  sc->add_option("--w-granularity", a->w_granularity, "tensor | channel")->capture_default_str()
      ->check(CLI::IsMember({"tensor", "channel"}))->group("Quantizers");
  sc->add_option("--w-scheme", a->w_scheme, "sym | asym")->capture_default_str()->check(CLI::IsMember({"sym", "asym"}))
      ->group("Quantizers");
  sc->add_option("--w-range", a->w_range, "minmax | percentile:P | mse | aciq[:...]")->capture_default_str()->group("Quantizers");
  sc->add_option("--a-bits", a->a_bits, "activation bits")->capture_default_str()->check(CLI::Range(2, 16))->group("Quantizers");
  sc->add_option("--a-scheme", a->a_scheme, "asym | sym")->capture_default_str()->check(CLI::IsMember({"sym", "asym"}))
      ->group("Quantizers");
  sc->add_option("--a-range", a->a_range, "minmax | percentile:P | mse | aciq[:...]")->capture_default_str()->group("Quantizers");
  sc->add_flag("--no-weights", a->no_weights, "leave weights in float (activations only)")->group("Quantizers");
  sc->add_flag("--no-activations", a->no_acts, "leave activations in float (weights only)")->group("Quantizers");
  sc->add_flag("--no-variants", a->no_variants, "one run per layer (weights + activations) instead of three")->group("Quantizers");
  sc->add_option("--cache-budget", a->cache_budget_mb,
                 "MiB of fp32 caches kept across samples (saves one pass per sample that fits; 0 = stream every sample)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 20))->group("Calibration data");
  sc->add_option("--override", a->overrides, "what-if per layer: LAYER=fp32 | LAYER=wBITS | LAYER=aBITS | LAYER=wB,aB")
      ->group("Quantizers");
  sc->add_flag("--no-bn-fold", a->no_bn_fold, "analyse the layers as stored, BatchNormalization unfolded");
  sc->add_option("--layer", a->layers, "also show this layer in detail (name or index; repeatable): weight and activation "
                 "histograms' ranges, the clipping range, QE vs bits (JSON: layer_details)");
  sc->add_flag("--fix", a->fix, "try clipping on the worst layer alone and on every layer (§4.3)");
  sc->add_option("--fix-method", a->fix_methods, "clipping method to try (repeatable; default mse, percentile:99.99, aciq:mix)");
  sc->add_flag("--mixed", a->mixed, "mixed precision on measured sensitivity, beside MixQuant");
  sc->add_option("--mixed-bits", a->mixed_bits, "bit-widths of the mixed-precision search")->capture_default_str();
  sc->add_option("--labels", a->labels, "labels (.npy, one per sample row of --data) for accuracy");
  add_calib_options(sc, a->calib);
  return {{sc, [a] { return run_analyze(*a); }}};
}

}  // namespace qpcli
