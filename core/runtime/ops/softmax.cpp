// Ops of the softmax family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_softmax(OpTable& t) { (void)t; }

}  // namespace qp
