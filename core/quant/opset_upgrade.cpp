// Default-domain opset upgrade for export: compatibility table + rewrites of attributes that became inputs.
#include "core/quant/opset_upgrade.h"

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <map>

#include "core/ir/error.h"

namespace qp {

namespace {

// Op -> the least opset from which a node of that op, left as it is, means the same at every later opset up to 21
// (later versions only added types, optional inputs or attributes whose defaults keep the old behaviour).
// Written from the ONNX operator changelog; ops not listed (or older than their entry) block an upgrade unless a
// rewrite below handles them. Conservative on purpose: a missing op gives a clear refusal, never a silent change.
const std::map<std::string, int64_t>& compatible_since() {
  static const std::map<std::string, int64_t> t = {
      {"Abs", 6}, {"Acos", 7}, {"Add", 7}, {"And", 7}, {"ArgMax", 1}, {"ArgMin", 1}, {"Asin", 7}, {"Atan", 7},
      {"AveragePool", 7}, {"Cast", 6}, {"Ceil", 6}, {"Concat", 4},
      {"ConstantOfShape", 9}, {"Conv", 1}, {"ConvTranspose", 1}, {"Cos", 7}, {"CumSum", 11}, {"DepthToSpace", 1},
      {"DequantizeLinear", 10}, {"Div", 7}, {"Einsum", 12}, {"Elu", 6}, {"Equal", 7}, {"Erf", 9}, {"Exp", 6},
      {"Expand", 8}, {"Flatten", 1}, {"Floor", 6}, {"Gather", 1}, {"GatherElements", 11}, {"GatherND", 11},
      {"Gelu", 20}, {"Gemm", 7}, {"GlobalAveragePool", 1}, {"GlobalMaxPool", 1}, {"Greater", 7},
      {"GreaterOrEqual", 12}, {"HardSigmoid", 6}, {"HardSwish", 14}, {"Identity", 1}, {"InstanceNormalization", 6},
      {"LayerNormalization", 17}, {"LeakyRelu", 6}, {"Less", 7}, {"LessOrEqual", 12}, {"Log", 6}, {"LRN", 1},
      {"MatMul", 1}, {"MatMulInteger", 10}, {"Max", 8}, {"MaxPool", 8}, {"Mean", 8}, {"Min", 8}, {"Mish", 18},
      {"Mod", 10}, {"Mul", 7}, {"Neg", 6}, {"NonZero", 9}, {"Not", 1}, {"OneHot", 9}, {"Or", 7}, {"Pow", 7},
      {"PRelu", 7}, {"QuantizeLinear", 10}, {"Range", 11}, {"Reciprocal", 6}, {"Relu", 6}, {"Reshape", 5},
      {"Resize", 11}, {"Round", 11}, {"Selu", 6}, {"Shape", 1}, {"Sigmoid", 6}, {"Sign", 9}, {"Sin", 7},
      {"Size", 1}, {"Softplus", 1}, {"Softsign", 1}, {"SpaceToDepth", 1}, {"Sqrt", 6}, {"Sub", 7}, {"Sum", 8},
      {"Tan", 7}, {"Tanh", 6}, {"Tile", 6}, {"Transpose", 1}, {"Trilu", 14}, {"Where", 9}, {"Xor", 7},
      {"Constant", 1},
  };
  return t;
}

bool is_reduce_18(const std::string& op);

// Ops handled by a rewrite below (their changes are crossed precisely): the oldest opset the rewrite understands;
// 0 for other ops.
int64_t rewrite_min_from(const std::string& op) {
  static const std::map<std::string, int64_t> m = {
      {"Clip", 6}, {"Slice", 1}, {"Squeeze", 1}, {"Unsqueeze", 1}, {"ReduceSum", 1}, {"Split", 2}, {"Pad", 2},
      {"Softmax", 1}, {"LogSoftmax", 1}, {"Hardmax", 1}, {"Dropout", 7}, {"BatchNormalization", 7}};
  auto it = m.find(op);
  if (it != m.end()) return it->second;
  return is_reduce_18(op) ? 1 : 0;
}

bool is_reduce_18(const std::string& op) {  // axes moved from attribute to input at opset 18
  static const std::set<std::string> s = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                                          "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  return s.count(op) > 0;
}

// Rank and dims of a value, from inputs/outputs/value_info; false when unknown.
bool value_shape(const Graph& g, const std::string& name, std::vector<Dim>& shape, DType* dtype = nullptr) {
  for (const auto* list : {&g.inputs, &g.outputs, &g.value_info})
    for (const auto& v : *list)
      if (v.name == name && v.has_shape) {
        shape = v.shape;
        if (dtype) *dtype = v.dtype;
        return true;
      }
  return false;
}

DType value_dtype(const Graph& g, const std::string& name) {
  for (const auto* list : {&g.inputs, &g.outputs, &g.value_info})
    for (const auto& v : *list)
      if (v.name == name) return v.dtype;
  return DType::kUndefined;
}

Tensor ints_tensor(const std::string& name, const std::vector<int64_t>& v) {
  return tensor_make(name, DType::kInt64, {static_cast<int64_t>(v.size())},
                     std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
}

void drop_attr(Node& n, const std::string& name) {
  n.attrs.erase(std::remove_if(n.attrs.begin(), n.attrs.end(), [&](const Attribute& a) { return a.name == name; }),
                n.attrs.end());
}

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}

void set_int_attr(Node& n, const std::string& name, int64_t v) {
  drop_attr(n, name);
  n.attrs.push_back(int_attr(name, v));
}

struct Upgrader {
  Graph& g;
  int64_t from, to;
  GraphNames names;
  OpsetUpgrade& rep;
  std::vector<Node> out;

