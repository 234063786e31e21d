// Ops of the resize family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_resize(OpTable& t) { (void)t; }

}  // namespace qp
