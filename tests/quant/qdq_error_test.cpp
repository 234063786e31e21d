// The fused SIMD sweep kernel against its scalar reference: odd lengths, tails, misaligned pointers, clipping.
#include "core/quant/qdq_error.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/quant/quantizer.h"

using namespace qp;

namespace {
QdqParams params(int bits, Scheme scheme, double lo, double hi) {
  QuantSpec s;
  s.bits = bits;
  s.scheme = scheme;
  s.is_signed = scheme == Scheme::kSymmetric;
  const QParams p = quant_params(s, lo, hi);
  return {1.0f / p.scale, p.scale, p.zero_point, p.qmin, p.qmax};
}
}  // namespace

TEST_CASE("f32_qdq_error matches the scalar reference on seeded random shapes") {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 gen(seed);
    const size_t n = std::uniform_int_distribution<size_t>(0, 5000)(gen);
    const size_t misalign = seed % 4;  // start the data 0..3 floats past an aligned address
    std::vector<float> buf(n + misalign);
    std::student_t_distribution<float> heavy(3);
    for (auto& v : buf) v = heavy(gen);
    const float* x = buf.data() + misalign;
    // Ranges narrower than the data make the kernel clip; several quantizers at once as in the sweep.
    std::vector<QdqParams> q = {params(8, Scheme::kSymmetric, -4, 4), params(4, Scheme::kAsymmetric, -1.5, 2.5),
                                params(2, Scheme::kSymmetric, -1, 1), params(16, Scheme::kAsymmetric, -30, 30),
                                params(3, Scheme::kAsymmetric, 0, 1)};
    std::vector<QdqAccum> simd(q.size()), ref(q.size());
    double ss_simd = 0, ss_ref = 0;
    f32_qdq_error(x, n, q.data(), q.size(), simd.data(), &ss_simd);
    f32_qdq_error_ref(x, n, q.data(), q.size(), ref.data(), &ss_ref);
    INFO("seed " << seed << " n " << n << " misalign " << misalign << " target " << f32_qdq_error_target());
    CHECK(ss_simd == doctest::Approx(ss_ref).epsilon(1e-5));
    for (size_t k = 0; k < q.size(); ++k) {
      INFO("quantizer " << k);
      CHECK(simd[k].sq_err == doctest::Approx(ref[k].sq_err).epsilon(1e-5));
      CHECK(simd[k].max_abs_err == ref[k].max_abs_err);
      CHECK(simd[k].clipped == ref[k].clipped);
    }
  }
}

TEST_CASE("f32_qdq_error adds into existing sums and leaves other memory alone") {
  std::vector<float> x = {0.1f, -0.2f, 0.3f};
  const QdqParams q = params(8, Scheme::kSymmetric, -1, 1);
  QdqAccum acc[2];
  acc[1].sq_err = 12345;  // sentinel beyond nq
  acc[0].sq_err = 1;
  double ss = 2;
  f32_qdq_error(x.data(), x.size(), &q, 1, acc, &ss);
  CHECK(ss == doctest::Approx(2 + 0.01 + 0.04 + 0.09));
  CHECK(acc[0].sq_err >= 1);
  CHECK(acc[0].sq_err < 1 + 1e-4);
  CHECK(acc[1].sq_err == 12345);
}

TEST_CASE("clipped count and max error of a hand-computed case") {
  // Symmetric 8-bit on [-1, 1]: s = 1/127. 2.0 and -3.0 clip to +-1 (errors 1 and 2); 0 is exact.
  std::vector<float> x = {2.0f, -3.0f, 0.0f, 0.5f};
  const QdqParams q = params(8, Scheme::kSymmetric, -1, 1);
  QdqAccum acc;
  double ss = 0;
  f32_qdq_error(x.data(), x.size(), &q, 1, &acc, &ss);
  CHECK(acc.clipped == 2);
  CHECK(acc.max_abs_err == doctest::Approx(2.0));
  const double e05 = std::fabs(std::nearbyint(0.5 * 127) / 127 - 0.5);
  CHECK(acc.sq_err == doctest::Approx(1 + 4 + e05 * e05).epsilon(1e-6));
}
