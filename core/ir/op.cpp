// Op name table and lookup; the count check keeps the table and the enum in step.
#include "core/ir/op.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace qp {

namespace {
constexpr const char* kOpNames[] = {
#define QP_OP_NAME(name) #name,
    QP_OP_LIST(QP_OP_NAME)
#undef QP_OP_NAME
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == kOpCount, "op name table out of step with Op");
}  // namespace

Op op_from_name(const std::string& domain, const std::string& op_type) {
  if (!domain.empty() && domain != "ai.onnx") return Op::kUnsupported;
  for (int i = 0; i < kOpCount; ++i)
    if (op_type == kOpNames[i]) return static_cast<Op>(i);
  return Op::kUnsupported;
}

const char* op_name(Op op) {
  const int i = static_cast<int>(op);
  return (i >= 0 && i < kOpCount) ? kOpNames[i] : "Unsupported";
}

}  // namespace qp
