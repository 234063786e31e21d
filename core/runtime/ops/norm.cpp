// Ops of the norm family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_norm(OpTable& t) { (void)t; }

}  // namespace qp
