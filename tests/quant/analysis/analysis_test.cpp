// Layer-wise analysis on real models: 16-bit weights are transparent, the additive prediction and its interaction
// term, incremental runs agree with plain full runs, an injected weight outlier ranks worst, cost and cancel.
#include "core/quant/analysis/analysis.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/quant/analysis/analysis_json.h"
#include "core/quant/analysis/fix.h"
#include "core/quant/analysis/mixed.h"
#include "core/runtime/executor.h"
#include "tests/support/digits.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

// SNR of a plain full run with the given quantizers against fp32, outputs averaged as the analysis does.
double full_run_snr(const Graph& g, const CalibrationSet& data, const RunOptions& ro) {
  Executor ex(g);
  std::vector<double> noise(g.outputs.size(), 0), sig(g.outputs.size(), 0);
  for (const auto& s : data.samples) {
    const auto y = ex.run(s);
    const auto yq = ex.run(s, ro);
    for (size_t o = 0; o < g.outputs.size(); ++o) {
      const auto a = value_to_doubles(y.at(g.outputs[o].name));
      const auto b = value_to_doubles(yq.at(g.outputs[o].name));
      for (size_t i = 0; i < a.size(); ++i) {
        noise[o] += (b[i] - a[i]) * (b[i] - a[i]);
        sig[o] += a[i] * a[i];
      }
    }
  }
  double nsr = 0;
  for (size_t o = 0; o < noise.size(); ++o) nsr += noise[o] / sig[o];
  return -10 * std::log10(nsr / static_cast<double>(noise.size()));
}

}  // namespace

TEST_CASE("analysis: weights at 16 bits give SNR_l above 80 dB for every layer") {
  const CalibrationSet data = qp_test::digits_data(32, 16, true);
  AnalysisOptions o;
  o.weight.bits = 16;
  o.quantize_activations = false;
  const AnalysisReport r = analyse_layers(qp_test::digits_graph(), data, o);
  REQUIRE(r.layers.size() >= 8);
  for (const auto& l : r.layers) {
    INFO(l.layer.name);
    CHECK_FALSE(l.skipped);
    CHECK(l.wa.snr_db > 80);
    CHECK(l.w.snr_db == l.wa.snr_db);
    CHECK(std::isinf(l.a.snr_db));
  }
  CHECK(r.all.snr_db > 70);
  CHECK(r.top1_agree == 1.0);
  CHECK(r.accuracy_fp32 == r.accuracy_quant);
}

