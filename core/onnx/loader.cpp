// ONNX importer: protobuf-lite message -> qp::Graph, with tensor data moved (not copied) out of the message.
#include "core/onnx/loader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "core/ir/error.h"
#include "onnx.pb.h"

namespace qp {

namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// ---------------------------------------------------------------------------------------------------------
// Diagnosing a message protobuf refused: walk the wire format with protobuf's own reader and say where it breaks.

struct WireFault {
  size_t offset = 0;
  std::string where;
  std::string what;
};

// Fields worth descending into to name the broken element: model.graph, graph.{node,initializer,...}.
const char* submessage_name(int depth_kind, uint32_t field) {
  if (depth_kind == 0) return field == 7 ? "graph" : nullptr;
  if (depth_kind == 1) {
    switch (field) {
      case 1: return "node";
      case 5: return "initializer";
      case 11: return "input";
      case 12: return "output";
      case 13: return "value_info";
      default: return nullptr;
    }
  }
  return nullptr;
}

bool wire_walk(const uint8_t* p, size_t n, size_t base, const std::string& path, int kind, WireFault& fault) {
  CodedInputStream in(p, static_cast<int>(n));
  std::map<uint32_t, int> index;
  while (true) {
    const size_t at = base + static_cast<size_t>(in.CurrentPosition());
    if (static_cast<size_t>(in.CurrentPosition()) >= n) return true;
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      fault = {at, path, "invalid field tag (field number 0 or an unterminated varint)"};
      return false;
    }
    const uint32_t field = tag >> 3;
    const int wt = static_cast<int>(tag & 7);
    if (field == 0) {
      fault = {at, path, "invalid field number 0"};
      return false;
    }
    if (wt == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) {
        fault = {at, path, "field " + std::to_string(field) + " has a broken length prefix"};
        return false;
      }
      const size_t body = static_cast<size_t>(in.CurrentPosition());
      if (len > n - body) {
        fault = {at, path,
                 "field " + std::to_string(field) + " claims " + std::to_string(len) + " bytes but only " +
                     std::to_string(n - body) + " remain (truncated file?)"};
        return false;
      }
      const char* sub = submessage_name(kind, field);
      if (sub) {
        const int i = index[field]++;
        std::string sub_path = path.empty() ? sub : path + "." + sub;
        if (kind == 1) sub_path += "[" + std::to_string(i) + "]";
        if (!wire_walk(p + body, len, base + body, sub_path, kind + 1, fault)) return false;
      }
      if (!in.Skip(static_cast<int>(len))) {
        fault = {at, path, "field " + std::to_string(field) + " runs past the end"};
        return false;
      }
    } else if (wt == WireFormatLite::WIRETYPE_VARINT || wt == WireFormatLite::WIRETYPE_FIXED32 ||
               wt == WireFormatLite::WIRETYPE_FIXED64) {
      if (!WireFormatLite::SkipField(&in, tag)) {
        fault = {at, path, "field " + std::to_string(field) + " is truncated"};
        return false;
      }
    } else {
      fault = {at, path, "field " + std::to_string(field) + " has invalid wire type " + std::to_string(wt)};
      return false;
    }
  }
}

std::string magic_hint(const uint8_t* p, size_t n) {
  auto starts = [&](const char* m, size_t len, size_t off = 0) { return n >= off + len && !std::memcmp(p + off, m, len); };
  if (starts("PK\x03\x04", 4)) return " (this is a ZIP archive, e.g. a PyTorch checkpoint, not an ONNX model)";
  if (starts("\x89PNG", 4)) return " (this is a PNG image)";
  if (starts("\xff\xd8\xff", 3)) return " (this is a JPEG image)";
  if (starts("GGUF", 4)) return " (this is a GGUF file)";
  if (starts("\x89HDF", 4)) return " (this is an HDF5 file, e.g. a Keras model)";
  if (starts("TFL3", 4, 4)) return " (this is a TensorFlow Lite model)";
  if (starts("ir_version", 10)) return " (this looks like ONNX text format; save the model in binary form)";
  return "";
}

// ---------------------------------------------------------------------------------------------------------
// Tensors

