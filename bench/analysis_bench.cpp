// Layer-wise analysis cost: forward-pass equivalents and wall time against the naive (L+1) x N full passes.
// usage: analysis_bench MODEL [--samples N] [--dims name=size,...] [--wa-only] [--weights-only] [--bits B]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/quant/analysis/analysis.h"
#include "core/quant/calib.h"
#include "core/runtime/executor.h"

using namespace qp;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [--samples N] [--dims H=640,W=640] [--wa-only] [--weights-only]\n", argv[0]);
    return 2;
  }
  try {
    const std::string path = argv[1];
    RandomCalibration rc;
    rc.samples = 4;
    AnalysisOptions opt;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--samples" && i + 1 < argc) {
        rc.samples = std::atoi(argv[++i]);
      } else if (a == "--dims" && i + 1 < argc) {
        std::string d = argv[++i];
        size_t p = 0;
        while (p < d.size()) {
          size_t c = d.find(',', p);
          if (c == std::string::npos) c = d.size();
          const std::string kv = d.substr(p, c - p);
          const size_t eq = kv.find('=');
          if (eq != std::string::npos) rc.dims[kv.substr(0, eq)] = std::atoll(kv.c_str() + eq + 1);
          p = c + 1;
        }
      } else if (a == "--wa-only") {
        opt.variants = false;
      } else if (a == "--weights-only") {
        opt.quantize_activations = false;
      } else if (a == "--bits" && i + 1 < argc) {
        opt.weight.bits = opt.act.bits = std::atoi(argv[++i]);
      } else {
        std::fprintf(stderr, "unknown argument %s\n", a.c_str());
        return 2;
      }
    }
    const Graph g = onnx_load_file(path);
    const CalibrationSet data = calibration_random(g, rc);
    // One plain fp32 pass for reference wall time.
    Executor ex(g);
    ex.run(data.samples[0]);
    auto t0 = std::chrono::steady_clock::now();
    ex.run(data.samples[0]);
    const double pass_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    const AnalysisReport r = analyse_layers(g, data, opt);
    int64_t L = 0;
    for (const auto& l : r.layers) L += !l.skipped;
    std::printf("model %s\n", path.c_str());
    std::printf("data: %s; input %s\n", data.source.c_str(), data.samples[0].begin()->second.describe().c_str());
    std::printf("layers analysed: %lld, runs per layer: %d, samples: %d\n", static_cast<long long>(L),
                opt.variants && opt.quantize_activations ? 3 : 1, r.samples);
    std::printf("one fused fp32 pass: %.1f ms; full pass %.3g flops, %lld nodes\n", pass_ms, r.full_pass_flops,
                static_cast<long long>(r.nodes_per_pass));
    std::printf("cost: %.2f pass-equivalents (flops); nodes run %lld = %.2f passes by node count\n", r.cost,
                static_cast<long long>(r.nodes_run), static_cast<double>(r.nodes_run) / static_cast<double>(r.nodes_per_pass));
    std::printf("naive (runs per sample x N): %.0f passes -> ratio %.3f\n", r.naive_cost, r.cost / r.naive_cost);
    std::printf("naive (L+1) x N: %.0f passes -> ratio %.3f\n", r.naive_wa_cost, r.cost / r.naive_wa_cost);
    double layer_cost = 0;
    for (const auto& l : r.layers) layer_cost += l.cost;
    std::printf("layer runs alone: %.2f passes = mean suffix share %.3f (the floor of any exact single-layer scheme); "
                "fp32 caches, calibration and all-quantized runs: %.2f passes\n",
                layer_cost, layer_cost / (static_cast<double>(r.layer_runs) * r.samples), r.cost - layer_cost);
    std::printf("wall: %.0f ms (%.2f x the naive runs' wall time estimated from the fused pass)\n", r.elapsed_ms,
                r.elapsed_ms / (r.naive_cost * pass_ms));
    std::printf("largest fp32 cache: %.1f MB\n", static_cast<double>(r.cache_bytes) / (1 << 20));
    std::printf("SNR all %.2f dB, predicted %.2f dB, interaction %.2f dB\n", r.all.snr_db, r.snr_pred_db, r.interaction_db);
    size_t worst = 0;
    for (size_t i = 0; i < r.layers.size(); ++i)
      if (!r.layers[i].skipped && r.layers[i].share > r.layers[worst].share) worst = i;
    std::printf("worst layer %s: SNR_wa %.2f dB, share %.3f\n", r.layers[worst].layer.name.c_str(),
                r.layers[worst].wa.snr_db, r.layers[worst].share);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