TEST_CASE("analysis: additive prediction, interaction term, and incremental runs agree with full runs") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(32, 16, true);
  AnalysisOptions o;
  o.weight.bits = 6;
  o.weight.granularity = Granularity::kTensor;
  o.act.bits = 8;
  LayerAnalyzer an(g, data);
  const AnalysisReport r = an.analyse(o);
  // The prediction is -10 log10(sum of the per-layer noise-to-signal ratios), recomputed here from the dB values.
  double sum = 0, share = 0;
  for (const auto& l : r.layers) {
    sum += std::pow(10.0, -l.wa.snr_db / 10);
    share += l.share;
  }
  CHECK(r.snr_pred_db == doctest::Approx(-10 * std::log10(sum)).epsilon(1e-9));
  CHECK(r.interaction_db == doctest::Approx(r.snr_pred_db - r.all.snr_db).epsilon(1e-12));
  CHECK(share == doctest::Approx(1.0).epsilon(1e-9));
  // The measured all-quantized SNR equals a plain full run with the same quantizers.
  RunOptions all;
  for (size_t l = 0; l < an.layers().size(); ++l) {
    FakeQuant f;
    if (an.weight_quantizer(l, o, f)) all.fake_quant[an.layers()[l].weight] = f;
    if (an.act_quantizer(l, o, f)) all.fake_quant[an.act_points()[l]] = f;
  }
  CHECK(r.all.snr_db == doctest::Approx(full_run_snr(g, data, all)).epsilon(1e-4));
  // Per-layer results from the downstream-only runs equal full runs with only that layer quantized.
  for (size_t l : {size_t{0}, an.layers().size() / 2, an.layers().size() - 1}) {
    RunOptions w, a, wa;
    FakeQuant fw, fa;
    REQUIRE(an.weight_quantizer(l, o, fw));
    REQUIRE(an.act_quantizer(l, o, fa));
    w.fake_quant[an.layers()[l].weight] = fw;
    a.fake_quant[an.act_points()[l]] = fa;
    wa.fake_quant = {{an.layers()[l].weight, fw}, {an.act_points()[l], fa}};
    INFO(an.layers()[l].name);
    CHECK(r.layers[l].w.snr_db == doctest::Approx(full_run_snr(g, data, w)).epsilon(1e-4));
    CHECK(r.layers[l].a.snr_db == doctest::Approx(full_run_snr(g, data, a)).epsilon(1e-4));
    CHECK(r.layers[l].wa.snr_db == doctest::Approx(full_run_snr(g, data, wa)).epsilon(1e-4));
    CHECK(r.layers[l].gain_db == doctest::Approx(r.layers[l].local_sqnr_db - r.layers[l].wa.snr_db));
  }
  // Cumulative SNR falls along the network overall (the last layer sees the accumulated error).
  CHECK(r.layers.back().cumulative_snr_db < r.layers.front().cumulative_snr_db);
  // Cost: cheaper than the naive runs, and the accounting adds up (each run counted once).
  CHECK(r.cost < r.naive_cost);
  CHECK(r.cost > 0.3 * r.naive_cost);
  CHECK(r.samples == 2);
  CHECK(r.rows == 32);
  CHECK(r.accuracy_fp32 >= 0.9);

  SUBCASE("a what-if re-runs only the overridden layer and matches a fresh analysis") {
    AnalysisOptions o2 = o;
    LayerOverride ov;
    ov.has_weight = true;
    ov.weight = o.weight;
    ov.weight.bits = 8;
    o2.overrides[an.layers()[2].name] = ov;
    const AnalysisReport r2 = an.analyse(o2);
    int ran = 0;
    for (const auto& l : r2.layers) ran += l.cost > 0;
    CHECK(ran == 1);
    CHECK(r2.layers[2].w.snr_db > r.layers[2].w.snr_db + 6);
    const AnalysisReport fresh = analyse_layers(g, data, o2);
    for (size_t l = 0; l < r2.layers.size(); ++l) CHECK(r2.layers[l].wa.snr_db == fresh.layers[l].wa.snr_db);
    CHECK(r2.all.snr_db == fresh.all.snr_db);
  }
}

TEST_CASE("analysis: progress reports every layer; cancelling keeps whole samples or throws") {
  const CalibrationSet data = qp_test::digits_data(48, 16, true);
  AnalysisOptions o;
  o.variants = false;
  int calls = 0, last_layer = 0;
  double last_fraction = 0;
  bool monotone = true;
  const AnalysisReport r = analyse_layers(qp_test::digits_graph(), data, o, [&](const AnalysisProgress& p) {
    ++calls;
    if (p.stage == "analyse") {
      monotone &= p.fraction >= last_fraction;
      last_fraction = p.fraction;
      last_layer = p.layer;
    }
    return true;
  });
  CHECK(monotone);
  CHECK(last_layer == static_cast<int>(r.layers.size()));
  CHECK(calls == 3 + 3 * static_cast<int>(r.layers.size()));  // 3 calibration samples, then 3 x L layers
  CHECK_FALSE(r.cancelled);

  int n = 0;
  const AnalysisReport part = analyse_layers(qp_test::digits_graph(), data, o, [&](const AnalysisProgress& p) {
    return p.stage != "analyse" || ++n <= static_cast<int>(r.layers.size()) + 2;  // stop during sample 2
  });
  CHECK(part.cancelled);
  CHECK(part.samples == 1);
  CHECK(part.rows == 16);
  CHECK_THROWS_WITH_AS(analyse_layers(qp_test::digits_graph(), data, o, [](const AnalysisProgress&) { return false; }),
                       "analysis cancelled", Error);
}

