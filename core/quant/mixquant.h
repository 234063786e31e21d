// MixQuant bit-width search (ALGORITHMS.md §5, §5.2b): per-layer weight bits from quantization error vs a baseline.
#pragma once

#include <string>
#include <vector>

#include "core/quant/sweep.h"

namespace qp {

// Whose 8-bit error the QEM multiplies: each layer's own (the literal rule), the parameter-weighted mean over
// layers, or the largest layer's.
enum class Baseline : uint8_t { kLayer, kModel, kMax };
std::string baseline_name(Baseline b);
Baseline baseline_parse(const std::string& s);  // throws qp::Error

struct MixQuantOptions {
  SweepOptions sweep = default_sweep();  // MixQuant's quantizer: asymmetric, per tensor, min-max
  std::vector<double> qem = {1.5, 2, 3};
  std::vector<Baseline> baselines = {Baseline::kLayer};
  bool include_sweep = true;  // false: the JSON carries only the configs (what a QEM slider needs)

  static SweepOptions default_sweep() {
    SweepOptions s;
    s.scheme = Scheme::kAsymmetric;
    return s;
  }
};

void mixquant_options_validate(const MixQuantOptions& o);

struct MixQuantConfig {
  double qem = 0;
  Baseline baseline = Baseline::kLayer;
  int reference_bits = 8;        // the largest bit-width of the sweep
  double reference_qe = 0;       // model/max baselines: the one QE all layers are measured against
  std::vector<int> bits;         // per sweep layer (0 for a skipped layer, which stays float32)
  double mean_bits = 0;          // parameter-weighted over analysed layers
  double weight_bytes = 0;       // analysed layers at their bits + skipped layers at 4 bytes
  double compression_vs_fp32 = 0, compression_vs_int8 = 0;
  double weight_sqnr_db = 0;     // all analysed weights at their chosen bits
};

struct MixQuantReport {
  SweepReport sweep;
  std::vector<MixQuantConfig> configs;  // baselines outer, QEMs inner
};

// Pure search over an existing sweep (cheap: the page calls it on every slider move).
std::vector<MixQuantConfig> mixquant_search(const SweepReport& sweep, const std::vector<double>& qem,
                                            const std::vector<Baseline>& baselines);

// Sweep + search.
MixQuantReport mixquant(const Graph& g, const MixQuantOptions& opt, const Progress& progress = {});

}  // namespace qp
