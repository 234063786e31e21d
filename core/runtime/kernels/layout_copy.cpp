// Dtype-blind data movement: index-table gathers, box copies, fills and a tiled transpose.
#include "core/runtime/kernels/layout_copy.h"

#include <algorithm>
#include <cstring>

namespace qp {
namespace {

std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
  return st;
}

// Walks every index of `dims` in row-major order, calling body(src_offset, dst_offset) with offsets advanced by
// the per-axis strides; keeps index arithmetic out of the inner loops of the callers.
template <class Body>
void odometer(const std::vector<int64_t>& dims, const std::vector<int64_t>& s_st, const std::vector<int64_t>& d_st,
              Body&& body) {
  const size_t m = dims.size();
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  std::vector<int64_t> cnt(m, 0);
  int64_t so = 0, dof = 0;
  for (int64_t it = 0; it < total; ++it) {
    body(so, dof);
    for (size_t a = m; a-- > 0;) {
      if (++cnt[a] < dims[a]) {
        so += s_st[a];
        dof += d_st[a];
        break;
      }
      so -= (dims[a] - 1) * s_st[a];
      dof -= (dims[a] - 1) * d_st[a];
      cnt[a] = 0;
    }
  }
}

template <class T>
void gather_elems(const T* s, T* d, const int64_t* t, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[t[i]];
}

struct TableGather {
  explicit TableGather(const std::vector<std::vector<int64_t>>& t) : tables(t) {}
  const std::vector<std::vector<int64_t>>& tables;
  std::vector<int64_t> s_bytes;  // source stride per axis in bytes
  std::vector<int64_t> d_bytes;  // destination stride per axis in bytes
  size_t m = 0;                  // axes walked (the identity suffix is folded into one block)
  size_t block_bytes = 0;
  size_t esize = 0;
  bool unit_elems = false;       // block is one element of a standard size: gather with typed loads
  struct Run {
    int64_t o, t, len;
  };
  std::vector<Run> runs;  // innermost table as runs of consecutive indices

  void inner(const char* s, char* d) const {
    const std::vector<int64_t>& t = tables[m - 1];
    if (unit_elems && runs.size() * 4 > t.size()) {
      const int64_t n = static_cast<int64_t>(t.size());
      switch (esize) {
        case 1: gather_elems(reinterpret_cast<const uint8_t*>(s), reinterpret_cast<uint8_t*>(d), t.data(), n); return;
        case 2: gather_elems(reinterpret_cast<const uint16_t*>(s), reinterpret_cast<uint16_t*>(d), t.data(), n); return;
        case 4: gather_elems(reinterpret_cast<const uint32_t*>(s), reinterpret_cast<uint32_t*>(d), t.data(), n); return;
        case 8: gather_elems(reinterpret_cast<const uint64_t*>(s), reinterpret_cast<uint64_t*>(d), t.data(), n); return;
        default: break;
      }
    }
    for (const Run& r : runs)
      std::memcpy(d + r.o * static_cast<int64_t>(block_bytes), s + r.t * static_cast<int64_t>(block_bytes),
                  static_cast<size_t>(r.len) * block_bytes);
  }

  void walk(size_t k, const char* s, char* d) const {
    if (k + 1 == m) return inner(s, d);
    const std::vector<int64_t>& t = tables[k];
    const size_t row = static_cast<size_t>(d_bytes[k]);
    for (size_t o = 0; o < t.size(); ++o) {
      char* dk = d + static_cast<int64_t>(o) * d_bytes[k];
      // A repeated index (broadcast, nearest upsampling, edge padding) yields the row just written.
      if (o > 0 && t[o] == t[o - 1]) std::memcpy(dk, dk - row, row);
      else walk(k + 1, s + t[o] * s_bytes[k], dk);
    }
  }
};

}  // namespace

void layout_fill(void* dst, const void* elem, size_t esize, int64_t n) {
  if (n <= 0) return;
  char* d = static_cast<char*>(dst);
  bool zero = true;
  for (size_t i = 0; i < esize; ++i) zero = zero && static_cast<const char*>(elem)[i] == 0;
  if (zero) return (void)std::memset(d, 0, static_cast<size_t>(n) * esize);
  std::memcpy(d, elem, esize);
  // Doubling copies keep the fill at memcpy speed for any element size.
  int64_t done = 1;
  while (done < n) {
    const int64_t c = std::min(done, n - done);
    std::memcpy(d + done * static_cast<int64_t>(esize), d, static_cast<size_t>(c) * esize);
    done += c;
  }
}

