// Small hand-built graphs for the BN-fold, CLE and HBA tests, and the models they run on.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/onnx/loader.h"
#include "tests/support/test_data.h"

namespace qp_pass_test {

using namespace qp;

inline Attribute attr_i(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}
inline Attribute attr_f(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloat;
  a.f = v;
  return a;
}
inline Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInts;
  a.ints = std::move(v);
  return a;
}

// Seeded values in [lo, hi), optionally with per-channel magnitudes spread over `spread` decades (what makes CLE
// worthwhile).
inline std::vector<float> rand_vec(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

inline ValueInfo vinfo(const std::string& name, std::vector<int64_t> shape) {
  ValueInfo v;
  v.name = name;
  v.dtype = DType::kFloat32;
  v.has_shape = true;
  for (auto d : shape) v.shape.push_back(Dim{d, ""});
  return v;
}

inline Graph empty_graph(const std::vector<int64_t>& in_shape) {
  Graph g;
  g.opsets = {{"", 13}};
  g.inputs = {vinfo("x", in_shape)};
  return g;
}

// Conv weight [m, c/group, k, k] with output channel o scaled by 10^(spread * (o / (m-1) - 0.5)).
inline Tensor conv_weight(const std::string& name, int64_t m, int64_t cg, int64_t k, uint32_t seed, double spread = 0) {
  std::vector<float> v = rand_vec(static_cast<size_t>(m * cg * k * k), seed);
  for (int64_t o = 0; o < m; ++o) {
    const double f = m > 1 ? std::pow(10.0, spread * (static_cast<double>(o) / (m - 1) - 0.5)) : 1.0;
    for (int64_t i = 0; i < cg * k * k; ++i) v[static_cast<size_t>(o * cg * k * k + i)] *= static_cast<float>(f);
  }
  return tensor_f32(name, {m, cg, k, k}, v);
}

inline const Graph& model(const std::string& rel) {
  static std::map<std::string, Graph> cache;
  auto it = cache.find(rel);
  if (it == cache.end()) it = cache.emplace(rel, onnx_load_file(qp_test::shared_dir() + "/models/" + rel)).first;
  return it->second;
}

}  // namespace qp_pass_test
