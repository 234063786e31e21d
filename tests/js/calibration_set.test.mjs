// Calibration data handed to the wasm API (setCalibration, what the page does with images) gives the same analysis as
// the native CLI reading the same tensors from .npy files; bad sets are refused with a message naming the problem.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliJson, realModels, seeded, wasm } from './common.mjs';
import { npyWrite } from './npy.mjs';

const CLS = realModels().find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'));
const qp = await wasm();

function samples(n, seed) {
  const rnd = seeded(seed);
  return Array.from({ length: n }, () => {
    const data = new Float32Array(3 * 48 * 192);
    for (let i = 0; i < data.length; i++) data[i] = 2 * rnd() - 1;
    return { x: { dtype: 'float32', shape: [1, 3, 48, 192], data } };
  });
}

test('an analysis on data set through the wasm API equals the CLI on the same .npy files', () => {
  const set = samples(3, 11);
  const dir = mkdtempSync(join(tmpdir(), 'qp_calset_'));
  set.forEach((s, k) => writeFileSync(join(dir, `s${k}.npy`), npyWrite(s.x)));
  const id = qp.load(readFileSync(CLS), { name: 'cls.onnx' });
  assert.equal(qp.setCalibration(id, set, { source: 'three test tensors' }), 3);
  // Weights only: the platforms' fp32 rounding (FMA natively, none in wasm) then moves no activation code; what is
  // left differs in the last bits of the fp32 reference, a few 1e-3 dB on the layers quantized to 60 dB.
  const opts = { weight: { bits: 6, granularity: 'tensor' }, quantize_activations: false };
  const w = qp.analyze(id, opts, { data: 'set' });
  const n = cliJson(['analyze', CLS, '--data', dir, '--w-bits', '6', '--w-granularity', 'tensor', '--no-activations']);
  assert.equal(w.data.samples, 3);
  assert.equal(w.data.source, 'three test tensors');
  assert.deepEqual(w.layers.name, n.layers.name);
  w.layers.snr_w.forEach((v, i) => assert.ok(Math.abs(v - n.layers.snr_w[i]) < 1e-2, `layer ${i}: ${v} vs ${n.layers.snr_w[i]}`));
  assert.ok(Math.abs(w.summary.snr_all - n.summary.snr_all) < 1e-2);
  // Other data gives another answer: the set is really what was analysed.
  const r = qp.analyze(id, opts, { samples: 3, seed: 1 });
  assert.notEqual(r.summary.snr_all, w.summary.snr_all);
  qp.unload(id);
});

test('named sets stay apart, and an equalized model inherits them for its exports', () => {
  const id = qp.load(readFileSync(CLS), { name: 'cls.onnx' });
  qp.setCalibration(id, samples(2, 21), { name: 'a' });
  qp.setCalibration(id, samples(2, 22), { name: 'b' });
  const opts = { weight: { bits: 6, granularity: 'tensor' }, quantize_activations: false, variants: false };
  const a = qp.analyze(id, opts, { data: 'set', name: 'a' }).summary.snr_all;
  const b = qp.analyze(id, opts, { data: 'set', name: 'b' }).summary.snr_all;
  assert.notEqual(a, b);
  assert.equal(qp.analyze(id, opts, { data: 'set', name: 'a' }).summary.snr_all, a, 'set b replaced set a');
  assert.throws(() => qp.analyze(id, opts, { data: 'set' }), /no calibration data was set/);
  assert.throws(() => qp.analyze(id, opts, { data: 'set', name: 'c' }), /no calibration data named 'c'/);
  // The same data through set 'a' and as .npy-equal random data gives the same QDQ activation ranges on the
  // equalized model as on a model set up by hand.
  const eq = qp.equalize(id, { equalize: 'dfq' }, { data: 'set', name: 'a' });
  const fromEq = JSON.parse(new TextDecoder().decode(qp.exportModel(eq.id, 'encodings', { bits: 8 }, { data: 'set', name: 'a' }).bytes));
  const again = qp.load(readFileSync(CLS), { name: 'cls.onnx' });
  const eq2 = qp.equalize(again, { equalize: 'dfq' }, { samples: 1 });
  qp.setCalibration(eq2.id, samples(2, 21), { name: 'a' });
  const byHand = JSON.parse(new TextDecoder().decode(qp.exportModel(eq2.id, 'encodings', { bits: 8 }, { data: 'set', name: 'a' }).bytes));
  assert.ok(Object.keys(fromEq.activation_encodings).length > 0);
  assert.deepEqual(fromEq.activation_encodings, byHand.activation_encodings);
  for (const m of [eq.id, eq2.id, id, again]) qp.unload(m);
});

test('bad calibration sets are refused with the reason', () => {
  const id = qp.load(readFileSync(CLS), { name: 'cls.onnx' });
  assert.throws(() => qp.analyze(id, {}, { data: 'set' }), /no calibration data was set for this model/);
  assert.throws(() => qp.analyze(id, {}, { data: 'images' }), /calibration\.data: only "set"/);
  assert.throws(() => qp.setCalibration(id, samples(1, 3), { name: 7 }), /info\.source and info\.name must be strings/);
  const bad = samples(1, 3);
  assert.throws(() => qp.setCalibration(id, [{ y: bad[0].x }]), /the model has no input 'y'/);
  assert.throws(() => qp.setCalibration(id, [{ x: { ...bad[0].x, shape: [1, 3, 48, 100] } }]), /bytes of data, expected/);
  assert.throws(() => qp.setCalibration(id, [{}]), /sample 0 lacks the model input 'x'/);
  assert.throws(() => qp.setCalibration(id, []), /expected 1 to 100000 samples, got 0/);
  // The instance keeps answering after the refusals.
  assert.equal(qp.setCalibration(id, samples(2, 4)), 2);
  assert.equal(qp.analyze(id, { quantize_activations: false }, { data: 'set' }).data.samples, 2);
  qp.unload(id);
});
