// The `quantplay` command: inspect, sweep, mixquant and run here; equalize, biascorrect, export and analyze in their
// own files (cli/commands.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/quant/mixquant.h"
#include "core/quant/report.h"
#include "core/quant/sweep.h"
#include "core/runtime/run_report.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace {

using namespace qpcli;

void print_inspect(const std::string& path, const Loaded& m) {
  const auto j = nlohmann::json::parse(qp::inspect_json(m.graph, base_name(path), m.bytes));
  const auto& mo = j["model"];
  std::printf("model       %s (%s bytes)\n", path.c_str(), thousands(mo["bytes"].get<int64_t>()).c_str());
  std::string opsets;
  for (auto it = mo["opsets"].begin(); it != mo["opsets"].end(); ++it)
    opsets += (opsets.empty() ? "" : ", ") + it.key() + " " + std::to_string(it.value().get<int64_t>());
  std::printf("format      IR %lld, opset %s\n", static_cast<long long>(mo["ir_version"].get<int64_t>()), opsets.c_str());
  if (!mo["producer"].get<std::string>().empty()) std::printf("producer    %s\n", mo["producer"].get<std::string>().c_str());
  auto values = [](const nlohmann::json& a) {
    std::string s;
    for (const auto& v : a) {
      std::string shape = "?";
      if (!v["shape"].is_null()) {
        shape = "[";
        for (size_t i = 0; i < v["shape"].size(); ++i)
          shape += (i ? "," : "") + (v["shape"][i].is_string() ? v["shape"][i].get<std::string>() : v["shape"][i].dump());
        shape += "]";
      }
      s += (s.empty() ? "" : "; ") + v["name"].get<std::string>() + " " + v["dtype"].get<std::string>() + " " + shape;
    }
    return s;
  };
  std::printf("inputs      %s\n", values(mo["inputs"]).c_str());
  std::printf("outputs     %s\n", values(mo["outputs"]).c_str());
  std::printf("nodes       %s (%s Constant nodes hold weights)\n", thousands(mo["nodes"].get<int64_t>()).c_str(),
              thousands(mo["constant_nodes"].get<int64_t>()).c_str());
  std::printf("weights     %s tensors, %s parameters\n", thousands(mo["weight_tensors"].get<int64_t>()).c_str(),
              thousands(mo["parameters"].get<int64_t>()).c_str());
  std::printf("layers      %zu quantizable, %s parameters\n", j["layers"].size(),
              thousands(mo["layer_parameters"].get<int64_t>()).c_str());
  std::string ops;
  for (const auto& o : mo["ops"]) ops += (ops.empty() ? "" : ", ") + o["op"].get<std::string>() + " " + o["count"].dump();
  std::printf("ops         %s\n", ops.c_str());
  std::string unsup;
  for (const auto& o : mo["unsupported_ops"]) {
    unsup += (unsup.empty() ? "" : "; ") + (o["domain"].get<std::string>().empty() ? "" : o["domain"].get<std::string>() + ".") +
             o["op"].get<std::string>() + " (" + o["count"].dump() + "x, e.g. " + o["nodes"][0].get<std::string>() + ")";
  }
  std::printf("unsupported %s\n\n", unsup.empty() ? "none" : unsup.c_str());
  Table t({"layer", "op", "weight shape", "params", "channels", "groups", "bias"});
  for (const auto& l : j["layers"]) {
    std::string shape = "[";
    for (size_t i = 0; i < l["shape"].size(); ++i) shape += (i ? "," : "") + l["shape"][i].dump();
    shape += "]";
    t.add({l["name"].get<std::string>(), l["op"].get<std::string>(), shape, thousands(l["params"].get<int64_t>()),
           l["channels"].dump(), l["groups"].dump(), l["bias"].is_null() ? "-" : thousands(l["bias_params"].get<int64_t>())});
  }
  t.print(stdout);
}

void print_sweep(const qp::SweepReport& r) {
  std::vector<std::string> head = {"layer", "op", "params", "max/std"};
  for (int b : r.options.bits) head.push_back(std::to_string(b) + "b dB");
  Table t(head);
  for (const auto& ls : r.layers) {
    std::vector<std::string> row = {ls.layer.name, ls.layer.op_type, thousands(ls.layer.params),
                                    ls.results.empty() ? "-" : fmt("%.1f", ls.stats.max_over_std)};
    if (ls.results.empty()) {
      row.push_back("skipped: " + (ls.layer.skip.empty() ? std::string("non-finite weights") : ls.layer.skip));
    } else {
      for (const auto& e : ls.results) row.push_back(fmt("%.2f", e.sqnr_db));
    }
    t.add(row);
  }
  std::vector<std::string> row = {"(all weights)", "", "", ""};
  for (const auto& e : r.model) row.push_back(fmt("%.2f", e.sqnr_db));
  t.add(row);
  std::printf("weight SQNR (dB) by bit-width; %s, %s, %s range, kernel %s, %.1f ms\n\n",
              qp::scheme_name(r.options.scheme).c_str(), qp::granularity_name(r.options.granularity).c_str(),
              qp::range_method_name(r.options.range).c_str(), r.simd_target.c_str(), r.elapsed_ms);
  t.print(stdout);
}

