// One layer in detail on digits_cnn: histograms hold every value, the drawn ranges are the analysis' quantizers',
// the output-SNR curve reproduces the analysis' weight-only SNR, the local weight SQNR follows the uniform-noise
// law, and an fp32 override or a bad index behave as documented.
#include "core/quant/analysis/detail.h"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "tests/support/digits.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

int64_t sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

// Index of the layer with the most weights (the analytic checks want many values per channel).
size_t biggest(const LayerAnalyzer& an) {
  size_t best = 0;
  for (size_t l = 0; l < an.layers().size(); ++l)
    if (an.layers()[l].params > an.layers()[best].params) best = l;
  return best;
}

}  // namespace

TEST_CASE("layer_detail: histogram_build keeps every finite value, the maximum in the last bin") {
  const float x[] = {0.f, 0.25f, 0.5f, 0.75f, 1.f, NAN, 1.f};
  const Histogram h = histogram_build(x, 7, 0, 1, 4);
  REQUIRE(h.edges.size() == 5);
  CHECK(h.edges.front() == 0);
  CHECK(h.edges.back() == 1);
  CHECK(h.counts == std::vector<int64_t>{1, 1, 1, 3});
  const float same[] = {2.f, 2.f, 2.f};
  const Histogram h1 = histogram_build(same, 3, 2, 2, 8);
  CHECK(h1.edges.front() == doctest::Approx(1.5));
  CHECK(h1.edges.back() == doctest::Approx(2.5));
  CHECK(sum(h1.counts) == 3);
  CHECK(h1.counts[4] == 3);  // the middle bin holds the value
}

TEST_CASE("layer_detail: options from JSON") {
  const LayerDetailOptions o = layer_detail_options_from_json(R"({"bins": 16, "bits": [8, 4], "output_snr": false})");
  CHECK(o.bins == 16);
  CHECK(o.bits == std::vector<int>{8, 4});
  CHECK_FALSE(o.output_snr);
  CHECK(o.act_curve);
  CHECK(layer_detail_options_from_json("").bits.size() == 7);
  CHECK_THROWS_WITH_AS(layer_detail_options_from_json(R"({"bins": "x"})"), "detail.bins: must be an integer", Error);
  CHECK_THROWS_WITH_AS(layer_detail_options_from_json(R"({"bits": [8, 17]})"), "detail.bits[1]: 17 is outside 2..16",
                       Error);
  CHECK_THROWS_WITH_AS(layer_detail_options_from_json(R"({"bin": 3})"), "detail.bin: unknown field", Error);
}

