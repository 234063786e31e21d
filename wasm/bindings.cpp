// Thin Embind layer: free functions over JSON options and heap pointers; C++ errors become JS Error objects.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/onnx/writer.h"
#include "core/quant/analysis/analysis_json.h"
#include "core/quant/analysis/detail.h"
#include "core/quant/calib_json.h"
#include "core/quant/export.h"
#include "core/quant/mixquant.h"
#include "core/quant/passes/pipeline.h"
#include "core/quant/qdq_error.h"
#include "core/quant/report.h"
#include "core/quant/sweep.h"
#include "core/runtime/executor.h"
#include "core/runtime/run_report.h"

#include <nlohmann/json.hpp>

using emscripten::val;

namespace {

struct Model {
  qp::Graph graph;
  std::string file;
  size_t bytes = 0;
  // The last sweep, so that MixQuant calls with the same quantizer (every slider move) only re-run the search.
  bool swept = false;
  qp::SweepReport sweep;
  qp::SweepCache cache;  // per-tensor statistics: re-sweeps with other options read each weight once
  std::unique_ptr<qp::Executor> exec;  // created on the first run; keeps plans and packed weights
  // The layer-wise analysis: its calibration data (by its JSON) and the analyzer that keeps per-layer results, so a
  // what-if (overrides) re-runs only the layers it changes.
  std::string calib_key;
  std::unique_ptr<qp::Graph> folded;  // the graph analysed: BatchNormalization folded, as deployed
  std::unique_ptr<qp::CalibrationSet> calib;
  std::unique_ptr<qp::LayerAnalyzer> analyzer;
  // Calibration data handed in by setCalibration (images preprocessed by the page), by name (each panel keeps its
  // own); {"data": "set", "name": N} selects one. The generation counts every change, for the analyzer's key.
  std::map<std::string, qp::CalibrationSet> user_calib;
  int user_calib_gen = 0;
  bool analysed = false;
  qp::AnalysisOptions analysis_options;
  qp::AnalysisReport analysis;
};

const qp::SweepReport& cached_sweep(Model& m, const qp::SweepOptions& o, const qp::Progress& progress) {
  if (!m.swept || !(m.sweep.options == o)) {
    m.sweep = qp::quant_sweep(m.graph, o, progress, &m.cache);
    m.swept = true;
  }
  return m.sweep;
}

std::map<int, std::unique_ptr<Model>> g_models;
int g_next_id = 1;

[[noreturn]] void throw_js(const std::string& msg) { val::global("Error").new_(msg).throw_(); }

template <typename F>
auto guarded(F f) -> decltype(f()) {
  std::string msg;
  try {
    return f();
  } catch (const std::bad_alloc&) {
    msg = "out of memory (the wasm heap is limited to 4 GB)";
  } catch (const std::exception& e) {
    msg = e.what();
  }
  throw_js(msg);
}

Model& model(int id) {
  auto it = g_models.find(id);
  if (it == g_models.end()) throw qp::Error("no model with id " + std::to_string(id) + " (unloaded?)");
  return *it->second;
}

qp::Progress progress_fn(val cb) {
  if (cb.isUndefined() || cb.isNull()) return {};
  return [cb](size_t done, size_t total, const std::string& name) { cb(done, total, name); };
}

// Takes ownership of the malloc'd model bytes at `ptr` and of every external file's bytes; frees them all.
int load(uintptr_t ptr, size_t size, std::string file, val external) {
  uint8_t* data = reinterpret_cast<uint8_t*>(ptr);
  auto free_data = [&] {
    std::free(data);
    data = nullptr;
  };
  qp::MapExternalData ext;
  const int n_ext = external.isUndefined() || external.isNull() ? 0 : external["length"].as<int>();
  for (int i = 0; i < n_ext; ++i) {
    val f = external[i];
    uint8_t* p = reinterpret_cast<uint8_t*>(f["ptr"].as<uintptr_t>());
    const size_t n = f["size"].as<size_t>();
    ext.files[f["name"].as<std::string>()] = std::string(reinterpret_cast<const char*>(p), n);
    std::free(p);
  }
  return guarded([&] {
    auto m = std::make_unique<Model>();
    m->file = file;
    m->bytes = size;
    try {
      m->graph = qp::onnx_load(data, size, &ext, free_data);
    } catch (...) {
      free_data();
      throw;
    }
    free_data();
    const int id = g_next_id++;
    g_models[id] = std::move(m);
    return id;
  });
}

void unload(int id) { g_models.erase(id); }

std::string inspect(int id) {
  return guarded([&] {
    const Model& m = model(id);
    return qp::inspect_json(m.graph, m.file, m.bytes);
  });
}

std::string sweep(int id, std::string options, val progress) {
  return guarded([&] {
    Model& m = model(id);
    const qp::SweepOptions o = qp::sweep_options_from_json(options);
    m.swept = false;  // a sweep call always measures afresh (its elapsed_ms is the cost of a sweep)
    return qp::sweep_json(cached_sweep(m, o, progress_fn(progress)));
  });
}

std::string mixquant(int id, std::string options, val progress) {
  return guarded([&] {
    Model& m = model(id);
    const qp::MixQuantOptions o = qp::mixquant_options_from_json(options);
    qp::MixQuantReport r;
    r.sweep = cached_sweep(m, o.sweep, progress_fn(progress));
    r.configs = qp::mixquant_search(r.sweep, o.qem, o.baselines);
    return qp::mixquant_json(r, o.include_sweep);
  });
}

// The dtype ONNX writes as `n` ("float32", "int64", ...), by the core's own names.
qp::DType dtype_from_name(const std::string& n) {
  for (int32_t v = 1; qp::dtype_is_known(v); ++v)
    if (qp::dtype_name(static_cast<qp::DType>(v)) == n) return static_cast<qp::DType>(v);
  throw qp::Error("unknown dtype '" + n + "'");
}

// The heap pointers of entries [{ptr, ...}] that the JS wrapper malloc'd and filled (an empty list for undefined).
std::vector<void*> heap_ptrs(val list) {
  std::vector<void*> p;
  const int n = list.isUndefined() || list.isNull() ? 0 : list["length"].as<int>();
  for (int i = 0; i < n; ++i) p.push_back(reinterpret_cast<void*>(list[i]["ptr"].as<uintptr_t>()));
  return p;
}

// Frees them when it goes out of scope. Made inside the guarded call: a JS exception thrown by guarded() would not
// run C++ destructors.
struct HeapFree {
  std::vector<void*>& p;
  ~HeapFree() {
    for (void* q : p) std::free(q);
  }
};

// Runs model `id`. `inputs`: [{name, dtype, shape, ptr, bytes}] with malloc'd data (freed here); `options` JSON:
// {random, seed, dims, repeat, labels}. Returns {report: JSON string, outputs: [{name, dtype, shape, data}]} with
// the data copied out into typed arrays.
val run(int id, val inputs, std::string options) {
  std::vector<void*> owned = heap_ptrs(inputs);
  const int n_in = static_cast<int>(owned.size());
  return guarded([&] {
    HeapFree free_all{owned};
    Model& m = model(id);
    qp::RunRequest req;
    nlohmann::json o = options.empty() ? nlohmann::json::object() : nlohmann::json::parse(options, nullptr, false);
    if (o.is_discarded() || !o.is_object()) throw qp::Error("run options are not a JSON object");
    req.random = o.value("random", false);
    req.seed = o.value("seed", 0ull);
    req.repeat = o.value("repeat", 1);
    if (o.contains("dims")) {
      if (!o["dims"].is_object()) throw qp::Error("options.dims: expected an object of name: size");
      for (auto it = o["dims"].begin(); it != o["dims"].end(); ++it) {
        if (!it.value().is_number_integer() || it.value().get<int64_t>() < 1)
          throw qp::Error("options.dims." + it.key() + ": expected an integer >= 1");
        req.dims[it.key()] = it.value().get<int64_t>();
      }
    }
    std::vector<std::string> labels = o.value("labels", std::vector<std::string>{});
    for (int i = 0; i < n_in; ++i) {
      val in = inputs[i];
      const std::string name = in["name"].as<std::string>();
      qp::Value v;
      v.dtype = dtype_from_name(in["dtype"].as<std::string>());
      const int rank = in["shape"]["length"].as<int>();
      for (int d = 0; d < rank; ++d) {
        const double x = in["shape"][d].as<double>();
        if (!(x >= 0) || x != std::floor(x) || x > 1e12)
          throw qp::Error("input '" + name + "': shape[" + std::to_string(d) + "] is not a non-negative integer");
        v.shape.push_back(static_cast<int64_t>(x));
      }
      const size_t bytes = in["bytes"].as<size_t>();
      if (bytes != v.bytes())
        throw qp::Error("input '" + name + "' has " + std::to_string(bytes) + " bytes of data, expected " +
                        std::to_string(v.bytes()) + " for " + v.describe());
      v.data = owned[static_cast<size_t>(i)];
      req.inputs[name] = v;
    }
    if (!m.exec) m.exec = std::make_unique<qp::Executor>(m.graph);
    const qp::RunResult r = qp::run_model(*m.exec, m.graph, req);
    val outs = val::array();
    for (const auto& vo : m.graph.outputs) {
      const qp::Value& v = r.outputs.at(vo.name);
      val e = val::object();
      e.set("name", vo.name);
      e.set("dtype", qp::dtype_name(v.dtype));
      val shape = val::array();
      for (int64_t d : v.shape) shape.call<void>("push", static_cast<double>(d));
      e.set("shape", shape);
      const size_t n = static_cast<size_t>(v.numel());
      val view = val::undefined();
      switch (v.dtype) {
        case qp::DType::kFloat32: view = val(emscripten::typed_memory_view(n, v.ptr<float>())); break;
        case qp::DType::kFloat64: view = val(emscripten::typed_memory_view(n, v.ptr<double>())); break;
        case qp::DType::kInt32: view = val(emscripten::typed_memory_view(n, v.ptr<int32_t>())); break;
        case qp::DType::kInt8: view = val(emscripten::typed_memory_view(n, v.ptr<int8_t>())); break;
        case qp::DType::kUint8:
        case qp::DType::kBool: view = val(emscripten::typed_memory_view(n, v.ptr<uint8_t>())); break;
        case qp::DType::kInt64: {  // JS gets int64 as a Float64Array (exact up to 2^53)
          std::vector<double> d(n);
          for (size_t k = 0; k < n; ++k) d[k] = static_cast<double>(v.ptr<int64_t>()[k]);
          view = val(emscripten::typed_memory_view(n, d.data())).call<val>("slice");
          break;
        }
        default: throw qp::Error("output '" + vo.name + "' is " + qp::dtype_name(v.dtype) + ", which the API cannot return");
      }
      e.set("data", v.dtype == qp::DType::kInt64 ? view : view.call<val>("slice"));  // copy out of the heap
      outs.call<void>("push", e);
    }
    val res = val::object();
    res.set("report", qp::run_json(m.graph, r, labels));
    res.set("outputs", outs);
    return res;
  });
}


int add_model(qp::Graph g, const std::string& file) {
  auto m = std::make_unique<Model>();
  m->graph = std::move(g);
  m->file = file;
  const int id = g_next_id++;
  g_models[id] = std::move(m);
  return id;
}

std::string derived_name(const std::string& file, const std::string& suffix) {
  const size_t dot = file.rfind(".onnx");
  return (dot == std::string::npos ? file : file.substr(0, dot)) + suffix + ".onnx";
}

// The calibration data a call asks for: {"data": "set", "name": N} (what setCalibration stored for the model under
// that name, "" by default) or seeded random data (random_calibration_from_json).
qp::CalibrationSet calibration_for(const Model& m, const std::string& calibration) {
  const nlohmann::json j = calibration.empty() ? nlohmann::json::object() : nlohmann::json::parse(calibration, nullptr, false);
  if (j.is_object() && j.contains("data")) {
    const bool named = j.contains("name");
    if (j["data"] != "set" || j.size() != (named ? 2u : 1u) || (named && !j["name"].is_string()))
      throw qp::Error("calibration.data: only \"set\" (the data given to setCalibration) is known, with an optional "
                      "string \"name\" and no other fields");
    const std::string name = named ? j["name"].get<std::string>() : "";
    const auto it = m.user_calib.find(name);
    if (it == m.user_calib.end())
      throw qp::Error("calibration.data is \"set\" but no calibration data" + (name.empty() ? std::string() : " named '" + name + "'") +
                      " was set for this model");
    return it->second;
  }
  return qp::calibration_random(m.graph, qp::random_calibration_from_json(calibration));
}

// Stores calibration data for model `id`: `samples` is [{sample, name, dtype, shape, ptr, bytes}] (malloc'd data, freed
// here), one entry per input of each sample; `info` JSON: {source, samples (the count), name (default "")}. Every
// input of the model must be given in every sample, with a concrete shape. Returns the number of samples.
int set_calibration(int id, val samples, std::string info) {
  std::vector<void*> owned = heap_ptrs(samples);
  const int n = static_cast<int>(owned.size());
  return guarded([&] {
    HeapFree free_all{owned};
    Model& m = model(id);
    const nlohmann::json o = info.empty() ? nlohmann::json::object() : nlohmann::json::parse(info, nullptr, false);
    if (!o.is_object()) throw qp::Error("setCalibration: info is not a JSON object");
    qp::CalibrationSet cs;
    if ((o.contains("source") && !o["source"].is_string()) || (o.contains("name") && !o["name"].is_string()))
      throw qp::Error("setCalibration: info.source and info.name must be strings");
    cs.source = o.value("source", std::string("data set by the page"));
    const int count = o.value("samples", 0);
    if (count < 1 || count > 100000) throw qp::Error("setCalibration: expected 1 to 100000 samples, got " + std::to_string(count));
    cs.samples.resize(static_cast<size_t>(count));
    for (int i = 0; i < n; ++i) {
      val e = samples[i];
      const int k = e["sample"].as<int>();
      if (k < 0 || k >= count)
        throw qp::Error("setCalibration: entry " + std::to_string(i) + " has sample index " + std::to_string(k) + " outside 0.." + std::to_string(count - 1));
      const std::string name = e["name"].as<std::string>();
      const qp::ValueInfo* vi = nullptr;
      for (const auto& in : m.graph.inputs)
        if (in.name == name) vi = &in;
      if (!vi) throw qp::Error("setCalibration: sample " + std::to_string(k) + ": the model has no input '" + name + "'");
      std::vector<int64_t> shape;
      const int rank = e["shape"]["length"].as<int>();
      for (int d = 0; d < rank; ++d) {
        const double x = e["shape"][d].as<double>();
        if (!(x >= 1) || x != std::floor(x) || x > 1e9)
          throw qp::Error("setCalibration: input '" + name + "' shape[" + std::to_string(d) + "] is not a positive integer");
        shape.push_back(static_cast<int64_t>(x));
      }
      qp::Value v = qp::value_alloc(dtype_from_name(e["dtype"].as<std::string>()), shape);
      const size_t bytes = e["bytes"].as<size_t>();
      if (bytes != v.bytes())
        throw qp::Error("setCalibration: input '" + name + "' has " + std::to_string(bytes) + " bytes of data, expected " +
                        std::to_string(v.bytes()) + " for " + v.describe());
      if (bytes) std::memcpy(v.data, owned[static_cast<size_t>(i)], bytes);
      cs.samples[static_cast<size_t>(k)][name] = v;
    }
    for (size_t k = 0; k < cs.samples.size(); ++k)
      for (const auto& in : m.graph.inputs)
        if (!cs.samples[k].count(in.name))
          throw qp::Error("setCalibration: sample " + std::to_string(k) + " lacks the model input '" + in.name + "'");
    const int kept = static_cast<int>(cs.samples.size());
    m.user_calib[o.value("name", std::string())] = std::move(cs);
    ++m.user_calib_gen;
    return kept;
  });
}

// Runs the equalization pipeline on model `id` (options: pipeline_options_from_json; calibration:
// random_calibration_from_json) and registers the result as a new model. Returns {report: JSON, id}.
val equalize(int id, std::string options, std::string calibration) {
  return guarded([&] {
    Model& m = model(id);
    const qp::PipelineOptions o = qp::pipeline_options_from_json(options);
    const qp::CalibrationSet cs = calibration_for(m, calibration);
    qp::PipelineResult r = qp::run_pipeline(m.graph, o, &cs);
    val res = val::object();
    res.set("report", qp::pipeline_json(r));
    const int eq_id = add_model(std::move(r.graph), derived_name(m.file, ".equalized"));
    // The equalized model takes the same inputs: its exports calibrate on the same data sets.
    g_models[eq_id]->user_calib = m.user_calib;
    res.set("id", eq_id);
    return res;
  });
}

// The effect table (pipeline_effect) on random calibration data; options: {"bits": [8, 4], "variants": [...],
// "relu6": "replace"|"bound"|"refuse"} plus the weight quantizer fields of the equalize options.
std::string effect(int id, std::string options, std::string calibration) {
  return guarded([&] {
    Model& m = model(id);
    nlohmann::json o = options.empty() ? nlohmann::json::object() : nlohmann::json::parse(options, nullptr, false);
    if (o.is_discarded() || !o.is_object()) throw qp::Error("effect options are not a JSON object");
    qp::EffectOptions eo;
    if (o.contains("bits")) {
      if (!o["bits"].is_array() || o["bits"].empty()) throw qp::Error("options.bits: expected a list of bit-widths");
      eo.bits.clear();
      for (const auto& b : o["bits"]) {
        if (!b.is_number_integer() || b.get<int>() < 2 || b.get<int>() > 16)
          throw qp::Error("options.bits: each entry must be an integer in 2..16");
        eo.bits.push_back(b.get<int>());
      }
      o.erase("bits");
    }
    if (o.contains("variants")) {
      if (!o["variants"].is_array()) throw qp::Error("options.variants: expected a list");
      eo.variants = o["variants"].get<std::vector<std::string>>();
      o.erase("variants");
    }
    const qp::PipelineOptions po = qp::pipeline_options_from_json(o.dump());
    eo.weights = po.bc.weights;
    if (po.cle.relu6 == qp::Relu6Policy::kReplace) eo.relu6 = po.cle.relu6;
    const qp::CalibrationSet cs = calibration_for(m, calibration);
    return qp::effect_json(qp::pipeline_effect(m.graph, cs, eo));
  });
}

// Exports model `id`: format "fp32" | "fakequant" | "qdq" | "encodings"; config: export_config_from_json. Returns
// {bytes: Uint8Array (the file), report: JSON}.
val export_model(int id, std::string format, std::string config, std::string calibration) {
  return guarded([&] {
    Model& m = model(id);
    const qp::ExportConfig c = qp::export_config_from_json(config);
    qp::ExportReport rep;
    std::string bytes, report = "{\"schema\": \"quantplay/1\", \"kind\": \"export\", \"format\": \"fp32\"}";
    if (format == "fp32") {
      bytes = qp::onnx_save(m.graph);
    } else if (format == "fakequant" || format == "qdq" || format == "encodings") {
      qp::export_config_validate(c, m.graph);
      if (format == "fakequant") {
        bytes = qp::onnx_save(qp::export_fake_quant(m.graph, c, &rep));
      } else {
        qp::ActivationRanges ranges;
        if (c.activation_bits > 0) {
          const qp::CalibrationSet cs = calibration_for(m, calibration);
          ranges = qp::activation_ranges(m.graph, cs, qp::activation_tensors(m.graph, c.layer_bits, c.default_bits), {},
                                         c.activation_bits);
        }
        const qp::Graph q = qp::export_qdq(m.graph, c, ranges, &rep);
        bytes = format == "qdq" ? qp::onnx_save(q) : qp::encodings_json(rep, 2);
      }
      report = qp::export_report_json(rep);
    } else {
      throw qp::Error("export format '" + format + "' is not one of fp32, fakequant, qdq, encodings");
    }
    val res = val::object();
    res.set("bytes", val(emscripten::typed_memory_view(bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data())))
                         .call<val>("slice"));
    res.set("report", report);
    return res;
  });
}

