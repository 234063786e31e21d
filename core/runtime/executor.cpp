// The executor (being written).
#include "core/runtime/executor.h"

#include "core/ir/error.h"

namespace qp {
struct Executor::Impl {};
Executor::Executor(const Graph&) : impl_(new Impl) {}
Executor::~Executor() = default;
}  // namespace qp
