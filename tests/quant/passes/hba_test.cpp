// High-bias absorption: hand-computed absorption from BN stats and from data on a small graph (exact there), the
// whole-bias case without activation, and a real pipeline bn_fold -> cle -> hba with its reported deviation.
#include "core/quant/passes/hba.h"

#include <doctest/doctest.h>

#include <cmath>

#include "core/quant/passes/cle.h"
#include "core/quant/passes/passes_json.h"
#include "tests/quant/passes/pass_graphs.h"

using namespace qp;
using namespace qp_pass_test;

namespace {

// x[1,3,4,4] in [0,1) -> Conv A (4, 1x1, small weights, bias 5) -> act -> Conv B (2, 1x1) -> y
Graph absorb_graph(const std::string& act) {
  Graph g = empty_graph({1, 3, 4, 4});
  g.outputs = {vinfo("y", {1, 2, 4, 4})};
  std::vector<float> wa = rand_vec(12, 1, -0.1f, 0.1f);
  g.weights["WA"] = tensor_f32("WA", {4, 3, 1, 1}, wa);
  g.weights["bA"] = tensor_f32("bA", {4}, {5.0f, 4.0f, 0.5f, 6.0f});
  g.weights["WB"] = tensor_f32("WB", {2, 4, 1, 1}, rand_vec(8, 2));
  g.nodes = {node_make("A", "Conv", {"x", "WA", "bA"}, {"a"})};
  if (act.empty()) g.nodes[0].outputs[0] = "a1";
  else g.nodes.push_back(node_make("act", act, {"a"}, {"a1"}));
  g.nodes.push_back(node_make("B", "Conv", {"a1", "WB"}, {"y"}));
  return g;
}

}  // namespace

TEST_CASE("hba absorbs max(0, beta - 3|gamma|) from BN stats into the next layer's bias") {
  const Graph g = absorb_graph("Relu");
  BnStatsMap bn;
  bn["A"] = BnStats{{5.0f, 4.0f, 0.5f, 6.0f}, {0.5f, -1.0f, 1.0f, 0.1f}};
  const HbaResult r = hba(g, bn);
  REQUIRE(r.links.size() == 1);
  const HbaLink& l = r.links[0];
  REQUIRE(l.applied);
  CHECK(l.source == "bn");
  const std::vector<double> c = {3.5, 1.0, 0.0, 6.0 - 0.3};
  for (size_t k = 0; k < 4; ++k) CHECK(l.absorbed[k] == doctest::Approx(c[k]));
  CHECK(l.channels_absorbed == 3);
  const float* ba = r.graph.weights.at("bA").f32();
  CHECK(ba[0] == doctest::Approx(1.5));
  CHECK(ba[3] == doctest::Approx(0.3));
  const std::string bb = r.graph.nodes[2].inputs[2];  // B had no bias: a fresh one
  for (int o = 0; o < 2; ++o) {
    double want = 0;
    for (int k = 0; k < 4; ++k) want += g.weights.at("WB").f32()[o * 4 + k] * c[static_cast<size_t>(k)];
    CHECK(r.graph.weights.at(bb).f32()[o] == doctest::Approx(want).epsilon(1e-6));
  }
  CHECK(r.bn_stats.at("A").beta[0] == doctest::Approx(1.5));
  // Pre-activations stay >= 4.7 > c on inputs in [0, 1): exact here.
  CHECK(r.report.verification[0].max_rel_dev <= 1e-5);
  CHECK(l.max_rel_dev <= 1e-5);
}

TEST_CASE("hba from calibration minima is exact on that data; without activation the whole bias moves") {
  const Graph g = absorb_graph("Relu");
  RandomCalibration rc;
  rc.samples = 3;
  const CalibrationSet cs = calibration_random(g, rc);
  HbaResult r = hba(g, BnStatsMap{}, &cs);
  REQUIRE(r.links[0].applied);
  CHECK(r.links[0].source == "data");
  CHECK(r.links[0].absorbed[0] > 4.5);
  REQUIRE(r.report.verification.size() == 2);
  CHECK(r.report.verification[1].max_rel_dev <= 1e-5);

  const Graph lin = absorb_graph("");
  r = hba(lin, BnStatsMap{});
  REQUIRE(r.links[0].applied);
  CHECK(r.links[0].source == "whole_bias");
  CHECK(r.graph.weights.at("bA").f32()[0] == 0.0f);
  CHECK(r.report.verification[0].max_rel_dev <= 1e-5);

  // No stats, no data: skipped with the reason.
  r = hba(g, BnStatsMap{});
  CHECK(!r.links[0].applied);
  CHECK(r.links[0].reason.find("no BN statistics") != std::string::npos);
}

TEST_CASE("bn_fold -> cle -> hba on digits_cnn_bn and cls: absorbs something, reports a small deviation, JSON") {
  for (const std::string rel : {"trained/digits_cnn_bn.onnx", "ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"}) {
    const Graph& g = model(rel);
    const BnFoldResult f = bn_fold(g);
    CleOptions co;
    co.relu6 = Relu6Policy::kReplace;
    const CleResult c = cle_equalize(f.graph, co, nullptr, &f.bn_stats);
    const HbaResult h = hba(c.graph, c.bn_stats);
    int applied = 0;
    double amax = 0;
    for (const auto& l : h.links) {
      applied += l.applied;
      amax = std::max(amax, l.absorbed_max);
    }
    INFO(rel);
    MESSAGE(rel << ": hba " << applied << " links, max c " << amax << ", deviation " << h.report.verification[0].max_rel_dev
                << ", " << h.report.ms << " ms");
    CHECK(applied > 0);
    // digits_cnn_bn's BNs all have beta <= 3|gamma|: nothing to absorb data-free there.
    if (rel.find("cls") != std::string::npos) CHECK(amax > 0);
    CHECK(std::isfinite(h.report.verification[0].max_rel_dev));
    CHECK(h.report.verification[0].max_rel_dev < 0.5);
    const std::string j = hba_json(h);
    CHECK(j.find("\"kind\":\"hba\"") != std::string::npos);
    CHECK(cle_json(c).find("\"kind\":\"cle\"") != std::string::npos);
    CHECK(bn_fold_json(f).find("\"kind\":\"bn_fold\"") != std::string::npos);
  }
}
