// The IR graph: nodes in topological order with typed attributes, weights by name, inputs/outputs, metadata.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/ir/op.h"
#include "core/ir/tensor.h"

namespace qp {

enum class AttrType : uint8_t { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kOther };

struct Attribute {
  std::string name;
  AttrType type = AttrType::kOther;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  Tensor t;  // kTensor
};

struct Node {
  std::string name;  // never empty: the importer names unnamed nodes "<op>_<index>"
  std::string op_type;
  std::string domain;
  Op op = Op::kUnsupported;
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attrs;
  bool has_subgraph = false;

  const Attribute* attr(const std::string& n) const;
  int64_t attr_int(const std::string& n, int64_t dflt) const;
  float attr_float(const std::string& n, float dflt) const;
  std::string attr_string(const std::string& n, const std::string& dflt) const;
  std::vector<int64_t> attr_ints(const std::string& n) const;
  // "node 'conv_12' (Conv)" for messages.
  std::string describe() const;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;
  std::vector<Dim> shape;
};

struct Graph {
  std::string name;
  int64_t ir_version = 0;
  std::string producer_name, producer_version, domain, doc_string;
  std::vector<std::pair<std::string, int64_t>> opsets;  // (domain, version), file order
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<ValueInfo> inputs;   // real inputs (initializers listed as inputs are dropped)
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<Node> nodes;         // topological order; Constant nodes moved to `weights`
  std::map<std::string, Tensor> weights;  // initializers and Constant-node tensors by name
  int64_t file_nodes = 0;           // nodes as the file has them (Constant nodes included)
  int64_t constant_nodes = 0;       // Constant nodes whose tensor became a weight
  int64_t initializers = 0;         // initializer entries in the file

  const Tensor* weight(const std::string& n) const;
  int64_t opset(const std::string& domain) const;  // 0 when not imported
};

// Orders `g.nodes` topologically (Kahn's algorithm, ties broken by file order, so results are deterministic).
// Throws qp::Error naming a node on a cycle, or a node that reads a value nothing produces.
void graph_sort_topological(Graph& g);

// A node built in code (passes, exports, upgrades) of the default domain.
Node node_make(const std::string& name, const std::string& op, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attrs = {});

// Fresh names for values, weights and nodes added to a graph: "<base>", else "<base>_1", "<base>_2", ...
class GraphNames {
 public:
  explicit GraphNames(const Graph& g);
  std::string fresh(const std::string& base);

 private:
  std::set<std::string> used_;
};

}  // namespace qp