qp::AnalysisCallback analysis_progress(val cb) {
  if (cb.isUndefined() || cb.isNull()) return {};
  return [cb](const qp::AnalysisProgress& p) {
    val o = val::object();
    o.set("stage", p.stage);
    o.set("sample", p.sample);
    o.set("samples", p.samples);
    o.set("layer", p.layer);
    o.set("layers", p.layers);
    o.set("fraction", p.fraction);
    o.set("elapsed_ms", p.elapsed_ms);
    o.set("eta_ms", p.eta_ms);
    const val r = cb(o);
    return !(r.isFalse());  // a callback that returns false cancels (the samples finished so far are reported)
  };
}

qp::LayerAnalyzer& analyzer_for(Model& m, const std::string& calibration) {
  // Data set by the page is told apart by its generation: a new set means a new analyzer.
  const std::string key = calibration + "#" + std::to_string(m.user_calib_gen);
  if (!m.analyzer || m.calib_key != key) {
    m.analyzer.reset();
    m.analysed = false;
    m.calib = std::make_unique<qp::CalibrationSet>(
        calibration_for(m, calibration));
    if (!m.folded) m.folded = std::make_unique<qp::Graph>(qp::bn_fold(m.graph).graph);
    m.analyzer = std::make_unique<qp::LayerAnalyzer>(*m.folded, *m.calib);
    m.calib_key = key;
  }
  return *m.analyzer;
}