size_t packed_bytes(DType t, int64_t numel) {
  switch (t) {
    case DType::kUint4: case DType::kInt4: case DType::kFloat4E2M1: return static_cast<size_t>((numel + 1) / 2);
    case DType::kUint2: case DType::kInt2: return static_cast<size_t>((numel + 3) / 4);
    default: return static_cast<size_t>(numel) * dtype_size(t);
  }
}

template <typename T, typename Src>
std::string pack(const Src& src) {
  std::string out(static_cast<size_t>(src.size()) * sizeof(T), '\0');
  T* d = reinterpret_cast<T*>(out.data());
  for (int i = 0; i < src.size(); ++i) d[i] = static_cast<T>(src.Get(i));
  return out;
}

void widen_half(Tensor& t) {
  const size_t n = t.data.size() / 2;
  std::string out(n * 4, '\0');
  const uint16_t* s = reinterpret_cast<const uint16_t*>(t.data.data());
  float* d = reinterpret_cast<float*>(out.data());
  const bool bf = t.dtype == DType::kBFloat16;
  for (size_t i = 0; i < n; ++i) d[i] = bf ? bf16_to_f32(s[i]) : f16_to_f32(s[i]);
  t.data.swap(out);
  t.dtype = DType::kFloat32;
}

// Moves a TensorProto's data into a qp::Tensor. `what` names the tensor for messages ("initializer 'w'").
Tensor convert_tensor(onnx::TensorProto& tp, const std::string& name, const ExternalData* external) {
  Tensor t;
  t.name = name;
  if (!tp.has_data_type() || tp.data_type() == 0) throw Error("data type is missing (UNDEFINED)");
  if (!dtype_is_known(tp.data_type())) throw Error("unknown data type " + std::to_string(tp.data_type()));
  t.dtype = t.stored_dtype = static_cast<DType>(tp.data_type());
  t.dims.assign(tp.dims().begin(), tp.dims().end());
  for (size_t i = 0; i < t.dims.size(); ++i)
    if (t.dims[i] < 0) throw Error("dim " + std::to_string(i) + " is negative (" + std::to_string(t.dims[i]) + ")");
  const int64_t numel = t.numel();  // throws on overflow
  if (t.dtype == DType::kString) {
    if (tp.string_data_size() != numel)
      throw Error("has " + std::to_string(tp.string_data_size()) + " strings, expected " + std::to_string(numel));
    return t;  // strings are counted, not held
  }
  if (numel > (int64_t{1} << 40)) throw Error("shape " + shape_str(t.dims) + " is too large to hold");
  const size_t expect = packed_bytes(t.dtype, numel);

  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      const std::string& v = kv.value();
      auto to_int = [&](const char* key) -> int64_t {
        char* end = nullptr;
        errno = 0;
        long long x = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || errno != 0 || x < 0)
          throw Error(std::string("external_data '") + key + "' is not a non-negative integer: '" + v + "'");
        return x;
      };
      if (kv.key() == "location") location = v;
      else if (kv.key() == "offset") offset = to_int("offset");
      else if (kv.key() == "length") length = to_int("length");
    }
    if (location.empty()) throw Error("external data has no 'location'");
    if (!external) throw Error("data is in external file '" + location + "', but no external files were given");
    t.external_location = location;
    try {
      t.data = external->read(location, offset, length >= 0 ? length : static_cast<int64_t>(expect));
    } catch (const std::exception& e) {
      rethrow_with_context("external data", e);
    }
    if (t.data.size() != expect)
      throw Error("external data '" + location + "' has " + std::to_string(t.data.size()) + " bytes, expected " +
                  std::to_string(expect) + " for " + dtype_name(t.dtype) + " " + shape_str(t.dims));
  } else if (tp.has_raw_data()) {
    if (tp.raw_data().size() != expect)
      throw Error("raw_data has " + std::to_string(tp.raw_data().size()) + " bytes, expected " +
                  std::to_string(expect) + " for " + dtype_name(t.dtype) + " " + shape_str(t.dims));
    tp.mutable_raw_data()->swap(t.data);  // move, not copy: the model is held once
  } else {
    auto check = [&](int64_t have, int64_t want, const char* field) {
      if (have == 0 && want > 0)
        throw Error("has no data: neither raw_data nor " + std::string(field) + " is set (expected " +
                    std::to_string(want) + " values for " + dtype_name(t.dtype) + " " + shape_str(t.dims) + ")");
      if (have != want)
        throw Error(std::string(field) + " has " + std::to_string(have) + " values, expected " + std::to_string(want) +
                    " for " + dtype_name(t.dtype) + " " + shape_str(t.dims));
    };
    switch (t.dtype) {
      case DType::kFloat32: check(tp.float_data_size(), numel, "float_data"); t.data = pack<float>(tp.float_data()); break;
      case DType::kComplex64: check(tp.float_data_size(), 2 * numel, "float_data"); t.data = pack<float>(tp.float_data()); break;
      case DType::kFloat64: check(tp.double_data_size(), numel, "double_data"); t.data = pack<double>(tp.double_data()); break;
      case DType::kComplex128: check(tp.double_data_size(), 2 * numel, "double_data"); t.data = pack<double>(tp.double_data()); break;
      case DType::kInt64: check(tp.int64_data_size(), numel, "int64_data"); t.data = pack<int64_t>(tp.int64_data()); break;
      case DType::kUint32: check(tp.uint64_data_size(), numel, "uint64_data"); t.data = pack<uint32_t>(tp.uint64_data()); break;
      case DType::kUint64: check(tp.uint64_data_size(), numel, "uint64_data"); t.data = pack<uint64_t>(tp.uint64_data()); break;
      case DType::kInt32: check(tp.int32_data_size(), numel, "int32_data"); t.data = pack<int32_t>(tp.int32_data()); break;
      case DType::kInt16: check(tp.int32_data_size(), numel, "int32_data"); t.data = pack<int16_t>(tp.int32_data()); break;
      case DType::kUint16: case DType::kFloat16: case DType::kBFloat16:
        check(tp.int32_data_size(), numel, "int32_data"); t.data = pack<uint16_t>(tp.int32_data()); break;
      case DType::kInt8: check(tp.int32_data_size(), numel, "int32_data"); t.data = pack<int8_t>(tp.int32_data()); break;
      case DType::kUint8: case DType::kBool: case DType::kFloat8E4M3FN: case DType::kFloat8E4M3FNUZ:
      case DType::kFloat8E5M2: case DType::kFloat8E5M2FNUZ: case DType::kFloat8E8M0:
        check(tp.int32_data_size(), numel, "int32_data"); t.data = pack<uint8_t>(tp.int32_data()); break;
      default: {  // sub-byte types: int32_data holds the packed bytes
        check(tp.int32_data_size(), static_cast<int64_t>(expect), "int32_data");
        t.data = pack<uint8_t>(tp.int32_data());
      }
    }
  }
  if (t.dtype == DType::kFloat16 || t.dtype == DType::kBFloat16) widen_half(t);
  return t;
}

