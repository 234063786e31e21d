// `quantplay run` and the wasm run() API: bad inputs get a message that says what was expected (exit 3 / Error),
// the wasm instance stays usable, the user's files are not modified, and native and wasm agree on the report.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { test, after } from 'node:test';
import { basename, join } from 'path';
import { cliRun, realModels, wasm } from './common.mjs';
import { npyRead, npyWrite } from './npy.mjs';

const qp = await wasm();
const dir = mkdtempSync(join(tmpdir(), 'qp-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cls = realModels().find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'));
const x = { dtype: 'float32', shape: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192).fill(0.25) };

test('CLI run: .npy input, saved outputs, report fields, model file untouched', () => {
  const before = statSync(cls).mtimeMs;
  const inp = join(dir, 'x.npy');
  writeFileSync(inp, npyWrite(x));
  const r = cliRun(['run', cls, '--input', `x=${inp}`, '--save', dir, '--json', '--repeat', '2']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.kind, 'run');
  assert.deepEqual(j.inputs, [{ name: 'x', dtype: 'float32', shape: [1, 3, 48, 192] }]);
  const o = j.outputs[0];
  assert.deepEqual(o.shape, [1, 2]);
  assert.equal(j.time_ms.runs.length, 2);
  assert.ok(Math.abs(o.mean - 0.5) < 1e-6, 'softmax over 2 classes has mean 0.5');
  assert.equal(o.top5.length, 2);
  const saved = npyRead(readFileSync(join(dir, `${o.name}.npy`)));
  assert.ok(Math.abs(saved.data[0] + saved.data[1] - 1) < 1e-6);
  assert.equal(saved.data[o.top5[0].index], o.max);
  assert.ok(j.gflop > 0.02 && j.gflop < 0.05, `cls is ~0.033 GFLOP, got ${j.gflop}`);
  assert.equal(statSync(cls).mtimeMs, before);
});

test('CLI run: wrong input shape, missing input, broken .npy and unknown input name are named', () => {
  const bad = join(dir, 'bad.npy');
  writeFileSync(bad, npyWrite({ dtype: 'float32', shape: [1, 3, 48], data: new Float32Array(3 * 48) }));
  let r = cliRun(['run', cls, '--input', `x=${bad}`]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /input 'x' is float32 \[1,3,48\], expected 4 dims \[p2o\.DynamicDimension\.0,3,p2o\.DynamicDimension\.1,p2o\.DynamicDimension\.2\]/);
  r = cliRun(['run', cls]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /input 'x' is not given/);
  const trunc = join(dir, 'trunc.npy');
  writeFileSync(trunc, npyWrite(x).subarray(0, 500));
  r = cliRun(['run', cls, '--input', trunc]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /cannot read input '.*trunc\.npy': \.npy data at byte 128 has 372 bytes, expected 110592 for float32 \[1,3,48,192\]/);
  r = cliRun(['run', cls, '--input', `y=${bad}`]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /the model has no input named 'y' \(inputs: x\)/);
  r = cliRun(['run', cls, '--random']);  // symbolic H, W default to 1: the op that cannot take it says so
  assert.equal(r.status, 3);
  assert.match(r.stderr, /node '.*' \(.*\): /);
});

test('wasm run: bad inputs throw Errors that say what was expected; the instance stays usable', () => {
  const id = qp.load(readFileSync(cls), { name: basename(cls) });
  try {
    assert.throws(() => qp.run(id, { x: { dtype: 'float32', shape: [1, 3, 48, 192], data: new Float32Array(10) } }),
      /input 'x' has 40 bytes of data, expected 110592 for float32 \[1,3,48,192\]/);
    assert.throws(() => qp.run(id, { x: { dtype: 'int64', shape: [1], data: new BigInt64Array(1) } }),
      /input 'x' is int64 \[1\], expected float32/);
    assert.throws(() => qp.run(id, { x: { dtype: 'complex', shape: [1], data: new Float32Array(1) } }), /unknown dtype 'complex'/);
    assert.throws(() => qp.run(id, {}), /input 'x' is not given/);
    assert.throws(() => qp.run(id, { x }, { repeat: 0 }), /repeat must be in 1\.\.100000/);
    assert.throws(() => qp.run(id, { x }, { dims: { a: -1 } }), /options\.dims\.a: expected an integer >= 1/);
    const r = qp.run(id, { x });
    assert.deepEqual(r.outputs[r.report.outputs[0].name].shape, [1, 2]);
    const rnd = qp.run(id, {}, { random: true, seed: 3, dims: { 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 } });
    assert.deepEqual(rnd.report.inputs[0].shape, [1, 3, 48, 192]);
  } finally {
    qp.unload(id);
  }
});

test('native and wasm give the same report numbers for the same random input', () => {
  const dims = ['--dim', 'p2o.DynamicDimension.1=48', '--dim', 'p2o.DynamicDimension.2=192'];
  const n = JSON.parse(cliRun(['run', cls, '--random', '--seed', '7', ...dims, '--json']).stdout);
  const id = qp.load(readFileSync(cls), { name: basename(cls) });
  const w = qp.run(id, {}, { random: true, seed: 7, dims: { 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 } }).report;
  qp.unload(id);
  for (const k of ['min', 'max', 'mean']) assert.ok(Math.abs(n.outputs[0][k] - w.outputs[0][k]) < 1e-5, `${k}: ${n.outputs[0][k]} vs ${w.outputs[0][k]}`);
  assert.equal(n.gflop, w.gflop);
});
