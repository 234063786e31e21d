// JSON spelling of the calibration options (see calib_json.h).
#include "core/quant/calib_json.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/ir/error.h"

namespace qp {

namespace {

std::string short_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

RandomCalibration random_calibration_from_json(const std::string& text) {
  using nlohmann::json;
  const json j = text.empty() ? json::object() : json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("calibration options are not a JSON object");
  RandomCalibration r;
  auto number = [&](const char* k, double lo, double hi, double dflt) {
    if (!j.contains(k)) return dflt;
    if (!j[k].is_number() || !std::isfinite(j[k].get<double>()) || j[k].get<double>() < lo || j[k].get<double>() > hi)
      throw Error(std::string("calibration.") + k + ": expected a number in [" + short_num(lo) + ", " + short_num(hi) + "]");
    return j[k].get<double>();
  };
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "samples" && it.key() != "seed" && it.key() != "lo" && it.key() != "hi" && it.key() != "mean" &&
        it.key() != "std" && it.key() != "dims")
      throw Error("calibration." + it.key() + ": unknown option");
  if (j.contains("samples") && !j["samples"].is_number_integer()) throw Error("calibration.samples: expected an integer");
  r.samples = static_cast<int>(number("samples", 1, 100000, 16));
  if (j.contains("seed") && !j["seed"].is_number_unsigned()) throw Error("calibration.seed: expected an integer >= 0");
  r.seed = j.value("seed", uint64_t{1});
  r.lo = static_cast<float>(number("lo", -1e30, 1e30, 0));
  r.hi = static_cast<float>(number("hi", -1e30, 1e30, 1));
  r.mean = static_cast<float>(number("mean", -1e30, 1e30, 0));
  r.std = static_cast<float>(number("std", 0, 1e30, 0));
  if (j.contains("dims")) {
    if (!j["dims"].is_object()) throw Error("calibration.dims: expected an object of name: size");
    for (auto it = j["dims"].begin(); it != j["dims"].end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 1)
        throw Error("calibration.dims." + it.key() + ": expected an integer >= 1");
      r.dims[it.key()] = it.value().get<int64_t>();
    }
  }
  return r;
}

}  // namespace qp
