// JSON of the BN-fold, CLE and HBA results (see passes_json.h).
#include "core/quant/passes/passes_json.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/quant/passes/pass_json.h"

namespace qp {

namespace {

using nlohmann::json;

using pass_json::num;
using pass_json::nums;
using pass_json::verifications;

json bn_stats_json(const BnStatsMap& m) {
  json o = json::object();
  for (const auto& kv : m) o[kv.first] = json{{"beta", kv.second.beta}, {"gamma", kv.second.gamma}};
  return o;
}

json link_json(const CleLink& l) {
  return json{{"kind", l.kind}, {"layers", l.layers}, {"between", l.between}, {"relu6", l.relu6},
              {"accepted", l.accepted}, {"reason", l.reason}};
}

json pairs_json(const std::vector<std::pair<std::string, std::string>>& v, const char* a, const char* b) {
  json arr = json::array();
  for (const auto& p : v) arr.push_back(json{{a, p.first}, {b, p.second}});
  return arr;
}

}  // namespace

std::string bn_fold_json(const BnFoldResult& r, int indent) {
  json o{{"schema", "quantplay/1"}, {"kind", "bn_fold"}, {"report", pass_json::report(r.report)},
         {"folded", pairs_json(r.folded, "node", "into")}, {"refused", pairs_json(r.refused, "node", "reason")},
         {"bn_stats", bn_stats_json(r.bn_stats)}};
  return o.dump(indent);
}

std::string cle_json(const CleResult& r, int indent) {
  json links = json::array();
  for (const auto& l : r.links) links.push_back(link_json(l));
  json sets = json::array();
  for (const auto& s : r.sets) {
    json sc = json::array(), rb = json::array(), ra = json::array();
    for (const auto& v : s.scale) sc.push_back(nums(v));
    for (const auto& v : s.out_ranges_before) rb.push_back(nums(v));
    for (const auto& v : s.out_ranges_after) ra.push_back(nums(v));
    sets.push_back(json{{"link", link_json(s.link)}, {"scale", sc}, {"out_ranges_before", rb},
                        {"out_ranges_after", ra}, {"bounded_channels", s.bounded_channels}});
  }
  json o{{"schema", "quantplay/1"}, {"kind", "cle"}, {"report", pass_json::report(r.report)}, {"links", links},
         {"sets", sets}, {"sweeps", r.sweeps}, {"last_max_log_scale", num(r.last_max_log_scale)},
         {"relu6_replaced", r.relu6_replaced}, {"relu6_deviation", verifications(r.relu6_deviation)},
         {"equalization_only", verifications(r.equalization_only)}, {"bn_stats", bn_stats_json(r.bn_stats)}};
  return o.dump(indent);
}

std::string hba_json(const HbaResult& r, int indent) {
  json links = json::array();
  for (const auto& l : r.links)
    links.push_back(json{{"layers", l.layers}, {"between", l.between}, {"source", l.source}, {"applied", l.applied},
                         {"reason", l.reason}, {"absorbed", nums(l.absorbed)}, {"absorbed_max", num(l.absorbed_max)},
                         {"absorbed_sum", num(l.absorbed_sum)}, {"channels_absorbed", l.channels_absorbed},
                         {"max_abs_dev", num(l.max_abs_dev)}, {"max_rel_dev", num(l.max_rel_dev)}});
  json o{{"schema", "quantplay/1"}, {"kind", "hba"}, {"report", pass_json::report(r.report)}, {"links", links},
         {"bn_stats", bn_stats_json(r.bn_stats)}};
  return o.dump(indent);
}

}  // namespace qp
