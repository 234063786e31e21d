// inspect's counts checked against independent readers: Debian's python3-onnx and onnxruntime-node.
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { test } from 'node:test';
import { basename, join } from 'path';
import * as ort from 'onnxruntime-node';
import { cliJson, realModels, root } from './common.mjs';

for (const model of realModels()) {
  test(`inspect counts match python3-onnx and onnxruntime: ${basename(model)}`, async () => {
    const ours = cliJson(['inspect', model]);
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'tests/js/onnx_counts.py'), model]).toString());
    const m = ours.model;
    assert.equal(m.ir_version, ref.ir_version);
    assert.equal(m.nodes, ref.nodes);
    assert.equal(m.constant_nodes, ref.constant_nodes);
    assert.equal(m.initializers, ref.initializers);
    assert.equal(m.weight_tensors, ref.initializers + ref.constant_nodes);
    assert.equal(m.parameters, ref.parameters);
    assert.deepEqual(m.inputs.map((i) => i.name), ref.inputs);
    assert.deepEqual(m.outputs.map((o) => o.name), ref.outputs);
    assert.deepEqual(m.opsets, ref.opsets);
    const session = await ort.InferenceSession.create(model);
    assert.deepEqual(m.inputs.map((i) => i.name), session.inputNames);
    assert.deepEqual(m.outputs.map((o) => o.name), session.outputNames);
    // Layers: one per Conv/ConvTranspose/Gemm and per MatMul with a constant operand.
    const layerOps = m.ops.filter((o) => ['Conv', 'ConvTranspose', 'Gemm'].includes(o.op)).reduce((s, o) => s + o.count, 0);
    assert.ok(ours.layers.length >= layerOps, `${ours.layers.length} layers < ${layerOps} conv/gemm nodes`);
    assert.equal(m.layer_parameters, ours.layers.reduce((s, l) => s + l.params, 0));
  });
}
