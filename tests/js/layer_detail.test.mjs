// One layer in detail, natively (`quantplay analyze --layer`) and in wasm (`layerDetail`): the same histograms, the
// same clipping ranges and the same QE-vs-bits curve; a layer that does not exist is refused with its name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cliJson, cliRun, realModels, wasm } from './common.mjs';

const CLS = realModels().find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'));
const qp = await wasm();

test('native --layer and wasm layerDetail agree', () => {
  const n = cliJson(['analyze', CLS, '--samples', '2', '--no-variants', '--quiet', '--layer', 'p2o.Conv.13', '--layer', '3']);
  assert.equal(n.layer_details.length, 2);
  const id = qp.load(readFileSync(CLS), { name: 'cls.onnx' });
  qp.analyze(id, { variants: false }, { samples: 2, seed: 1 });
  for (const d of n.layer_details) {
    const w = qp.layerDetail(id, d.layer.index);
    assert.equal(w.layer.name, d.layer.name);
    // Weights: the same quantization on both platforms; only log10 may round its last bit differently.
    assert.deepEqual(w.weight.range, d.weight.range);
    assert.deepEqual(w.weight.histogram.counts, d.weight.histogram.counts);
    w.curve.w_sqnr.forEach((v, k) => assert.ok(Math.abs(v - d.curve.w_sqnr[k]) <= 1e-12 * Math.abs(v), `w_sqnr ${v} vs ${d.curve.w_sqnr[k]}`));
    // Activations and the output SNR go through fp32 runs (FMA natively, none in wasm): close, not bit-equal.
    w.act.grid.forEach((v, k) => assert.ok(Math.abs(v - d.act.grid[k]) <= 1e-5 * Math.max(1, Math.abs(v)), `act grid ${v} vs ${d.act.grid[k]}`));
    // Above ~80 dB the noise is at fp32 round-off level, where the two platforms legitimately differ.
    w.curve.out_snr.forEach((v, k) => {
      const u = d.curve.out_snr[k];
      assert.ok(Math.min(v, u) > 80 || Math.abs(v - u) < 0.05, `${d.layer.name} ${w.curve.bits[k]} bits: ${v} vs ${u} dB`);
    });
  }
  assert.equal(n.layer_details[0].layer.name, 'p2o.Conv.13');
  assert.equal(n.layer_details[1].layer.index, 3);
  qp.unload(id);
});

test('--layer names what it could not find', () => {
  const r = cliRun(['analyze', CLS, '--samples', '1', '--no-variants', '--quiet', '--layer', 'p2o.Conv.999']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--layer p2o\.Conv\.999: no quantizable layer of that name, and not an index below \d+/);
});