void layout_gather_tables(const void* src, const std::vector<int64_t>& src_shape,
                          const std::vector<std::vector<int64_t>>& tables, void* dst, size_t esize) {
  const size_t r = src_shape.size();
  int64_t total = 1;
  for (const auto& t : tables) total *= static_cast<int64_t>(t.size());
  if (total == 0) return;
  if (r == 0) return (void)std::memcpy(dst, src, esize);
  // Fold trailing axes whose table is the identity over the whole source axis into one contiguous block.
  size_t m = r;
  int64_t block = 1;
  while (m > 0) {
    const std::vector<int64_t>& t = tables[m - 1];
    if (static_cast<int64_t>(t.size()) != src_shape[m - 1]) break;
    bool ident = true;
    for (size_t i = 0; i < t.size() && ident; ++i) ident = t[i] == static_cast<int64_t>(i);
    if (!ident) break;
    block *= src_shape[m - 1];
    --m;
  }
  if (m == 0) return (void)std::memcpy(dst, src, static_cast<size_t>(total) * esize);
  TableGather g(tables);
  g.m = m;
  g.esize = esize;
  g.block_bytes = static_cast<size_t>(block) * esize;
  g.unit_elems = block == 1;
  const std::vector<int64_t> ss = strides_of(src_shape);
  g.s_bytes.resize(m);
  g.d_bytes.resize(m);
  int64_t dst_run = block * static_cast<int64_t>(esize);
  for (size_t k = m; k-- > 0;) {
    g.s_bytes[k] = ss[k] * static_cast<int64_t>(esize);
    g.d_bytes[k] = dst_run;
    dst_run *= static_cast<int64_t>(tables[k].size());
  }
  const std::vector<int64_t>& t = tables[m - 1];
  for (size_t i = 0; i < t.size(); ++i) {
    if (!g.runs.empty() && g.runs.back().t + g.runs.back().len == t[i]) ++g.runs.back().len;
    else g.runs.push_back({static_cast<int64_t>(i), t[i], 1});
  }
  g.walk(0, static_cast<const char*>(src), static_cast<char*>(dst));
}

void layout_copy_box(const void* src, const std::vector<int64_t>& src_shape, const std::vector<int64_t>& src_start,
                     void* dst, const std::vector<int64_t>& dst_shape, const std::vector<int64_t>& dst_start,
                     const std::vector<int64_t>& box, size_t esize) {
  const size_t r = box.size();
  for (int64_t b : box)
    if (b <= 0) return;
  const std::vector<int64_t> ss = strides_of(src_shape), ds = strides_of(dst_shape);
  int64_t so = 0, dof = 0;
  for (size_t k = 0; k < r; ++k) {
    so += src_start[k] * ss[k];
    dof += dst_start[k] * ds[k];
  }
  const char* s = static_cast<const char*>(src) + so * static_cast<int64_t>(esize);
  char* d = static_cast<char*>(dst) + dof * static_cast<int64_t>(esize);
  if (r == 0) return (void)std::memcpy(d, s, esize);
  // The innermost run grows over trailing axes the box covers whole in both tensors.
  size_t m = r - 1;
  int64_t run = box[r - 1];
  while (m > 0 && box[m] == src_shape[m] && box[m] == dst_shape[m]) run *= box[--m];
  std::vector<int64_t> dims(box.begin(), box.begin() + static_cast<long>(m));
  std::vector<int64_t> sst(ss.begin(), ss.begin() + static_cast<long>(m)), dst_st(ds.begin(), ds.begin() + static_cast<long>(m));
  const size_t bytes = static_cast<size_t>(run) * esize;
  const int64_t es = static_cast<int64_t>(esize);
  odometer(dims, sst, dst_st, [&](int64_t a, int64_t b) { std::memcpy(d + b * es, s + a * es, bytes); });
}

namespace {

// Drops size-1 axes and merges runs of axes that stay adjacent and in order, so e.g. NCHW->NHWC becomes a
// batched 2-D transpose [N, C, HW] -> [N, HW, C].
void transpose_simplify(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, std::vector<int64_t>& dims,
                        std::vector<int64_t>& p) {
  std::vector<int64_t> kept;  // output order, input axis numbers of size != 1
  for (int64_t a : perm)
    if (shape[static_cast<size_t>(a)] != 1) kept.push_back(a);
  // Groups of consecutive input axes in output order: [first, last].
  std::vector<std::pair<int64_t, int64_t>> groups;
  for (int64_t a : kept) {
    if (!groups.empty() && groups.back().second + 1 == a) groups.back().second = a;
    else groups.push_back({a, a});
  }
  // Axes separated in the input only by size-1 axes are still adjacent in memory: merge those groups too.
  std::vector<std::pair<int64_t, int64_t>> merged;
  for (auto g : groups) {
    if (!merged.empty()) {
      bool only_ones = merged.back().second < g.first;
      for (int64_t a = merged.back().second + 1; a < g.first && only_ones; ++a)
        only_ones = shape[static_cast<size_t>(a)] == 1;
      if (only_ones) {
        merged.back().second = g.second;
        continue;
      }
    }
    merged.push_back(g);
  }
  std::vector<size_t> order(merged.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return merged[x].first < merged[y].first; });
  std::vector<int64_t> new_index(merged.size());
  dims.assign(merged.size(), 1);
  for (size_t j = 0; j < order.size(); ++j) {
    const auto& g = merged[order[j]];
    new_index[order[j]] = static_cast<int64_t>(j);
    for (int64_t a = g.first; a <= g.second; ++a) dims[j] *= shape[static_cast<size_t>(a)];
  }
  p.assign(new_index.begin(), new_index.end());
}

