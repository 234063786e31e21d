// DFQ CLE: the link search and its refusal reasons, closed-form pair/triplet scales, iteration, ReLU6 policies,
// the fp32 invariant on every real model, and the weight-SQNR direction.
#include "core/quant/passes/cle.h"

#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "core/quant/passes/bn_fold.h"
#include "tests/quant/passes/pass_graphs.h"

using namespace qp;
using namespace qp_pass_test;

namespace {

// x[1,4,6,6] -> Conv A (8, 3x3 pad 1) -> act -> Conv D (depthwise 8, 3x3 pad 1) -> Relu -> Conv B (5, 1x1) -> y
// with the output channels of A and D spread over `spread` decades.
Graph chain(const std::string& act, double spread) {
  Graph g = empty_graph({1, 4, 6, 6});
  g.outputs = {vinfo("y", {1, 5, 6, 6})};
  g.weights["WA"] = conv_weight("WA", 8, 4, 3, 11, spread);
  g.weights["bA"] = tensor_f32("bA", {8}, rand_vec(8, 12));
  g.weights["WD"] = conv_weight("WD", 8, 1, 3, 13, spread);
  g.weights["bD"] = tensor_f32("bD", {8}, rand_vec(8, 14));
  g.weights["WB"] = conv_weight("WB", 5, 8, 1, 15);
  g.weights["bB"] = tensor_f32("bB", {5}, rand_vec(5, 16));
  g.weights["zero"] = tensor_f32("zero", {}, {0.0f});
  g.weights["six"] = tensor_f32("six", {}, {6.0f});
  const std::vector<Attribute> pad1 = {attr_ints("pads", {1, 1, 1, 1})};
  std::vector<Attribute> dw = pad1;
  dw.push_back(attr_i("group", 8));
  g.nodes = {node_make("A", "Conv", {"x", "WA", "bA"}, {"a"}, pad1)};
  if (act == "Relu6") g.nodes.push_back(node_make("act", "Clip", {"a", "zero", "six"}, {"a1"}));
  else g.nodes.push_back(node_make("act", act, {"a"}, {"a1"}));
  g.nodes.push_back(node_make("D", "Conv", {"a1", "WD", "bD"}, {"d"}, dw));
  g.nodes.push_back(node_make("r2", "Relu", {"d"}, {"d1"}));
  g.nodes.push_back(node_make("B", "Conv", {"d1", "WB", "bB"}, {"y"}));
  return g;
}

const CleLink* find_link(const std::vector<CleLink>& ls, const std::string& first) {
  for (const auto& l : ls)
    if (!l.layers.empty() && l.layers[0] == first) return &l;
  return nullptr;
}

std::vector<double> out_ranges(const Tensor& w) {
  const int64_t m = w.dims[0], inner = w.numel() / m;
  std::vector<double> r(static_cast<size_t>(m), 0);
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < inner; ++i) r[static_cast<size_t>(o)] = std::max(r[static_cast<size_t>(o)], std::fabs(static_cast<double>(w.f32()[o * inner + i])));
  return r;
}

CalibrationSet calib(const Graph& g, int n, float lo = 0, float hi = 1) {
  RandomCalibration rc;
  rc.samples = n;
  rc.seed = 42;
  rc.lo = lo;
  rc.hi = hi;
  for (const auto& in : g.inputs)
    for (size_t i = 0; i < in.shape.size(); ++i)
      if (!in.shape[i].known()) rc.dims[in.shape[i].param] = i == 0 ? 1 : 64;
  return calibration_random(g, rc);
}

}  // namespace