TEST_CASE("layer_detail: histograms, ranges and the output-SNR curve agree with the analysis") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(32, 16);
  AnalysisOptions o;  // 8b sym per-channel minmax weights, 8b asym minmax activations, variants on
  LayerAnalyzer an(g, data);
  const AnalysisReport rep = an.analyse(o);
  const size_t L = an.layers().size();
  REQUIRE(L >= 8);
  LayerDetailOptions dopt;  // bits 2..8, the analysis' width 8 last
  REQUIRE(dopt.bits.back() == o.weight.bits);
  for (size_t l = 0; l < L; ++l) {
    const LayerDetail d = layer_detail(an, g, l, o, dopt);
    INFO(d.layer.name);
    REQUIRE_FALSE(d.skipped);
    REQUIRE(d.has_weight);
    REQUIRE(d.has_act);
    // Every weight in the histogram; bins span the weight's min..max.
    CHECK(sum(d.weight_hist.counts) == d.layer.params);
    CHECK(d.weight_hist.counts.size() == 64);
    CHECK(d.weight_hist.edges.front() == d.weight_stats.min);
    CHECK(d.weight_hist.edges.back() == d.weight_stats.max);
    // The weight clipping range is the analysis' quantizer's, channel by channel.
    FakeQuant fw;
    REQUIRE(an.weight_quantizer(l, o, fw));
    REQUIRE(d.weight_axis == fw.axis);
    REQUIRE(d.weight_ch_lo.size() == fw.params.size());
    double env_lo = 0, env_hi = 0;
    for (size_t c = 0; c < fw.params.size(); ++c) {
      const auto r = qparams_range(fw.params[c]);
      CHECK(d.weight_ch_lo[c] == r.first);
      CHECK(d.weight_ch_hi[c] == r.second);
      // Symmetric restricted grid: [-alpha, alpha] with alpha the channel's max |w| (float rounding of the scale).
      CHECK(r.second == doctest::Approx(-r.first).epsilon(1e-12));
      env_lo = std::min(env_lo, r.first);
      env_hi = std::max(env_hi, r.second);
    }
    CHECK(d.weight_lo == env_lo);
    CHECK(d.weight_hi == env_hi);
    CHECK(env_hi == doctest::Approx(std::max(-d.weight_stats.min, d.weight_stats.max)).epsilon(1e-6));
    CHECK(d.weight_clipped_frac == 0);  // min-max never clips
    CHECK(d.weight_config == rep.layers[l].weight_config);
    // Activations: histogram of the whole subsample over the exact min..max; the range is act_quantizer's.
    RangeStats st;
    const auto& sub = an.act_values(l, o, &st);
    CHECK(sum(d.act_hist.counts) == static_cast<int64_t>(sub.size()));
    CHECK(d.act_subsample == static_cast<int64_t>(sub.size()));
    CHECK(d.act_stats.n == st.n);
    CHECK(d.act_stats.n >= sub.size());
    CHECK(d.act_hist.edges.front() == st.min);
    CHECK(d.act_hist.edges.back() == st.max);
    FakeQuant fa;
    double lo = 0, hi = 0;
    REQUIRE(an.act_quantizer(l, o, fa, nullptr, &lo, &hi));
    CHECK(d.act_range_lo == lo);
    CHECK(d.act_range_hi == hi);
    CHECK(d.act_range_lo == rep.layers[l].act_lo);
    CHECK(d.act_range_hi == rep.layers[l].act_hi);
    CHECK(hi == st.max);  // min-max
    CHECK(d.act_clipped_frac < 1e-3);
    // The curve: output SNR at the analysis' width is the analysis' weight-only SNR of this layer.
    REQUIRE(d.bits == dopt.bits);
    REQUIRE(d.out_snr_db.size() == dopt.bits.size());
    CHECK(d.out_snr_db.back() == doctest::Approx(rep.layers[l].w.snr_db).epsilon(1e-9));
    // Fewer bits, more noise: strictly so for the local SQNRs. The output SNR of 2 samples (32 x 10 logits) is a
    // realisation, not an expectation, and can dip by a dB between neighbouring widths (seen at 7 -> 8 bits), so
    // only its least-squares slope over 2..8 bits is checked (about 6 dB per bit).
    double mb = 0, ms = 0, sxy = 0, sxx = 0;
    for (size_t k = 0; k < d.bits.size(); ++k) mb += d.bits[k], ms += d.out_snr_db[k];
    mb /= d.bits.size();
    ms /= d.bits.size();
    for (size_t k = 0; k < d.bits.size(); ++k) {
      sxy += (d.bits[k] - mb) * (d.out_snr_db[k] - ms);
      sxx += (d.bits[k] - mb) * (d.bits[k] - mb);
    }
    CHECK(sxy / sxx > 4);
    CHECK(sxy / sxx < 9);
    for (size_t k = 1; k < d.bits.size(); ++k) {
      CHECK(d.w_sqnr_db[k] > d.w_sqnr_db[k - 1]);
      CHECK(d.a_sqnr_db[k] > d.a_sqnr_db[k - 1]);
    }
    CHECK(d.w_sqnr_db.back() == doctest::Approx(d.weight_sqnr_db).epsilon(1e-12));
    CHECK(d.a_sqnr_db.back() == doctest::Approx(d.act_sqnr_db).epsilon(1e-12));
    // One fp32 pass per sample plus |bits| suffix runs from this layer: at most 1 + |bits| passes per sample.
    CHECK(d.cost > 0);
    CHECK(d.cost <= data.samples.size() * (1.0 + dopt.bits.size()) + 1e-9);
  }
}

TEST_CASE("layer_detail: the bit sweep runs only the clicked layer") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(16, 16);
  AnalysisOptions o;
  LayerAnalyzer an(g, data);
  const size_t L = an.layers().size(), pick = L - 1;  // the last layer: the cheapest suffix
  // The options layer_detail hands to weight_bit_sensitivity: every other layer kept in float32.
  AnalysisOptions so = o;
  for (size_t l = 0; l < L; ++l)
    if (l != pick) so.overrides[an.layers()[l].name].fp32 = true;
  double cost_one = 0, cost_all = 0;
  const auto one = an.weight_bit_sensitivity(so, {4, 8}, {}, &cost_one);
  const auto all = an.weight_bit_sensitivity(o, {4, 8}, {}, &cost_all);
  for (size_t l = 0; l < L; ++l) CHECK(one[l].empty() == (l != pick));
  CHECK(one[pick] == all[pick]);
  // Skipped layers cost nothing: one fp32 pass plus two short suffix runs.
  CHECK(cost_one < cost_all);
  CHECK(cost_one < 1.0 + 2 * 0.5);
  const LayerDetail d = layer_detail(an, g, pick, o, LayerDetailOptions{64, {4, 8}, true, true});
  CHECK(d.out_nsr == one[pick]);
  // The executor recognises the repeated fp32 pass of the same sample, so the detail's sweep costs at most the first.
  CHECK(d.cost > 0);
  CHECK(d.cost <= cost_one + 1e-12);
}

