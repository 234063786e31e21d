// Ops of the quantize family (not written yet).
#include "core/runtime/op_context.h"

namespace qp {

void register_ops_quantize(OpTable& t) { (void)t; }

}  // namespace qp
