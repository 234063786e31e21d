// Generates broken variants of a real model with protobuf's generated classes and pins the expected messages.
#include "tests/support/bad_corpus.h"

#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>

#include "onnx.pb.h"

namespace qp_test {

namespace {

std::string slurp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

void spit(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::string node_label(const onnx::NodeProto& n, int i) {
  const std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
  return "graph.node[" + std::to_string(i) + "] '" + name + "' (" + n.op_type() + ")";
}

// Index of the first Constant node holding a float tensor with raw_data, and of the first non-Constant node.
void find_nodes(const onnx::ModelProto& m, int& constant, int& compute) {
  constant = compute = -1;
  for (int i = 0; i < m.graph().node_size(); ++i) {
    const auto& n = m.graph().node(i);
    if (n.op_type() == "Constant") {
      if (constant < 0 && n.attribute_size() > 0 && n.attribute(0).has_t() && n.attribute(0).t().has_raw_data() &&
          n.attribute(0).t().dims_size() >= 1 && n.attribute(0).t().data_type() == 1)
        constant = i;
    } else if (compute < 0) {
      compute = i;
    }
  }
  if (constant < 0 || compute < 0) throw std::runtime_error("model has no Constant weight or compute node");
}

}  // namespace

std::vector<BadCase> make_bad_corpus(const std::string& model_path, const std::string& dir) {
  ::mkdir(dir.c_str(), 0755);
  ::mkdir((dir + "/nested").c_str(), 0755);
  const std::string bytes = slurp(model_path);
  onnx::ModelProto base;
  if (!base.ParseFromString(bytes)) throw std::runtime_error("cannot parse " + model_path);
  int ci, ni;
  find_nodes(base, ci, ni);
  const std::string clabel = node_label(base.graph().node(ci), ci);
  const onnx::TensorProto& ct = base.graph().node(ci).attribute(0).t();
  std::string dims = "[";
  for (int k = 0; k < ct.dims_size(); ++k) dims += (k ? "," : "") + std::to_string(ct.dims(k));
  dims += "]";

  std::vector<BadCase> cases;
  auto add = [&](const std::string& name, const std::string& data, const std::string& expect) {
    spit(dir + "/" + name, data);
    cases.push_back({dir + "/" + name, expect});
  };
  auto mutated = [&](const std::function<void(onnx::ModelProto&)>& f) {
    onnx::ModelProto m = base;
    f(m);
    return m.SerializeAsString();
  };

  add("empty.onnx", "", "not an ONNX model: the file is empty");
  add("png.onnx", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\0'), "(this is a PNG image)");
  add("truncated.onnx", bytes.substr(0, bytes.size() * 3 / 5), "(truncated file?)");
  {
    std::string flipped = bytes;
    flipped[0] = static_cast<char>(flipped[0] ^ 0x08);  // the first tag (ir_version, 0x08) becomes 0
    add("bitflip_tag.onnx", flipped, "not an ONNX model: protobuf parse failed at byte 0: invalid field tag");
  }
  add("wrong_size.onnx", mutated([&](onnx::ModelProto& m) {
        auto* t = m.mutable_graph()->mutable_node(ci)->mutable_attribute(0)->mutable_t();
        t->mutable_raw_data()->resize(t->raw_data().size() - 4);
      }),
      "cannot load " + clabel + ": attribute 'value': raw_data has " + std::to_string(ct.raw_data().size() - 4) +
          " bytes, expected " + std::to_string(ct.raw_data().size()) + " for float32 " + dims);
  add("negative_dim.onnx", mutated([&](onnx::ModelProto& m) {
        m.mutable_graph()->mutable_node(ci)->mutable_attribute(0)->mutable_t()->set_dims(0, -3);
      }),
      "cannot load " + clabel + ": attribute 'value': dim 0 is negative (-3)");
  add("overflow_dims.onnx", mutated([&](onnx::ModelProto& m) {
        auto* t = m.mutable_graph()->mutable_node(ci)->mutable_attribute(0)->mutable_t();
        t->clear_dims();
        t->add_dims(int64_t{1} << 40);
        t->add_dims(int64_t{1} << 40);
      }),
      "cannot load " + clabel + ": attribute 'value': shape [1099511627776,1099511627776] overflows int64");
  add("unknown_dtype.onnx", mutated([&](onnx::ModelProto& m) {
        m.mutable_graph()->mutable_node(ci)->mutable_attribute(0)->mutable_t()->set_data_type(99);
      }),
      "cannot load " + clabel + ": attribute 'value': unknown data type 99");
  {
    // A cycle: the first compute node reads the graph's last output.
    const onnx::GraphProto& g = base.graph();
    const std::string last = g.node(g.node_size() - 1).output(0);
    add("cycle.onnx", mutated([&](onnx::ModelProto& m) {
          m.mutable_graph()->mutable_node(ni)->set_input(0, last);
        }),
        "graph has a cycle through node '");
    add("dangling_input.onnx", mutated([&](onnx::ModelProto& m) {
          m.mutable_graph()->mutable_node(ni)->set_input(0, "no_such_value");
        }),
        "reads 'no_such_value', which no node, graph input or initializer produces");
  }
  add("external_escape.onnx", mutated([&](onnx::ModelProto& m) {
        auto* t = m.mutable_graph()->mutable_node(ci)->mutable_attribute(0)->mutable_t();
        t->clear_raw_data();
        t->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* kv = t->add_external_data();
        kv->set_key("location");
        kv->set_value("../outside.bin");
      }),
      "cannot load " + clabel + ": attribute 'value': external data: location '../outside.bin' escapes the model's folder; refused");
  add("no_graph.onnx", mutated([&](onnx::ModelProto& m) { m.clear_graph(); }),
      "not an ONNX model: the protobuf message has no graph (field 7)");
  return cases;
}

std::vector<std::string> make_bit_flips(const std::string& model_path, const std::string& dir, int count) {
  ::mkdir(dir.c_str(), 0755);
  const std::string bytes = slurp(model_path);
  std::mt19937 gen(2024);
  std::vector<std::string> files;
  for (int i = 0; i < count; ++i) {
    std::string b = bytes;
    // Half of the flips land in the first 4 KiB, where the structure (tags, lengths, names) is dense.
    const size_t limit = (i % 2 == 0) ? std::min<size_t>(4096, b.size()) : b.size();
    const size_t pos = std::uniform_int_distribution<size_t>(0, limit - 1)(gen);
    b[pos] = static_cast<char>(b[pos] ^ (1 << std::uniform_int_distribution<int>(0, 7)(gen)));
    files.push_back(dir + "/flip_" + std::to_string(i) + "_at_" + std::to_string(pos) + ".onnx");
    spit(files.back(), b);
  }
  return files;
}

}  // namespace qp_test
