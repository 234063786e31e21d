// Writes the exports of a model for the onnxruntime-node tests (tests/js/export.test.mjs): a re-saved copy, or the
// fake-quant and QDQ models with their encodings, report, an evaluation input and our engine's outputs on it.
//
//   export_tool resave MODEL OUT.onnx
//   export_tool qdq MODEL OUT_DIR [--bits N] [--tensor] [--asym] [--no-act] [--no-int4] [--samples N]
//                                 [--lo X] [--hi X] [--dim NAME=SIZE]... [--layer-bits LAYER=BITS]...
//
// qdq writes OUT_DIR/{fake_quant.onnx, qdq.onnx, encodings.json, report.json, manifest.json, in_K.npy,
// out_w_K.npy, out_a_K.npy}: out_w = our executor on the fake-quant model (weights quantized), out_a = the same
// with the QDQ model's activation quantizers applied as fake quantization (what the QDQ model computes).
// manifest.json lists the files and, per output, `step`: the scale of an 8-bit asymmetric quantizer over
// [min(out_a), max(out_a)] (0 included), the "one quantization step of the output" the test allows.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/onnx/writer.h"
#include "core/quant/calib.h"
#include "core/quant/export.h"
#include "core/runtime/executor.h"

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw qp::Error("cannot write '" + path + "'");
  const size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (n != bytes.size()) throw qp::Error("short write to '" + path + "'");
}

std::pair<std::string, std::string> split_eq(const std::string& s) {
  const size_t eq = s.rfind('=');
  if (eq == std::string::npos) throw qp::Error("expected NAME=VALUE, got '" + s + "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

int run(int argc, char** argv) {
  using nlohmann::json;
  if (argc < 4) {
    std::fprintf(stderr, "usage: export_tool resave MODEL OUT.onnx | export_tool qdq MODEL OUT_DIR [options]\n");
    return 2;
  }
  const std::string cmd = argv[1], model = argv[2], out = argv[3];
  qp::Graph g = qp::onnx_load_file(model);
  if (cmd == "resave") {
    write_file(out, qp::onnx_save(g));
    return 0;
  }
  if (cmd != "qdq") throw qp::Error("unknown command '" + cmd + "'");

  qp::ExportConfig cfg;
  qp::RandomCalibration cal;
  cal.samples = 8;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw qp::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--bits") cfg.default_bits = std::atoi(next().c_str());
    else if (a == "--tensor") cfg.granularity = qp::Granularity::kTensor;
    else if (a == "--asym") cfg.scheme = qp::Scheme::kAsymmetric;
    else if (a == "--no-act") cfg.activation_bits = 0;
    else if (a == "--no-int4") cfg.allow_int4 = false;
    else if (a == "--samples") cal.samples = std::atoi(next().c_str());
    else if (a == "--lo") cal.lo = std::strtof(next().c_str(), nullptr);
    else if (a == "--hi") cal.hi = std::strtof(next().c_str(), nullptr);
    else if (a == "--dim") {
      const auto kv = split_eq(next());
      cal.dims[kv.first] = std::atoll(kv.second.c_str());
    } else if (a == "--layer-bits") {
      const auto kv = split_eq(next());
      cfg.layer_bits[kv.first] = std::atoi(kv.second.c_str());
    } else {
      throw qp::Error("unknown option '" + a + "'");
    }
  }

  const qp::CalibrationSet calib = qp::calibration_random(g, cal);
  qp::ActivationRanges ranges;
  if (cfg.activation_bits > 0)
    ranges = qp::activation_ranges(g, calib, qp::activation_tensors(g, cfg.layer_bits, cfg.default_bits));
  qp::ExportReport rfq, rq;
  const qp::Graph fq = qp::export_fake_quant(g, cfg, &rfq);
  const qp::Graph qdq = qp::export_qdq(g, cfg, ranges, &rq);
  write_file(out + "/fake_quant.onnx", qp::onnx_save(fq));
  write_file(out + "/qdq.onnx", qp::onnx_save(qdq));
  write_file(out + "/encodings.json", qp::encodings_json(rq, 1));
  write_file(out + "/report.json", qp::export_report_json(rq, 1));

  qp::RandomCalibration ev = cal;
  ev.samples = 1;
  ev.seed = 1000;
  const qp::Sample input = qp::calibration_random(g, ev).samples.at(0);
  qp::Executor ex(fq);
  qp::RunOptions act;
  act.fake_quant = qp::export_activation_fake_quant(rq);
  const auto yw = ex.run(input);
  const auto ya = ex.run(input, act);
  json manifest{{"inputs", json::array()}, {"outputs", json::array()}};
  int k = 0;
  for (const auto& kv : input) {
    const std::string f = "in_" + std::to_string(k++) + ".npy";
    write_file(out + "/" + f, qp::npy_serialize(qp::value_to_tensor(kv.second, kv.first)));
    manifest["inputs"].push_back(json{{"name", kv.first}, {"file", f}});
  }
  k = 0;
  for (const auto& o : g.outputs) {
    const qp::Value& a = ya.at(o.name);
    const std::string fw = "out_w_" + std::to_string(k) + ".npy", fa = "out_a_" + std::to_string(k) + ".npy";
    ++k;
    write_file(out + "/" + fw, qp::npy_serialize(qp::value_to_tensor(yw.at(o.name), o.name)));
    write_file(out + "/" + fa, qp::npy_serialize(qp::value_to_tensor(a, o.name)));
    double lo = 0, hi = 0;
    for (double v : qp::value_to_doubles(a)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    qp::QuantSpec s;
    s.scheme = qp::Scheme::kAsymmetric;
    s.is_signed = false;
    manifest["outputs"].push_back(
        json{{"name", o.name}, {"file_w", fw}, {"file_a", fa}, {"step", qp::quant_params(s, lo, hi).scale}});
  }
  write_file(out + "/manifest.json", manifest.dump(1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_tool: %s\n", e.what());
    return 1;
  }
}
