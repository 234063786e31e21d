// Shape arithmetic shared by the ops: numpy broadcasting, strides, axis normalisation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qp {

// Row-major strides in elements.
std::vector<int64_t> shape_strides(const std::vector<int64_t>& shape);
// numpy broadcast of two shapes; false when incompatible.
bool shape_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>& out);
// Strides of `in` seen through the broadcast to `out` (0 on broadcast dims; `in` right-aligned).
std::vector<int64_t> shape_broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out);
// axis in [-rank, rank) -> [0, rank); false when out of range.
bool axis_normalize(int64_t& axis, int64_t rank);
// Product of dims [from, to).
int64_t shape_prod(const std::vector<int64_t>& s, size_t from, size_t to);

}  // namespace qp
