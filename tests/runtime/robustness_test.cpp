// Bad models never crash the engine: bit-flipped files that still load, and nodes whose attributes or weights are
// mutated to nonsense, either run or fail with a qp::Error that names the node.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/runtime/executor.h"
#include "tests/support/bad_corpus.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

// Runs `g` on a fixed input; true when it ran, false when it refused with a message. A crash ends the test binary.
bool runs_or_refuses(const Graph& g, const std::map<std::string, int64_t>& dims, std::string& msg) {
  try {
    Executor ex(g);
    if (!ex.unsupported().empty()) {
      msg = ex.unsupported()[0];
      return false;
    }
    ex.run(random_inputs(g, 1, dims));
    return true;
  } catch (const Error& e) {
    msg = e.what();
    return false;
  }
}

const std::map<std::string, int64_t> kClsDims = {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48},
                                                 {"p2o.DynamicDimension.2", 192}};

}  // namespace

TEST_CASE("robustness: bit-flipped models that still load run or refuse with a message") {
  char tmpl[] = "/tmp/qp_flip_run_XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const auto files = qp_test::make_bit_flips(qp_test::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx", tmpl, 120);
  int ran = 0, refused = 0, unloadable = 0;
  for (const auto& f : files) {
    Graph g;
    try {
      g = onnx_load_file(f);
    } catch (const Error&) {
      ++unloadable;
      continue;
    }
    std::string msg;
    INFO(f);
    if (runs_or_refuses(g, kClsDims, msg)) {
      ++ran;
    } else {
      CHECK(!msg.empty());
      ++refused;
    }
  }
  MESSAGE("bit flips: " << ran << " ran, " << refused << " refused, " << unloadable << " did not load");
  CHECK(ran + refused + unloadable == 120);
  CHECK(ran > 0);
}

TEST_CASE("robustness: nonsense attributes and swapped weights are refused with the node named, never a crash") {
  const Graph base = onnx_load_file(qp_test::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::string msg;
  REQUIRE(runs_or_refuses(base, kClsDims, msg));
  const int64_t values[] = {0, -1, -7, 3, int64_t{1} << 40};
  int mutations = 0, refused = 0;
  for (size_t k = 0; k < base.nodes.size(); ++k) {
    const Node& n = base.nodes[k];
    for (size_t a = 0; a < n.attrs.size(); ++a) {
      const Attribute& at = n.attrs[a];
      if (at.type != AttrType::kInt && at.type != AttrType::kInts) continue;
      for (int64_t v : values) {
        Graph g = base;
        Attribute& m = g.nodes[k].attrs[a];
        if (m.type == AttrType::kInt) m.i = v;
        else if (!m.ints.empty()) m.ints[v == 3 ? 0 : m.ints.size() - 1] = v;
        else m.ints = {v};
        ++mutations;
        INFO("node " << n.name << " (" << n.op_type << ") attribute " << at.name << " = " << v);
        if (!runs_or_refuses(g, kClsDims, msg)) {
          ++refused;
          CHECK(!msg.empty());
        }
      }
    }
    // A weight input replaced by another weight of a different shape.
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Tensor* w = base.weight(n.inputs[i]);
      if (!w) continue;
      for (const auto& other : base.weights) {
        if (other.second.dims == w->dims || other.second.dtype != w->dtype) continue;
        Graph g = base;
        g.nodes[k].inputs[i] = other.first;
        ++mutations;
        INFO("node " << n.name << " (" << n.op_type << ") input " << i << " <- " << other.first << " "
                     << shape_str(other.second.dims));
        if (!runs_or_refuses(g, kClsDims, msg)) {
          ++refused;
          CHECK(!msg.empty());
          if (msg.rfind("node '", 0) == 0) CHECK(msg.find(n.name) != std::string::npos);
        }
        break;  // one swap per input keeps the test quick
      }
    }
  }
  MESSAGE("mutations: " << mutations << ", refused " << refused);
  CHECK(refused > mutations / 4);
}
