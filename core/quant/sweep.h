// Per-layer weight quantization error over a list of bit-widths (the sweep behind the SQNR-vs-bits plot).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/layers.h"
#include "core/quant/quantizer.h"
#include "core/quant/range.h"

namespace qp {

struct SweepOptions {
  std::vector<int> bits = {8, 7, 6, 5, 4, 3, 2};
  Granularity granularity = Granularity::kTensor;
  Scheme scheme = Scheme::kSymmetric;   // sym: signed grid; asym: unsigned grid [0, 2^b - 1]
  RangeMode range_mode = RangeMode::kRestricted;
  RangeOptions range;
  bool reference_kernel = false;        // use the scalar reference instead of the SIMD kernel
  int threads = 0;                      // natively: layers shared over this many threads (0 = all cores); wasm: 1
};

// Same results: every field but `threads`, which only changes how the work is shared out.
bool operator==(const SweepOptions& a, const SweepOptions& b);

// Throws qp::Error naming the bad field (bits outside 2..16, duplicates, empty list).
void sweep_options_validate(const SweepOptions& o);
QuantSpec sweep_spec(const SweepOptions& o, int bits);

struct WeightStats {
  double min = 0, max = 0, absmax = 0, mean = 0, std = 0;
  double max_over_std = 0;  // outlier indicator (§4.3): max|w| / std(w)
  int64_t non_finite = 0;
};

struct LayerSweep {
  Layer layer;
  WeightStats stats;
  std::vector<QuantError> results;  // one per options.bits entry, same order; empty when skipped
  std::vector<std::string> flags;   // "non_finite", "zero_signal", "tiny", "skipped"
};

struct SweepReport {
  SweepOptions options;
  std::vector<LayerSweep> layers;
  std::vector<QuantError> model;  // all analysed weights together, per bit-width
  double elapsed_ms = 0;
  std::string simd_target;
};

// Called after each layer: (layers done, layers total, name of the layer just done).
using Progress = std::function<void(size_t, size_t, const std::string&)>;

// Per-tensor statistics by weight name, kept between sweeps of one graph (they do not depend on the options), so
// an interactive re-sweep reads each weight once instead of twice. Only valid for the graph it was filled from.
struct SweepCache {
  std::map<std::string, RangeStats> stats;
  std::mutex mu;
};

// `progress` is called from the calling thread or, natively, from worker threads (serialised).
SweepReport quant_sweep(const Graph& g, const SweepOptions& opt, const Progress& progress = {},
                        SweepCache* cache = nullptr);

}  // namespace qp
