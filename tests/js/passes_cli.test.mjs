// The passes and exports through the CLI and the wasm API: the equalized float32 model onnxruntime-node runs and
// reproduces, CLI and wasm agreeing on the pipeline report, the effect table's directions on the labelled digits,
// and bad input answered with messages (never the model file overwritten).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import ort from 'onnxruntime-node';
import { cli, cliJson, cliRun, realModels, shared, wasm } from './common.mjs';
import { npyRead, npyWrite } from './npy.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'qp_passes_'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function input(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let a = seed;
  for (let i = 0; i < n; i++) { a = (a * 1664525 + 1013904223) >>> 0; d[i] = a / 4294967296; }
  return d;
}

async function outputs(path, shape) {
  const s = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  const y = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input(shape, 7), shape) });
  return s.outputNames.map((n) => y[n].data);
}

function relDev(a, b) {
  let m = 0, d = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i])); d = Math.max(d, Math.abs(a[i] - b[i])); }
  return d / Math.max(m, 1e-30);
}

// Our engine's outputs for the same input (quantplay run --save).
function ours(path, shape, name) {
  const x = join(tmp, `${name}.in.npy`);
  writeFileSync(x, npyWrite({ dtype: 'float32', shape, data: input(shape, 7) }));
  const dir = mkdtempSync(join(tmp, 'out_'));
  execFileSync(cli, ['run', path, '--input', x, '--save', dir]);
  return readdirSync(dir).sort().map((f) => npyRead(readFileSync(join(dir, f))).data);
}

const CASES = [
  // model, input shape for the check, extra equalize flags, whether the result computes the same function
  ['ch_ppocr_mobile_v2.0_cls_infer.onnx', [1, 3, 48, 192], ['--dim', 'p2o.DynamicDimension.1=48', '--dim', 'p2o.DynamicDimension.2=192'], true],
  // ReLU6 kept with scales bounded on the calibration data: exact there, not on other inputs.
  ['digits_cnn_bn.onnx', [1, 1, 32, 32], ['--relu6', 'bound'], false],
  ['squeezenet1.1_fp32.onnx', [1, 3, 224, 224], ['--cle-mode', 'iterate'], true],
];

for (const [file, shape, flags, exact] of CASES) {
  test(`equalize --out ${file}: onnxruntime-node runs the new model and reproduces the input model`, async (t) => {
    const model = realModels().find((m) => m.endsWith(`/${file}`));
    if (!model) return t.skip(`${file} is not available`);
    const out = join(tmp, file.replace('.onnx', '.eq.onnx'));
    const before = statSync(model).mtimeMs;
    const r = cliJson(['equalize', model, '--out', out, '--samples', '4', ...flags]);
    assert.equal(r.kind, 'equalize');
    assert.ok(r.steps.some((s) => s.kind === 'cle'));
    const cle = r.steps.find((s) => s.kind === 'cle');
    assert.ok(cle.sets.length > 0, 'something was equalized');
    assert.ok(r.verification.max_rel_dev <= 1e-5, `our fp32 check ${r.verification.max_rel_dev}`);
    const [a, b] = [await outputs(model, shape), await outputs(out, shape)];
    if (exact) {
      for (let i = 0; i < a.length; i++) assert.ok(relDev(a[i], b[i]) <= 1e-5, `onnxruntime: output ${i} moved ${relDev(a[i], b[i])}`);
    }
    // onnxruntime reproduces our engine on the new model (the oracle's tolerance).
    const c = ours(out, shape, file);
    for (let i = 0; i < b.length; i++) assert.ok(relDev(b[i], c[i]) <= 1e-4, `ours vs onnxruntime: output ${i} ${relDev(b[i], c[i])}`);
    assert.equal(statSync(model).mtimeMs, before, 'the input model is untouched');
  });
}