TEST_CASE("layer_detail: percentile and MSE activation ranges are the analysis' ranges and clip") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(32, 16);
  LayerAnalyzer an(g, data);
  const size_t l = 1;
  for (const char* m : {"percentile:99.9", "mse"}) {
    AnalysisOptions o;
    o.act.range = range_options_parse(m);
    // MSE clips visibly at 4 bits; percentile's 0.1 % tail is mostly beyond half an 8-bit step.
    o.act.bits = std::string(m) == "mse" ? 4 : 8;
    INFO(m);
    const LayerDetail d = layer_detail(an, g, l, o, LayerDetailOptions{32, {4, 8}, false, true});
    FakeQuant fa;
    double lo = 0, hi = 0;
    REQUIRE(an.act_quantizer(l, o, fa, nullptr, &lo, &hi));
    CHECK(d.act_range_lo == lo);
    CHECK(d.act_range_hi == hi);
    const auto grid = qparams_range(fa.params.at(0));
    CHECK(d.act_lo == grid.first);
    CHECK(d.act_hi == grid.second);
    CHECK(d.act_config.find(m) != std::string::npos);
    CHECK(hi < d.act_stats.max);  // the method clipped the tail
    // Clipped fraction: the values the grid cannot reach (beyond its ends by more than half a step), counted here
    // in double; rounding ties at exactly half a step are the only difference allowed.
    const auto& sub = an.act_values(l, o);
    const double s = fa.params[0].scale;
    int64_t beyond = 0, near = 0;
    for (float v : sub) {
      beyond += v > grid.second + 0.5 * s * (1 + 1e-6) || v < grid.first - 0.5 * s * (1 + 1e-6);
      near += v > grid.second + 0.5 * s * (1 - 1e-6) || v < grid.first - 0.5 * s * (1 - 1e-6);
    }
    const double n = static_cast<double>(sub.size());
    CHECK(d.act_clipped_frac >= beyond / n);
    CHECK(d.act_clipped_frac <= near / n);
    CHECK(d.act_clipped_frac > 0);
    if (std::string(m) == "percentile:99.9") CHECK(d.act_clipped_frac < 3e-3);  // both tails at most
    // No output sweep asked for: the detail ran no pass.
    CHECK(d.cost == 0);
    CHECK(std::isnan(d.out_snr_db[0]));
  }
}

TEST_CASE("layer_detail: local weight SQNR follows the uniform-noise law (~6 dB per bit)") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(16, 16);
  LayerAnalyzer an(g, data);
  const size_t l = biggest(an);
  AnalysisOptions o;  // per-channel symmetric restricted min-max
  REQUIRE(o.weight.granularity == Granularity::kChannel);
  const LayerDetail d = layer_detail(an, g, l, o, LayerDetailOptions{64, {4, 5, 6, 7, 8}, false, false});
  INFO(d.layer.name << " " << d.layer.params << " weights");
  REQUIRE(d.w_sqnr_db.size() == 5);
  // Step Δ_c = alpha_c / (2^(b-1) - 1): each added bit lowers the noise power by ((2^b - 1)/(2^(b-1) - 1))^2,
  // from 4 to 8 bits by (127/7)^2 = 25.17 dB (6.29 dB per bit; 6.02 in the limit).
  CHECK(d.w_sqnr_db[4] - d.w_sqnr_db[0] == doctest::Approx(20 * std::log10(127.0 / 7.0)).epsilon(0.03));
  for (size_t k = 1; k < 5; ++k) {
    const int b = 4 + static_cast<int>(k);
    const double step = 20 * std::log10((std::ldexp(1.0, b - 1) - 1) / (std::ldexp(1.0, b - 2) - 1));
    CHECK(d.w_sqnr_db[k] - d.w_sqnr_db[k - 1] == doctest::Approx(step).epsilon(0.1));
  }
  // Absolute, at 8 bits: noise = sum over channels of inner * Δ_c^2 / 12, signal = sum of w^2.
  const Tensor& w = *g.weight(d.layer.weight);
  const ChannelView cv = channel_view(w, d.layer.channel_axis);
  double noise = 0, signal = 0;
  for (int64_t c = 0; c < cv.channels; ++c) {
    double amax = 0;
    for (int64_t i = 0; i < cv.inner; ++i) {
      const double v = cv.data[c * cv.inner + i];
      amax = std::max(amax, std::fabs(v));
      signal += v * v;
    }
    const double delta = amax / 127;
    noise += static_cast<double>(cv.inner) * delta * delta / 12;
  }
  CHECK(d.w_sqnr_db[4] == doctest::Approx(10 * std::log10(signal / noise)).epsilon(0.01));
  CHECK(d.weight_sqnr_db == d.w_sqnr_db[4]);
}