TEST_CASE("analysis: a weight outlier in one layer ranks it worst; the local clip recovers, the global does not") {
  // Derived from digits_cnn: one input channel of a depthwise layer made dead (its producer's bias very negative, so
  // the ReLU6 gives 0) and one weight of that channel made 40x the layer's largest. The outlier carries no signal but
  // sets the per-tensor range.
  Graph g = qp_test::digits_graph();
  const auto layers = find_layers(g);
  size_t dw = 0;
  for (size_t i = 1; i < layers.size(); ++i)
    if (layers[i].groups > 1 && layers[i].groups == layers[i].channels) {
      dw = i;
      break;
    }
  REQUIRE(dw > 0);
  const Layer& prev = layers[dw - 1];
  REQUIRE_FALSE(prev.bias.empty());
  g.weights[prev.bias].f32_mut()[0] = -1e4f;
  Tensor& w = g.weights[layers[dw].weight];
  float mx = 0;
  for (int64_t i = 0; i < w.numel(); ++i) mx = std::max(mx, std::fabs(w.f32()[i]));
  w.f32_mut()[4] = 100 * mx;  // channel 0, centre tap

  const CalibrationSet data = qp_test::digits_data(32, 16, true);
  AnalysisOptions o;
  o.weight.granularity = Granularity::kTensor;
  o.quantize_activations = false;
  LayerAnalyzer an(g, data);
  const AnalysisReport r = an.analyse(o);
  size_t worst = 0;
  for (size_t i = 0; i < r.layers.size(); ++i)
    if (r.layers[i].share > r.layers[worst].share) worst = i;
  CHECK(worst == dw);
  CHECK(r.layers[dw].share > 0.5);
  bool dominant = false;
  for (const auto& f : r.layers[dw].flags) dominant |= f == "dominant";
  CHECK(dominant);

  // The fix: the layer's weights cause it; clipping at the 99th percentile of |w| on that layer alone comes within
  // 1 dB of keeping the layer in float32 (the most any fix of it can give); the same clip on every layer stays 3 dB
  // or more below, because it clips well-behaved layers too. MSE clipping (in weight space) keeps the outlier.
  FixOptions fo;
  fo.methods = {range_options_parse("percentile:99"), range_options_parse("mse")};
  const FixReport f = analysis_fix(an, o, r, fo);
  CHECK(f.layer == layers[dw].name);
  CHECK(f.cause == "weights");
  CHECK(f.before.all.snr_db == doctest::Approx(r.all.snr_db).epsilon(1e-9));
  CHECK(f.before.all.snr_db < 0);
  CHECK(f.ceiling.all.snr_db > 25);
  const FixTrial& p99 = f.trials[0];
  CHECK(p99.local.all.snr_db > f.ceiling.all.snr_db - 1);
  CHECK(p99.global.all.snr_db < f.ceiling.all.snr_db - 3);
  CHECK(p99.global.all.snr_db > f.before.all.snr_db);
  CHECK(f.trials[1].local.all.snr_db < 0);
  CHECK(f.best == 0);
  CHECK(f.fixed.overrides.at(f.layer).weight.range.method == RangeMethod::kPercentile);
  CHECK(p99.local.top1_agree >= 0.95);
  CHECK(f.before.top1_agree < 0.5);
  const std::string j = fix_json(f);
  CHECK(j.find("\"kind\":\"analysis_fix\"") != std::string::npos);
}

TEST_CASE("mixed precision: a monotone front from measured sensitivity, verified, beside MixQuant") {
  const CalibrationSet data = qp_test::digits_data(32, 16, true);
  AnalysisOptions o;
  o.weight.granularity = Granularity::kTensor;
  LayerAnalyzer an(qp_test::digits_graph(), data);
  MixedOptions mo;
  mo.qem = {2, 8};
  const MixedReport m = mixed_precision(an, qp_test::digits_graph(), o, mo);
  REQUIRE(m.layers.size() == an.layers().size());
  REQUIRE(m.front.size() >= 7);
  for (const auto& kv : m.front.front().bits) CHECK(kv.second == 8);
  for (const auto& kv : m.front.back().bits) CHECK(kv.second == 2);
  CHECK(m.front.front().mean_bits == 8);
  int verified = 0;
  for (size_t i = 1; i < m.front.size(); ++i) {
    CHECK(m.front[i].weight_bytes < m.front[i - 1].weight_bytes);
    CHECK(m.front[i].snr_pred_db < m.front[i - 1].snr_pred_db);
  }
  for (const auto& a : m.front) {
    if (std::isnan(a.snr_meas_db)) continue;
    ++verified;
    // Where the noise is small the additive prediction holds.
    if (a.snr_pred_db > 20) CHECK(std::fabs(a.snr_meas_db - a.snr_pred_db) < 2);
  }
  CHECK(verified >= 4);
  // Fewer bits cost output SNR: every bit down to 6, every two bits below (a small per-tensor layer's few levels can
  // land either way: the 144-weight depthwise layer measures 16.5 dB at 5 bits and 17.1 dB at 4); 8 bits give above
  // 25 dB in each layer.
  for (const auto& row : m.snr_db) {
    CHECK(row[0] > 25);
    for (size_t k = 1; k < row.size(); ++k) CHECK(row[k] < (k <= 2 ? row[k - 1] : row[k - 2]));
  }
  REQUIRE(m.mixquant.size() == 4);
  for (const auto& p : m.mixquant) {
    INFO("qem " << p.qem << " " << baseline_name(p.baseline));
    CHECK(!std::isnan(p.alloc.snr_meas_db));
    CHECK(p.front.weight_bytes <= p.alloc.weight_bytes);
    CHECK(p.front.snr_pred_db >= p.alloc.snr_pred_db - 0.5);
  }
  const std::string j = mixed_json(m);
  CHECK(j.find("\"kind\":\"mixed_precision\"") != std::string::npos);
}

