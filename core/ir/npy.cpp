// NumPy .npy reading and writing: the header is a Python dict literal with descr, fortran_order and shape.
#include "core/ir/npy.h"

#include <cstdint>
#include <cstring>

#include "core/ir/error.h"

namespace qp {

namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
const NpyType kTypes[] = {{"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}, {"<f2", DType::kFloat16},
                          {"|i1", DType::kInt8},    {"<i2", DType::kInt16},   {"<i4", DType::kInt32},
                          {"<i8", DType::kInt64},   {"|u1", DType::kUint8},   {"<u2", DType::kUint16},
                          {"<u4", DType::kUint32},  {"<u8", DType::kUint64},  {"|b1", DType::kBool}};

// The value of `key` in the header dict, as raw text up to the next top-level comma or closing brace.
std::string dict_value(const std::string& h, const std::string& key, size_t base) {
  const std::string k1 = "'" + key + "'";
  size_t p = h.find(k1);
  if (p == std::string::npos) throw Error("npy header (byte " + std::to_string(base) + ") has no '" + key + "' key");
  p = h.find(':', p + k1.size());
  if (p == std::string::npos) throw Error("npy header: no ':' after '" + key + "'");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  int depth = 0;
  size_t e = p;
  for (; e < h.size(); ++e) {
    const char c = h[e];
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if ((c == ',' || c == '}') && depth == 0) break;
  }
  return h.substr(p, e - p);
}

}  // namespace

Tensor npy_parse(const std::string& b, const std::string& name) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
    throw Error("not a .npy file: it does not start with \\x93NUMPY (" + std::to_string(b.size()) + " bytes)");
  const uint8_t major = static_cast<uint8_t>(b[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<uint8_t>(b[8]) | (static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw Error("truncated .npy header at byte 8");
    hlen = 0;
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<uint8_t>(b[8 + i])) << (8 * i);
    hstart = 12;
  } else {
    throw Error(".npy format version " + std::to_string(major) + " is not supported (1, 2 and 3 are)");
  }
  if (hstart + hlen > b.size())
    throw Error(".npy header claims " + std::to_string(hlen) + " bytes at byte " + std::to_string(hstart) + " but the file has " +
                std::to_string(b.size()) + " bytes");
  const std::string h = b.substr(hstart, hlen);
  std::string descr = dict_value(h, "descr", hstart);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr == "<b1" || descr == "<u1" || descr == "<i1") descr[0] = '|';
  Tensor t;
  t.name = name;
  for (const auto& ty : kTypes)
    if (descr == ty.descr) t.dtype = ty.dtype;
  if (t.dtype == DType::kUndefined)
    throw Error(".npy dtype '" + descr + "' is not supported (little-endian float16/32/64, int8..64, uint8..64, bool are)");
  if (dict_value(h, "fortran_order", hstart) != "False")
    throw Error(".npy data is in Fortran order; save it with numpy.ascontiguousarray first");
  const std::string shape = dict_value(h, "shape", hstart);
  size_t p = shape.find('(');
  if (p == std::string::npos) throw Error(".npy shape '" + shape + "' is not a tuple");
  ++p;
  while (p < shape.size() && shape[p] != ')') {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size() || shape[p] == ')') break;
    size_t e = p;
    while (e < shape.size() && shape[e] >= '0' && shape[e] <= '9') ++e;
    if (e == p) throw Error(".npy shape '" + shape + "' has a non-integer dim");
    t.dims.push_back(std::stoll(shape.substr(p, e - p)));
    p = e;
  }
  t.stored_dtype = t.dtype;
  const size_t data_at = hstart + hlen;
  const size_t want = static_cast<size_t>(t.numel()) * dtype_size(t.dtype);
  if (b.size() - data_at != want)
    throw Error(".npy data at byte " + std::to_string(data_at) + " has " + std::to_string(b.size() - data_at) +
                " bytes, expected " + std::to_string(want) + " for " + dtype_name(t.dtype) + " " + shape_str(t.dims));
  t.data = b.substr(data_at);
  if (t.dtype == DType::kFloat16) {
    std::string out(t.data.size() * 2, '\0');
    const uint16_t* s = reinterpret_cast<const uint16_t*>(t.data.data());
    float* d = reinterpret_cast<float*>(out.data());
    for (size_t i = 0; i < t.data.size() / 2; ++i) d[i] = f16_to_f32(s[i]);
    t.data.swap(out);
    t.dtype = DType::kFloat32;
  }
  return t;
}

std::string npy_serialize(const Tensor& t) {
  const char* descr = nullptr;
  for (const auto& ty : kTypes)
    if (ty.dtype == t.dtype && t.dtype != DType::kFloat16) descr = ty.descr;
  if (!descr) throw Error("cannot write " + dtype_name(t.dtype) + " tensor '" + t.name + "' as .npy");
  std::string shape = "(";
  for (size_t i = 0; i < t.dims.size(); ++i) shape += std::to_string(t.dims[i]) + (t.dims.size() == 1 || i + 1 < t.dims.size() ? "," : "");
  shape += ")";
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  out += h;
  out += t.data;
  return out;
}

}  // namespace qp
