// Export tests: fake-quant weights on the quantizer's grid, the QDQ graph's integer weights decoding to exactly the
// fake-quant weights (int8 and packed int4), our engine running the QDQ graph as the fake-quant simulation, the
// opset upgrade keeping fp32 outputs, and the pinned messages for bad configurations.
#include "core/quant/export.h"

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/onnx/writer.h"
#include "core/quant/layers.h"
#include "core/quant/opset_upgrade.h"
#include "core/quant/passes/pass.h"
#include "core/runtime/executor.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

std::string digits() { return qp_test::shared_dir() + "/models/trained/digits_cnn.onnx"; }
std::string cls() { return qp_test::shared_dir() + "/models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"; }

RandomCalibration cls_calibration(int samples) {
  RandomCalibration c;
  c.samples = samples;
  c.lo = -1;
  c.hi = 1;
  c.dims = {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48}, {"p2o.DynamicDimension.2", 192}};
  return c;
}

const Node* find_node(const Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The DequantizeLinear node that feeds `layer` its weight, and its decoded float weights.
std::vector<float> decode_weight(const Graph& q, const Node& layer, int weight_index) {
  const std::string dq_out = layer.inputs.at(static_cast<size_t>(weight_index));
  const Node* dq = nullptr;
  for (const auto& n : q.nodes)
    if (n.op_type == "DequantizeLinear" && n.outputs[0] == dq_out) dq = &n;
  REQUIRE(dq != nullptr);
  const Tensor& codes = q.weights.at(dq->inputs[0]);
  const Tensor& scale = q.weights.at(dq->inputs[1]);
  const Tensor& zp = q.weights.at(dq->inputs[2]);
  const int64_t n = codes.numel();
  const int64_t axis = dq->attr_int("axis", 1);
  int64_t inner = 1;
  const int64_t channels = scale.numel();
  if (channels > 1)
    for (size_t i = static_cast<size_t>(axis) + 1; i < codes.dims.size(); ++i) inner *= codes.dims[i];
  auto code_at = [](const Tensor& t, int64_t i) -> int32_t {
    const uint8_t* b = reinterpret_cast<const uint8_t*>(t.data.data());
    switch (t.dtype) {
      case DType::kInt8: return static_cast<int8_t>(b[i]);
      case DType::kUint8: return b[i];
      case DType::kInt4: { int32_t v = (b[i / 2] >> (i % 2 ? 4 : 0)) & 0xf; return v >= 8 ? v - 16 : v; }
      case DType::kUint4: return (b[i / 2] >> (i % 2 ? 4 : 0)) & 0xf;
      default: FAIL("unexpected code dtype " << dtype_name(t.dtype)); return 0;
    }
  };
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = channels == 1 ? 0 : (i / inner) % channels;
    out[static_cast<size_t>(i)] = static_cast<float>(code_at(codes, i) - code_at(zp, c)) * scale.f32()[c];
  }
  return out;
}

