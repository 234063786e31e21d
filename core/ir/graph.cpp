// Graph helpers: attribute access with defaults, weight lookup, and a deterministic topological sort.
#include "core/ir/graph.h"

#include <queue>
#include <unordered_map>

#include "core/ir/error.h"

namespace qp {

const Attribute* Node::attr(const std::string& n) const {
  for (const auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t Node::attr_int(const std::string& n, int64_t dflt) const {
  const Attribute* a = attr(n);
  return (a && a->type == AttrType::kInt) ? a->i : dflt;
}

float Node::attr_float(const std::string& n, float dflt) const {
  const Attribute* a = attr(n);
  return (a && a->type == AttrType::kFloat) ? a->f : dflt;
}

std::string Node::attr_string(const std::string& n, const std::string& dflt) const {
  const Attribute* a = attr(n);
  return (a && a->type == AttrType::kString) ? a->s : dflt;
}

std::vector<int64_t> Node::attr_ints(const std::string& n) const {
  const Attribute* a = attr(n);
  return (a && a->type == AttrType::kInts) ? a->ints : std::vector<int64_t>{};
}

std::string Node::describe() const { return "node '" + name + "' (" + op_type + ")"; }

const Tensor* Graph::weight(const std::string& n) const {
  auto it = weights.find(n);
  return it == weights.end() ? nullptr : &it->second;
}

int64_t Graph::opset(const std::string& d) const {
  for (const auto& [dom, v] : opsets)
    if (dom == d || (d.empty() && dom == "ai.onnx") || (d == "ai.onnx" && dom.empty())) return v;
  return 0;
}

void graph_sort_topological(Graph& g) {
  const size_t n = g.nodes.size();
  std::unordered_map<std::string, size_t> producer;  // value name -> node index
  for (size_t i = 0; i < n; ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer.emplace(o, i);

  std::unordered_map<std::string, bool> available;
  for (const auto& in : g.inputs) available[in.name] = true;
  for (const auto& [name, t] : g.weights) available[name] = true;

  std::vector<std::vector<size_t>> consumers(n);
  std::vector<size_t> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        throw Error(g.nodes[i].describe() + " reads '" + in + "', which no node, graph input or initializer produces");
      consumers[it->second].push_back(i);
      ++pending[i];
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] != 0) throw Error("graph has a cycle through " + g.nodes[i].describe());
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (size_t i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
}

Node node_make(const std::string& name, const std::string& op, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attrs) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.op = op_from_name("", op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  return n;
}

GraphNames::GraphNames(const Graph& g) {
  for (const auto& v : g.inputs) used_.insert(v.name);
  for (const auto& v : g.outputs) used_.insert(v.name);
  for (const auto& v : g.value_info) used_.insert(v.name);
  for (const auto& kv : g.weights) used_.insert(kv.first);
  for (const auto& n : g.nodes) {
    used_.insert(n.name);
    for (const auto& s : n.inputs) used_.insert(s);
    for (const auto& s : n.outputs) used_.insert(s);
  }
}

std::string GraphNames::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
  used_.insert(name);
  return name;
}

}  // namespace qp
