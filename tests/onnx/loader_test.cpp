// ONNX importer tests: real models, tensor encodings, external data, and the pinned messages for bad input.
#include "core/onnx/loader.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/ir/error.h"
#include "core/quant/layers.h"
#include "onnx.pb.h"
#include "tests/support/bad_corpus.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

// y = MatMul(x, w), w a 2x2 float initializer.
onnx::ModelProto tiny_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("tiny");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("batch");
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(2);
  w->add_dims(2);
  const float vals[4] = {1, -2, 3.5f, 0.25f};
  w->set_raw_data(std::string(reinterpret_cast<const char*>(vals), sizeof vals));
  auto* n = g->add_node();
  n->set_op_type("MatMul");
  n->set_name("mm");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

Graph load_model(const onnx::ModelProto& m, const ExternalData* ext = nullptr) {
  const std::string b = m.SerializeAsString();
  return onnx_load(reinterpret_cast<const uint8_t*>(b.data()), b.size(), ext);
}

std::string load_error(const onnx::ModelProto& m, const ExternalData* ext = nullptr) {
  try {
    load_model(m, ext);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

using qp_test::make_temp_dir;
using qp_test::write_file;

}  // namespace

TEST_CASE("a tiny model loads: shapes with symbolic dims, weights, layers") {
  const Graph g = load_model(tiny_model());
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].shape[0].param == "batch");
  CHECK(g.inputs[0].shape[1].value == 2);
  const Tensor* w = g.weight("w");
  REQUIRE(w != nullptr);
  CHECK(w->f32()[2] == 3.5f);
  CHECK(g.opset("") == 13);
  const auto layers = find_layers(g);
  REQUIRE(layers.size() == 1);
  CHECK(layers[0].channel_axis == 1);  // MatMul [K, N]: output channels are the last axis
  CHECK(layers[0].channels == 2);
}

TEST_CASE("typed fields, float16 and bfloat16 become float32; int8 from int32_data") {
  onnx::ModelProto m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  for (float v : {1.0f, 2.0f, -3.0f, 0.5f}) w->add_float_data(v);
  CHECK(load_model(m).weight("w")->f32()[2] == -3.0f);

  w->clear_float_data();
  w->set_data_type(10);  // float16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, 2^-24 = 0x0001 (subnormal)
  for (int v : {0x3c00, 0xc000, 0x7bff, 0x0001}) w->add_int32_data(v);
  Graph g = load_model(m);
  CHECK(g.weight("w")->dtype == DType::kFloat32);
  CHECK(g.weight("w")->stored_dtype == DType::kFloat16);
  CHECK(g.weight("w")->f32()[0] == 1.0f);
  CHECK(g.weight("w")->f32()[1] == -2.0f);
  CHECK(g.weight("w")->f32()[2] == 65504.0f);
  CHECK(g.weight("w")->f32()[3] == std::ldexp(1.0f, -24));

  w->set_data_type(16);  // bfloat16: upper half of float32
  w->clear_int32_data();
  for (int v : {0x3f80, 0xbf00, 0x4040, 0x0000}) w->add_int32_data(v);
  g = load_model(m);
  CHECK(g.weight("w")->f32()[0] == 1.0f);
  CHECK(g.weight("w")->f32()[1] == -0.5f);
  CHECK(g.weight("w")->f32()[2] == 3.0f);

  w->set_data_type(3);  // int8 through int32_data
  w->clear_int32_data();
  for (int v : {-128, 127, 0, 5}) w->add_int32_data(v);
  g = load_model(m);
  CHECK(reinterpret_cast<const int8_t*>(g.weight("w")->data.data())[0] == -128);
  CHECK(find_layers(g)[0].skip == "weight is int8, not a float tensor");
}

TEST_CASE("pinned messages for broken tensors and graphs") {
  onnx::ModelProto m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(8);
  CHECK(load_error(m) == "cannot load graph.initializer[0] 'w': raw_data has 8 bytes, expected 16 for float32 [2,2]");

  m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->clear_raw_data();
  CHECK(load_error(m) == "cannot load graph.initializer[0] 'w': has no data: neither raw_data nor float_data is set "
                         "(expected 4 values for float32 [2,2])");

  m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->set_data_type(0);
  CHECK(load_error(m) == "cannot load graph.initializer[0] 'w': data type is missing (UNDEFINED)");

  m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nope");
  CHECK(load_error(m) == "node 'mm' (MatMul) reads 'nope', which no node, graph input or initializer produces");

  m = tiny_model();  // two nodes feeding each other
  auto* n2 = m.mutable_graph()->add_node();
  n2->set_op_type("Relu");
  n2->set_name("r");
  n2->add_input("y");
  n2->add_output("z");
  m.mutable_graph()->mutable_node(0)->set_input(0, "z");
  CHECK(load_error(m) == "graph has a cycle through node 'mm' (MatMul)");

  m = tiny_model();
  m.mutable_graph()->mutable_node(0)->add_output("y");
  CHECK(load_error(m) == "cannot load graph.node[0] 'mm' (MatMul): output 'y' is produced more than once");

  m = tiny_model();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(-5);
  CHECK(load_error(m) == "cannot load graph.input[0] 'x': value 'x' has negative dim -5");

  CHECK_THROWS_WITH(onnx_load(reinterpret_cast<const uint8_t*>("x"), 0, nullptr), "not an ONNX model: the file is empty");
  const char zip[] = "PK\x03\x04garbage-garbage";
  CHECK_THROWS_WITH(onnx_load(reinterpret_cast<const uint8_t*>(zip), sizeof zip - 1, nullptr),
                    doctest::Contains("(this is a ZIP archive, e.g. a PyTorch checkpoint, not an ONNX model)"));
}

