// Ops of the elementwise family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_elementwise(OpTable& t) { (void)t; }

}  // namespace qp
