// The equalization pipeline (ALGORITHMS.md §8.1) and its effect table (see pipeline.h).
#include "core/quant/passes/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/ir/error.h"
#include "core/quant/export.h"
#include "core/quant/passes/dfq_util.h"
#include "core/quant/passes/mbc_json.h"
#include "core/quant/passes/pass_json.h"
#include "core/quant/passes/passes_json.h"
#include "core/runtime/executor.h"

namespace qp {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using pass_json::num;

const CalibrationSet& need_data(const CalibrationSet* data, const char* step) {
  if (!data || data->samples.empty())
    throw Error(std::string(step) + " needs calibration data (none was given)");
  return *data;
}

}  // namespace

PipelineResult run_pipeline(const Graph& g, const PipelineOptions& opt, const CalibrationSet* data) {
  const auto t0 = Clock::now();
  PipelineResult r;
  r.graph = g;
  if (opt.bn_fold) {
    BnFoldResult b = bn_fold(r.graph, data);
    r.steps.push_back("bn_fold");
    r.step_json.push_back(bn_fold_json(b));
    r.bn_stats = b.bn_stats;
    r.graph = std::move(b.graph);
  }
  if (opt.equalize == EqualizeMethod::kDfq) {
    if (opt.cle.relu6 == Relu6Policy::kBound) need_data(data, "CLE with the ReLU6 'bound' policy");
    CleResult c = cle_equalize(r.graph, opt.cle, data, &r.bn_stats);
    r.steps.push_back("cle");
    r.step_json.push_back(cle_json(c));
    r.bn_stats = c.bn_stats;
    r.graph = std::move(c.graph);
    if (opt.hba) {
      if (opt.hba_options.use_data) need_data(data, "high-bias absorption from calibration minima");
      HbaResult h = qp::hba(r.graph, r.bn_stats, data, opt.hba_options);
      r.steps.push_back("hba");
      r.step_json.push_back(hba_json(h));
      r.bn_stats = h.bn_stats;
      r.graph = std::move(h.graph);
    }
  } else if (opt.equalize == EqualizeMethod::kMeller) {
    MellerOptions mo = opt.meller;
    mo.bn_stats = &r.bn_stats;
    MellerResult m = meller_equalize(r.graph, need_data(data, "Meller equalization"), mo);
    r.steps.push_back("meller");
    r.step_json.push_back(meller_json(m));
    if (!m.bn_stats.empty()) r.bn_stats = m.bn_stats;
    r.graph = std::move(m.graph);
  }
  if (opt.bias_correction) {
    BiasCorrectionOptions bo = opt.bc;
    bo.bn_stats = &r.bn_stats;
    if (bo.mode != BiasCorrectionMode::kAnalytic) need_data(data, "empirical bias correction");
    BiasCorrectionResult b = bias_correction(r.graph, data, bo);
    r.steps.push_back("bias_correction");
    r.step_json.push_back(bias_correction_json(b));
    r.graph = std::move(b.graph);
  }
  if (data && !data->samples.empty()) {
    r.verification = verify_function(g, r.graph, *data);
  } else {
    r.verification = verify_function(g, r.graph, dfq::verification_random(g));
  }
  r.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return r;
}

