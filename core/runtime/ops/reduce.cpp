// Ops of the reduce family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_reduce(OpTable& t) { (void)t; }

}  // namespace qp
