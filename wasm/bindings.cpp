// Thin Embind layer: free functions over JSON options and heap pointers; C++ errors become JS Error objects.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/quant/mixquant.h"
#include "core/quant/qdq_error.h"
#include "core/quant/report.h"
#include "core/quant/sweep.h"

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

std::string simd_target() { return qp::f32_qdq_error_target(); }

}  // namespace

EMSCRIPTEN_BINDINGS(quantplay) {
  emscripten::function("_load", &load);
  emscripten::function("_unload", &unload);
  emscripten::function("_inspect", &inspect);
  emscripten::function("_sweep", &sweep);
  emscripten::function("_mixquant", &mixquant);
  emscripten::function("_simdTarget", &simd_target);
}
