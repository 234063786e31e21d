// The executor: plans a graph once per set of input shapes and runs it, with hooks for analysis (capture,
// weight substitution, fake quantization, recompute downstream of a change from cached tensors).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/quantizer.h"
#include "core/runtime/value.h"

namespace qp {

// A quantizer applied to a tensor as it is produced (activations) or bound (weights): x -> dequant(quant(x)).
// `params` holds one QParams (per tensor) or one per slice along `axis` (per channel). Empty `params`: the range
// is taken from the tensor itself on every run (min-max, per tensor or per channel), with `spec`.
struct FakeQuant {
  QuantSpec spec;
  int64_t axis = -1;            // per-channel axis, or -1 for per tensor
  std::vector<QParams> params;  // fixed (calibrated) parameters, or empty for dynamic min-max
  bool operator==(const FakeQuant& o) const;
};

// Applies a fake quantizer to a float32 tensor in place. Throws qp::Error when params do not fit the tensor.
void fake_quant_apply(Value& v, const FakeQuant& fq);

struct RunOptions {
  std::set<std::string> capture;                 // intermediate values to return besides the graph outputs
  bool capture_all = false;                      // every value (inputs, weights excluded): a cache for run_from
  std::map<std::string, Value> substitute;       // weight name -> replacement (same dtype and shape)
  std::map<std::string, FakeQuant> fake_quant;   // value or weight name -> quantizer
  bool fuse = true;                              // fuse activations into Conv/Gemm/MatMul where nothing observes
  bool profile = false;                          // time every node (RunStats::node_ms)
  // run_from only: a changed value the cache holds (unquantized) whose producer has no changed input is read from
  // the cache and fake-quantized there, instead of running its producer again (same numbers: the producer would
  // recompute the cached value bit for bit). Saves the producer's flops when only an activation quantizer changed.
  bool requant_cached = false;
  // run_from only: a recomputed value that comes out bit for bit equal to the cached one counts as unchanged, so
  // nodes none of whose inputs changed are not run (a quantizer that leaves a value as it was costs nothing
  // downstream). Values such a skipped node would have produced are read from the cache, or recomputed when the
  // cache lacks them and a node that does run needs them. Requires a cache computed by the same kernels unfused
  // (a capture_all run, or a run with fuse = false); the results are the same as without it.
  bool skip_unchanged = false;
};

struct RunStats {
  int64_t nodes_run = 0;        // nodes executed in this run (folded constants and cached nodes excluded)
  int64_t pool_bytes = 0;       // bytes held by the buffer pool after the run (the activation arena)
  int64_t peak_live_bytes = 0;  // most bytes of pool buffers in use at once during the run
  bool planned = false;         // this run built a new plan
  double flops = 0;             // 2 x multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul in this run
  std::vector<std::pair<std::string, double>> node_ms;  // with RunOptions::profile: (node name, ms) in run order
};

// A model ready to run. The Graph must outlive the Executor; it is never modified.
class Executor {
 public:
  explicit Executor(const Graph& g);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Ops the runtime cannot run: "Op: node1, node2" lines; empty when the whole graph runs.
  const std::vector<std::string>& unsupported() const;
  // Throws qp::Error listing the unsupported ops and nodes (and subgraph ops), if any.
  void check_runnable() const;

  // Runs the graph. `inputs` by graph input name; checked against the declared types and shapes (symbolic dims
  // bind to the given sizes). Returns the graph outputs plus the captured values, by name.
  std::map<std::string, Value> run(const std::map<std::string, Value>& inputs, const RunOptions& opt = {});

  // Recomputes only what lies downstream of `changed` (weights, inputs or values whose substitute/fake-quant
  // differs from the run that produced `cache`), reading everything else from `cache` (a capture_all run's
  // result with its inputs). Returns the recomputed values plus the graph outputs and captured values.
  std::map<std::string, Value> run_from(const std::map<std::string, Value>& cache, const std::set<std::string>& changed,
                                        const RunOptions& opt = {});

  const RunStats& last_stats() const;
  // Names of the nodes downstream of `changed` (in run order), as run_from would execute them.
  std::vector<std::string> downstream_nodes(const std::set<std::string>& changed) const;
  // What run_from(cache, changed, opt) reads from its cache: the inputs of the downstream nodes that they do not
  // produce themselves, changed values taken from the cache (opt.requant_cached), and the graph outputs and
  // opt.capture values it does not recompute (weights excluded). A cache holding only these is enough.
  std::set<std::string> downstream_reads(const std::set<std::string>& changed, const RunOptions& opt = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws qp::Error naming the first of `inputs` that is not a graph input (and listing the graph's inputs).
void check_input_names(const Graph& g, const std::map<std::string, Value>& inputs);

// Seeded random inputs for every graph input: float32 uniform [lo, hi), integers in [0, 10), symbolic dims
// bound from `dims` (name -> size) or 1. Deterministic for a seed.
std::map<std::string, Value> random_inputs(const Graph& g, uint64_t seed, const std::map<std::string, int64_t>& dims = {},
                                           float lo = 0.0f, float hi = 1.0f);

}  // namespace qp