TEST_CASE("analysis: JSON carries the per-layer arrays the page plots") {
  const CalibrationSet data = qp_test::digits_data(16, 16, true);
  AnalysisOptions o;
  const AnalysisReport r = analyse_layers(qp_test::digits_graph(), data, o);
  const std::string j = analysis_json(r);
  for (const char* k : {"\"schema\":\"quantplay/1\"", "\"kind\":\"analysis\"", "\"snr_w\"", "\"snr_a\"", "\"snr_wa\"",
                        "\"share\"", "\"local_sqnr\"", "\"gain\"", "\"cumulative_snr\"", "\"flags\"", "\"cost\""})
    CHECK(j.find(k) != std::string::npos);
}

TEST_CASE("analysis: option and data errors") {
  AnalysisOptions o;
  o.weight.bits = 17;
  CHECK_THROWS_WITH_AS(analysis_options_validate(o), "options.weight.bits: 17 is outside 2..16", Error);
  o.weight.bits = 8;
  o.quantize_weights = o.quantize_activations = false;
  CHECK_THROWS_AS(analysis_options_validate(o), Error);
  CalibrationSet empty;
  CHECK_THROWS_WITH_AS(LayerAnalyzer(qp_test::digits_graph(), empty), "analysis: the calibration set is empty", Error);
}

TEST_CASE("analysis: pinned numbers, the same natively and in wasm") {
  // Measured natively (x86-64, AVX2); the wasm build must reproduce them: same subsample picks, same ranges, the
  // same SNRs up to float round-off in the kernels.
  const CalibrationSet data = qp_test::digits_data(32, 16, true);
  AnalysisOptions o;
  o.weight.bits = 6;
  o.act.bits = 6;
  o.act.range = range_options_parse("percentile:99.9");
  o.act_subsample = 4096;
  LayerAnalyzer an(qp_test::digits_graph(), data);
  const AnalysisReport r = an.analyse(o);
  CHECK(r.all.snr_db == doctest::Approx(18.348444).epsilon(1e-3));
  CHECK(r.snr_pred_db == doctest::Approx(18.998255).epsilon(1e-3));
  CHECK(r.layers[0].act_hi == doctest::Approx(2.90302).epsilon(1e-4));
  CHECK(r.layers[3].act_hi == doctest::Approx(5.37312).epsilon(1e-4));
  CHECK(r.layers[8].act_lo == doctest::Approx(-12.5384).epsilon(1e-4));
  CHECK(r.layers[4].wa.snr_db == doctest::Approx(28.108426).epsilon(1e-3));
  CHECK(r.layers[7].a.snr_db == doctest::Approx(42.232966).epsilon(1e-3));
  o.act.range = range_options_parse("mse");
  CHECK(an.measure(o).all.snr_db == doctest::Approx(18.878602).epsilon(1e-3));
}