  void add_weight(Tensor t) { g.weights.emplace(t.name, std::move(t)); }

  // Attribute `attr` (ints) of n becomes input `index` (int64 1-D); absent attribute: input left out.
  void ints_attr_to_input(Node& n, const std::string& attr, size_t index) {
    const Attribute* a = n.attr(attr);
    if (!a) return;
    const std::string w = names.fresh(n.name + "_" + attr);
    add_weight(ints_tensor(w, a->ints));
    if (n.inputs.size() <= index) n.inputs.resize(index + 1);
    n.inputs[index] = w;
    drop_attr(n, attr);
  }

  void trim_inputs(Node& n) {
    while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
  }

  bool block(const Node& n, const std::string& why) {
    rep.blockers.push_back(n.describe() + ": " + why);
    return false;
  }

  // Returns false after recording a blocker.
  bool upgrade(Node n) {
    const std::string op = n.op_type;  // a copy: n may be moved below
    const std::string before = n.describe();
    if (rewrite_min_from(op) > from) {
      return block(n, op + " before opset " + std::to_string(rewrite_min_from(op)) + " is not upgraded");
    } else if (op == "Clip" && from < 11 && to >= 11) {
      const DType dt = value_dtype(g, n.inputs.empty() ? "" : n.inputs[0]);
      if (dt != DType::kUndefined && dt != DType::kFloat32)
        return block(n, "min/max attributes of a " + dtype_name(dt) + " Clip cannot become float32 inputs");
      const Attribute* lo = n.attr("min");
      const Attribute* hi = n.attr("max");
      n.inputs.resize(3);
      if (lo) add_weight(tensor_f32(n.inputs[1] = names.fresh(n.name + "_min"), {}, {lo->f}));
      if (hi) add_weight(tensor_f32(n.inputs[2] = names.fresh(n.name + "_max"), {}, {hi->f}));
      drop_attr(n, "min");
      drop_attr(n, "max");
      trim_inputs(n);
      rep.rewrites.push_back(before + ": min/max attributes became inputs");
    } else if (op == "Slice" && from < 10 && to >= 10) {
      const Attribute* axes = n.attr("axes");
      n.inputs.resize(1);
      ints_attr_to_input(n, "starts", 1);
      ints_attr_to_input(n, "ends", 2);
      if (axes) ints_attr_to_input(n, "axes", 3);
      rep.rewrites.push_back(before + ": starts/ends/axes attributes became inputs");
    } else if ((op == "Squeeze" || op == "Unsqueeze") && from < 13 && to >= 13) {
      ints_attr_to_input(n, "axes", 1);
      rep.rewrites.push_back(before + ": axes attribute became an input");
    } else if (op == "ReduceSum" && from < 13 && to >= 13) {
      ints_attr_to_input(n, "axes", 1);
      rep.rewrites.push_back(before + ": axes attribute became an input");
    } else if (is_reduce_18(op) && from < 18 && to >= 18) {
      ints_attr_to_input(n, "axes", 1);
      rep.rewrites.push_back(before + ": axes attribute became an input");
    } else if (op == "Split" && ((from < 13 && to >= 13) || (from < 18 && to >= 18))) {
      if (from < 13 && to >= 13) ints_attr_to_input(n, "split", 1);
      if (to >= 18 && (n.inputs.size() < 2 || n.inputs[1].empty()))
        set_int_attr(n, "num_outputs", static_cast<int64_t>(n.outputs.size()));
      rep.rewrites.push_back(before + ": split attribute became an input (or num_outputs)");
    } else if (op == "Pad" && from < 11 && to >= 11) {
      const DType dt = value_dtype(g, n.inputs.empty() ? "" : n.inputs[0]);
      const Attribute* value = n.attr("value");
      if (value && value->f != 0 && dt != DType::kUndefined && dt != DType::kFloat32)
        return block(n, "a " + dtype_name(dt) + " Pad value cannot become a float32 input");
      const char* pads_name = n.attr("pads") ? "pads" : "paddings";
      ints_attr_to_input(n, pads_name, 1);
      if (value && value->f != 0) add_weight(tensor_f32(n.inputs.emplace_back(names.fresh(n.name + "_value")), {}, {value->f}));
      drop_attr(n, "value");
      rep.rewrites.push_back(before + ": pads/value attributes became inputs");
    } else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && from < 13 && to >= 13) {
      // Before 13 the op flattened the input to 2-D at `axis` (default 1); from 13 it works along `axis` only
      // (default -1). Same result when axis is the last one or every later dim is 1; otherwise Flatten -> op ->
      // Reshape back, which is the old definition written out.
      int64_t axis = n.attr_int("axis", 1);
      std::vector<Dim> shape;
      bool same = false;
      if (!n.inputs.empty() && value_shape(g, n.inputs[0], shape)) {
        const int64_t r = static_cast<int64_t>(shape.size());
        if (axis < 0) axis += r;
        same = axis == r - 1;
        if (!same && axis >= 0 && axis < r) {
          same = true;
          for (int64_t i = axis + 1; i < r; ++i) same &= shape[static_cast<size_t>(i)].value == 1;
        }
      }
      if (same) {
        set_int_attr(n, "axis", axis);
        rep.rewrites.push_back(before + ": axis " + std::to_string(axis) + " written out (default changed at 13)");
      } else {
        const std::string x = n.inputs.at(0), y = n.outputs.at(0);
        const std::string flat = names.fresh(x + "_flat2d"), soft = names.fresh(y + "_2d"),
                          shp = names.fresh(x + "_shape");
        Node f = node_make(names.fresh(n.name + "_flatten"), "Flatten", {x}, {flat});
        f.attrs.push_back(int_attr("axis", n.attr_int("axis", 1)));
        Node s = node_make(names.fresh(n.name + "_shape"), "Shape", {x}, {shp});
        n.inputs[0] = flat;
        n.outputs[0] = soft;
        set_int_attr(n, "axis", 1);
        Node r = node_make(names.fresh(n.name + "_reshape"), "Reshape", {soft, shp}, {y});
        out.push_back(std::move(f));
        out.push_back(std::move(s));
        out.push_back(std::move(n));
        out.push_back(std::move(r));
        rep.rewrites.push_back(before + ": written as Flatten -> " + op + "(axis 1) -> Reshape (meaning changed at 13)");
        return true;
      }
    } else if (op == "Dropout" && from < 12 && to >= 10) {
      if (n.outputs.size() > 1 && !n.outputs[1].empty() && from < 10)
        return block(n, "its mask output changed type at opset 10");
      drop_attr(n, "ratio");
      rep.rewrites.push_back(before + ": ratio attribute dropped (identity at inference)");
    } else if (op == "BatchNormalization" && from < 9 && to >= 9) {
      if (n.attr_int("spatial", 1) == 0) return block(n, "spatial=0 was removed at opset 9");
      drop_attr(n, "spatial");
      rep.rewrites.push_back(before + ": spatial attribute dropped (1 is the later meaning)");
    } else if (rewrite_min_from(op) > 0) {
      // An op with a rewrite whose change lies beyond the target: unchanged.
    } else {
      auto it = compatible_since().find(op);
      if (it == compatible_since().end())
        return block(n, "not in the table of ops known to keep their meaning up to opset " + std::to_string(to));
      if (from < it->second)
        return block(n, "its form at opset " + std::to_string(from) + " changed meaning or signature by opset " +
                             std::to_string(it->second));
    }
    out.push_back(std::move(n));
    return true;
  }
};

}  // namespace

