// GFLOP/s of the linear-op kernels on shapes from the models we target (PP-OCRv4, SqueezeNet), one thread.
// Usage: kernels_bench [substring-filter] [--quick]; prints the median (and best) of 5 timed rounds per shape.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#include "core/runtime/kernels/f32_conv.h"
#include "core/runtime/kernels/f32_gemm.h"

using namespace qp;

namespace {

// Process CPU time, not wall time: the machine is shared, and time slices lost to other processes are not ours.
// Under node it is node's process.cpuUsage() (V8's background threads are idle once the code has tiered up).
#ifdef __EMSCRIPTEN__
EM_JS(double, node_cpu_seconds, (), {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
});
double now_s() { return node_cpu_seconds(); }
#else
double now_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
#endif

std::vector<float> rnd(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(gen);
  return v;
}

bool g_quick = false;

// Median GFLOP/s over rounds of at least ~40 ms each.
void bench(const std::string& name, double flops, const std::function<void()>& fn) {
  fn();  // warm up (and first-touch the outputs)
#ifdef __EMSCRIPTEN__
  // V8 tiers each kernel up separately: run this one until its optimised code is in place.
  for (const double w0 = now_s(); now_s() - w0 < 0.2;) fn();
#endif
  const double t0 = now_s();
  fn();
  const double once = std::max(now_s() - t0, 1e-6);
  const int iters = std::max(1, static_cast<int>((g_quick ? 0.01 : 0.04) / once));
  std::vector<double> rates;
  for (int round = 0; round < (g_quick ? 3 : 5); ++round) {
    const double s = now_s();
    for (int i = 0; i < iters; ++i) fn();
    const double dt = (now_s() - s) / iters;
    rates.push_back(flops / dt * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  const double med = rates[rates.size() / 2], best = rates.back();
  std::printf("%-44s %8.2f GFLOP/s (best %6.2f) %9.3f ms\n", name.c_str(), med, best, flops / med * 1e-6);
  std::fflush(stdout);
}

struct ConvShape {
  const char* name;
  size_t cin, cout, h, w, k, stride, pad, groups;
};

}  // namespace

int main(int argc, char** argv) {
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) g_quick = true;
    else filter = argv[i];
  }
  const F32GemmTile t = f32_gemm_tile();
#ifdef __EMSCRIPTEN__
  {
    // Let V8 tier the kernels up from Liftoff to TurboFan before anything is timed.
    const auto a = rnd(64 * 256, 1), b = rnd(256 * 256, 2);
    std::vector<float> c(64 * 256);
    F32PackedA pa;
    f32_gemm_pack_a(a.data(), 64, 256, 256, 1, pa);
    F32GemmB src;
    src.pack = [&](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
      f32_gemm_pack_b(b.data(), 256, 1, k0, kc, n0, nc, dst);
    };
    const double t0 = now_s();
    while (now_s() - t0 < 0.5) f32_gemm_packed(64, 256, 256, pa, src, c.data(), 256, F32GemmEpilogue{});
  }
#endif
  std::printf("target %s  mr %zu nr %zu kc %zu nc %zu\n", f32_gemm_target(), t.mr, t.nr, t.kc, t.nc);
  auto want = [&](const std::string& n) { return filter.empty() || n.find(filter) != std::string::npos; };

