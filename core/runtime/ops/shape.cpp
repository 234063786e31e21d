// Ops of the shape family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_shape(OpTable& t) { (void)t; }

}  // namespace qp