std::string tensor_context(const std::string& kind, int index, const std::string& name) {
  return "cannot load " + kind + "[" + std::to_string(index) + "] '" + name + "'";
}

// ---------------------------------------------------------------------------------------------------------
// Graph pieces

ValueInfo convert_value_info(const onnx::ValueInfoProto& vi) {
  ValueInfo v;
  v.name = vi.name();
  if (vi.has_type() && vi.type().has_tensor_type()) {
    const auto& tt = vi.type().tensor_type();
    v.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      v.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) {
          if (d.dim_value() < 0)
            throw Error("value '" + v.name + "' has negative dim " + std::to_string(d.dim_value()));
          dim.value = d.dim_value();
        } else if (d.has_dim_param()) {
          dim.param = d.dim_param();
        }
        v.shape.push_back(std::move(dim));
      }
    }
  }
  return v;
}

Attribute convert_attribute(onnx::AttributeProto& ap, const ExternalData* external) {
  Attribute a;
  a.name = ap.name();
  using AP = onnx::AttributeProto;
  int type = ap.has_type() ? static_cast<int>(ap.type()) : 0;
  if (type == 0) {  // IR < 2 models may omit the type: infer it from the field that is set
    if (ap.has_f()) type = AP::FLOAT;
    else if (ap.has_i()) type = AP::INT;
    else if (ap.has_s()) type = AP::STRING;
    else if (ap.has_t()) type = AP::TENSOR;
    else if (ap.has_g()) type = AP::GRAPH;
    else if (ap.floats_size()) type = AP::FLOATS;
    else if (ap.ints_size()) type = AP::INTS;
    else if (ap.strings_size()) type = AP::STRINGS;
  }
  switch (type) {
    case AP::FLOAT: a.type = AttrType::kFloat; a.f = ap.f(); break;
    case AP::INT: a.type = AttrType::kInt; a.i = ap.i(); break;
    case AP::STRING: a.type = AttrType::kString; a.s = ap.s(); break;
    case AP::TENSOR:
      a.type = AttrType::kTensor;
      try {
        a.t = convert_tensor(*ap.mutable_t(), ap.t().name(), external);
      } catch (const std::exception& e) {
        rethrow_with_context("attribute '" + a.name + "'", e);
      }
      break;
    case AP::GRAPH: case AP::GRAPHS: a.type = AttrType::kGraph; break;
    case AP::FLOATS: a.type = AttrType::kFloats; a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
    case AP::INTS: a.type = AttrType::kInts; a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
    case AP::STRINGS: a.type = AttrType::kStrings; a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
    default: a.type = AttrType::kOther; break;
  }
  return a;
}

