// Bias correction: clipped-normal means (§3.2 vectors), the empirical pass removes the mean shift it targets (layer
// by layer and at the output), cached and uncached runs agree, analytic from BN statistics, the iterative variant,
// and on digits_cnn with 4-bit weights: smaller output shift, accuracy kept.
#include "core/quant/passes/bias_correction.h"

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/quant/passes/mbc_json.h"
#include "core/quant/passes/cle.h"
#include "core/quant/passes/hba.h"
#include "core/quant/passes/meller.h"
#include "core/runtime/executor.h"
#include "tests/quant/passes/mbc_test_util.h"

using namespace qp;
using namespace mbc_test;

namespace {

CalibrationSet random_calib(const Graph& g, int n, uint64_t seed = 7) {
  RandomCalibration rc;
  rc.samples = n;
  rc.seed = seed;
  return calibration_random(g, rc);
}

double top1(const Graph& g, const std::map<std::string, FakeQuant>& fq, const CalibrationSet& data) {
  Executor ex(g);
  RunOptions ro;
  ro.fake_quant = fq;
  size_t row = 0, ok = 0;
  for (const auto& s : data.samples) {
    const Value y = ex.run(s, ro).at(g.outputs[0].name);
    const int64_t n = y.shape[0], c = y.shape[1];
    for (int64_t i = 0; i < n; ++i, ++row) {
      int64_t best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (y.f32()[i * c + k] > y.f32()[i * c + best]) best = k;
      ok += best == data.labels[row];
    }
  }
  return static_cast<double>(ok) / static_cast<double>(row);
}

}  // namespace

TEST_CASE("bias correction: clipped-normal means match the validation numbers of 3.2") {
  const double inf = INFINITY;
  CHECK(clipped_normal_mean(0.5, 1, 0, inf) == doctest::Approx(0.697797).epsilon(1e-6));
  CHECK(clipped_normal_mean(-1, 2, 0, inf) == doctest::Approx(0.395593).epsilon(1e-6));
  CHECK(clipped_normal_mean(3, 0.5, 0, inf) == doctest::Approx(3.000000).epsilon(1e-6));
  CHECK(clipped_normal_mean(2, 3, 0, 6) == doctest::Approx(2.326174).epsilon(1e-6));
  CHECK(clipped_normal_mean(5, 2, 0, 6) == doctest::Approx(4.608415).epsilon(1e-6));
  CHECK(clipped_normal_mean(-2, 0, 0, 6) == 0);
  CHECK(clipped_normal_mean(1.5, 2, -inf, inf) == doctest::Approx(1.5));
}

TEST_CASE("bias correction: empirical removes each layer's mean shift and shrinks the output shift") {
  const Graph g = chain("Relu");
  const CalibrationSet calib = random_calib(g, 8);
  BiasCorrectionOptions o;
  o.weights.spec.bits = 4;
  const BiasCorrectionResult r = bias_correction(g, &calib, o);
  REQUIRE(r.layers.size() == 3);
  for (const auto& l : r.layers) CHECK(l.method == "empirical");
  CHECK(r.layers[1].bias_created);  // conv2 had no bias
  CHECK(r.graph.weights.count(r.layers[1].bias));
  CHECK(r.layers[0].delta_norm > 0);
  const OutputError before = output_error(g, g, weight_fake_quant(g, o.weights), calib);
  const OutputError after = output_error(g, r.graph, r.weight_fake_quant, calib);
  MESSAGE("chain 4-bit: mean |shift| " << before.mean_abs_shift << " -> " << after.mean_abs_shift << ", SQNR "
                                        << before.sqnr_db << " -> " << after.sqnr_db << " dB; cost " << r.report.notes.back());
  // On the calibration data the last layer's mean error is zeroed exactly (its pre-activation is the output).
  CHECK(after.mean_abs_shift < 1e-4 * std::max(1.0, before.mean_abs_shift));
  CHECK(before.mean_abs_shift > 1e-3);
  // Every layer's pre-activation mean now matches fp32 on the calibration data.
  Executor fp(g), q(r.graph);
  RunOptions ro, qo;
  ro.capture = qo.capture = {"c1", "c2"};
  qo.fake_quant = r.weight_fake_quant;
  for (const char* v : {"c1", "c2"}) {
    std::vector<double> d(6, 0.0);
    double cnt = 0;
    for (const auto& s : calib.samples) {
      const Value a = fp.run(s, ro).at(v), b = q.run(s, qo).at(v);
      const int64_t c = a.shape[1], hw = a.shape[2] * a.shape[3];
      for (int64_t i = 0; i < a.numel(); ++i) d[static_cast<size_t>(i / hw % c)] += b.f32()[i] - a.f32()[i];
      cnt += static_cast<double>(hw);
    }
    for (double x : d) CHECK(std::fabs(x / cnt) < 1e-4);
  }
  // Cached (one pass per sweep) and uncached (ancestors re-run per layer) give the same biases.
  BiasCorrectionOptions u = o;
  u.max_cache_bytes = 0;
  const BiasCorrectionResult ru = bias_correction(g, &calib, u);
  CHECK_FALSE(ru.cached);
  CHECK(r.cached);
  CHECK(ru.q_passes > r.q_passes);
  CHECK(r.q_passes < 1.5);
  for (size_t i = 0; i < r.layers.size(); ++i)
    for (size_t c = 0; c < r.layers[i].delta.size(); ++c)
      CHECK(ru.layers[i].delta[c] == doctest::Approx(r.layers[i].delta[c]).epsilon(1e-5));
  // The input graph is untouched; JSON carries the kind.
  CHECK(g.nodes[2].inputs.size() == 2);
  const auto j = nlohmann::json::parse(bias_correction_json(r));
  CHECK(j["kind"] == "bias_correction");
  CHECK(j["mode"] == "empirical");
  CHECK(j["layers"].size() == 3);
}