template <class T>
void tile2d(const T* s, T* d, int64_t rows, int64_t cols, int64_t s_col, int64_t d_row) {
  // d[i * d_row + j] = s[i + j * s_col]: reads run along i, writes along j; 16x16 tiles keep both in cache.
  constexpr int64_t B = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += B) {
    const int64_t i1 = std::min(rows, i0 + B);
    for (int64_t j0 = 0; j0 < cols; j0 += B) {
      const int64_t j1 = std::min(cols, j0 + B);
      for (int64_t i = i0; i < i1; ++i) {
        T* dr = d + i * d_row;
        const T* sr = s + i;
        for (int64_t j = j0; j < j1; ++j) dr[j] = sr[j * s_col];
      }
    }
  }
}

}  // namespace

bool layout_transpose_is_view(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm) {
  std::vector<int64_t> dims, p;
  transpose_simplify(shape, perm, dims, p);
  return p.size() <= 1;
}

void layout_transpose(const void* src, void* dst, size_t esize, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& perm) {
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  if (total == 0) return;
  std::vector<int64_t> dims, p;
  transpose_simplify(shape, perm, dims, p);
  const size_t r = dims.size();
  if (r <= 1) return (void)std::memcpy(dst, src, static_cast<size_t>(total) * esize);
  const std::vector<int64_t> is = strides_of(dims);
  std::vector<int64_t> od(r);
  for (size_t k = 0; k < r; ++k) od[k] = dims[static_cast<size_t>(p[k])];
  const std::vector<int64_t> os = strides_of(od);
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const int64_t es = static_cast<int64_t>(esize);
  if (static_cast<size_t>(p[r - 1]) == r - 1) {
    // Innermost axis kept: whole rows move with memcpy.
    std::vector<int64_t> odims(od.begin(), od.end() - 1), s_st, d_st(os.begin(), os.end() - 1);
    for (size_t k = 0; k + 1 < r; ++k) s_st.push_back(is[static_cast<size_t>(p[k])]);
    const size_t bytes = static_cast<size_t>(od[r - 1]) * esize;
    odometer(odims, s_st, d_st, [&](int64_t so, int64_t dof) { std::memcpy(d + dof * es, s + so * es, bytes); });
    return;
  }
  // Otherwise a batch of 2-D tiles over the output axis q that reads contiguously and the last output axis.
  size_t q = 0;
  while (static_cast<size_t>(p[q]) != r - 1) ++q;
  std::vector<int64_t> odims, s_st, d_st;
  for (size_t k = 0; k + 1 < r; ++k) {
    if (k == q) continue;
    odims.push_back(od[k]);
    s_st.push_back(is[static_cast<size_t>(p[k])]);
    d_st.push_back(os[k]);
  }
  const int64_t rows = od[q], cols = od[r - 1], s_col = is[static_cast<size_t>(p[r - 1])], d_row = os[q];
  odometer(odims, s_st, d_st, [&](int64_t so, int64_t dof) {
    switch (esize) {
      case 1: tile2d(reinterpret_cast<const uint8_t*>(s) + so, reinterpret_cast<uint8_t*>(d) + dof, rows, cols, s_col, d_row); break;
      case 2: tile2d(reinterpret_cast<const uint16_t*>(s) + so, reinterpret_cast<uint16_t*>(d) + dof, rows, cols, s_col, d_row); break;
      case 4: tile2d(reinterpret_cast<const uint32_t*>(s) + so, reinterpret_cast<uint32_t*>(d) + dof, rows, cols, s_col, d_row); break;
      case 8: tile2d(reinterpret_cast<const uint64_t*>(s) + so, reinterpret_cast<uint64_t*>(d) + dof, rows, cols, s_col, d_row); break;
      default:
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            std::memcpy(d + (dof + i * d_row + j) * es, s + (so + i + j * s_col) * es, esize);
    }
  });
}

}  // namespace qp
