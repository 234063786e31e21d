// JSON pieces every pass report shares (nlohmann-json; for the passes' *_json.cpp files only): numbers with
// non-finite values as null, a verification and a PassReport.
#pragma once

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/quant/passes/pass.h"

namespace qp {
namespace pass_json {

using nlohmann::json;

inline json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

inline json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

// {inputs, samples, max_rel_dev, max_abs_dev, per_output: {output: max_rel_dev}}
inline json verification(const Verification& v) {
  json per = json::object();
  for (const auto& o : v.per_output) per[o.first] = num(o.second);
  return json{{"inputs", v.inputs}, {"samples", v.samples}, {"max_rel_dev", num(v.max_rel_dev)},
              {"max_abs_dev", num(v.max_abs_dev)}, {"per_output", per}};
}

inline json verifications(const std::vector<Verification>& vs) {
  json a = json::array();
  for (const auto& v : vs) a.push_back(verification(v));
  return a;
}

// {pass, notes, changed_weights, verification: [...], ms}
inline json report(const PassReport& r) {
  return json{{"pass", r.pass}, {"notes", r.notes}, {"changed_weights", r.changed_weights},
              {"verification", verifications(r.verification)}, {"ms", num(r.ms)}};
}

}  // namespace pass_json
}  // namespace qp