TEST_CASE("bias correction: analytic from BN statistics equals -dW E[x] and falls back to empirical at the input") {
  const Graph g = chain("Relu");
  const CalibrationSet calib = random_calib(g, 8);
  BnStatsMap bn;
  bn["conv1"] = BnStats{{0.5f, -1.0f, 3.0f, 0.0f, 0.2f, 1.0f}, {1.0f, 2.0f, 0.5f, 1.0f, 0.3f, 0.0f}};
  BiasCorrectionOptions o;
  o.mode = BiasCorrectionMode::kAnalytic;
  o.weights.spec.bits = 4;
  o.bn_stats = &bn;
  const BiasCorrectionResult r = bias_correction(g, &calib, o);
  CHECK(r.layers[0].method == "empirical");  // conv1 reads the graph input
  CHECK(r.layers[1].method == "analytic");   // conv2 reads Relu(conv1), modelled by BN
  CHECK(r.layers[2].method == "empirical");  // fc reads GAP of an un-modelled layer
  // conv2: delta[m] = -sum_c sum_taps dW[m, c] E[relu(N(beta_c, gamma_c))].
  const double ex[6] = {0.697797, 0.395593, 3.0, 0.398942, 0.245336, 1.0};  // §9.3 script; gamma 0 -> relu(beta)
  Value wq = value_clone(value_view(g.weights.at("w2")));
  fake_quant_apply(wq, r.weight_fake_quant.at("w2"));
  for (int m = 0; m < 5; ++m) {
    double want = 0;
    for (int c = 0; c < 6; ++c)
      want -= (static_cast<double>(wq.f32()[m * 6 + c]) - g.weights.at("w2").f32()[m * 6 + c]) * ex[c];
    CHECK(r.layers[1].delta[static_cast<size_t>(m)] == doctest::Approx(want).epsilon(1e-4));
  }
  // Without data the uncovered layers stay as they are.
  const BiasCorrectionResult nd = bias_correction(g, nullptr, o);
  CHECK(nd.layers[0].method == "none");
  CHECK(nd.layers[1].method == "analytic");
  CHECK_THROWS_WITH_AS(bias_correction(g, nullptr, BiasCorrectionOptions{}), doctest::Contains("calibration data"), Error);
}

