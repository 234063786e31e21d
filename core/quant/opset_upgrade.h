// Raising a graph's default-domain opset (QDQ export needs 10, per-axis 13, int4 21): a table of the ops whose form
// means the same at the target, and rewrites for the few whose attributes became inputs or whose meaning changed.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/ir/graph.h"

namespace qp {

struct OpsetUpgrade {
  bool ok = true;                      // false: a blocker was found and the graph was left as it was
  int64_t from = 0, to = 0;            // default-domain opset before and after (to == from when nothing changed)
  int64_t ir_from = 0, ir_to = 0;      // IR version before and after (raised to the least the target opset needs)
  std::vector<std::string> blockers;   // "node 'up_1' (Upsample): deprecated at opset 10; ..."
  std::vector<std::string> rewrites;   // "node 'clip_3' (Clip): min/max attributes became inputs"
};

// The least IR version a model importing `opset` of the default domain must declare.
int64_t ir_version_for_opset(int64_t opset);

// Raises g's default-domain opset to `target` in place when every node allows it (rewriting the ones that need
// it, adding int64/float32 weights for attributes that became inputs). Does nothing when the opset is already
// >= target. On a blocker g is left unchanged and the report lists every blocking node.
OpsetUpgrade opset_upgrade(Graph& g, int64_t target);

}  // namespace qp
