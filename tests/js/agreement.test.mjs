// The native CLI and the wasm module give the same inspect, sweep and MixQuant results on every real model.
import assert from 'node:assert/strict';
import { readFileSync } from 'fs';
import { test } from 'node:test';
import { basename } from 'path';
import { cliJson, realModels, wasm } from './common.mjs';

const qp = await wasm();

function close(a, b, rel, what) {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-30), `${what}: native ${a} vs wasm ${b}`);
}

function compareSweep(n, w, name) {
  assert.equal(n.layers.length, w.layers.length);
  n.layers.forEach((ln, i) => {
    const lw = w.layers[i];
    assert.equal(ln.name, lw.name);
    assert.deepEqual(ln.flags, lw.flags);
    assert.equal(ln.results.length, lw.results.length);
    ln.results.forEach((rn, k) => {
      const rw = lw.results[k];
      const what = `${name} ${ln.name} ${rn.bits} bits`;
      close(rn.qe, rw.qe, 1e-5, `${what} qe`);
      // dB differences are absolute (SQNR can be near 0): float sums in another order differ by ~1e-7 relative.
      if (rn.sqnr_db === null || rw.sqnr_db === null) assert.equal(rn.sqnr_db, rw.sqnr_db);
      else assert.ok(Math.abs(rn.sqnr_db - rw.sqnr_db) < 1e-5, `${what} sqnr: native ${rn.sqnr_db} vs wasm ${rw.sqnr_db}`);
      close(rn.max_abs_err, rw.max_abs_err, 1e-6, `${what} max_abs_err`);
      assert.equal(rn.clipped_frac, rw.clipped_frac, `${what} clipped`);
    });
  });
}

for (const model of realModels()) {
  test(`native and wasm agree: ${basename(model)}`, () => {
    const id = qp.load(readFileSync(model), { name: basename(model) });
    try {
      const ni = cliJson(['inspect', model]);
      const wi = qp.inspect(id);
      assert.deepEqual(wi, ni);
      for (const opts of [[], ['--granularity', 'channel', '--scheme', 'asym'], ['--range', 'mse', '--bits', '8,4']]) {
        const n = cliJson(['sweep', model, ...opts]);
        const w = qp.sweep(id, n.options);
        assert.deepEqual(w.options, n.options);
        compareSweep(n, w, `${basename(model)} ${opts.join(' ')}`);
      }
      const n = cliJson(['mixquant', model, '--qem', '1.5,4,20', '--baseline', 'all']);
      const w = qp.mixquant(id, { qem: [1.5, 4, 20], baseline: ['layer', 'model', 'max'] });
      assert.equal(w.configs.length, 9);
      w.configs.forEach((c, i) => {
        assert.deepEqual(c.bits, n.configs[i].bits);
        close(c.weight_bytes, n.configs[i].weight_bytes, 1e-12, 'weight_bytes');
        assert.ok(Math.abs(c.weight_sqnr_db - n.configs[i].weight_sqnr_db) < 1e-5, 'weight_sqnr_db');
      });
    } finally {
      qp.unload(id);
    }
  });
}