TEST_CASE("layer_detail: per-tensor weights give one range") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(16, 16);
  LayerAnalyzer an(g, data);
  AnalysisOptions o;
  o.weight.granularity = Granularity::kTensor;
  o.weight.range = range_options_parse("mse");
  o.weight.bits = 4;
  const LayerDetail d = layer_detail(an, g, 0, o, LayerDetailOptions{16, {4}, false, false});
  FakeQuant fw;
  REQUIRE(an.weight_quantizer(0, o, fw));
  REQUIRE(fw.params.size() == 1);
  CHECK(d.weight_axis == -1);
  CHECK(d.weight_ch_lo.empty());
  CHECK(d.weight_lo == qparams_range(fw.params[0]).first);
  CHECK(d.weight_hi == qparams_range(fw.params[0]).second);
  CHECK(d.weight_clipped_frac > 0);  // MSE at 4 bits clips the tails
  const auto j = nlohmann::json::parse(layer_detail_json(d));
  CHECK(j["weight"]["granularity"] == "tensor");
  CHECK(j["weight"]["channel_range"].is_null());
  CHECK(j["curve"]["out_snr"].is_null());
  CHECK(j["curve"]["a_sqnr"].is_null());
  CHECK(j["curve"]["w_sqnr"].size() == 1);
}

TEST_CASE("layer_detail: an fp32 override is reported, a bad index is an error, JSON shape") {
  const Graph& g = qp_test::digits_graph();
  const CalibrationSet data = qp_test::digits_data(16, 16);
  LayerAnalyzer an(g, data);
  const size_t L = an.layers().size();
  AnalysisOptions o;
  o.overrides[an.layers()[2].name].fp32 = true;

  const LayerDetail d = layer_detail(an, g, 2, o);
  CHECK(d.skipped);
  CHECK(d.skip_reason == "kept in float32");
  CHECK(d.has_weight);
  CHECK(sum(d.weight_hist.counts) == d.layer.params);
  CHECK_FALSE(d.has_weight_range);
  CHECK_FALSE(d.has_act_range);
  CHECK(d.bits.empty());
  CHECK(d.cost == 0);
  const auto j = nlohmann::json::parse(layer_detail_json(d));
  CHECK(j["schema"] == "quantplay/1");
  CHECK(j["kind"] == "layer_detail");
  CHECK(j["skipped"] == "kept in float32");
  CHECK(j["curve"].is_null());
  CHECK(j["weight"]["histogram"]["counts"].size() == 64);
  CHECK_FALSE(j["weight"].contains("range"));

  CHECK_THROWS_WITH_AS(layer_detail(an, g, L, o),
                       ("layer index " + std::to_string(L) + " is out of range: the model has " + std::to_string(L) +
                        " quantizable layers").c_str(),
                       Error);
  CHECK_THROWS_WITH_AS(layer_detail(an, g, 0, o, LayerDetailOptions{0, {8}, true, true}),
                       "detail.bins: 0 is outside 1..4096", Error);
  CHECK_THROWS_WITH_AS(layer_detail(an, g, 0, o, LayerDetailOptions{8, {8, 1}, true, true}),
                       "detail.bits[1]: 1 is outside 2..16", Error);
  // Cancel from the progress callback of the output sweep.
  CHECK_THROWS_WITH_AS(layer_detail(an, g, 0, o, {}, [](const AnalysisProgress&) { return false; }),
                       "analysis cancelled", Error);

  // A quantized layer's JSON: parallel curve arrays, histogram edges one longer than counts, ranges as pairs.
  const LayerDetail q = layer_detail(an, g, 0, o, LayerDetailOptions{32, {2, 4, 8}, true, true});
  const auto k = nlohmann::json::parse(layer_detail_json(q, 2));
  CHECK(k["skipped"].is_null());
  CHECK(k["layer"]["index"] == 0);
  CHECK(k["layer"]["name"] == an.layers()[0].name);
  CHECK(k["weight"]["histogram"]["edges"].size() == 33);
  CHECK(k["weight"]["range"].size() == 2);
  CHECK(k["weight"]["channel_range"]["lo"].size() == static_cast<size_t>(an.layers()[0].channels));
  CHECK(k["weight"]["granularity"] == "channel");
  CHECK(k["act"]["range"].size() == 2);
  CHECK(k["act"]["grid"].size() == 2);
  CHECK(k["act"]["subsample"] == q.act_subsample);
  CHECK(k["act"]["stats"]["n"] == static_cast<int64_t>(q.act_stats.n));
  for (const char* c : {"w_sqnr", "out_snr", "out_nsr", "a_sqnr"}) CHECK(k["curve"][c].size() == 3);
  CHECK(k["curve"]["out_snr"][2].get<double>() == doctest::Approx(q.out_snr_db[2]).epsilon(1e-12));
  CHECK(k["cost"]["pass_equivalents"].get<double>() == q.cost);
}