TEST_CASE("bias correction: iterative with quantized activations converges over sweeps") {
  const Graph g = chain("Relu");
  const CalibrationSet calib = random_calib(g, 8);
  BiasCorrectionOptions o;
  o.mode = BiasCorrectionMode::kIterative;
  o.weights.spec.bits = 4;
  o.max_sweeps = 4;
  FakeQuant act;
  act.spec.bits = 6;
  act.spec.scheme = Scheme::kAsymmetric;
  act.spec.is_signed = false;
  act.params = {quant_params(act.spec, 0, 4)};
  o.activation_fake_quant = {{"a1", act}, {"a2", act}};
  const BiasCorrectionResult r = bias_correction(g, &calib, o);
  REQUIRE(r.sweep_residual.size() >= 2);
  MESSAGE("iterative residuals: " << r.sweep_residual[0] << " -> " << r.sweep_residual.back() << " in " << r.sweeps << " sweeps");
  CHECK(r.sweep_residual.back() < r.sweep_residual[0]);
  std::map<std::string, FakeQuant> fq = r.weight_fake_quant;
  for (const auto& kv : o.activation_fake_quant) fq[kv.first] = kv.second;
  std::map<std::string, FakeQuant> fq0 = weight_fake_quant(g, o.weights);
  for (const auto& kv : o.activation_fake_quant) fq0[kv.first] = kv.second;
  CHECK(output_error(g, r.graph, fq, calib).mean_abs_shift < output_error(g, g, fq0, calib).mean_abs_shift);
}

TEST_CASE("bias correction: digits_cnn with 4-bit per-tensor weights: smaller output shift, accuracy kept") {
  const Graph& g = digits();
  const CalibrationSet calib = digits_data(0, 64, 16);
  const CalibrationSet test = digits_data(64, 384, 64);
  BiasCorrectionOptions o;
  o.weights.spec.bits = 4;
  const BiasCorrectionResult r = bias_correction(g, &calib, o);
  const auto fq0 = weight_fake_quant(g, o.weights);
  const OutputError e0 = output_error(g, g, fq0, test), e1 = output_error(g, r.graph, r.weight_fake_quant, test);
  const double a_fp = top1(g, {}, test), a0 = top1(g, fq0, test), a1 = top1(r.graph, r.weight_fake_quant, test);
  MESSAGE("digits 4-bit (held-out 384): mean|shift| " << e0.mean_abs_shift << " -> " << e1.mean_abs_shift << ", SQNR "
          << e0.sqnr_db << " -> " << e1.sqnr_db << " dB, top-1 fp " << a_fp << ", w4 " << a0 << ", w4+BC " << a1
          << "; " << r.report.notes.back());
  CHECK(e1.mean_abs_shift < 0.7 * e0.mean_abs_shift);
  CHECK(a1 >= a0 - 0.01);
}

TEST_CASE("bias correction: effect table on digits_cnn, per-tensor weights at 8 and 4 bits") {
  const Graph& g = digits();
  const CalibrationSet calib = digits_data(0, 64, 16);
  const CalibrationSet test = digits_data(64, 256, 64);
  CleOptions co;
  co.relu6 = Relu6Policy::kBound;
  const CleResult cle = cle_equalize(g, co, &calib);
  const HbaResult hb = hba(cle.graph, cle.bn_stats, &calib);
  MellerOptions m1, m2;
  m2.two_steps = true;
  const MellerResult me1 = meller_equalize(g, calib, m1), me2 = meller_equalize(g, calib, m2);
  for (int bits : {8, 4}) {
    BiasCorrectionOptions o;
    o.weights.spec.bits = bits;
    const BiasCorrectionResult bc = bias_correction(hb.graph, &calib, o);
    const BiasCorrectionResult bc_m1 = bias_correction(me1.graph, &calib, o);
    struct Row { const char* name; const Graph* g; };
    const Row rows[] = {{"none", &g}, {"CLE", &cle.graph}, {"CLE+HBA", &hb.graph}, {"CLE+HBA+BC", &bc.graph},
                        {"Meller one-step", &me1.graph}, {"Meller two-step", &me2.graph}, {"Meller one-step+BC", &bc_m1.graph}};
    std::map<std::string, OutputError> e;
    for (const auto& row : rows) {
      e[row.name] = output_error(g, *row.g, weight_fake_quant(*row.g, o.weights), test);
      MESSAGE(bits << "-bit per-tensor, " << std::string(row.name) << ": SQNR " << e[row.name].sqnr_db << " dB, mean |shift| "
                   << e[row.name].mean_abs_shift);
    }
    CHECK(e["CLE+HBA+BC"].mean_abs_shift < e["CLE+HBA"].mean_abs_shift);
    CHECK(e["Meller one-step+BC"].mean_abs_shift < e["Meller one-step"].mean_abs_shift);
    CHECK(e["CLE+HBA+BC"].sqnr_db > e["none"].sqnr_db);
    if (bits == 4) CHECK(e["Meller one-step"].sqnr_db > e["none"].sqnr_db + 3);
  }
}
