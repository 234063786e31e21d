// Dtype-blind data movement (by element size) shared by the shape, layout and resize ops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qp {

// dst (contiguous, dims = the tables' lengths) [o0,...,o_{r-1}] = src[t0[o0], ..., t_{r-1}[o_{r-1}]], src contiguous
// with `src_shape`. One table per axis, entries already checked to lie in [0, src_shape[k]). Serves Slice, Expand,
// Tile, Pad (edge/reflect/wrap) and nearest Resize: identity suffixes collapse into one memcpy block, runs of
// consecutive indices copy with memcpy, and an outer index equal to its predecessor copies the finished row.
void layout_gather_tables(const void* src, const std::vector<int64_t>& src_shape,
                          const std::vector<std::vector<int64_t>>& tables, void* dst, size_t esize);

// Copies the box of dims `box` starting at `src_start` in src (contiguous, `src_shape`) to `dst_start` in dst
// (contiguous, `dst_shape`); starts and box are trusted to fit both.
void layout_copy_box(const void* src, const std::vector<int64_t>& src_shape, const std::vector<int64_t>& src_start,
                     void* dst, const std::vector<int64_t>& dst_shape, const std::vector<int64_t>& dst_start,
                     const std::vector<int64_t>& box, size_t esize);

// n copies of the `esize` bytes at `elem`.
void layout_fill(void* dst, const void* elem, size_t esize, int64_t n);

// dst = src transposed by `perm` (output axis k is input axis perm[k]); perm is trusted to be a permutation.
// Size-1 axes are dropped and axes that stay adjacent merged first; an unchanged innermost axis copies rows with
// memcpy, otherwise the two axes that swap contiguity are walked in cache-sized tiles.
void layout_transpose(const void* src, void* dst, size_t esize, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& perm);

// True when transposing `shape` by `perm` leaves the bytes in the same order (only size-1 axes move), so the
// result can share the input's storage.
bool layout_transpose_is_view(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm);

}  // namespace qp
