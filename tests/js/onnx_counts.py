#!/usr/bin/python3
"""Independent counts of an ONNX model with Debian's python3-onnx, printed as JSON (the test oracle for inspect)."""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

m = onnx.load(sys.argv[1], load_external_data=False)
g = m.graph
init_names = {t.name for t in g.initializer}
params = sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in g.initializer)
constants = 0
for n in g.node:
    if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
        for a in n.attribute:
            if a.name == "value":
                params += int(np.prod(a.t.dims)) if len(a.t.dims) else 1
            elif a.name in ("value_floats", "value_ints"):
                params += len(a.floats) + len(a.ints)
            elif a.name in ("value_float", "value_int"):
                params += 1
            else:
                continue
            constants += 1
            break
print(json.dumps({
    "ir_version": m.ir_version,
    "nodes": len(g.node),
    "constant_nodes": constants,
    "initializers": len(g.initializer),
    "parameters": params,
    "inputs": [i.name for i in g.input if i.name not in init_names],
    "outputs": [o.name for o in g.output],
    "opsets": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
}))