TEST_CASE("external data: read relative to the model, escapes refused, missing files named") {
  const std::string dir = make_temp_dir();
  ::mkdir((dir + "/m").c_str(), 0755);
  const float vals[4] = {9, 8, 7, 6};
  write_file(dir + "/m/weights.bin", std::string(8, 'x') + std::string(reinterpret_cast<const char*>(vals), 16));
  write_file(dir + "/outside.bin", std::string(reinterpret_cast<const char*>(vals), 16));

  auto external = [](const std::string& loc, const std::string& offset) {
    onnx::ModelProto m = tiny_model();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value(loc);
    if (!offset.empty()) {
      kv = w->add_external_data();
      kv->set_key("offset");
      kv->set_value(offset);
    }
    return m;
  };
  DirExternalData ext(dir + "/m");
  const Graph g = load_model(external("weights.bin", "8"), &ext);
  CHECK(g.weight("w")->f32()[3] == 6.0f);
  CHECK(g.weight("w")->external_location == "weights.bin");

  CHECK(load_error(external("../outside.bin", ""), &ext) ==
        "cannot load graph.initializer[0] 'w': external data: location '../outside.bin' escapes the model's folder; refused");
  CHECK(load_error(external(dir + "/outside.bin", ""), &ext) ==
        "cannot load graph.initializer[0] 'w': external data: location '" + dir + "/outside.bin' escapes the model's folder; refused");
  CHECK(load_error(external("missing.bin", ""), &ext) ==
        "cannot load graph.initializer[0] 'w': external data: file 'missing.bin' not found next to the model");
  CHECK(load_error(external("weights.bin", "16"), &ext) ==
        "cannot load graph.initializer[0] 'w': external data: 'weights.bin' has 24 bytes; offset 16 + length 16 runs past its end");
  CHECK(load_error(external("weights.bin", "-1"), &ext) ==
        "cannot load graph.initializer[0] 'w': external_data 'offset' is not a non-negative integer: '-1'");
  CHECK(load_error(external("weights.bin", ""), nullptr) ==
        "cannot load graph.initializer[0] 'w': data is in external file 'weights.bin', but no external files were given");

  // Files handed in by name, as the browser does.
  MapExternalData files;
  files.files["weights.bin"] = std::string(8, 'x') + std::string(reinterpret_cast<const char*>(vals), 16);
  CHECK(load_model(external("./weights.bin", "8"), &files).weight("w")->f32()[0] == 9.0f);
  CHECK(load_error(external("../weights.bin", ""), &files) ==
        "cannot load graph.initializer[0] 'w': external data: location '../weights.bin' escapes the model's folder; refused");
  CHECK(load_error(external("other.bin", ""), &files) ==
        "cannot load graph.initializer[0] 'w': external data: file 'other.bin' was not given with the model (drop it "
        "together with the .onnx)");
}

TEST_CASE("every real model loads, with weights, layers and no unknown-op failure") {
  for (const std::string& path : qp_test::real_models()) {
    INFO(path);
    const Graph g = onnx_load_file(path);
    CHECK(!g.nodes.empty());
    CHECK(!g.weights.empty());
    CHECK(!find_layers(g).empty());
    size_t held = 0;
    for (const auto& kv : g.weights) held += kv.second.data.size();
    CHECK(held > 0);
  }
}

TEST_CASE("the bad-input corpus generated from a real model gives the pinned messages") {
  const std::string dir = make_temp_dir();
  const auto cases = qp_test::make_bad_corpus(qp_test::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx", dir + "/nested");
  CHECK(cases.size() >= 10);
  for (const auto& c : cases) {
    INFO(c.file);
    std::string msg = "(no error)";
    try {
      onnx_load_file(c.file);
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK_MESSAGE(msg.find(c.expect) != std::string::npos, "got: " << msg << "\nexpected to contain: " << c.expect);
  }
}

TEST_CASE("single-bit flips of a real model never crash: they load or fail with a message") {
  const std::string dir = make_temp_dir();
  const auto files = qp_test::make_bit_flips(qp_test::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx", dir, 200);
  int loaded = 0, refused = 0;
  for (const auto& f : files) {
    try {
      onnx_load_file(f);
      ++loaded;
    } catch (const Error& e) {
      const std::string msg = e.what();
      INFO(f << ": " << msg);
      CHECK(!msg.empty());
      ++refused;
    }
  }
  CHECK(loaded + refused == 200);
  CHECK(refused > 0);
}
