// One model run as the front ends offer it (given or seeded random inputs, repeated for timing) and its JSON
// report: output statistics, top-5 for class vectors, time per run, memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/runtime/executor.h"

namespace qp {

struct RunRequest {
  std::map<std::string, Value> inputs;  // by graph input name
  bool random = false;                  // fill inputs not given with random_inputs(seed, dims, lo, hi)
  uint64_t seed = 0;
  std::map<std::string, int64_t> dims;  // symbolic dim -> size for random inputs
  float lo = 0, hi = 1;
  int repeat = 1;                       // runs; every run's time is reported
  bool profile = false;                 // time every node of the last run
};

struct RunResult {
  std::map<std::string, Value> inputs;   // what was fed (given or random)
  std::map<std::string, Value> outputs;  // from the last run
  std::vector<double> times_ms;
  RunStats stats;                        // of the last run
};

// Throws qp::Error when an input is missing (and random is off), or as Executor::run does.
RunResult run_model(Executor& ex, const Graph& g, const RunRequest& req);

// The report (schema quantplay/1, kind "run"); `labels` name the classes of 1-D/[1,N] outputs for the top-5.
std::string run_json(const Graph& g, const RunResult& r, const std::vector<std::string>& labels = {}, int indent = -1);

}  // namespace qp
