// Running a model for the front ends and reporting the run.
#include "core/runtime/run_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/ir/error.h"

namespace qp {

RunResult run_model(Executor& ex, const Graph& g, const RunRequest& req) {
  if (req.repeat < 1 || req.repeat > 100000) throw Error("repeat must be in 1..100000, not " + std::to_string(req.repeat));
  ex.check_runnable();
  RunResult r;
  r.inputs = req.inputs;
  check_input_names(g, req.inputs);  // before "not given": a misspelt name is the likelier mistake
  std::map<std::string, Value> rnd;
  if (req.random) rnd = random_inputs(g, req.seed, req.dims, req.lo, req.hi);
  for (const auto& vi : g.inputs) {
    if (r.inputs.count(vi.name)) continue;
    if (!req.random) throw Error("input '" + vi.name + "' is not given (give a tensor, or ask for random inputs)");
    r.inputs[vi.name] = rnd.at(vi.name);
  }
  for (int i = 0; i < req.repeat; ++i) {
    r.outputs.clear();  // hand the buffers back to the pool before the next run
    const auto t0 = std::chrono::steady_clock::now();
    RunOptions opt;
    opt.profile = req.profile && i + 1 == req.repeat;
    r.outputs = ex.run(r.inputs, opt);
    r.times_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  r.stats = ex.last_stats();
  return r;
}

namespace {

nlohmann::json num(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  return v;
}

nlohmann::json value_summary(const std::string& name, const Value& v, const std::vector<std::string>& labels) {
  nlohmann::json o;
  o["name"] = name;
  o["dtype"] = dtype_name(v.dtype);
  o["shape"] = v.shape;
  const std::vector<double> x = value_to_doubles(v);
  double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
  int64_t finite = 0, nan = 0, inf = 0;
  for (double e : x) {
    if (std::isnan(e)) { ++nan; continue; }
    if (std::isinf(e)) { ++inf; continue; }
    mn = std::min(mn, e);
    mx = std::max(mx, e);
    sum += e;
    sq += e * e;
    ++finite;
  }
  const double mean = finite ? sum / static_cast<double>(finite) : NAN;
  o["count"] = x.size();
  o["min"] = num(finite ? mn : NAN);
  o["max"] = num(finite ? mx : NAN);
  o["mean"] = num(mean);
  o["std"] = num(finite ? std::sqrt(std::max(0.0, sq / static_cast<double>(finite) - mean * mean)) : NAN);
  o["nan"] = nan;
  o["inf"] = inf;
  // A class vector (one dim > 1: [N], [1,N], [1,N,1,1]): its five largest entries.
  int64_t big = 0;
  for (int64_t d : v.shape) big += d > 1;
  if (big == 1 && x.size() >= 2) {
    std::vector<size_t> idx(x.size());
    std::iota(idx.begin(), idx.end(), 0);
    const size_t k = std::min<size_t>(5, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(), [&](size_t a, size_t b) {
      return x[a] > x[b] || (x[a] == x[b] && a < b);
    });
    nlohmann::json top = nlohmann::json::array();
    for (size_t i = 0; i < k; ++i) {
      nlohmann::json t;
      t["index"] = idx[i];
      t["value"] = num(x[idx[i]]);
      if (idx[i] < labels.size()) t["label"] = labels[idx[i]];
      top.push_back(t);
    }
    o["top5"] = top;
  }
  return o;
}

}  // namespace

std::string run_json(const Graph& g, const RunResult& r, const std::vector<std::string>& labels, int indent) {
  nlohmann::json j;
  j["schema"] = "quantplay/1";
  j["kind"] = "run";
  nlohmann::json ins = nlohmann::json::array(), outs = nlohmann::json::array();
  for (const auto& vi : g.inputs) {
    const Value& v = r.inputs.at(vi.name);
    ins.push_back({{"name", vi.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape}});
  }
  for (const auto& vo : g.outputs) outs.push_back(value_summary(vo.name, r.outputs.at(vo.name), labels));
  j["inputs"] = ins;
  j["outputs"] = outs;
  std::vector<double> t = r.times_ms;
  std::sort(t.begin(), t.end());
  j["time_ms"] = {{"runs", r.times_ms},
                  {"first", r.times_ms.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.times_ms.front())},
                  {"median", t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t[t.size() / 2])},
                  {"min", t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.front())}};
  int64_t weight_bytes = 0;
  for (const auto& w : g.weights) weight_bytes += static_cast<int64_t>(w.second.data.size());
  j["memory"] = {{"weight_bytes", weight_bytes},
                 {"activation_pool_bytes", r.stats.pool_bytes},
                 {"peak_live_activation_bytes", r.stats.peak_live_bytes}};
  j["nodes_run"] = r.stats.nodes_run;
  j["gflop"] = r.stats.flops / 1e9;
  if (!r.stats.node_ms.empty()) {
    std::map<std::string, const Node*> by_name;
    for (const auto& n : g.nodes) by_name[n.name] = &n;
    nlohmann::json prof = nlohmann::json::array();
    for (const auto& e : r.stats.node_ms) {
      auto it = by_name.find(e.first);
      prof.push_back({{"node", e.first}, {"op", it != by_name.end() ? it->second->op_type : ""}, {"ms", e.second}});
    }
    j["profile"] = prof;
  }
  return j.dump(indent);
}

}  // namespace qp