TEST_CASE("analysis: options from JSON, with errors that name the field") {
  const AnalysisOptions o = analysis_options_from_json(
      R"({"weight": {"bits": 4, "granularity": "tensor", "range": "mse"}, "act": {"bits": 6, "range": "percentile:99.9"},
          "variants": false, "overrides": {"conv1": {"fp32": true}, "conv2": {"weight": {"bits": 8}}}})");
  CHECK(o.weight.bits == 4);
  CHECK(o.weight.granularity == Granularity::kTensor);
  CHECK(o.weight.range.method == RangeMethod::kMse);
  CHECK(o.act.bits == 6);
  CHECK(o.act.range.percentile == 99.9);
  CHECK_FALSE(o.variants);
  CHECK(o.overrides.at("conv1").fp32);
  // Override fields not given take the global value.
  CHECK(o.overrides.at("conv2").weight.bits == 8);
  CHECK(o.overrides.at("conv2").weight.granularity == Granularity::kTensor);
  CHECK(o.overrides.at("conv2").weight.range.method == RangeMethod::kMse);
  CHECK(analysis_options_from_json("").weight.bits == 8);
  auto err = [](const std::string& j) {
    try {
      analysis_options_from_json(j);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(err(R"({"weight": {"bits": 1}})") == "options.weight.bits: 1 is outside 2..16");
  CHECK(err(R"({"act": {"range": "kl"}})").find("options.act.range: range 'kl' is not one of") == 0);
  CHECK(err(R"({"overrides": {"c": {"weight": {"bitz": 3}}}})") == "options.overrides.c.weight.bitz: unknown field");
  CHECK(err(R"({"weight": {"granularity": "row"}})") == "options.weight.granularity: 'row' is not tensor or channel");
  const FixOptions f = fix_options_from_json(R"({"methods": ["percentile:99", "aciq:laplace"], "layer": "c"})");
  REQUIRE(f.methods.size() == 2);
  CHECK(f.methods[1].aciq == AciqDist::kLaplace);
  CHECK(f.layer == "c");
  CHECK(fix_options_from_json("").methods.size() == 3);
  const MixedOptions m = mixed_options_from_json(R"({"bits": [8, 4], "verify": 2, "qem": [2], "baselines": ["max"]})");
  CHECK(m.bits == std::vector<int>{8, 4});
  CHECK(m.baselines == std::vector<Baseline>{Baseline::kMax});
  CHECK_THROWS_WITH_AS(mixed_options_from_json(R"({"qem": [0.5]})"), "options.qem[0]: must be a number >= 1", Error);
  // Unknown layer names are refused when the analysis runs.
  AnalysisOptions bad;
  bad.overrides["nope"].fp32 = true;
  CHECK_THROWS_WITH_AS(analyse_layers(qp_test::digits_graph(), qp_test::digits_data(16, 16, true), bad),
                       "options.overrides: 'nope' is not a quantizable layer of this model", Error);
}

TEST_CASE("analysis: on PP-OCR det (SE blocks, Resize, Concat, ConvTranspose) downstream runs equal full runs") {
  static const Graph g = onnx_load_file(qp_test::shared_dir() + "/models/ppocr/ch_PP-OCRv4_det_infer.onnx");
  RandomCalibration rc;
  rc.samples = 1;
  rc.dims = {{"p2o.DynamicDimension.1", 64}, {"p2o.DynamicDimension.2", 64}};
  const CalibrationSet data = calibration_random(g, rc);
  AnalysisOptions o;
  o.variants = false;
  LayerAnalyzer an(g, data);
  const AnalysisReport r = an.analyse(o);
  REQUIRE(r.layers.size() == 64);
  // The first layer, an SE-block conv (input from GlobalAveragePool), a ConvTranspose in the head, the last layer.
  std::vector<size_t> pick{0, r.layers.size() - 1};
  for (size_t l = 0; l < r.layers.size(); ++l) {
    if (r.layers[l].layer.op_type == "ConvTranspose") {
      pick.push_back(l);
      break;
    }
  }
  for (size_t l = 0; l < r.layers.size(); ++l)
    if (r.layers[l].act_point.find("hardsigmoid") == 0) {  // the SE gate conv, HardSigmoid fused into its output
      pick.push_back(l);
      break;
    }
  CHECK(pick.size() == 4);
  for (size_t l : pick) {
    RunOptions wa;
    FakeQuant fw, fa;
    REQUIRE(an.weight_quantizer(l, o, fw));
    REQUIRE(an.act_quantizer(l, o, fa));
    wa.fake_quant = {{an.layers()[l].weight, fw}, {an.act_points()[l], fa}};
    INFO(an.layers()[l].name << " act point " << an.act_points()[l]);
    CHECK(r.layers[l].wa.snr_db == doctest::Approx(full_run_snr(g, data, wa)).epsilon(1e-4));
  }
  // Downstream-only runs cost less than full passes: the layer runs alone average under 0.7 of a pass here.
  double layer_cost = 0;
  for (const auto& l : r.layers) layer_cost += l.cost;
  CHECK(layer_cost / 64 < 0.7);
  CHECK(r.cost < r.naive_cost);
  // + one fp32 pass (calibration and cache at once: the cache is kept) and the all-quantized pass.
  CHECK(r.kept_samples == 1);
  CHECK(r.cost == doctest::Approx(layer_cost + 2).epsilon(1e-9));
  CHECK(r.cost_floor == doctest::Approx(r.cost).epsilon(1e-9));
}
