// The bad-input corpus through the CLI (exit 3 + message) and the wasm API (Error + message); nothing crashes.
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { test } from 'node:test';
import { basename, join } from 'path';
import { cliRun, realModels, root, wasm } from './common.mjs';

const dir = mkdtempSync(join(tmpdir(), 'qp_corpus_'));
const source = realModels().find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'));
execFileSync(join(root, 'build/tests/make_bad_corpus'), [source, join(dir, 'nested')]);
const corpus = JSON.parse(readFileSync(join(dir, 'nested/expected.json'), 'utf8'));
const qp = await wasm();

test('corpus is not empty', () => {
  assert.ok(corpus.cases.length >= 10);
  assert.ok(corpus.flips.length >= 50);
});

for (const c of corpus.cases) {
  test(`CLI refuses ${basename(c.file)} with the pinned message`, () => {
    for (const cmd of ['inspect', 'sweep']) {
      const r = cliRun([cmd, c.file]);
      assert.equal(r.status, 3, `exit ${r.status}, stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(c.expect), `stderr: ${r.stderr}\nexpected: ${c.expect}`);
      assert.ok(r.stderr.startsWith(`quantplay: cannot load '${c.file}': `), r.stderr);
    }
  });
  test(`wasm refuses ${basename(c.file)} with the pinned message`, () => {
    assert.throws(() => qp.load(readFileSync(c.file), { name: basename(c.file) }),
      (e) => e instanceof Error && e.message.includes(c.expect) || assert.fail(`got: ${e && e.message}`));
  });
}

test('bit flips: the CLI and wasm load or refuse, never crash, and wasm stays usable', () => {
  let refused = 0;
  for (const f of corpus.flips) {
    const r = cliRun(['sweep', f]);
    assert.ok(r.status === 0 || r.status === 3, `${f}: exit ${r.status} signal ${r.signal}\n${r.stderr}`);
    try {
      const id = qp.load(readFileSync(f));
      qp.sweep(id);
      qp.unload(id);
    } catch (e) {
      assert.ok(e instanceof Error && e.message.length > 0, `${f}: ${e}`);
      refused++;
    }
  }
  assert.ok(refused > 0);
  const id = qp.load(readFileSync(source));
  assert.ok(qp.sweep(id).layers.length > 0);
});

test('CLI usage errors exit 2 and name the option', () => {
  let r = cliRun(['sweep', source, '--bits', '8,1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bits\[1\]: 1 is outside 2\.\.16/);
  r = cliRun(['mixquant', source, '--qem', '0.5']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /qem\[0\]: 0\.500000 must be a finite number >= 1/);
  r = cliRun(['sweep', source, '--range', 'kl']);
  assert.equal(r.status, 2);
  r = cliRun(['nonsense']);
  assert.equal(r.status, 2);
  r = cliRun(['inspect', join(dir, 'does-not-exist.onnx')]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /cannot open .*does-not-exist\.onnx': No such file or directory/);
});

test('the passes, export and analysis APIs answer bad options with messages naming the field; wasm stays usable', () => {
  const model = realModels().find((m) => m.endsWith('/ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const id = qp.load(readFileSync(model), { name: basename(model) });
  const cases = [
    [() => qp.equalize(id, {}, { samples: 0 }), /calibration\.samples: expected a number in \[1, 100000\]/],
    [() => qp.equalize(id, { equalize: 'magic' }, {}), /options\.equalize: 'magic' is not one of dfq, meller, none/],
    [() => qp.equalize(id, { foo: 1 }, {}), /options\.foo: unknown option/],
    [() => qp.equalize(id, {}, { dims: { x: -1 } }), /calibration\.dims\.x/],
    [() => qp.effect(id, { bits: [1] }, { samples: 1 }), /options\.bits/],
    [() => qp.exportModel(id, 'qdq', { bits: 99 }, { samples: 1 }), /bits = 99 is outside/],
    [() => qp.exportModel(id, 'tflite', {}, {}), /export format 'tflite'/],
    [() => qp.exportModel(id, 'qdq', { layer_bits: { nope: 4 } }, { samples: 1 }), /'nope', which is not a quantizable layer/],
    [() => qp.analysisFix(id, {}), /run the analysis first/],
    [() => qp.layerDetail(id, 0), /run the analysis first/],
    [() => qp.analyze(id, { weight: { bits: 1 } }, { samples: 1 }), /options\.weight\.bits: 1 is outside 2\.\.16/],
    [() => qp.analyze(id, { overrides: { nope: { fp32: true } } }, { samples: 1 }), /'nope' is not a quantizable layer/],
    [() => qp.analyze(id, {}, { samples: 1, dims: { 'p2o.DynamicDimension.1': 100000, 'p2o.DynamicDimension.2': 100000 } }), /out of memory/],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
  // After an analysis: a layer index out of range or negative, bad detail options.
  qp.analyze(id, { quantize_activations: false, variants: false }, { samples: 1 });
  for (const [f, re] of [
    [() => qp.layerDetail(id, 9999), /layer index 9999 is out of range: the model has \d+ quantizable layers/],
    [() => qp.layerDetail(id, -1), /layer index -1 is negative/],
    [() => qp.layerDetail(id, 0, {}, { bins: 0 }), /detail\.bins: 0 is outside/],
  ]) assert.throws(f, re);
  assert.equal(qp.layerDetail(id, 0, {}, { output_snr: false }).layer.index, 0);
  assert.equal(qp.inspect(id).model.nodes, 471, 'the instance still answers');
  qp.unload(id);
});