// A Constant node's value as a weight tensor, or false when it has none we can hold (e.g. sparse_value).
bool constant_to_tensor(Node& n, Tensor& out) {
  if (n.outputs.size() != 1 || n.outputs[0].empty()) throw Error("Constant must have exactly one output");
  for (auto& a : n.attrs) {
    Tensor t;
    if (a.name == "value" && a.type == AttrType::kTensor) {
      t = std::move(a.t);
    } else if (a.name == "value_float" && a.type == AttrType::kFloat) {
      t.dtype = t.stored_dtype = DType::kFloat32;
      t.data.assign(reinterpret_cast<const char*>(&a.f), 4);
    } else if (a.name == "value_floats" && a.type == AttrType::kFloats) {
      t.dtype = t.stored_dtype = DType::kFloat32;
      t.dims = {static_cast<int64_t>(a.floats.size())};
      t.data.assign(reinterpret_cast<const char*>(a.floats.data()), a.floats.size() * 4);
    } else if (a.name == "value_int" && a.type == AttrType::kInt) {
      t.dtype = t.stored_dtype = DType::kInt64;
      t.data.assign(reinterpret_cast<const char*>(&a.i), 8);
    } else if (a.name == "value_ints" && a.type == AttrType::kInts) {
      t.dtype = t.stored_dtype = DType::kInt64;
      t.dims = {static_cast<int64_t>(a.ints.size())};
      t.data.assign(reinterpret_cast<const char*>(a.ints.data()), a.ints.size() * 8);
    } else {
      continue;
    }
    t.name = n.outputs[0];
    t.source = TensorSource::kConstantNode;
    out = std::move(t);
    return true;
  }
  return false;
}

}  // namespace

// -----------------------------------------------------------------------------------------------------------