PipelineOptions pipeline_options_from_json(const std::string& text) {
  PipelineOptions o;
  const json j = text.empty() ? json::object() : json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("equalize options are not a JSON object");
  auto str = [&](const char* k, const std::vector<std::string>& allowed, const std::string& dflt) {
    if (!j.contains(k)) return dflt;
    if (!j[k].is_string()) throw Error(std::string("options.") + k + ": expected a string");
    const std::string v = j[k].get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Error(std::string("options.") + k + ": '" + v + "' is not one of " + list);
    }
    return v;
  };
  auto flag = [&](const char* k, bool dflt) {
    if (!j.contains(k)) return dflt;
    if (!j[k].is_boolean()) throw Error(std::string("options.") + k + ": expected true or false");
    return j[k].get<bool>();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const std::vector<std::string> known = {"bn_fold", "equalize", "cle_mode", "cle_range", "relu6", "triplets",
                                                   "hba", "hba_source", "meller_two_step", "bias_correction", "bits",
                                                   "granularity", "scheme", "range", "bc_sweeps"};
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      throw Error("options." + it.key() + ": unknown option");
  }
  o.bn_fold = flag("bn_fold", true);
  const std::string eq = str("equalize", {"dfq", "meller", "none"}, "dfq");
  o.equalize = eq == "dfq" ? EqualizeMethod::kDfq : eq == "meller" ? EqualizeMethod::kMeller : EqualizeMethod::kNone;
  o.cle.mode = str("cle_mode", {"one_pass", "iterate"}, "one_pass") == "iterate" ? CleMode::kIterate : CleMode::kOnePass;
  o.cle.range = str("cle_range", {"max_abs", "max_minus_min"}, "max_abs") == "max_abs" ? CleRange::kMaxAbs
                                                                                       : CleRange::kMaxMinusMin;
  const std::string r6 = str("relu6", {"refuse", "replace", "bound"}, "refuse");
  o.cle.relu6 = r6 == "replace" ? Relu6Policy::kReplace : r6 == "bound" ? Relu6Policy::kBound : Relu6Policy::kRefuse;
  o.cle.triplets = flag("triplets", true);
  o.hba = flag("hba", false);
  o.hba_options.use_data = str("hba_source", {"data", "bn"}, "data") == "data";
  o.meller.two_steps = flag("meller_two_step", false);
  const std::string bc = str("bias_correction", {"off", "analytic", "empirical", "iterative"}, "off");
  o.bias_correction = bc != "off";
  o.bc.mode = bc == "analytic" ? BiasCorrectionMode::kAnalytic
              : bc == "iterative" ? BiasCorrectionMode::kIterative : BiasCorrectionMode::kEmpirical;
  if (j.contains("bits")) {
    if (!j["bits"].is_number_integer() || j["bits"].get<int>() < 2 || j["bits"].get<int>() > 16)
      throw Error("options.bits: expected an integer in 2..16");
    o.bc.weights.spec.bits = j["bits"].get<int>();
  }
  if (j.contains("bc_sweeps")) {
    if (!j["bc_sweeps"].is_number_integer() || j["bc_sweeps"].get<int>() < 1 || j["bc_sweeps"].get<int>() > 20)
      throw Error("options.bc_sweeps: expected an integer in 1..20");
    o.bc.max_sweeps = j["bc_sweeps"].get<int>();
  }
  o.bc.weights.granularity =
      str("granularity", {"tensor", "channel"}, "tensor") == "channel" ? Granularity::kChannel : Granularity::kTensor;
  if (str("scheme", {"sym", "asym"}, "sym") == "asym") {
    o.bc.weights.spec.scheme = Scheme::kAsymmetric;
    o.bc.weights.spec.is_signed = false;
  }
  if (j.contains("range")) {
    if (!j["range"].is_string()) throw Error("options.range: expected a string");
    o.bc.weights.range = range_options_parse(j["range"].get<std::string>());
  }
  if (o.hba && o.equalize != EqualizeMethod::kDfq) throw Error("options.hba: high-bias absorption follows DFQ CLE only");
  return o;
}

std::string pipeline_json(const PipelineResult& r, int indent) {
  json steps = json::array();
  for (const auto& s : r.step_json) steps.push_back(json::parse(s));
  const json j{{"schema", "quantplay/1"},
               {"kind", "equalize"},
               {"steps", steps},
               {"verification", pass_json::verification(r.verification)},
               {"ms", num(r.ms)}};
  return j.dump(indent);
}

