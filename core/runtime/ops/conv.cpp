// Ops of the conv family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_conv(OpTable& t) { (void)t; }

}  // namespace qp
