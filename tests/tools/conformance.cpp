// ONNX backend conformance: runs every case of ../shared/onnx-node-tests whose ops we support, compares with the
// stored outputs (ONNX's tolerance: rtol 1e-3, atol 1e-7), prints passed/failed/skipped, and fails when a case of
// the allowlist (tests/conformance_allowlist.txt) does not pass.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "core/runtime/executor.h"

using namespace qp;

namespace {

struct Tolerance {
  double rtol = 1e-3, atol = 1e-7;
};

struct Case {
  std::string id;     // "node/test_abs"
  std::string model;  // path of the .onnx
  std::vector<std::string> inputs, outputs;  // .pb paths
};

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::vector<std::string> list_dir(const std::string& p) {
  std::vector<std::string> out;
  if (DIR* d = opendir(p.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Case> collect(const std::string& root) {
  std::vector<Case> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator"}) {
    const std::string dir = root + "/" + suite;
    for (const auto& name : list_dir(dir)) {
      Case c;
      c.id = std::string(suite) + "/" + name;
      c.model = dir + "/" + name + "/model.onnx";
      if (!is_file(c.model)) continue;
      const std::string data = dir + "/" + name + "/test_data_set_0";
      for (int k = 0; is_file(data + "/input_" + std::to_string(k) + ".pb"); ++k)
        c.inputs.push_back(data + "/input_" + std::to_string(k) + ".pb");
      for (int k = 0; is_file(data + "/output_" + std::to_string(k) + ".pb"); ++k)
        c.outputs.push_back(data + "/output_" + std::to_string(k) + ".pb");
      cases.push_back(c);
    }
  }
  const std::string light = root + "/light";
  for (const auto& f : list_dir(light)) {
    if (f.size() < 5 || f.compare(f.size() - 5, 5, ".onnx") != 0) continue;
    const std::string stem = f.substr(0, f.size() - 5);
    Case c;
    c.id = "light/" + stem;
    c.model = light + "/" + f;
    for (int k = 0; is_file(light + "/" + stem + "_output_" + std::to_string(k) + ".pb"); ++k)
      c.outputs.push_back(light + "/" + stem + "_output_" + std::to_string(k) + ".pb");
    cases.push_back(c);
  }
  return cases;
}

// "" when equal within tolerance, else what differs.
std::string compare(const Value& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype != want.dtype)
    return "dtype " + dtype_name(got.dtype) + ", expected " + dtype_name(want.dtype);
  if (got.shape != want.dims) return "shape " + shape_str(got.shape) + ", expected " + shape_str(want.dims);
  const std::vector<double> a = value_to_doubles(got);
  const std::vector<double> b = value_to_doubles(value_view(want));
  const bool exact = want.dtype != DType::kFloat32 && want.dtype != DType::kFloat64;
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    bool ok;
    if (std::isnan(y)) ok = std::isnan(x);
    else if (std::isinf(y)) ok = x == y;
    else ok = exact ? x == y : std::fabs(x - y) <= tol.atol + tol.rtol * std::fabs(y);
    if (!ok) {
      if (!bad) first = i;
      ++bad;
      worst = std::max(worst, std::isfinite(x) ? std::fabs(x - y) : INFINITY);
    }
  }
  if (!bad) return "";
  std::ostringstream s;
  s << bad << " of " << a.size() << " elements differ (first at " << first << ": " << a[first] << " vs " << b[first]
    << "; max |diff| " << worst << ")";
  return s.str();
}

struct Result {
  enum Kind { kPass, kFail, kSkip } kind = kFail;
  std::string why;
};

Result run_case(const Case& c, const Tolerance& tol) {
  Result r;
  Graph g;
  try {
    g = onnx_load_file(c.model);
  } catch (const std::exception& e) {
    r.kind = Result::kSkip;
    r.why = std::string("load: ") + e.what();
    return r;
  }
  Executor ex(g);
  if (!ex.unsupported().empty()) {
    r.kind = Result::kSkip;
    r.why = "unsupported: " + ex.unsupported()[0];
    return r;
  }
  try {
    std::map<std::string, Value> inputs;
    std::vector<Tensor> in_tensors;
    in_tensors.reserve(c.inputs.size());
    if (c.id.rfind("light/", 0) == 0) {
      // Light models ship outputs only; every weight is a constant, so the input is fed as zeros.
      for (const auto& vi : g.inputs) {
        std::vector<int64_t> shape;
        for (const auto& d : vi.shape) shape.push_back(d.known() ? d.value : 1);
        inputs[vi.name] = value_alloc(vi.dtype, shape);
      }
    } else {
      if (c.inputs.size() < g.inputs.size()) {
        r.why = "test data has " + std::to_string(c.inputs.size()) + " inputs, the model " + std::to_string(g.inputs.size());
        return r;
      }
      for (size_t k = 0; k < g.inputs.size(); ++k) {
        in_tensors.push_back(onnx_load_tensor(read_file_bytes(c.inputs[k]), "input_" + std::to_string(k) + ".pb"));
        inputs[g.inputs[k].name] = value_view(in_tensors.back());
      }
    }
    const auto out = ex.run(inputs);
    if (c.outputs.size() != g.outputs.size()) {
      r.why = "test data has " + std::to_string(c.outputs.size()) + " outputs, the model " + std::to_string(g.outputs.size());
      return r;
    }
    for (size_t k = 0; k < g.outputs.size(); ++k) {
      const Tensor want = onnx_load_tensor(read_file_bytes(c.outputs[k]), "output_" + std::to_string(k) + ".pb");
      const std::string d = compare(out.at(g.outputs[k].name), want, tol);
      if (!d.empty()) {
        r.why = "output " + std::to_string(k) + " '" + g.outputs[k].name + "': " + d;
        return r;
      }
    }
    r.kind = Result::kPass;
  } catch (const std::exception& e) {
    r.why = e.what();
  }
  return r;
}

struct Allowlist {
  std::vector<std::string> order;
  std::map<std::string, Tolerance> cases;
};

Allowlist read_allowlist(const std::string& path) {
  Allowlist a;
  std::ifstream f(path);
  if (!f) throw Error("cannot read the allowlist " + path);
  std::string line;
  int no = 0;
  while (std::getline(f, line)) {
    ++no;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream in(line);
    std::string id, opt;
    if (!(in >> id)) continue;
    Tolerance t;
    while (in >> opt) {
      if (opt.rfind("rtol=", 0) == 0) t.rtol = std::stod(opt.substr(5));
      else if (opt.rfind("atol=", 0) == 0) t.atol = std::stod(opt.substr(5));
      else throw Error(path + ":" + std::to_string(no) + ": unknown option '" + opt + "'");
    }
    a.order.push_back(id);
    a.cases[id] = t;
  }
  return a;
}

void usage() {
  std::puts(
      "qp_conformance [--root DIR] [--allowlist FILE] [--filter TEXT]... [--verbose] [--failures]\n"
      "               [--write-allowlist FILE]\n"
      "Runs the ONNX backend cases under DIR (default: ../shared/onnx-node-tests) and compares the outputs.\n"
      "  --filter TEXT       only cases whose id contains TEXT (repeatable; any match)\n"
      "  --verbose           one line per case\n"
      "  --failures          one line per failed case (with the reason)\n"
      "  --write-allowlist F write the ids of every passing case to F\n"
      "Exit status 1 when an allowlisted case does not pass.");
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = std::string(QP_SHARED_DIR) + "/onnx-node-tests";
  std::string allow_path = std::string(QP_SOURCE_DIR) + "/tests/conformance_allowlist.txt";
  std::string write_path;
  std::vector<std::string> filters;
  bool verbose = false, failures = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--root") root = next();
    else if (a == "--allowlist") allow_path = next();
    else if (a == "--filter") filters.push_back(next());
    else if (a == "--write-allowlist") write_path = next();
    else if (a == "--verbose") verbose = true;
    else if (a == "--failures") failures = true;
    else if (a == "--help" || a == "-h") { usage(); return 0; }
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); usage(); return 2; }
  }
  if (!is_dir(root)) {
    std::fprintf(stderr, "no conformance data at %s\n", root.c_str());
    return 2;
  }
  Allowlist allow;
  try {
    allow = read_allowlist(allow_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> allowed_not_passing, passing;
  std::set<std::string> seen;
  const auto t0 = std::chrono::steady_clock::now();
  for (const Case& c : collect(root)) {
    if (!filters.empty() && std::none_of(filters.begin(), filters.end(),
                                         [&](const std::string& f) { return c.id.find(f) != std::string::npos; }))
      continue;
    seen.insert(c.id);
    auto it = allow.cases.find(c.id);
    const Result r = run_case(c, it != allow.cases.end() ? it->second : Tolerance{});
    const char* tag = r.kind == Result::kPass ? "pass" : r.kind == Result::kFail ? "FAIL" : "skip";
    (r.kind == Result::kPass ? passed : r.kind == Result::kFail ? failed : skipped)++;
    if (r.kind == Result::kPass) passing.push_back(c.id);
    if (verbose || (failures && r.kind == Result::kFail))
      std::printf("%s %s%s%s\n", tag, c.id.c_str(), r.why.empty() ? "" : ": ", r.why.c_str());
    if (it != allow.cases.end() && r.kind != Result::kPass)
      allowed_not_passing.push_back(c.id + " (" + tag + ": " + r.why + ")");
  }
  if (filters.empty())
    for (const auto& id : allow.order)
      if (!seen.count(id)) allowed_not_passing.push_back(id + " (no such case under " + root + ")");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int unlisted = 0;
  for (const auto& id : passing) unlisted += !allow.cases.count(id);
  std::printf("conformance: %d passed, %d failed, %d skipped (%d allowlisted, %d passing but not allowlisted) in %.1f s\n",
              passed, failed, skipped, static_cast<int>(allow.cases.size()), unlisted, secs);
  if (!write_path.empty()) {
    std::ofstream f(write_path);
    for (const auto& id : passing) f << id << '\n';
  }
  for (const auto& s : allowed_not_passing) std::printf("allowlisted but not passing: %s\n", s.c_str());
  return allowed_not_passing.empty() ? 0 : 1;
}