namespace {

// Activation quantizers (8-bit asymmetric per tensor, min-max on `data`) for the inputs of every layer.
std::map<std::string, FakeQuant> activation_fq(const Graph& g, const CalibrationSet& data) {
  const std::vector<std::string> names = activation_tensors(g);
  const ActivationRanges ranges = activation_ranges(g, data, names);
  std::map<std::string, FakeQuant> fq;
  QuantSpec spec;
  spec.bits = 8;
  spec.scheme = Scheme::kAsymmetric;
  spec.is_signed = false;
  for (const auto& kv : ranges) {
    FakeQuant f;
    f.spec = spec;
    f.params = {quant_params(spec, kv.second.min, kv.second.max)};
    fq[kv.first] = f;
  }
  return fq;
}

// The single output that is a class vector ([N, C] or [C], C > 1), or "" when the model is not a classifier.
std::string class_output(const Graph& g) {
  if (g.outputs.size() != 1 || !g.outputs[0].has_shape) return "";
  const auto& s = g.outputs[0].shape;
  int non_unit = 0;
  for (const auto& d : s) non_unit += !(d.known() && d.value == 1);
  const bool vec = (s.size() == 2 && s[1].known() && s[1].value > 1) || (s.size() == 1 && s[0].known() && s[0].value > 1);
  return vec && non_unit <= 2 ? g.outputs[0].name : "";
}

struct Measure {
  double signal = 0, noise = 0, abs_shift = 0, agree = 0, correct = 0;
  int64_t rows = 0;
};

// Runs `q` with `fq` over `eval` against the cached fp32 outputs.
Measure measure(const Graph& q, const std::map<std::string, FakeQuant>& fq, const CalibrationSet& eval,
                const std::vector<std::map<std::string, Value>>& fp, const std::string& cls,
                const std::vector<int64_t>& labels) {
  Measure m;
  Executor ex(q);
  RunOptions ro;
  ro.fake_quant = fq;
  std::map<std::string, std::vector<double>> shift;  // output -> per channel sum of diffs
  std::map<std::string, double> shift_n;
  for (size_t i = 0; i < eval.samples.size(); ++i) {
    const auto y = ex.run(eval.samples[i], ro);
    for (const auto& kv : fp[i]) {
      const std::vector<double> a = value_to_doubles(kv.second), b = value_to_doubles(y.at(kv.first));
      const auto& sh = kv.second.shape;
      const int64_t c = sh.size() >= 2 ? sh[1] : 1;
      int64_t inner = 1;
      for (size_t d = 2; d < sh.size(); ++d) inner *= sh[d];
      auto& sv = shift[kv.first];
      sv.resize(static_cast<size_t>(c), 0.0);
      for (size_t k = 0; k < a.size(); ++k) {
        m.signal += a[k] * a[k];
        m.noise += (b[k] - a[k]) * (b[k] - a[k]);
        sv[static_cast<size_t>((static_cast<int64_t>(k) / inner) % c)] += b[k] - a[k];
      }
      shift_n[kv.first] += static_cast<double>(a.size()) / static_cast<double>(c);
      if (kv.first == cls) {
        const int64_t rows = static_cast<int64_t>(a.size()) / (sh.size() == 2 ? sh[1] : static_cast<int64_t>(a.size()));
        const int64_t width = static_cast<int64_t>(a.size()) / rows;
        for (int64_t r = 0; r < rows; ++r) {
          const auto ab = a.begin() + r * width, bb = b.begin() + r * width;
          const int64_t ia = std::max_element(ab, ab + width) - ab, ib = std::max_element(bb, bb + width) - bb;
          m.agree += ia == ib;
          if (!labels.empty()) {
            const size_t li = static_cast<size_t>(m.rows);
            if (li < labels.size()) m.correct += ib == labels[li];
          }
          ++m.rows;
        }
      }
    }
  }
  if (!labels.empty() && cls.empty()) throw Error("effect: labels were given but the model has no class-vector output");
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != m.rows)
    throw Error("effect: " + std::to_string(labels.size()) + " labels for " + std::to_string(m.rows) +
                " evaluated rows (give as many samples as labels)");
  double sum = 0;
  int64_t n = 0;
  for (const auto& kv : shift)
    for (double v : kv.second) {
      sum += std::fabs(v / std::max(1.0, shift_n[kv.first]));
      ++n;
    }
  m.abs_shift = n ? sum / static_cast<double>(n) : 0;
  return m;
}

}  // namespace

