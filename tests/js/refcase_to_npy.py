# Converts the refcases' TensorProto .pb files to .npy with ONNX's own reader (Debian python3-onnx), so the oracle
# test reads them with an implementation independent of ours. Usage: refcase_to_npy.py REFCASES_DIR OUT_DIR
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

src, out = sys.argv[1], sys.argv[2]
index = {}
for case in sorted(os.listdir(src)):
    d = os.path.join(src, case)
    meta = json.load(open(os.path.join(d, 'case.json')))
    data = os.path.join(d, 'test_data_set_0')
    os.makedirs(os.path.join(out, case), exist_ok=True)
    files = {'inputs': [], 'outputs': []}
    for kind, key in (('input', 'inputs'), ('output', 'outputs')):
        for k, spec in enumerate(meta[key]):
            t = onnx.TensorProto()
            with open(os.path.join(data, f'{kind}_{k}.pb'), 'rb') as f:
                t.ParseFromString(f.read())
            path = os.path.join(out, case, f'{kind}_{k}.npy')
            np.save(path, np.ascontiguousarray(numpy_helper.to_array(t)))
            files[key].append({'name': spec['name'], 'path': path})
    index[case] = {'model': meta['model'], **files}
json.dump(index, sys.stdout)