TEST_CASE("cle_find_links accepts Relu/MaxPool links and names every refusal") {
  Graph g = chain("Relu", 2);
  std::vector<CleLink> ls = cle_find_links(g, CleOptions{});
  REQUIRE(ls.size() == 3);
  CHECK(ls[0].accepted);
  CHECK(ls[0].layers == std::vector<std::string>{"A", "D"});
  CHECK(ls[0].between == std::vector<std::string>{"Relu"});
  CHECK(ls[1].accepted);
  CHECK(!ls[2].accepted);
  CHECK(ls[2].reason.find("graph output") != std::string::npos);
  const auto sets = cle_group_links(g, ls, CleOptions{});
  REQUIRE(sets.size() == 2);
  CHECK(sets[0].kind == "triplet");
  CHECK(sets[0].layers == std::vector<std::string>{"A", "D", "B"});

  struct Case {
    std::string act, reason;
  };
  for (const Case& c : {Case{"HardSwish", "non-homogeneous activation HardSwish"}, Case{"Sigmoid", "non-homogeneous"},
                        Case{"Relu6", "ReLU6 Clip(0,6) act (policy: refuse)"}, Case{"BatchNormalization", "not folded"}}) {
    Graph h = chain(c.act == "BatchNormalization" ? "Relu" : c.act, 0);
    if (c.act == "BatchNormalization") {
      h.weights["one"] = tensor_f32("one", {8}, std::vector<float>(8, 1.0f));
      h.nodes[1] = node_make("act", "BatchNormalization", {"a", "one", "one", "one", "one"}, {"a1"});
    }
    const std::vector<CleLink> hl = cle_find_links(h, CleOptions{});
    const CleLink* l = find_link(hl, "A");
    REQUIRE(l);
    INFO(c.act << ": " << l->reason);
    CHECK(!l->accepted);
    CHECK(l->reason.find(c.reason) != std::string::npos);
  }

  // Residual Add, several consumers, grouped conv, shared weight, hardswish as x*Clip(x+3,0,6)/6, SE gate.
  g = chain("Relu", 0);
  g.nodes[4].outputs[0] = "b";
  g.nodes.push_back(node_make("res", "Add", {"b", "x2"}, {"y"}));
  g.nodes.insert(g.nodes.begin(), node_make("pre", "Conv", {"x", "WB4"}, {"x2"}));
  g.weights["WB4"] = conv_weight("WB4", 5, 4, 1, 3);
  CHECK(find_link(cle_find_links(g, CleOptions{}), "B")->reason.find("residual Add") != std::string::npos);

  g = chain("Relu", 0);
  g.outputs.push_back(vinfo("a1", {1, 8, 6, 6}));
  CHECK(find_link(cle_find_links(g, CleOptions{}), "A")->reason.find("graph output") != std::string::npos);

  g = chain("Relu", 0);
  g.weights["WD"] = conv_weight("WD", 8, 2, 3, 13);
  g.nodes[2].attrs[1].i = 4;
  CHECK(find_link(cle_find_links(g, CleOptions{}), "A")->reason.find("group != 1 and != depthwise") != std::string::npos);

  g = chain("Relu", 0);
  g.weights["WA2"] = g.weights["WA"];
  g.outputs.push_back(vinfo("z", {1, 8, 6, 6}));
  g.nodes.push_back(node_make("A2", "Conv", {"x", "WA", "bA"}, {"z"}, {attr_ints("pads", {1, 1, 1, 1})}));
  CHECK(find_link(cle_find_links(g, CleOptions{}), "A")->reason.find("weight shared") != std::string::npos);

  g = chain("Relu", 0);
  g.weights["three"] = tensor_f32("three", {}, {3.0f});
  g.nodes[1] = node_make("hs_add", "Add", {"a", "three"}, {"h1"});
  g.nodes.insert(g.nodes.begin() + 2, {node_make("hs_clip", "Clip", {"h1", "zero", "six"}, {"h2"}),
                                       node_make("hs_mul", "Mul", {"a", "h2"}, {"h3"}),
                                       node_make("hs_div", "Div", {"h3", "six"}, {"a1"})});
  const std::vector<CleLink> hs = cle_find_links(g, CleOptions{});
  CHECK(find_link(hs, "A")->reason.find("hardswish") != std::string::npos);

  g = chain("Relu", 0);
  g.nodes[1] = node_make("gap", "GlobalAveragePool", {"a"}, {"p"});
  g.nodes.insert(g.nodes.begin() + 2, {node_make("gate", "Sigmoid", {"p"}, {"q"}), node_make("se", "Mul", {"a", "q"}, {"a1"})});
  CHECK(find_link(cle_find_links(g, CleOptions{}), "A")->reason.find("SE block") != std::string::npos);
}

