// ONNX exporter: qp::Graph -> protobuf-lite ModelProto -> bytes.
#include "core/onnx/writer.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <set>

#include "core/ir/error.h"
#include "onnx.pb.h"

namespace qp {

namespace {

constexpr const char* kProducerVersion = "0.1.0";

// float32 -> float16 bits, round to nearest even; overflow to inf, NaN kept (quiet).
uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (mag < 0x38800000u) {                                                // subnormal or zero in half
    if (mag < 0x33000000u) return static_cast<uint16_t>(sign);            // below half the smallest subnormal
    const uint32_t e = mag >> 23;
    const uint32_t m = (mag & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // value = m * 2^(e-150) = (m >> shift) * 2^-24 (half's subnormal step)
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = ((mag >> 13) - (112u << 10));
  const uint32_t rem = mag & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return static_cast<uint16_t>(sign | r);
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

size_t packed_bytes(DType t, int64_t numel) {
  switch (t) {
    case DType::kUint4: case DType::kInt4: case DType::kFloat4E2M1: return static_cast<size_t>((numel + 1) / 2);
    case DType::kUint2: case DType::kInt2: return static_cast<size_t>((numel + 3) / 4);
    default: return static_cast<size_t>(numel) * dtype_size(t);
  }
}

void write_tensor(const Tensor& t, onnx::TensorProto& tp) {
  tp.set_name(t.name);
  for (int64_t d : t.dims) tp.add_dims(d);
  if (t.dtype == DType::kString || t.stored_dtype == DType::kString)
    throw Error("string data is not held by the IR and cannot be written back");
  const DType stored = t.stored_dtype == DType::kUndefined ? t.dtype : t.stored_dtype;
  const int64_t numel = t.numel();
  if (t.dtype == DType::kFloat32 && (stored == DType::kFloat16 || stored == DType::kBFloat16)) {
    if (t.data.size() != static_cast<size_t>(numel) * 4)
      throw Error("holds " + std::to_string(t.data.size()) + " bytes, expected " + std::to_string(numel * 4) +
                  " for float32 " + shape_str(t.dims));
    std::string out(static_cast<size_t>(numel) * 2, '\0');
    const float* s = t.f32();
    uint16_t* d = reinterpret_cast<uint16_t*>(out.data());
    for (int64_t i = 0; i < numel; ++i) d[i] = stored == DType::kFloat16 ? f32_to_f16(s[i]) : f32_to_bf16(s[i]);
    tp.set_data_type(static_cast<int32_t>(stored));
    tp.set_raw_data(std::move(out));
    return;
  }
  if (stored != t.dtype)
    throw Error("is held as " + dtype_name(t.dtype) + " but stored as " + dtype_name(stored) +
                ": no conversion back is defined");
  if (!dtype_is_known(static_cast<int32_t>(t.dtype))) throw Error("has no valid data type");
  const size_t expect = packed_bytes(t.dtype, numel);
  if (t.data.size() != expect)
    throw Error("holds " + std::to_string(t.data.size()) + " bytes, expected " + std::to_string(expect) + " for " +
                dtype_name(t.dtype) + " " + shape_str(t.dims));
  tp.set_data_type(static_cast<int32_t>(t.dtype));
  tp.set_raw_data(t.data);
}

void write_value_info(const ValueInfo& v, onnx::ValueInfoProto& vp) {
  vp.set_name(v.name);
  if (v.dtype == DType::kUndefined && !v.has_shape) return;
  auto* tt = vp.mutable_type()->mutable_tensor_type();
  if (v.dtype != DType::kUndefined) tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : v.shape) {
    auto* dp = shape->add_dim();
    if (d.known()) dp->set_dim_value(d.value);
    else if (!d.param.empty()) dp->set_dim_param(d.param);
  }
}

void write_attribute(const Node& n, const Attribute& a, onnx::AttributeProto& ap) {
  using AP = onnx::AttributeProto;
  ap.set_name(a.name);
  switch (a.type) {
    case AttrType::kFloat: ap.set_type(AP::FLOAT); ap.set_f(a.f); break;
    case AttrType::kInt: ap.set_type(AP::INT); ap.set_i(a.i); break;
    case AttrType::kString: ap.set_type(AP::STRING); ap.set_s(a.s); break;
    case AttrType::kFloats:
      ap.set_type(AP::FLOATS);
      for (float f : a.floats) ap.add_floats(f);
      break;
    case AttrType::kInts:
      ap.set_type(AP::INTS);
      for (int64_t i : a.ints) ap.add_ints(i);
      break;
    case AttrType::kStrings:
      ap.set_type(AP::STRINGS);
      for (const auto& s : a.strings) ap.add_strings(s);
      break;
    case AttrType::kTensor:
      ap.set_type(AP::TENSOR);
      try {
        write_tensor(a.t, *ap.mutable_t());
      } catch (const std::exception& e) {
        rethrow_with_context("cannot write " + n.describe() + ": attribute '" + a.name + "'", e);
      }
      break;
    case AttrType::kGraph:
      throw Error("cannot write " + n.describe() + ": attribute '" + a.name +
                  "' is a subgraph, which the IR does not keep");
    case AttrType::kOther:
      throw Error("cannot write " + n.describe() + ": attribute '" + a.name +
                  "' is of a type the IR does not keep (sparse tensor or type proto)");
  }
}

}  // namespace

std::string onnx_save(const Graph& g) {
  for (const auto& n : g.nodes)
    if (n.has_subgraph)
      throw Error("cannot write " + n.describe() + ": it has a subgraph attribute (If/Loop/Scan bodies are not kept "
                  "by the IR), so the model cannot be exported");

  onnx::ModelProto m;
  m.set_ir_version(g.ir_version);
  for (const auto& o : g.opsets) {
    auto* op = m.add_opset_import();
    op->set_domain(o.first);
    op->set_version(o.second);
  }
  m.set_producer_name("quantplay");
  m.set_producer_version(kProducerVersion);
  if (!g.domain.empty()) m.set_domain(g.domain);
  if (!g.doc_string.empty()) m.set_doc_string(g.doc_string);
  bool have_original = false;
  for (const auto& kv : g.metadata) {
    auto* p = m.add_metadata_props();
    p->set_key(kv.first);
    p->set_value(kv.second);
    have_original |= kv.first == kOriginalProducerKey;
  }
  if (!have_original && !g.producer_name.empty() && g.producer_name != "quantplay") {
    auto* p = m.add_metadata_props();
    p->set_key(kOriginalProducerKey);
    p->set_value(g.producer_name + (g.producer_version.empty() ? "" : " " + g.producer_version));
  }

  onnx::GraphProto& gp = *m.mutable_graph();
  gp.set_name(g.name);
  for (const auto& v : g.inputs) write_value_info(v, *gp.add_input());
  for (const auto& v : g.outputs) write_value_info(v, *gp.add_output());
  for (const auto& v : g.value_info) write_value_info(v, *gp.add_value_info());

  // Constant-node weights first: they have no inputs, so the node order stays topological.
  for (const auto& kv : g.weights) {
    const Tensor& t = kv.second;
    try {
      if (t.source == TensorSource::kConstantNode) {
        auto* np = gp.add_node();
        np->set_name(t.name);
        np->set_op_type("Constant");
        np->add_output(t.name);
        auto* ap = np->add_attribute();
        ap->set_name("value");
        ap->set_type(onnx::AttributeProto::TENSOR);
        write_tensor(t, *ap->mutable_t());
      } else {
        write_tensor(t, *gp.add_initializer());
        if (g.ir_version > 0 && g.ir_version < 4) {  // IR < 4: every initializer is also a graph input
          ValueInfo v;
          v.name = t.name;
          v.dtype = t.stored_dtype == DType::kUndefined ? t.dtype : t.stored_dtype;
          v.has_shape = true;
          for (int64_t d : t.dims) v.shape.push_back(Dim{d, ""});
          write_value_info(v, *gp.add_input());
        }
      }
    } catch (const std::exception& e) {
      rethrow_with_context("cannot write weight '" + t.name + "'", e);
    }
  }
  for (const auto& n : g.nodes) {
    auto* np = gp.add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& a : n.attrs) write_attribute(n, a, *np->add_attribute());
  }

  const size_t bytes = m.ByteSizeLong();
  if (bytes > static_cast<size_t>(INT_MAX))
    throw Error("cannot write the model: it needs " + std::to_string(bytes) +
                " bytes, over protobuf's 2 GiB limit (external data is not written yet)");
  std::string out;
  if (!m.SerializeToString(&out)) throw Error("cannot write the model: protobuf serialisation failed");
  return out;
}

}  // namespace qp
