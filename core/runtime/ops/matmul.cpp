// Ops of the matmul family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_matmul(OpTable& t) { (void)t; }

}  // namespace qp