TEST_CASE("cle equalizes a pair to sqrt(r1 r2) per channel and a triplet to cbrt(r0 r1 r2), exactly in fp32") {
  for (bool triplets : {false, true}) {
    const Graph g = chain("Relu", 3);
    CleOptions o;
    o.triplets = triplets;
    const CleResult r = cle_equalize(g, o);
    INFO("triplets " << triplets);
    REQUIRE(r.sets.size() == (triplets ? 1u : 2u));
    const auto ra = out_ranges(g.weights.at("WA")), rd = out_ranges(g.weights.at("WD"));
    const auto ra2 = out_ranges(r.graph.weights.at("WA")), rd2 = out_ranges(r.graph.weights.at("WD"));
    if (triplets) {
      // WB's input-channel ranges (1x1 conv [5,8,1,1]).
      std::vector<double> rb(8, 0), rb2(8, 0);
      for (int o2 = 0; o2 < 5; ++o2)
        for (int i = 0; i < 8; ++i) {
          rb[i] = std::max(rb[i], std::fabs(static_cast<double>(g.weights.at("WB").f32()[o2 * 8 + i])));
          rb2[i] = std::max(rb2[i], std::fabs(static_cast<double>(r.graph.weights.at("WB").f32()[o2 * 8 + i])));
        }
      for (int k = 0; k < 8; ++k) {
        const double c = std::cbrt(ra[k] * rd[k] * rb[k]);
        CHECK(ra2[k] == doctest::Approx(c).epsilon(1e-5));
        CHECK(rd2[k] == doctest::Approx(c).epsilon(1e-5));
        CHECK(rb2[k] == doctest::Approx(c).epsilon(1e-5));
      }
    } else {
      // Pair A -> D: D's input channel k is its channel k.
      for (int k = 0; k < 8; ++k) CHECK(ra2[k] == doctest::Approx(std::sqrt(ra[k] * rd[k])).epsilon(1e-5));
    }
    CHECK(r.report.verification[0].max_rel_dev <= 1e-5);
    CHECK(g.weights.at("WA").data != r.graph.weights.at("WA").data);
    // Names stay (one consumer each), the input graph is untouched.
    CHECK(r.graph.nodes[0].inputs[1] == "WA");
    CHECK(r.sets[0].out_ranges_before[0] == ra);
  }
}

TEST_CASE("cle iterate mode converges (max|log s| below tol) and stays exact; max-min ranges too") {
  CleOptions o;
  o.mode = CleMode::kIterate;
  o.triplets = false;
  o.range = CleRange::kMaxMinusMin;
  const CleResult r = cle_equalize(chain("Relu", 3), o);
  CHECK(r.sweeps > 1);
  CHECK(r.sweeps < o.max_sweeps);
  CHECK(r.last_max_log_scale < o.tol);
  CHECK(r.report.verification[0].max_rel_dev <= 1e-5);
}

TEST_CASE("cle divides the BN statistics of equalized layers by their scale") {
  const Graph g = chain("Relu", 2);
  BnStatsMap bn;
  bn["A"] = BnStats{std::vector<float>(8, 1.0f), std::vector<float>(8, 2.0f)};
  const CleResult r = cle_equalize(g, CleOptions{}, nullptr, &bn);
  for (size_t k = 0; k < 8; ++k) {
    CHECK(r.bn_stats.at("A").beta[k] == doctest::Approx(1.0 / r.sets[0].scale[0][k]));
    CHECK(r.bn_stats.at("A").gamma[k] == doctest::Approx(2.0 / r.sets[0].scale[0][k]));
  }
}

