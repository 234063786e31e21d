// Ops of the pool family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_pool(OpTable& t) { (void)t; }

}  // namespace qp
