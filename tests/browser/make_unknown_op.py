# Writes a copy of an ONNX model whose first node of op type FROM becomes op type TO (default: Softmax -> Unknown),
# with ONNX's own protobuf classes (Debian python3-onnx). Usage: make_unknown_op.py IN OUT [FROM [TO]]
import sys

import onnx

src, out = sys.argv[1], sys.argv[2]
old = sys.argv[3] if len(sys.argv) > 3 else 'Softmax'
new = sys.argv[4] if len(sys.argv) > 4 else 'Unknown'
m = onnx.load(src)
node = next((n for n in m.graph.node if n.op_type == old), None)
if node is None:
    sys.exit(f'{src}: no {old} node')
node.op_type = new
onnx.save(m, out)
print(node.name)