TEST_CASE("cle ReLU6 policies: refuse leaves the link, replace reports the deviation, bound is exact on its data") {
  const Graph g = chain("Relu6", 3);
  CleOptions o;
  o.relu6 = Relu6Policy::kRefuse;
  CleResult r = cle_equalize(g, o);
  CHECK(r.sets.size() == 1);  // only D -> B
  CHECK(r.report.verification[0].max_rel_dev <= 1e-5);

  o.relu6 = Relu6Policy::kReplace;
  r = cle_equalize(g, o);
  CHECK(r.relu6_replaced == std::vector<std::string>{"act"});
  REQUIRE(!r.equalization_only.empty());
  CHECK(r.equalization_only[0].max_rel_dev <= 1e-5);
  REQUIRE(!r.relu6_deviation.empty());
  CHECK(r.relu6_deviation[0].max_rel_dev > 0);  // A's outputs exceed 6 on these inputs

  o.relu6 = Relu6Policy::kBound;
  r = cle_equalize(g, o);  // no data: refused
  CHECK(find_link(r.links, "A")->reason.find("needs calibration data") != std::string::npos);
  const CalibrationSet cs = calib(g, 4, -3, 3);
  r = cle_equalize(g, o, &cs);
  REQUIRE(find_link(r.links, "A")->accepted);
  REQUIRE(r.report.verification.size() == 2);
  CHECK(r.report.verification[1].max_rel_dev <= 1e-5);  // exact on the calibration data
  CHECK(r.sets[0].bounded_channels[0] > 0);
}

TEST_CASE("cle keeps every real model's fp32 outputs within 1e-5 and raises the equalized layers' weight SQNR") {
  for (const std::string& path : qp_test::real_models()) {
    const Graph g0 = onnx_load_file(path);
    const BnFoldResult f = bn_fold(g0);
    const CleResult r = cle_equalize(f.graph, CleOptions{}, nullptr, &f.bn_stats);
    INFO(path << ": " << r.report.notes[0]);
    REQUIRE(!r.report.verification.empty());
    CHECK(r.report.verification[0].max_rel_dev <= 1e-5);
    if (path.find("det_infer") != std::string::npos) {
      MESSAGE("det: bn_fold " << f.report.ms << " ms, cle " << r.report.ms << " ms; " << r.report.notes[0]);
      CHECK(f.report.ms + r.report.ms < 1000);
    }
    if (r.sets.empty()) continue;
    // Direction: summed over the equalized layers, per-tensor 8-bit weight SQNR goes up.
    std::set<std::string> eq;
    for (const auto& s : r.sets)
      for (const auto& l : s.link.layers) eq.insert(l);
    double before = 0, after = 0;
    for (const auto& l : weight_sqnr(f.graph, 8))
      if (eq.count(l.layer)) before += l.sqnr_db;
    for (const auto& l : weight_sqnr(r.graph, 8))
      if (eq.count(l.layer)) after += l.sqnr_db;
    MESSAGE(path << ": " << r.sets.size() << " sets, SQNR sum over " << eq.size() << " layers " << before << " -> " << after << " dB");
    CHECK(after > before);
  }
}

TEST_CASE("cle on digits_cnn: ReLU6 links refused by default, equalized with replace (deviation reported)") {
  const Graph& g = model("trained/digits_cnn.onnx");
  CleResult r = cle_equalize(g, CleOptions{});
  int relu6_refusals = 0;
  for (const auto& l : r.links) relu6_refusals += l.reason.find("ReLU6") != std::string::npos;
  CHECK(relu6_refusals > 0);
  CleOptions o;
  o.relu6 = Relu6Policy::kReplace;
  r = cle_equalize(g, o);
  CHECK(!r.relu6_replaced.empty());
  REQUIRE(!r.equalization_only.empty());
  CHECK(r.equalization_only[0].max_rel_dev <= 1e-5);
  MESSAGE("digits_cnn replace: " << r.report.notes[0] << "; relu6 deviation " << r.relu6_deviation[0].max_rel_dev);
}