double max_abs_diff(const Value& a, const Value& b) {
  const auto x = value_to_doubles(a), y = value_to_doubles(b);
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace

TEST_CASE("export_fake_quant: weights lie on each layer's grid and the input graph is untouched") {
  const Graph g = onnx_load_file(digits());
  const Graph before = g;
  ExportConfig c;
  c.default_bits = 6;
  ExportReport r;
  const Graph fq = export_fake_quant(g, c, &r);
  CHECK(r.format == "fake_quant");
  CHECK(r.granularity == Granularity::kChannel);
  REQUIRE(r.layers.size() == find_layers(g).size());
  for (const auto& le : r.layers) {
    INFO(le.layer);
    REQUIRE(le.skip.empty());
    CHECK(le.bits == 6);
    const Tensor& w0 = g.weights.at(le.weight);
    const Tensor& w1 = fq.weights.at(le.weight);
    REQUIRE(le.params.size() == static_cast<size_t>(w0.dims[static_cast<size_t>(le.axis)]));
    CHECK(le.params[0].qmin == -31);
    CHECK(le.params[0].qmax == 31);
    CHECK(w0.data != w1.data);
    int64_t inner = 1;
    for (size_t i = static_cast<size_t>(le.axis) + 1; i < w0.dims.size(); ++i) inner *= w0.dims[i];
    for (int64_t i = 0; i < w0.numel(); ++i) {
      const QParams& p = le.params[static_cast<size_t>((i / inner) % static_cast<int64_t>(le.params.size()))];
      CHECK(w1.f32()[i] == doctest::Approx(fake_quant_ref(w0.f32()[i], p, Rounding::kHalfEven)).epsilon(1e-6));
    }
    CHECK(le.sqnr_db > 25);  // 6-bit per channel: ~6 dB per bit
  }
  CHECK(g.weights.at(r.layers[0].weight).data == before.weights.at(r.layers[0].weight).data);
}

TEST_CASE("export_qdq: digits_cnn int8 per channel decodes to the fake-quant weights; our engine runs it as the simulation") {
  const Graph g = onnx_load_file(digits());
  RandomCalibration rc;
  rc.samples = 4;
  const CalibrationSet cal = calibration_random(g, rc);
  ExportConfig c;
  const ActivationRanges ranges = activation_ranges(g, cal, activation_tensors(g));
  ExportReport rf, rq;
  const Graph fq = export_fake_quant(g, c, &rf);
  const Graph q = export_qdq(g, c, ranges, &rq);
  CHECK(rq.opset_before == 13);
  CHECK(rq.opset_after == 13);
  CHECK(rq.int4_storage.empty());
  const size_t layers = find_layers(g).size();
  CHECK(rq.quantize_nodes == static_cast<int64_t>(rq.activations.size()));
  CHECK(rq.dequantize_nodes == static_cast<int64_t>(layers + rq.activations.size()));
  CHECK(rq.activations[0].tensor == g.inputs[0].name);
  for (const auto& le : rq.layers) {
    INFO(le.layer);
    CHECK(le.storage == DType::kInt8);
    CHECK(!q.weights.count(le.weight));  // replaced by its int8 codes
    const std::vector<float> w = decode_weight(q, *find_node(q, le.layer), 1);
    const Tensor& f = fq.weights.at(le.weight);
    REQUIRE(w.size() == static_cast<size_t>(f.numel()));
    CHECK(std::memcmp(w.data(), f.f32(), w.size() * 4) == 0);  // bit for bit
  }
  // Our engine: the QDQ graph vs the fake-quant graph with the same activation quantizers.
  RandomCalibration ev = rc;
  ev.samples = 1;
  ev.seed = 99;
  const Sample x = calibration_random(g, ev).samples[0];
  RunOptions act;
  act.fake_quant = export_activation_fake_quant(rq);
  Executor eq(q), ef(fq);
  const auto yq = eq.run(x), yf = ef.run(x, act);
  const std::string out = g.outputs[0].name;
  CHECK(max_abs_diff(yq.at(out), yf.at(out)) <= 1e-4);
  // The saved bytes load back to the same QDQ graph.
  const std::string bytes = onnx_save(q);
  const Graph q2 = onnx_load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
  CHECK(q2.nodes.size() == q.nodes.size());
}

TEST_CASE("export_qdq: 4-bit weights are packed int4 at opset 21 (or an int8 grid when int4 is off)") {
  const Graph g = onnx_load_file(digits());
  ExportConfig c;
  c.default_bits = 4;
  c.activation_bits = 0;
  ExportReport rf, rq;
  const Graph fq = export_fake_quant(g, c, &rf);
  const Graph q = export_qdq(g, c, {}, &rq);
  CHECK(rq.opset_after == 21);
  CHECK(rq.ir_after >= 10);
  CHECK(rq.int4_storage == "int4");
  CHECK(rq.quantize_nodes == 0);
  for (const auto& le : rq.layers) {
    INFO(le.layer);
    CHECK(le.storage == DType::kInt4);
    const std::vector<float> w = decode_weight(q, *find_node(q, le.layer), 1);
    CHECK(std::memcmp(w.data(), fq.weights.at(le.weight).f32(), w.size() * 4) == 0);
  }
  c.allow_int4 = false;
  c.scheme = Scheme::kAsymmetric;
  const Graph q8 = export_qdq(g, c, {}, &rq);
  const Graph fq8 = export_fake_quant(g, c, &rf);
  CHECK(rq.opset_after == 13);
  CHECK(rq.int4_storage == "int8_grid");
  for (const auto& le : rq.layers) {
    CHECK(le.storage == DType::kUint8);
    CHECK(le.params[0].qmax == 15);
    const std::vector<float> w = decode_weight(q8, *find_node(q8, le.layer), 1);
    CHECK(std::memcmp(w.data(), fq8.weights.at(le.weight).f32(), w.size() * 4) == 0);
  }
}

TEST_CASE("opset_upgrade: PP-OCR cls from opset 9 to 13 and 21 keeps its fp32 outputs") {
  const Graph g = onnx_load_file(cls());
  const CalibrationSet data = calibration_random(g, cls_calibration(2));
  for (int64_t target : {11, 13, 21}) {
    INFO("target " << target);
    Graph up = g;
    const OpsetUpgrade r = opset_upgrade(up, target);
    REQUIRE(r.ok);
    CHECK(r.from == 9);
    CHECK(up.opset("") == target);
    CHECK(up.ir_version >= ir_version_for_opset(target));
    CHECK(!r.rewrites.empty());
    const Verification v = verify_function(g, up, data);
    CHECK(v.max_rel_dev < 1e-6);
  }
}

TEST_CASE("opset_upgrade: an op outside the table blocks the upgrade, names the node and leaves the graph as it was") {
  Graph g = onnx_load_file(digits());
  Node up;
  up.name = "legacy_up";
  up.op_type = "Upsample";
  up.op = op_from_name("", "Upsample");
  up.inputs = {g.outputs[0].name};
  up.outputs = {"up_out"};
  g.nodes.push_back(up);
  g.opsets = {{"", 9}};
  const Graph before = g;
  const OpsetUpgrade r = opset_upgrade(g, 13);
  CHECK(!r.ok);
  REQUIRE(r.blockers.size() == 1);
  CHECK(r.blockers[0].find("node 'legacy_up' (Upsample)") == 0);
  CHECK(g.opset("") == 9);
  CHECK(g.nodes.size() == before.nodes.size());
  ExportConfig c;
  c.activation_bits = 0;
  CHECK_THROWS_WITH_AS(export_qdq(g, c, {}), doctest::Contains("need opset 10, the model has opset 9"), Error);
  CHECK_THROWS_WITH_AS(export_qdq(g, c, {}), doctest::Contains("node 'legacy_up' (Upsample)"), Error);
}

TEST_CASE("export: bad configurations and missing ranges are refused with messages naming the layer or tensor") {
  const Graph g = onnx_load_file(digits());
  ExportConfig c;
  c.layer_bits["no_such_layer"] = 4;
  CHECK_THROWS_WITH_AS(export_fake_quant(g, c), doctest::Contains("layer_bits names 'no_such_layer'"), Error);
  c = ExportConfig{};
  c.default_bits = 9;
  CHECK_THROWS_WITH_AS(export_fake_quant(g, c), doctest::Contains("bits = 9 is outside 2..8"), Error);
  c = ExportConfig{};
  c.activation_bits = 4;
  CHECK_THROWS_WITH_AS(export_qdq(g, c, {}), doctest::Contains("activation_bits = 4 is not supported"), Error);
  c = ExportConfig{};
  const std::string missing = "no activation range for tensor '" + g.inputs[0].name + "'";
  CHECK_THROWS_WITH_AS(export_qdq(g, c, {}), doctest::Contains(missing.c_str()), Error);
  const Graph cl = onnx_load_file(cls());
  c.activation_bits = 0;
  c.allow_opset_upgrade = false;
  CHECK_THROWS_WITH_AS(export_qdq(cl, c, {}), doctest::Contains("need opset 10, the model has opset 9"), Error);
  CHECK_THROWS_WITH_AS(export_config_from_json("{\"granularity\": \"row\"}"),
                       doctest::Contains("options.granularity: 'row' is not one of tensor, channel"), Error);
  const ExportConfig j = export_config_from_json(R"({"bits": 4, "layer_bits": {"a": 0}, "scheme": "asym"})");
  CHECK(j.default_bits == 4);
  CHECK(j.layer_bits.at("a") == 0);
  CHECK(j.scheme == Scheme::kAsymmetric);
}

TEST_CASE("export: per-layer bits, bits 0 keeps a layer float32, and the encodings/report JSON") {
  const Graph g = onnx_load_file(digits());
  const auto layers = find_layers(g);
  ExportConfig c;
  c.layer_bits[layers[0].name] = 0;
  c.layer_bits[layers[1].name] = 5;
  RandomCalibration rc;
  rc.samples = 2;
  const auto tensors = activation_tensors(g, c.layer_bits, c.default_bits);
  const ActivationRanges ranges = activation_ranges(g, calibration_random(g, rc), tensors);
  ExportReport r;
  const Graph q = export_qdq(g, c, ranges, &r);
  CHECK(r.layers[0].bits == 0);
  CHECK(!r.layers[0].skip.empty());
  CHECK(q.weights.count(layers[0].weight));  // float weight kept
  CHECK(r.layers[1].bits == 5);
  CHECK(r.layers[1].params[0].qmax == 15);
  const auto enc = nlohmann::json::parse(encodings_json(r));
  CHECK(enc["kind"] == "encodings");
  CHECK(!enc["param_encodings"].contains(layers[0].weight));
  const auto& e1 = enc["param_encodings"][layers[1].weight];
  CHECK(e1.size() == static_cast<size_t>(layers[1].channels));
  CHECK(e1[0]["bitwidth"] == 5);
  CHECK(e1[0]["offset"] == -16);  // signed 5-bit grid, zero point 0
  CHECK(e1[0]["min"].get<double>() == doctest::Approx(-16 * e1[0]["scale"].get<double>()));
  CHECK(e1[0]["max"].get<double>() == doctest::Approx(15 * e1[0]["scale"].get<double>()));
  CHECK(enc["activation_encodings"].size() == r.activations.size());
  const auto& a0 = enc["activation_encodings"][r.activations[0].tensor][0];
  CHECK(a0["offset"].get<int64_t>() == -a0["zero_point"].get<int64_t>());
  CHECK(a0["is_symmetric"] == "False");
  const auto rep = nlohmann::json::parse(export_report_json(r));
  CHECK(rep["kind"] == "export");
  CHECK(rep["format"] == "qdq");
  CHECK(rep["layers"][1]["storage"] == "int8");
  CHECK(rep["quantize_nodes"] == r.quantize_nodes);
}