Graph onnx_load(const uint8_t* data, size_t size, const ExternalData* external,
                const std::function<void()>& release_input) {
  if (size == 0) throw Error("not an ONNX model: the file is empty");
  if (size > static_cast<size_t>(INT_MAX))
    throw Error("the file has " + std::to_string(size) + " bytes; protobuf models are limited to 2 GiB (store large "
                "weights as external data)");
  const std::string hint = magic_hint(data, size);
  auto model = std::make_unique<onnx::ModelProto>();
  if (!model->ParseFromArray(data, static_cast<int>(size))) {
    WireFault fault;
    std::string detail;
    if (!wire_walk(data, size, 0, "", 0, fault))
      detail = " at byte " + std::to_string(fault.offset) + (fault.where.empty() ? "" : " (in " + fault.where + ")") +
               ": " + fault.what;
    throw Error("not an ONNX model: protobuf parse failed" + detail + hint);
  }
  if (release_input) release_input();
  if (!model->has_graph())
    throw Error("not an ONNX model: the protobuf message has no graph (field 7)" + hint);
  if (model->ir_version() <= 0 && model->opset_import_size() == 0)
    throw Error("not an ONNX model: no ir_version and no opset_import");

  Graph g;
  g.ir_version = model->ir_version();
  g.producer_name = model->producer_name();
  g.producer_version = model->producer_version();
  g.domain = model->domain();
  g.doc_string = model->doc_string();
  for (const auto& o : model->opset_import()) g.opsets.emplace_back(o.domain(), o.version());
  if (g.opsets.empty()) g.opsets.emplace_back("", 1);  // IR 2 models without opset_import mean opset 1
  for (const auto& kv : model->metadata_props()) g.metadata.emplace_back(kv.key(), kv.value());

  onnx::GraphProto& gp = *model->mutable_graph();
  g.name = gp.name();
  g.initializers = gp.initializer_size();
  for (int i = 0; i < gp.initializer_size(); ++i) {
    onnx::TensorProto& tp = *gp.mutable_initializer(i);
    const std::string name = tp.name();
    try {
      if (name.empty()) throw Error("initializer has no name");
      if (g.weights.count(name)) throw Error("a second initializer has the same name");
      g.weights.emplace(name, convert_tensor(tp, name, external));
    } catch (const std::exception& e) {
      rethrow_with_context(tensor_context("graph.initializer", i, name), e);
    }
    tp.Clear();  // release what is left of the message as we go
  }
  if (gp.sparse_initializer_size() > 0)
    throw Error("cannot load graph.sparse_initializer[0]: sparse initializers are not supported yet");

  for (int i = 0; i < gp.input_size(); ++i) {
    try {
      ValueInfo v = convert_value_info(gp.input(i));
      if (!g.weights.count(v.name)) g.inputs.push_back(std::move(v));  // IR < 4 lists initializers as inputs
    } catch (const std::exception& e) {
      rethrow_with_context(tensor_context("graph.input", i, gp.input(i).name()), e);
    }
  }
  for (int i = 0; i < gp.output_size(); ++i) {
    try {
      g.outputs.push_back(convert_value_info(gp.output(i)));
    } catch (const std::exception& e) {
      rethrow_with_context(tensor_context("graph.output", i, gp.output(i).name()), e);
    }
  }
  for (int i = 0; i < gp.value_info_size(); ++i) {
    try {
      g.value_info.push_back(convert_value_info(gp.value_info(i)));
    } catch (const std::exception& e) {
      rethrow_with_context(tensor_context("graph.value_info", i, gp.value_info(i).name()), e);
    }
  }

  g.file_nodes = gp.node_size();
  std::set<std::string> produced;
  for (int i = 0; i < gp.node_size(); ++i) {
    onnx::NodeProto& np = *gp.mutable_node(i);
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain();
    n.name = np.name().empty() ? n.op_type + "_" + std::to_string(i) : np.name();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    try {
      if (n.op_type.empty()) throw Error("op_type is empty");
      for (const auto& o : n.outputs) {
        if (o.empty()) continue;
        if (!produced.insert(o).second || g.weights.count(o))
          throw Error("output '" + o + "' is produced more than once");
      }
      for (int k = 0; k < np.attribute_size(); ++k) {
        Attribute a = convert_attribute(*np.mutable_attribute(k), external);
        if (a.type == AttrType::kGraph) n.has_subgraph = true;
        n.attrs.push_back(std::move(a));
      }
      n.op = op_from_name(n.domain, n.op_type);
      if (n.op == Op::kConstant) {
        Tensor t;
        if (constant_to_tensor(n, t)) {
          g.weights.emplace(t.name, std::move(t));
          ++g.constant_nodes;
          np.Clear();
          continue;
        }
      }
    } catch (const std::exception& e) {
      rethrow_with_context("cannot load graph.node[" + std::to_string(i) + "] '" + n.name + "' (" + n.op_type + ")", e);
    }
    np.Clear();
    g.nodes.push_back(std::move(n));
  }
  model.reset();
  graph_sort_topological(g);
  return g;
}

// -----------------------------------------------------------------------------------------------------------
// Files

