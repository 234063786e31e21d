// MixQuant search: b_l = min{ b : QE_l[b] <= QEM * reference }, reference per layer, per model or the max.
#include "core/quant/mixquant.h"

#include <algorithm>
#include <cmath>

#include "core/ir/error.h"

namespace qp {

std::string baseline_name(Baseline b) {
  switch (b) {
    case Baseline::kLayer: return "layer";
    case Baseline::kModel: return "model";
    case Baseline::kMax: return "max";
  }
  return "?";
}

Baseline baseline_parse(const std::string& s) {
  if (s == "layer") return Baseline::kLayer;
  if (s == "model") return Baseline::kModel;
  if (s == "max") return Baseline::kMax;
  throw Error("baseline '" + s + "' is not one of layer, model, max");
}

void mixquant_options_validate(const MixQuantOptions& o) {
  sweep_options_validate(o.sweep);
  if (o.qem.empty()) throw Error("qem: the list is empty");
  for (size_t i = 0; i < o.qem.size(); ++i)
    if (!(o.qem[i] >= 1) || !std::isfinite(o.qem[i]))
      throw Error("qem[" + std::to_string(i) + "]: " + std::to_string(o.qem[i]) + " must be a finite number >= 1");
  if (o.baselines.empty()) throw Error("baseline: none given");
}

std::vector<MixQuantConfig> mixquant_search(const SweepReport& sweep, const std::vector<double>& qem,
                                            const std::vector<Baseline>& baselines) {
  const auto& bits = sweep.options.bits;
  // Candidate bit-widths from the lowest up; the reference is the largest.
  std::vector<size_t> order(bits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bits[a] < bits[b]; });
  const size_t ref = order.back();

  double total_params = 0, analysed_params = 0, qe_weighted = 0, qe_max = 0;
  for (const auto& l : sweep.layers) {
    total_params += static_cast<double>(l.layer.params);
    if (l.results.empty()) continue;
    analysed_params += static_cast<double>(l.layer.params);
    qe_weighted += l.results[ref].qe * static_cast<double>(l.layer.params);
    qe_max = std::max(qe_max, l.results[ref].qe);
  }
  std::vector<MixQuantConfig> out;
  for (Baseline base : baselines) {
    for (double q : qem) {
      MixQuantConfig c;
      c.qem = q;
      c.baseline = base;
      c.reference_bits = bits[ref];
      c.reference_qe = base == Baseline::kModel ? (analysed_params > 0 ? qe_weighted / analysed_params : 0)
                       : base == Baseline::kMax ? qe_max
                                                : 0;
      double bit_params = 0, bytes = 0, sig = 0, noise = 0;
      for (const auto& l : sweep.layers) {
        const double p = static_cast<double>(l.layer.params);
        if (l.results.empty()) {
          c.bits.push_back(0);
          bytes += 4 * p;
          continue;
        }
        size_t pick = ref;
        const bool tiny = l.layer.params < 16;  // §5.3: keep tiny layers at the reference width
        if (!tiny) {
          const double refqe = base == Baseline::kLayer ? l.results[ref].qe : c.reference_qe;
          const double limit = q * refqe * (1 + 1e-12);
          for (size_t k : order)
            if (l.results[k].qe <= limit) {
              pick = k;
              break;
            }
        }
        const QuantError& e = l.results[pick];
        c.bits.push_back(e.bits);
        bit_params += e.bits * p;
        bytes += e.bits * p / 8;
        sig += e.signal * p;
        noise += e.qe * p;
      }
      c.mean_bits = analysed_params > 0 ? bit_params / analysed_params : 0;
      c.weight_bytes = bytes;
      c.compression_vs_fp32 = bytes > 0 ? 4 * total_params / bytes : 0;
      c.compression_vs_int8 = bytes > 0 ? total_params / bytes : 0;
      c.weight_sqnr_db = sqnr_db(sig, noise);
      out.push_back(std::move(c));
    }
  }
  return out;
}

MixQuantReport mixquant(const Graph& g, const MixQuantOptions& opt, const Progress& progress) {
  mixquant_options_validate(opt);
  MixQuantReport r;
  r.sweep = quant_sweep(g, opt.sweep, progress);
  r.configs = mixquant_search(r.sweep, opt.qem, opt.baselines);
  return r;
}

}  // namespace qp
