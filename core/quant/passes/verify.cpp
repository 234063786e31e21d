// verify_function: the fp32 before/after check every function-preserving pass reports.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/ir/error.h"
#include "core/quant/passes/pass.h"
#include "core/runtime/executor.h"

namespace qp {

Verification verify_function(const Graph& before, const Graph& after, const CalibrationSet& data) {
  Verification v;
  v.inputs = data.source;
  v.samples = static_cast<int>(data.samples.size());
  Executor a(before), b(after);
  a.check_runnable();
  b.check_runnable();
  std::map<std::string, double> per;
  for (const auto& s : data.samples) {
    const auto ya = a.run(s), yb = b.run(s);
    for (const auto& o : before.outputs) {
      const auto ia = ya.find(o.name), ib = yb.find(o.name);
      if (ia == ya.end() || ib == yb.end()) throw Error("verification: output '" + o.name + "' missing after the pass");
      const Value& x = ia->second;
      const Value& y = ib->second;
      if (x.shape != y.shape || x.dtype != y.dtype)
        throw Error("verification: output '" + o.name + "' is " + x.describe() + " before and " + y.describe() + " after");
      const std::vector<double> dx = value_to_doubles(x), dy = value_to_doubles(y);
      double mx = 0, md = 0;
      for (size_t i = 0; i < dx.size(); ++i) {
        mx = std::max(mx, std::fabs(dx[i]));
        const double d = std::fabs(dy[i] - dx[i]);
        md = std::isnan(d) ? INFINITY : std::max(md, d);
      }
      const double rel = md == 0 ? 0 : md / std::max(mx, 1e-30);
      v.max_abs_dev = std::max(v.max_abs_dev, md);
      per[o.name] = std::max(per[o.name], rel);
    }
  }
  for (const auto& o : before.outputs) {
    v.per_output.emplace_back(o.name, per[o.name]);
    v.max_rel_dev = std::max(v.max_rel_dev, per[o.name]);
  }
  return v;
}

}  // namespace qp