  // Plain GEMMs: A packed once (weights), B packed per block (activations), as Conv runs them.
  struct G { size_t m, n, k; bool prepacked; };
  for (G g : {G{64, 3136, 576, false}, G{64, 3136, 576, true}, G{256, 256, 256, true}, G{24, 25600, 864, false}, G{24, 25600, 864, true},
              G{96, 25600, 24, false}, G{1, 1000, 512, true}, G{40, 480, 120, true}}) {
    const std::string name = "gemm " + std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k) +
                             (g.prepacked ? " (B prepacked)" : " (B per block)");
    if (!want(name)) continue;
    const auto a = rnd(g.m * g.k, 1), b = rnd(g.k * g.n, 2);
    std::vector<float> c(g.m * g.n);
    F32PackedA pa;
    f32_gemm_pack_a(a.data(), g.m, g.k, g.k, 1, pa);
    F32PackedB pb;
    F32GemmB src;
    if (g.prepacked) {
      f32_gemm_pack_b_full(b.data(), g.k, g.n, g.n, 1, pb);
      src.packed = &pb;
    } else {
      src.pack = [&](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
        f32_gemm_pack_b(b.data(), g.n, 1, k0, kc, n0, nc, dst);
      };
    }
    F32GemmEpilogue ep;
    ep.act = Act::kRelu;
    bench(name, 2.0 * g.m * g.n * g.k, [&] { f32_gemm_packed(g.m, g.n, g.k, pa, src, c.data(), g.n, ep); });
  }

  const ConvShape convs[] = {
      {"conv1x1 256->64 @56x56", 256, 64, 56, 56, 1, 1, 0, 1},
      {"conv1x1 192->192 @40x40 (det)", 192, 192, 40, 40, 1, 1, 0, 1},
      {"conv1x1 16->32 @320x320 (det)", 16, 32, 320, 320, 1, 1, 0, 1},
      {"conv3x3 32->32 @160x160", 32, 32, 160, 160, 3, 1, 1, 1},
      {"conv3x3 96->24 @160x160 (det)", 96, 24, 160, 160, 3, 1, 1, 1},
      {"conv3x3 s2 3->16 @640x640 (det stem)", 3, 16, 640, 640, 3, 2, 1, 1},
      {"conv3x3 64->64 @55x55 (squeezenet)", 64, 64, 55, 55, 3, 1, 1, 1},
      {"dw3x3 128 @80x80", 128, 128, 80, 80, 3, 1, 1, 128},
      {"dw3x3 s2 128 @80x80", 128, 128, 80, 80, 3, 2, 1, 128},
      {"dw5x5 96 @40x40", 96, 96, 40, 40, 5, 1, 2, 96},
      {"conv3x3 s2 3->64 @224x224 (squeezenet stem)", 3, 64, 224, 224, 3, 2, 0, 1},
      {"dw3x3 64 @24x160 (rec)", 64, 64, 24, 160, 3, 1, 1, 64},
      {"dw5x5 240 @6x24 (cls)", 240, 240, 6, 24, 5, 1, 2, 240},
      {"dw3x3 s2 16 @32x32 (digits)", 16, 16, 32, 32, 3, 2, 1, 16},
      {"dw3x3 128 @8x8 (digits)", 128, 128, 8, 8, 3, 1, 1, 128},
  };
  for (const ConvShape& s : convs) {
    if (!want(s.name)) continue;
    F32Conv2dGeom g;
    g.c = s.cin / s.groups;
    g.h = s.h;
    g.w = s.w;
    g.kh = g.kw = s.k;
    g.sh = g.sw = s.stride;
    g.pt = g.pl = s.pad;
    g.oh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
    g.ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
    const size_t cout_g = s.cout / s.groups, kk = g.c * s.k * s.k;
    const auto x = rnd(s.cin * s.h * s.w, 3), w = rnd(s.cout * kk, 4), bias = rnd(s.cout, 5);
    std::vector<float> y(s.cout * g.oh * g.ow);
    F32GemmEpilogue ep;
    ep.act = Act::kRelu;
    const double flops = 2.0 * s.cout * g.oh * g.ow * kk;
    if (s.groups == s.cin && g.c == 1) {
      bench(s.name, flops, [&] { f32_conv2d_depthwise(x.data(), w.data(), bias.data(), y.data(), g, s.cin, 1, ep); });
    } else {
      const auto packed = f32_conv2d_pack_weights(w.data(), s.groups, cout_g, kk);
      bench(s.name, flops,
            [&] { f32_conv2d_gemm(x.data(), packed, bias.data(), y.data(), g, s.groups, cout_g, ep); });
    }
  }

  // ConvTranspose 2x2 stride 2 (PP-OCR det head).
  for (size_t cout : {size_t{24}, size_t{1}}) {
    const std::string name = "convT2x2 s2 24->" + std::to_string(cout) + " @160x160 (det head)";
    if (!want(name)) continue;
    F32Conv2dGeom g;
    g.c = 24;
    g.h = g.w = 160;
    g.kh = g.kw = 2;
    g.sh = g.sw = 2;
    g.oh = g.ow = 320;
    const auto x = rnd(24 * 160 * 160, 6), w = rnd(24 * cout * 4, 7), bias = rnd(cout, 8);
    std::vector<float> y(cout * 320 * 320);
    const auto packed = f32_conv_transpose2d_pack_weights(w.data(), 1, 24, cout, 4);
    F32GemmEpilogue ep;
    ep.act = Act::kRelu;
    bench(name, 2.0 * 24 * cout * 4 * 160 * 160,
          [&] { f32_conv_transpose2d(x.data(), packed, bias.data(), y.data(), g, 1, cout, ep); });
  }
  return 0;
}