test('CLI and wasm give the same equalize report on PP-OCR cls', async () => {
  const model = realModels().find((m) => m.endsWith('/ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const cliReport = cliJson(['equalize', model, '--hba', '--hba-source', 'bn', '--samples', '2']);
  const qp = await wasm();
  const id = qp.load(readFileSync(model), { name: 'cls.onnx' });
  const w = qp.equalize(id, { hba: true, hba_source: 'bn' }, { samples: 2 });
  const cle = (r) => r.steps.find((s) => s.kind === 'cle');
  assert.deepEqual(cle(w.report).links, cle(cliReport).links);
  const hba = (r) => r.steps.find((s) => s.kind === 'hba').links.map((l) => [l.layers, l.applied, l.channels_absorbed]);
  assert.deepEqual(hba(w.report), hba(cliReport));
  // The result is a model of its own: it runs, and exports as an ONNX file onnxruntime loads.
  const e = qp.exportModel(w.id, 'qdq', { bits: 8 }, { samples: 2 });
  const s = await ort.InferenceSession.create(e.bytes);
  assert.equal(s.inputNames.length, 1);
  assert.equal(e.report.format, 'qdq');
  qp.unload(w.id);
  qp.unload(id);
});

test('the effect table on the labelled digits: bias correction shrinks the output shift; 8 bits beat 4', (t) => {
  const model = join(shared, 'models/trained/digits_cnn_bn.onnx');
  if (!existsSync(model)) return t.skip('../shared is not beside the checkout');
  const x = join(shared, 'models/trained/digits_cnn_test_x.npy');
  const y = join(shared, 'models/trained/digits_cnn_test_y.npy');
  const r = cliJson(['equalize', model, '--effect', '--data', x, '--labels', y, '--samples', '64']);
  const row = (v, b) => r.effect.rows.find((q) => q.variant === v && q.bits === b);
  for (const b of [8, 4]) {
    assert.ok(row('cle+hba+bc', b).mean_abs_shift_w < row('cle+hba', b).mean_abs_shift_w, `bits ${b}: BC shrinks the shift`);
    assert.ok(row('cle', b).fp32_dev <= 1e-5, 'CLE with the bound policy is exact on its calibration data');
  }
  assert.ok(row('none', 8).sqnr_w_db > row('none', 4).sqnr_w_db + 10);
  assert.ok(row('none', 8).accuracy_w > 0.9, `8-bit accuracy ${row('none', 8).accuracy_w}`);
});

test('bad input: the model is never overwritten, bad options and files are named', () => {
  const model = join(tmp, 'cls.onnx');
  copyFileSync(realModels().find((m) => m.endsWith('/ch_ppocr_mobile_v2.0_cls_infer.onnx')), model);
  const bytes = readFileSync(model);
  let r = cliRun(['equalize', model, '--out', model]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is the input model/);
  r = cliRun(['export', model, '--out', model, '--format', 'qdq']);
  assert.equal(r.status, 2);
  assert.deepEqual(readFileSync(model), bytes, 'the model file is unchanged');
  r = cliRun(['equalize', model, '--method', 'meller', '--data', join(tmp, 'missing')]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /--data .*missing/);
  r = cliRun(['export', model, '--out', join(tmp, 'x.onnx'), '--layer-bits', join(tmp, 'nope.json')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nope\.json/);
  r = cliRun(['biascorrect', join(tmp, 'absent.onnx')]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /absent\.onnx/);
});

test('a mixed-precision allocation from analyze --mixed exports as a QDQ model with those bits', async (t) => {
  const model = realModels().find((m) => m.endsWith('/digits_cnn.onnx'));
  if (!model) return t.skip('digits_cnn is not available');
  const a = join(tmp, 'analysis.json');
  writeFileSync(a, execFileSync(cli, ['analyze', model, '--mixed', '--samples', '4', '--quiet', '--json']));
  const front = JSON.parse(readFileSync(a, 'utf8')).mixed_precision.front;
  const pick = Math.min(5, front.length - 1);
  const out = join(tmp, 'mixed.qdq.onnx');
  const rep = cliJson(['export', model, '--out', out, '--format', 'qdq', '--layer-bits', `${a}#${pick}`, '--samples', '4']);
  assert.ok(Object.values(front[pick].bits).some((b) => b < 8), 'the chosen point lowers some layer below 8 bits');
  let checked = 0;
  for (const l of rep.layers) {
    if (l.skip) continue;
    assert.equal(l.bits, front[pick].bits[l.name] ?? 0, `bits of ${l.name}`);
    checked++;
  }
  assert.ok(checked > 0);
  const s = await ort.InferenceSession.create(out);
  const y = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input([1, 1, 32, 32], 3), [1, 1, 32, 32]) });
  assert.equal(y[s.outputNames[0]].data.length, 10);
});