void print_mixquant(const qp::MixQuantReport& r) {
  std::printf("MixQuant: b = min{ b : QE[b] <= QEM x reference }, quantizer %s %s %s, reference %d bits\n\n",
              qp::scheme_name(r.sweep.options.scheme).c_str(), qp::granularity_name(r.sweep.options.granularity).c_str(),
              qp::range_method_name(r.sweep.options.range).c_str(), r.configs.empty() ? 8 : r.configs[0].reference_bits);
  Table s({"QEM", "baseline", "mean bits", "weight KiB", "vs fp32", "vs int8", "weight SQNR dB"});
  for (const auto& c : r.configs)
    s.add({fmt("%g", c.qem), qp::baseline_name(c.baseline), fmt("%.3f", c.mean_bits), fmt("%.1f", c.weight_bytes / 1024),
           fmt("%.2fx", c.compression_vs_fp32), fmt("%.2fx", c.compression_vs_int8), fmt("%.2f", c.weight_sqnr_db)});
  s.print(stdout);
  std::printf("\n");
  std::vector<std::string> head = {"layer", "params", "QE@ref"};
  for (const auto& c : r.configs) head.push_back(fmt("%g", c.qem) + "/" + qp::baseline_name(c.baseline));
  Table t(head);
  for (size_t i = 0; i < r.sweep.layers.size(); ++i) {
    const auto& ls = r.sweep.layers[i];
    std::vector<std::string> row = {ls.layer.name, thousands(ls.layer.params)};
    double ref_qe = NAN;
    int ref_bits = -1;
    for (const auto& e : ls.results)
      if (e.bits > ref_bits) {
        ref_bits = e.bits;
        ref_qe = e.qe;
      }
    row.push_back(ls.results.empty() ? "-" : fmt("%.3g", ref_qe));
    for (const auto& c : r.configs) row.push_back(c.bits[i] == 0 ? "fp32" : std::to_string(c.bits[i]));
    t.add(row);
  }
  t.print(stdout);
}

