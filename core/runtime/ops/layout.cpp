// Ops of the layout family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_layout(OpTable& t) { (void)t; }

}  // namespace qp