std::vector<EffectRow> pipeline_effect(const Graph& g, const CalibrationSet& data, const EffectOptions& opt,
                                       const CalibrationSet* eval_in) {
  const CalibrationSet& eval = eval_in ? *eval_in : data;
  if (eval.samples.empty()) throw Error("effect: no samples to measure on");
  Executor fp_ex(g);
  fp_ex.check_runnable();
  std::vector<std::map<std::string, Value>> fp;
  for (const auto& s : eval.samples) {
    auto y = fp_ex.run(s);
    std::map<std::string, Value> own;
    for (const auto& o : g.outputs) own[o.name] = value_clone(y.at(o.name));
    fp.push_back(std::move(own));
  }
  const std::string cls = class_output(g);
  std::vector<EffectRow> rows;
  for (int bits : opt.bits) {
    WeightQuantConfig wq = opt.weights;
    wq.spec.bits = bits;
    for (const auto& v : opt.variants) {
      PipelineOptions po;
      po.cle.relu6 = opt.relu6;
      po.bc.weights = wq;
      if (v == "none") po.equalize = EqualizeMethod::kNone;
      else if (v == "cle") po.equalize = EqualizeMethod::kDfq;
      else if (v == "cle+hba") po.hba = true;
      else if (v == "cle+hba+bc") po.hba = po.bias_correction = true;
      else if (v == "bc") po.equalize = EqualizeMethod::kNone, po.bias_correction = true;
      else if (v == "meller1" || v == "meller2") {
        po.equalize = EqualizeMethod::kMeller;
        po.meller.two_steps = v == "meller2";
      } else {
        throw Error("effect: unknown variant '" + v + "'");
      }
      // Bias correction changes the float function on purpose, so the variant's fp32 deviation is taken before it.
      const bool bc = po.bias_correction;
      po.bias_correction = false;
      const auto t0 = Clock::now();
      PipelineResult pr = run_pipeline(g, po, &data);
      EffectRow row;
      row.variant = v;
      row.bits = bits;
      row.fp32_dev = pr.verification.max_rel_dev;
      if (bc) {
        BiasCorrectionOptions bo = po.bc;
        bo.bn_stats = &pr.bn_stats;
        pr.graph = bias_correction(pr.graph, &data, bo).graph;
      }
      row.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      const auto wfq = weight_fake_quant(pr.graph, wq);
      auto afq = activation_fq(pr.graph, data);
      for (const auto& kv : wfq) afq[kv.first] = kv.second;
      const Measure mw = measure(pr.graph, wfq, eval, fp, cls, opt.labels);
      const Measure mwa = measure(pr.graph, afq, eval, fp, cls, opt.labels);
      row.sqnr_w = sqnr_db(mw.signal, mw.noise);
      row.sqnr_wa = sqnr_db(mwa.signal, mwa.noise);
      row.mean_abs_shift_w = mw.abs_shift;
      if (!cls.empty() && mw.rows > 0) {
        row.top1_agree_w = mw.agree / static_cast<double>(mw.rows);
        row.top1_agree_wa = mwa.agree / static_cast<double>(mwa.rows);
        if (!opt.labels.empty()) {
          row.accuracy_w = mw.correct / static_cast<double>(mw.rows);
          row.accuracy_wa = mwa.correct / static_cast<double>(mwa.rows);
        }
      }
      rows.push_back(row);
    }
  }
  return rows;
}

std::string effect_json(const std::vector<EffectRow>& rows, int indent) {
  json a = json::array();
  auto opt_num = [](double v) { return v < 0 ? json(nullptr) : num(v); };
  for (const auto& r : rows)
    a.push_back(json{{"variant", r.variant}, {"bits", r.bits}, {"sqnr_w_db", num(r.sqnr_w)},
                     {"sqnr_wa_db", num(r.sqnr_wa)}, {"mean_abs_shift_w", num(r.mean_abs_shift_w)},
                     {"top1_agree_w", opt_num(r.top1_agree_w)}, {"top1_agree_wa", opt_num(r.top1_agree_wa)},
                     {"accuracy_w", opt_num(r.accuracy_w)}, {"accuracy_wa", opt_num(r.accuracy_wa)},
                     {"fp32_dev", num(r.fp32_dev)}, {"ms", num(r.ms)}});
  return json{{"schema", "quantplay/1"}, {"kind", "effect"}, {"rows", a}}.dump(indent);
}

}  // namespace qp
