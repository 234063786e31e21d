// Weight fake-quantization configurations and model-output error (see wq.h).
#include "core/quant/passes/wq.h"

#include <cmath>

#include "core/ir/error.h"
#include "core/quant/layers.h"

namespace qp {

std::map<std::string, FakeQuant> weight_fake_quant(const Graph& g, const WeightQuantConfig& cfg) {
  const std::vector<Layer> layers = find_layers(g);
  for (const auto& kv : cfg.layer_bits) {
    bool found = false;
    for (const auto& l : layers) found |= l.name == kv.first;
    if (!found) throw Error("weight quantization: bits given for '" + kv.first + "', which is no quantizable layer");
    if (kv.second != 0 && (kv.second < 2 || kv.second > 16))
      throw Error("weight quantization: layer '" + kv.first + "' has bits " + std::to_string(kv.second) +
                  ", expected 2..16 (or 0 for float)");
  }
  std::map<std::string, FakeQuant> out;
  for (const auto& l : layers) {
    if (!l.skip.empty()) continue;
    QuantSpec spec = cfg.spec;
    auto ob = cfg.layer_bits.find(l.name);
    if (ob != cfg.layer_bits.end()) {
      if (ob->second == 0) continue;
      spec.bits = ob->second;
    }
    const Tensor& w = *g.weight(l.weight);
    FakeQuant fq;
    fq.spec = spec;
    const bool aciq = cfg.range.method == RangeMethod::kAciq;
    if (cfg.granularity == Granularity::kChannel) {
      ChannelView v = channel_view(w, l.channel_axis);
      fq.axis = l.channel_axis;
      for (int64_t c = 0; c < v.channels; ++c) {
        const float* x = v.data + c * v.inner;
        const RangeStats st = range_stats(x, static_cast<size_t>(v.inner), aciq);
        if (st.non_finite) throw Error("weight quantization: '" + l.weight + "' has non-finite values");
        const auto r = range_select(x, static_cast<size_t>(v.inner), st, spec, cfg.range);
        fq.params.push_back(quant_params(spec, r.first, r.second));
      }
    } else {
      const size_t n = static_cast<size_t>(w.numel());
      const RangeStats st = range_stats(w.f32(), n, aciq);
      if (st.non_finite) throw Error("weight quantization: '" + l.weight + "' has non-finite values");
      const auto r = range_select(w.f32(), n, st, spec, cfg.range);
      fq.params = {quant_params(spec, r.first, r.second)};
    }
    out[l.weight] = std::move(fq);
  }
  return out;
}

OutputError output_error(const Graph& fp, const Graph& q, const std::map<std::string, FakeQuant>& fq,
                         const CalibrationSet& data) {
  OutputError e;
  e.samples = static_cast<int>(data.samples.size());
  Executor a(fp), b(q);
  a.check_runnable();
  b.check_runnable();
  RunOptions qo;
  qo.fake_quant = fq;
  std::map<std::string, std::vector<double>> sum;
  std::map<std::string, double> count;
  for (const auto& s : data.samples) {
    const auto ya = a.run(s), yb = b.run(s, qo);
    for (const auto& o : fp.outputs) {
      const auto ia = ya.find(o.name), ib = yb.find(o.name);
      if (ia == ya.end() || ib == yb.end()) throw Error("output error: output '" + o.name + "' missing");
      const Value& x = ia->second;
      const Value& y = ib->second;
      if (x.shape != y.shape) throw Error("output error: '" + o.name + "' is " + x.describe() + " and " + y.describe());
      const std::vector<double> dx = value_to_doubles(x), dy = value_to_doubles(y);
      const int64_t ch = x.rank() >= 2 ? x.shape[1] : 1;
      int64_t inner = 1;
      for (size_t i = 2; i < x.rank(); ++i) inner *= x.shape[i];
      auto& acc = sum[o.name];
      if (acc.empty()) acc.assign(static_cast<size_t>(ch), 0.0);
      if (acc.size() != static_cast<size_t>(ch)) throw Error("output error: '" + o.name + "' changes shape across samples");
      for (size_t i = 0; i < dx.size(); ++i) {
        const double d = dy[i] - dx[i];
        e.signal += dx[i] * dx[i];
        e.noise += d * d;
        acc[static_cast<size_t>((static_cast<int64_t>(i) / inner) % ch)] += d;
      }
      count[o.name] += static_cast<double>(dx.size()) / static_cast<double>(ch);
    }
  }
  e.sqnr_db = sqnr_db(e.signal, e.noise);
  size_t n = 0;
  for (const auto& o : fp.outputs) {
    std::vector<double> m = sum[o.name];
    for (auto& v : m) {
      v /= std::max(count[o.name], 1.0);
      e.mean_abs_shift += std::fabs(v);
      e.max_abs_shift = std::max(e.max_abs_shift, std::fabs(v));
      ++n;
    }
    e.mean_shift.emplace_back(o.name, std::move(m));
  }
  if (n) e.mean_abs_shift /= static_cast<double>(n);
  return e;
}

double output_sqnr_db(const Graph& fp, const Graph& q, const std::map<std::string, FakeQuant>& fq,
                      const CalibrationSet& data) {
  return output_error(fp, q, fq, data).sqnr_db;
}

}  // namespace qp