// Layer-wise analysis of model `id` with its BatchNormalization folded (as deployed; options:
// analysis_options_from_json; calibration: seeded random data). The analyzer stays with the model, so a call with
// other overrides re-runs only what they change.
std::string analyze(int id, std::string options, std::string calibration, val progress) {
  return guarded([&] {
    Model& m = model(id);
    const qp::AnalysisOptions o = qp::analysis_options_from_json(options);
    qp::analysis_options_validate(o);
    qp::LayerAnalyzer& an = analyzer_for(m, calibration);
    try {
      m.analysis = an.analyse(o, analysis_progress(progress));
    } catch (...) {
      // A failed analysis may leave the analyzer half-built: drop it with its data, the next call starts afresh.
      m.analyzer.reset();
      m.calib.reset();
      m.calib_key.clear();
      m.analysed = false;
      throw;
    }
    m.analysis_options = o;
    m.analysed = !m.analysis.cancelled;
    return qp::analysis_json(m.analysis);
  });
}

// The single-layer fix (§4.3) on the last analysis of model `id`.
std::string analysis_fix(int id, std::string options) {
  return guarded([&] {
    Model& m = model(id);
    if (!m.analysed || !m.analyzer) throw qp::Error("run the analysis first (the fix starts from its worst layer)");
    return qp::fix_json(qp::analysis_fix(*m.analyzer, m.analysis_options, m.analysis, qp::fix_options_from_json(options)));
  });
}