int64_t ir_version_for_opset(int64_t opset) {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  if (opset >= 9) return 4;
  return 3;
}

OpsetUpgrade opset_upgrade(Graph& g, int64_t target) {
  OpsetUpgrade rep;
  rep.from = g.opset("");
  rep.to = rep.from;
  rep.ir_from = rep.ir_to = g.ir_version;
  if (rep.from >= target) return rep;
  if (target > 21) throw Error("opset upgrade: target opset " + std::to_string(target) + " is beyond the table (21)");
  Graph work = g;
  Upgrader u{work, rep.from, target, GraphNames(work), rep, {}};
  for (const auto& n : g.nodes) {
    if (!n.domain.empty() && n.domain != "ai.onnx") {
      u.out.push_back(n);  // other domains import their own opsets
      continue;
    }
    u.upgrade(n);
  }
  if (!rep.blockers.empty()) {
    rep.ok = false;
    rep.rewrites.clear();
    return rep;
  }
  work.nodes = std::move(u.out);
  bool found = false;
  for (auto& o : work.opsets)
    if (o.first.empty() || o.first == "ai.onnx") {
      o.second = target;
      found = true;
    }
  if (!found) work.opsets.emplace_back("", target);
  work.ir_version = std::max(work.ir_version, ir_version_for_opset(target));
  rep.to = target;
  rep.ir_to = work.ir_version;
  g = std::move(work);
  return rep;
}

}  // namespace qp
