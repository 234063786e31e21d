// JSON of Meller equalization and bias correction (see mbc_json.h); non-finite numbers become null.
#include "core/quant/passes/mbc_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/quant/passes/pass_json.h"

namespace qp {

using nlohmann::json;

using pass_json::num;
using pass_json::nums;

std::string meller_json(const MellerResult& r, bool with_scales, int indent) {
  const MellerOptions& o = r.options;
  json layers = json::array();
  for (const auto& l : r.layers) {
    json j{{"name", l.layer}, {"op", l.op_type}, {"equalized", l.equalized}};
    if (!l.activation.empty()) j["activation"] = l.activation;
    if (!l.note.empty()) j["note"] = l.note;
    if (l.equalized) {
      j["scale_min"] = num(l.scale_min);
      j["scale_max"] = num(l.scale_max);
      j["scale_mean"] = num(l.scale_mean);
      j["caps_hit"] = l.caps_hit;
      j["floors_hit"] = l.floors_hit;
      j["concat_factor"] = num(l.concat_factor);
      j["consumers"] = l.consumers;
      j["residual_owners"] = l.residual_owners;
      if (with_scales) j["scale"] = nums(l.scale);
    }
    layers.push_back(j);
  }
  json j{{"schema", "quantplay/1"},
         {"kind", "meller"},
         {"options", json{{"two_steps", o.two_steps},
                          {"max_activation_scale", num(o.max_activation_scale)},
                          {"relu6_attn_limit", num(o.relu6_attn_limit)},
                          {"pre_act_limit", o.pre_act_limit},
                          {"reference_compat", o.reference_compat}}},
         {"calib_samples", r.calib_samples},
         {"report", pass_json::report(r.report)},
         {"layers", layers}};
  return j.dump(indent);
}

std::string bias_correction_json(const BiasCorrectionResult& r, bool with_deltas, int indent) {
  json layers = json::array();
  for (const auto& l : r.layers) {
    json j{{"name", l.layer},
           {"op", l.op_type},
           {"method", l.method},
           {"bias", l.bias.empty() ? json(nullptr) : json(l.bias)},
           {"bias_created", l.bias_created},
           {"delta_norm", num(l.delta_norm)},
           {"delta_max_abs", num(l.delta_max_abs)},
           {"mean_err", num(l.mean_err)},
           {"mean_err_rel", num(l.mean_err_rel)}};
    if (!l.note.empty()) j["note"] = l.note;
    if (with_deltas) j["delta"] = nums(l.delta);
    layers.push_back(j);
  }
  json j{{"schema", "quantplay/1"},
         {"kind", "bias_correction"},
         {"mode", bias_correction_mode_name(r.mode)},
         {"sweeps", r.sweeps},
         {"sweep_residual", nums(r.sweep_residual)},
         {"cost", json{{"fp_passes", r.fp_passes}, {"q_passes", num(r.q_passes)}, {"q_nodes_run", r.q_nodes_run},
                       {"cached", r.cached}}},
         {"report", pass_json::report(r.report)},
         {"layers", layers}};
  return j.dump(indent);
}

}  // namespace qp