void print_run(const std::string& json) {
  const auto j = nlohmann::json::parse(json);
  auto shape = [](const nlohmann::json& a) {
    std::string s = "[";
    for (size_t i = 0; i < a.size(); ++i) s += (i ? "," : "") + a[i].dump();
    return s + "]";
  };
  auto g = [](const nlohmann::json& v) { return v.is_null() ? std::string("-") : fmt("%.6g", v.get<double>()); };
  for (const auto& i : j["inputs"])
    std::printf("input   %s %s %s\n", i["name"].get<std::string>().c_str(), i["dtype"].get<std::string>().c_str(),
                shape(i["shape"]).c_str());
  std::printf("\n");
  Table t({"output", "dtype", "shape", "min", "max", "mean", "std", "nan/inf"});
  for (const auto& o : j["outputs"])
    t.add({o["name"].get<std::string>(), o["dtype"].get<std::string>(), shape(o["shape"]), g(o["min"]), g(o["max"]),
           g(o["mean"]), g(o["std"]), o["nan"].dump() + "/" + o["inf"].dump()});
  t.print(stdout);
  for (const auto& o : j["outputs"]) {
    if (!o.contains("top5")) continue;
    std::printf("\ntop-5 of %s:\n", o["name"].get<std::string>().c_str());
    for (const auto& e : o["top5"])
      std::printf("  %6lld  %-12s %s\n", static_cast<long long>(e["index"].get<int64_t>()), g(e["value"]).c_str(),
                  e.contains("label") ? e["label"].get<std::string>().c_str() : "");
  }
  const auto& tm = j["time_ms"];
  std::printf("\ntime    %s ms median of %zu run(s) (first %s ms)\n", g(tm["median"]).c_str(), tm["runs"].size(),
              g(tm["first"]).c_str());
  if (j.contains("profile")) {
    std::vector<std::pair<double, std::string>> p;
    double total = 0;
    std::map<std::string, double> by_op;
    for (const auto& e : j["profile"]) {
      const double ms = e["ms"].get<double>();
      total += ms;
      by_op[e["op"].get<std::string>()] += ms;
      p.emplace_back(ms, e["node"].get<std::string>() + " (" + e["op"].get<std::string>() + ")");
    }
    std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::printf("\nslowest nodes of the last run (%.3f ms in nodes):\n", total);
    for (size_t i = 0; i < p.size() && i < 10; ++i)
      std::printf("  %9.3f ms  %5.1f%%  %s\n", p[i].first, total > 0 ? 100 * p[i].first / total : 0.0, p[i].second.c_str());
    std::vector<std::pair<double, std::string>> ops;
    for (const auto& kv : by_op) ops.emplace_back(kv.second, kv.first);
    std::sort(ops.rbegin(), ops.rend());
    std::printf("by op:");
    for (const auto& o : ops) std::printf("  %s %.2f ms", o.second.c_str(), o.first);
    std::printf("\n");
  }
  const auto& m = j["memory"];
  std::printf("memory  weights %s bytes, activation pool %s bytes (peak live %s)\n",
              thousands(m["weight_bytes"].get<int64_t>()).c_str(), thousands(m["activation_pool_bytes"].get<int64_t>()).c_str(),
              thousands(m["peak_live_activation_bytes"].get<int64_t>()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quantplay: per-layer quantization error, equalization and mixed precision for ONNX models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("quantplay ") + "0.1.0");

  std::string model;
  bool as_json = false;
  std::string bits = "8,7,6,5,4,3,2", granularity, scheme, range, range_mode = "restricted", qem = "1.5,2,3",
              baseline = "layer";
  bool reference = false;

  auto* inspect = app.add_subcommand("inspect", "summary of a model: inputs, ops, weights, quantizable layers");
  auto* sweep = app.add_subcommand("sweep", "per-layer weight quantization error at every bit-width");
  auto* mixq = app.add_subcommand("mixquant", "MixQuant bit-width search (per-layer bits from quantization error)");
  auto* runc = app.add_subcommand("run", "run the model in fp32: output statistics, top-5, time per run");
  std::vector<std::string> input_args, dim_args;
  bool random = false;
  uint64_t seed = 0;
  int repeat = 1;
  std::string save_dir, labels_path;
  runc->add_option("--input", input_args, "NAME=FILE (.npy or .pb); FILE alone for a single-input model");
  runc->add_flag("--random", random, "seeded uniform [0,1) data for inputs not given");
  runc->add_option("--seed", seed, "seed of --random")->capture_default_str();
  runc->add_option("--dim", dim_args, "NAME=SIZE for a symbolic dim of a random input (default 1)");
  runc->add_option("--repeat", repeat, "runs to time (the report gives each and the median)")->capture_default_str();
  runc->add_option("--save", save_dir, "write every output as DIR/<output>.npy");
  runc->add_option("--labels", labels_path, "class names, one per line, for the top-5 of class-vector outputs");
  bool profile = false;
  runc->add_flag("--profile", profile, "time every node of the last run (the slowest are printed; all in --json)");
  for (auto* sc : {inspect, sweep, mixq, runc}) {
    sc->add_option("MODEL", model, "ONNX model file (external data is read from its folder)")->required();
    sc->add_flag("--json", as_json, "print the JSON report (schema quantplay/1, docs/json-schema.md)");
  }
  for (auto* sc : {sweep, mixq}) {
    const bool mq = sc == mixq;
    sc->add_option("--bits", bits, "comma-separated bit-widths in 2..16")->capture_default_str();
    sc->add_option("--granularity", granularity, std::string("tensor | channel (default ") + (mq ? "tensor" : "tensor") + ")")
        ->check(CLI::IsMember({"tensor", "channel"}));
    sc->add_option("--scheme", scheme, std::string("sym | asym (default ") + (mq ? "asym" : "sym") + ")")
        ->check(CLI::IsMember({"sym", "asym"}));
    sc->add_option("--range", range, "minmax | percentile:P | mse | aciq[:laplace|gauss|mix] (default minmax)");
    sc->add_option("--range-mode", range_mode, "restricted | full signed symmetric grid")
        ->check(CLI::IsMember({"restricted", "full"}))->capture_default_str();
    sc->add_flag("--reference-kernel", reference, "use the scalar reference kernel instead of SIMD");
  }
  std::vector<Subcommand> extra = add_transform_commands(app);
  for (auto& c : add_analyze_command(app)) extra.push_back(std::move(c));
  mixq->add_option("--qem", qem, "comma-separated quantization error multipliers (>= 1)")->capture_default_str();
  mixq->add_option("--baseline", baseline, "layer | model | max | all")
      ->check(CLI::IsMember({"layer", "model", "max", "all"}))->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  for (const auto& c : extra)
    if (*c.app) return c.run();

  auto sweep_opts = [&](qp::SweepOptions o) {
    o.bits = parse_bits(bits);
    if (!granularity.empty()) o.granularity = granularity == "channel" ? qp::Granularity::kChannel : qp::Granularity::kTensor;
    if (!scheme.empty()) o.scheme = scheme == "asym" ? qp::Scheme::kAsymmetric : qp::Scheme::kSymmetric;
    if (!range.empty()) o.range = qp::range_options_parse(range);
    o.range_mode = range_mode == "full" ? qp::RangeMode::kFull : qp::RangeMode::kRestricted;
    o.reference_kernel = reference;
    qp::sweep_options_validate(o);
    return o;
  };

  // Options first (usage errors, exit 2), then the model (exit 3).
  qp::SweepOptions so;
  qp::MixQuantOptions mo;
  try {
    if (*sweep) so = sweep_opts(qp::SweepOptions{});
    if (*mixq) {
      mo.sweep = sweep_opts(qp::MixQuantOptions::default_sweep());
      mo.qem = parse_numbers(qem, "--qem");
      if (baseline == "all") mo.baselines = {qp::Baseline::kLayer, qp::Baseline::kModel, qp::Baseline::kMax};
      else mo.baselines = {qp::baseline_parse(baseline)};
      qp::mixquant_options_validate(mo);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s\n", e.what());
    return kExitUsage;
  }

  Loaded m;
  try {
    m = load(model);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s\n", e.what());
    return kExitBadModel;
  }
  try {
    if (*inspect) {
      if (as_json) std::printf("%s\n", qp::inspect_json(m.graph, base_name(model), m.bytes, 2).c_str());
      else print_inspect(model, m);
    } else if (*sweep) {
      const auto r = qp::quant_sweep(m.graph, so);
      if (as_json) std::printf("%s\n", qp::sweep_json(r, 2).c_str());
      else print_sweep(r);
    } else if (*runc) {
      qp::RunRequest req;
      std::vector<qp::Tensor> held;
      held.reserve(input_args.size());
      for (const auto& a : input_args) {
        const size_t eq = a.find('=');
        std::string name = eq == std::string::npos ? "" : a.substr(0, eq);
        const std::string file = eq == std::string::npos ? a : a.substr(eq + 1);
        if (name.empty()) {
          if (m.graph.inputs.size() != 1)
            throw qp::Error("--input " + a + ": the model has " + std::to_string(m.graph.inputs.size()) +
                            " inputs; write NAME=FILE");
          name = m.graph.inputs[0].name;
        }
        held.push_back(read_input_file(file));
        req.inputs[name] = qp::value_view(held.back());
      }
      for (const auto& d : dim_args) {
        const size_t eq = d.find('=');
        char* end = nullptr;
        const long long v = eq == std::string::npos ? -1 : std::strtoll(d.c_str() + eq + 1, &end, 10);
        if (eq == std::string::npos || !end || *end != '\0' || v < 1)
          throw qp::Error("--dim " + d + ": expected NAME=SIZE with SIZE >= 1");
        req.dims[d.substr(0, eq)] = v;
      }
      req.random = random;
      req.seed = seed;
      req.repeat = repeat;
      req.profile = profile;
      qp::Executor ex(m.graph);
      const qp::RunResult r = qp::run_model(ex, m.graph, req);
      const std::vector<std::string> labels = labels_path.empty() ? std::vector<std::string>{} : read_labels(labels_path);
      const std::string js = qp::run_json(m.graph, r, labels, as_json ? 2 : -1);
      if (!save_dir.empty()) {
        for (const auto& o : r.outputs) {
          std::string safe = o.first;
          for (char& c : safe)
            if (c == '/' || c == '\\' || c == ':') c = '_';
          const std::string path = save_dir + "/" + safe + ".npy";
          write_file(path, qp::npy_serialize(qp::value_to_tensor(o.second, o.first)));
        }
      }
      if (as_json) std::printf("%s\n", js.c_str());
      else print_run(js);
    } else if (*mixq) {
      const auto r = qp::mixquant(m.graph, mo);
      if (as_json) std::printf("%s\n", qp::mixquant_json(r, true, 2).c_str());
      else print_mixquant(r);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantplay: %s: %s\n", model.c_str(), e.what());
    return kExitBadModel;
  }
  return kExitOk;
}