Tensor onnx_load_tensor(const std::string& bytes, const std::string& what) {
  onnx::TensorProto tp;
  if (bytes.size() > static_cast<size_t>(INT_MAX) || !tp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error("cannot load " + what + ": not a serialised ONNX TensorProto (" + std::to_string(bytes.size()) + " bytes)");
  try {
    return convert_tensor(tp, tp.name(), nullptr);
  } catch (const std::exception& e) {
    rethrow_with_context("cannot load " + what, e);
  }
}

std::string read_file_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  if (std::fseek(f, 0, SEEK_END) != 0) throw Error("cannot read '" + path + "': not a regular file");
  const long n = std::ftell(f);
  if (n < 0) throw Error("cannot read '" + path + "': not a regular file");
  std::fseek(f, 0, SEEK_SET);
  std::string bytes(static_cast<size_t>(n), '\0');
  if (n > 0 && std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size())
    throw Error("cannot read '" + path + "': short read");
  return bytes;
}

namespace {
std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return "";
  return buf;
}
}  // namespace

std::string DirExternalData::read(const std::string& location, int64_t offset, int64_t length) const {
  if (location.empty() || location[0] == '/' || location.find('\\') != std::string::npos ||
      location.find(':') != std::string::npos)
    throw Error("location '" + location + "' escapes the model's folder; refused");
  // Lexical check first (a '..' that climbs above the folder), then the resolved path (symlinks).
  int depth = 0;
  size_t start = 0;
  while (start <= location.size()) {
    const size_t end = std::min(location.find('/', start), location.size());
    const std::string part = location.substr(start, end - start);
    if (part == "..") --depth;
    else if (!part.empty() && part != ".") ++depth;
    if (depth < 0) throw Error("location '" + location + "' escapes the model's folder; refused");
    start = end + 1;
  }
  const std::string base = real_path(dir_.empty() ? "." : dir_);
  const std::string full = (dir_.empty() ? "." : dir_) + "/" + location;
  const std::string resolved = real_path(full);
  if (resolved.empty()) throw Error("file '" + location + "' not found next to the model");
  if (base.empty() || resolved.compare(0, base.size() + 1, base + "/") != 0)
    throw Error("location '" + location + "' escapes the model's folder; refused");
  std::FILE* f = std::fopen(resolved.c_str(), "rb");
  if (!f) throw Error("cannot open '" + location + "': " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  std::fseek(f, 0, SEEK_END);
  const int64_t size = std::ftell(f);
  if (offset > size) throw Error("offset " + std::to_string(offset) + " is past the end of '" + location + "' (" + std::to_string(size) + " bytes)");
  const int64_t n = length < 0 ? size - offset : length;
  if (offset + n > size)
    throw Error("'" + location + "' has " + std::to_string(size) + " bytes; offset " + std::to_string(offset) +
                " + length " + std::to_string(n) + " runs past its end");
  std::string out(static_cast<size_t>(n), '\0');
  std::fseek(f, static_cast<long>(offset), SEEK_SET);
  if (n > 0 && std::fread(out.data(), 1, out.size(), f) != out.size()) throw Error("short read from '" + location + "'");
  return out;
}

std::string MapExternalData::read(const std::string& location, int64_t offset, int64_t length) const {
  std::string key = location;
  while (key.rfind("./", 0) == 0) key = key.substr(2);
  if (key.empty() || key[0] == '/' || key.find("..") != std::string::npos || key.find(':') != std::string::npos)
    throw Error("location '" + location + "' escapes the model's folder; refused");
  auto it = files.find(key);
  if (it == files.end()) {
    // Browsers give bare file names: accept a location whose last component matches.
    const size_t slash = key.find_last_of('/');
    if (slash != std::string::npos) it = files.find(key.substr(slash + 1));
  }
  if (it == files.end()) throw Error("file '" + location + "' was not given with the model (drop it together with the .onnx)");
  const int64_t size = static_cast<int64_t>(it->second.size());
  const int64_t n = length < 0 ? size - offset : length;
  if (offset > size || offset + n > size)
    throw Error("'" + location + "' has " + std::to_string(size) + " bytes; offset " + std::to_string(offset) +
                " + length " + std::to_string(n) + " runs past its end");
  return it->second.substr(static_cast<size_t>(offset), static_cast<size_t>(n));
}

Graph onnx_load_file(const std::string& path) {
  auto bytes = std::make_unique<std::string>(read_file_bytes(path));
  const size_t slash = path.find_last_of('/');
  DirExternalData ext(slash == std::string::npos ? "." : path.substr(0, slash));
  const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes->data());
  return onnx_load(p, bytes->size(), &ext, [&] { bytes.reset(); });
}

}  // namespace qp