// Mixed precision on measured sensitivity, with the last analysis' quantizer and data.
std::string mixed_precision(int id, std::string options, val progress) {
  return guarded([&] {
    Model& m = model(id);
    if (!m.analysed || !m.analyzer) throw qp::Error("run the analysis first (mixed precision uses its data and quantizer)");
    return qp::mixed_json(qp::mixed_precision(*m.analyzer, *m.folded, m.analysis_options, qp::mixed_options_from_json(options),
                                              analysis_progress(progress)));
  });
}

// One layer in detail (histograms with the clipping ranges, QE vs bits) under the last analysis' quantizer, or
// `options` when given (analysis options JSON: what-if overrides apply); `detail`: layer_detail_options_from_json.
std::string layer_detail(int id, int layer, std::string options, std::string detail, val progress) {
  return guarded([&] {
    Model& m = model(id);
    if (!m.analysed || !m.analyzer) throw qp::Error("run the analysis first (the detail uses its data and quantizer)");
    const qp::AnalysisOptions o = options.empty() || options == "{}" ? m.analysis_options : qp::analysis_options_from_json(options);
    qp::analysis_options_validate(o);
    if (layer < 0) throw qp::Error("layer index " + std::to_string(layer) + " is negative");
    return qp::layer_detail_json(qp::layer_detail(*m.analyzer, *m.folded, static_cast<size_t>(layer), o,
                                                  qp::layer_detail_options_from_json(detail), analysis_progress(progress)));
  });
}

std::string simd_target() { return qp::f32_qdq_error_target(); }

}  // namespace

EMSCRIPTEN_BINDINGS(quantplay) {
  emscripten::function("_load", &load);
  emscripten::function("_unload", &unload);
  emscripten::function("_inspect", &inspect);
  emscripten::function("_sweep", &sweep);
  emscripten::function("_mixquant", &mixquant);
  emscripten::function("_run", &run);
  emscripten::function("_equalize", &equalize);
  emscripten::function("_effect", &effect);
  emscripten::function("_exportModel", &export_model);
  emscripten::function("_analyze", &analyze);
  emscripten::function("_setCalibration", &set_calibration);
  emscripten::function("_layerDetail", &layer_detail);
  emscripten::function("_analysisFix", &analysis_fix);
  emscripten::function("_mixedPrecision", &mixed_precision);
  emscripten::function("_simdTarget", &simd_target);
}
