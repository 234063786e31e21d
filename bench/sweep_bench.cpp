// Benchmark of the per-layer weight sweep (7 bit-widths): SIMD kernel vs scalar reference, natively.
// Writes the synthetic ResNet-50-shaped model it times, so the wasm benchmark (sweep_bench.mjs) times the same.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/onnx/loader.h"
#include "core/quant/sweep.h"
#include "onnx.pb.h"

namespace {

// ResNet-50's conv and fc weight shapes (25.5 M weights), filled with Gaussian and Laplace values.
std::string resnet50_shaped_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("resnet50_shaped_weights");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  std::mt19937 gen(50);
  std::normal_distribution<float> normal(0, 0.05f);
  std::exponential_distribution<float> expo(20);
  int layer = 0;
  std::string prev = "x";
  auto add = [&](std::vector<int64_t> dims, const char* op) {
    auto* w = g->add_initializer();
    w->set_name("w" + std::to_string(layer));
    w->set_data_type(1);
    int64_t n = 1;
    for (int64_t d : dims) {
      w->add_dims(d);
      n *= d;
    }
    std::vector<float> v(static_cast<size_t>(n));
    const bool laplace = layer % 2 == 1;
    for (auto& x : v) x = laplace ? (gen() & 1 ? expo(gen) : -expo(gen)) : normal(gen);
    w->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    auto* node = g->add_node();
    node->set_op_type(op);
    node->set_name(std::string(op) + "_" + std::to_string(layer));
    node->add_input(prev);
    node->add_input(w->name());
    prev = "y" + std::to_string(layer);
    node->add_output(prev);
    ++layer;
  };
  add({64, 3, 7, 7}, "Conv");
  int64_t in_ch = 64;
  const int64_t stages[4][3] = {{64, 256, 3}, {128, 512, 4}, {256, 1024, 6}, {512, 2048, 3}};
  for (const auto& s : stages) {
    for (int b = 0; b < s[2]; ++b) {
      add({s[0], in_ch, 1, 1}, "Conv");
      add({s[0], s[0], 3, 3}, "Conv");
      add({s[1], s[0], 1, 1}, "Conv");
      if (b == 0) add({s[1], in_ch, 1, 1}, "Conv");
      in_ch = s[1];
    }
  }
  add({2048, 1000}, "MatMul");
  g->add_output()->set_name(prev);
  return m.SerializeAsString();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median time of `runs` sweeps; with a cache the first (untimed) sweep fills it, as an interactive re-sweep.
double time_sweep(const qp::Graph& g, const qp::SweepOptions& o, int runs, bool warm) {
  std::vector<double> t;
  qp::SweepCache cache;
  if (warm) qp::quant_sweep(g, o, {}, &cache);
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = qp::quant_sweep(g, o, {}, warm ? &cache : nullptr);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (r.layers.empty()) std::abort();
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "resnet50_shaped.onnx";
  {
    const std::string bytes = resnet50_shaped_model();
    std::FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) return 1;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  std::vector<std::string> models = {out};
  for (int i = 2; i < argc; ++i) models.push_back(argv[i]);
  std::printf("| model | weights | config | SIMD 1 thread | SIMD 2 threads | SIMD 1 thread, stats cached | scalar ref 1 thread | ref / SIMD (1 thread) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& path : models) {
    const qp::Graph g = qp::onnx_load_file(path);
    int64_t params = 0;
    for (const auto& l : qp::find_layers(g)) params += l.params;
    for (int cfg = 0; cfg < 2; ++cfg) {
      qp::SweepOptions o;  // 7 bit-widths 8..2, min-max
      if (cfg == 1) {
        o.granularity = qp::Granularity::kChannel;
        o.scheme = qp::Scheme::kAsymmetric;
      }
      o.threads = 1;
      const double simd1 = time_sweep(g, o, 21, false);
      const double warm1 = time_sweep(g, o, 21, true);
      o.threads = 2;
      const double simd2 = time_sweep(g, o, 21, false);
      o.threads = 1;
      o.reference_kernel = true;
      const double ref = time_sweep(g, o, 5, false);
      const size_t slash = path.find_last_of('/');
      std::printf("| %s | %.2f M | %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1fx |\n",
                  path.substr(slash == std::string::npos ? 0 : slash + 1).c_str(), params / 1e6,
                  cfg == 0 ? "sym, tensor" : "asym, channel", simd1, simd2, warm1, ref, ref / simd1);
    }
  }
  std::printf("\nSIMD target: %s\n", qp::quant_sweep(qp::onnx_load_file(out), {}).simd_target.c_str());
  return 0;
}
