// Browser test of the Run panel: random and image inputs on the example model, errors in the panel, cancelling,
// and a model with an op the engine does not know (named with its node, while the weight analysis still works).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLS, WAIT, analysedLayers, assets, drop, nodeEngine, openBrowser, readyWith, requireDist, root, shots, startServer,
  stepper,
} from './harness.mjs';
import { npyRead } from '../js/npy.mjs';

const RUN_WAIT = { timeout: 60_000 };
const UNKNOWN = 'cls_unknown_op.onnx';
// The project's real-model folder (not in a fresh clone: the step that needs it skips without it).
const sharedModels = join(root, '..', 'shared', 'models');
const SQUEEZENET = 'squeezenet1.1_fp32.onnx';
const REC = 'ch_PP-OCRv4_rec_infer.onnx';

let server = null;
let browser = null;
let tmp = null;

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// The example model with its Softmax node's op type renamed to "Unknown", written by ONNX's own Python package
// (python3-onnx, which scripts/setup.sh installs). Returns the bytes and the node's name, which the panel must show.
async function withUnknownOp() {
  tmp = await mkdtemp(join(tmpdir(), 'qp_run_'));
  const out = join(tmp, UNKNOWN);
  const script = new URL('./make_unknown_op.py', import.meta.url).pathname;
  const node = execFileSync('/usr/bin/python3', [script, join(assets, CLS), out]).toString().trim();
  return { bytes: await readFile(out), node };
}

// The ops the engine cannot run in `bytes` (inspect's unsupported ops), or null when it runs them all.
async function blockedOps(bytes, name) {
  const qp = await nodeEngine();
  const id = qp.load(bytes, { name });
  const ops = qp.inspect(id).model.unsupported_ops;
  qp.unload(id);
  return ops.length ? ops : null;
}

const runState = (page) => page.evaluate(() => ({
  state: document.querySelector('quant-playground').dataset.run,
  page: document.querySelector('quant-playground').dataset.state,
  ...window.quantplayState,
}));

// Clicks Run and waits until that attempt ended; returns the page's run state.
async function runOnce(page) {
  const before = (await runState(page)).runsFinished;
  await page.locator('#run-button').click();
  await page.waitForFunction((n) => window.quantplayState.runsFinished > n, before, RUN_WAIT);
  return runState(page);
}

function setField(page, id, value) {
  return page.evaluate(({ id, value }) => {
    const el = document.querySelector('quant-playground').shadowRoot.getElementById(id);
    el.value = String(value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, { id, value });
}

// A PNG drawn in the page (dark text on white, upright or turned by 180°), dropped on the panel's image zone.
function dropTextImage(page, { text, rotate = false, name, width = 480 }) {
  return page.evaluate(async ({ text, rotate, name, width }) => {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = 120;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    if (rotate) {
      ctx.translate(c.width, c.height);
      ctx.rotate(Math.PI);
    }
    ctx.fillStyle = '#111';
    ctx.font = 'bold 64px sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, 16, c.height / 2);
    const blob = await new Promise((ok) => c.toBlob(ok, 'image/png'));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type: 'image/png' }));
    const zone = document.querySelector('quant-playground').shadowRoot.getElementById('run-image-zone');
    for (const t of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(t, { bubbles: true, composed: true, cancelable: true, dataTransfer: dt }));
    }
  }, { text, rotate, name, width });
}

// The refcase's input and onnxruntime's output, read with ONNX's own reader (tests/js/refcase_to_npy.py).
async function refcase(name) {
  const out = join(tmp, 'refcases');
  const script = join(root, 'tests', 'js', 'refcase_to_npy.py');
  const index = JSON.parse(execFileSync('/usr/bin/python3', [script, join(sharedModels, 'refcases'), out], { maxBuffer: 64 << 20 }).toString());
  const c = index[name];
  return { input: npyRead(await readFile(c.inputs[0].path)), output: npyRead(await readFile(c.outputs[0].path)) };
}

// An [1,3,H,W] tensor of whole numbers 0..255 in channel order `order` (e.g. BGR) as a PNG, dropped on the page.
async function dropTensorImage(page, t, order, name) {
  const [, , hh, ww] = t.shape;
  const rgba = new Uint8ClampedArray(4 * hh * ww);
  for (let i = 0; i < hh * ww; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + 'RGB'.indexOf(order[c])] = t.data[c * hh * ww + i];
    rgba[4 * i + 3] = 255;
  }
  await page.evaluate(async ({ b64, name, hh, ww }) => {
    const bin = atob(b64);
    const px = new Uint8ClampedArray(bin.length);
    for (let i = 0; i < bin.length; i++) px[i] = bin.charCodeAt(i);
    const c = document.createElement('canvas');
    c.width = ww;
    c.height = hh;
    c.getContext('2d').putImageData(new ImageData(px, ww, hh), 0, 0);
    const blob = await new Promise((ok) => c.toBlob(ok, 'image/png'));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type: 'image/png' }));
    const zone = document.querySelector('quant-playground').shadowRoot.getElementById('run-image-zone');
    for (const ty of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(ty, { bubbles: true, composed: true, cancelable: true, dataTransfer: dt }));
    }
  }, { b64: Buffer.from(rgba.buffer).toString('base64'), name, hh, ww });
}

const cellTexts = (page, sel) => page.locator(sel).evaluateAll((els) => els.map((e) => e.textContent.trim()));
const num = (s) => Number(s.replace('−', '-'));

test('run panel: random and image inputs, errors, cancel, unsupported ops, no foreign requests', { timeout: 240_000 }, async (t) => {
  await requireDist();
  await mkdir(shots, { recursive: true });
  const clsBytes = await readFile(join(assets, CLS));
  const { bytes: unknownBytes, node: unknownNode } = await withUnknownOp();
  const expectedCls = await analysedLayers(CLS);
  assert.equal(await blockedOps(clsBytes, CLS), null, `the engine runs ${CLS}`);
  const unknownBlocked = await blockedOps(unknownBytes, UNKNOWN);

  server = await startServer();
  const b = await openBrowser();
  browser = b.browser;
  const { page, foreign, problems } = b;
  await page.goto(server.base);
  const step = stepper(t);

  await step('the example model loads and the Run panel agrees with the engine', async () => {
    await readyWith(page, CLS);
    const s = await runState(page);
    assert.equal(s.state, 'idle');
    assert.ok(await page.locator('#run-button').isEnabled());
    assert.ok(await page.locator('#run-unsupported').isHidden());
    // The file name picked the preset and its built-in labels.
    assert.equal(await page.locator('#run-preset').inputValue(), 'ppocr-cls');
    assert.match(await page.locator('#run-labels-info').innerText(), /0°, 180°/);
  });

  await step('random input: the output is [1, 2] and its probabilities sum to 1', async () => {
    await setField(page, 'run-seed', 7);
    await setField(page, 'run-repeat', 3);
    const r = await runOnce(page);
    assert.equal(r.state, 'done', `run failed: ${r.runError}`);
    assert.equal(r.page, 'ready', 'the page itself stays ready');
    const rep = r.run;
    assert.equal(rep.kind, 'run');
    assert.deepEqual(rep.inputs.map((i) => i.shape), [[1, 3, 48, 192]]);
    assert.equal(rep.outputs.length, 1);
    const o = rep.outputs[0];
    assert.deepEqual(o.shape, [1, 2]);
    assert.ok(Math.abs(o.mean * o.count - 1) < 1e-4, `probabilities sum to ${o.mean * o.count}`);
    assert.ok(o.min >= 0 && o.max <= 1);
    assert.equal(rep.time_ms.runs.length, 3);
    assert.ok(rep.time_ms.median > 0 && rep.gflop > 0 && rep.memory.weight_bytes > 0);
    // What the table shows.
    const row = await cellTexts(page, '#run-outputs tbody tr:first-child td');
    assert.equal(row[2], '[1, 2]');
    assert.ok(Math.abs(num(row[7]) - 1) < 1e-3, `the Sum cell reads ${row[7]}`);
    assert.equal(row[8], '0 / 0');
    const labels = await cellTexts(page, '#run-top5 td.label');
    assert.deepEqual([...labels].sort(), ['0°', '180°']);
    for (const id of ['r-median', 'r-first', 'r-gflop', 'r-gflops', 'r-weights', 'r-pool']) {
      assert.notEqual(await page.locator(`#${id}`).innerText(), '—', `#${id} is filled in`);
    }
    await page.locator('#run-panel').screenshot({ path: join(shots, 'run-random.png') });
  });

  await step('image input: a text picture gives a top-5 with the built-in labels', async () => {
    await dropTextImage(page, { text: 'Quantplay', name: 'text-upright.png' });
    await page.locator('#run-preview').waitFor({ state: 'visible', ...WAIT });
    assert.equal(await page.locator('input[name=source][value=image]').isChecked(), true, 'the drop switched to image input');
    // The cls preset keeps the aspect ratio: 480×120 -> 192×48 exactly.
    assert.deepEqual(await page.locator('#run-preview').evaluate((c) => [c.width, c.height]), [192, 48]);
    await setField(page, 'run-repeat', 1);
    const up = await runOnce(page);
    assert.equal(up.state, 'done', `run failed: ${up.runError}`);
    assert.deepEqual(up.run.inputs[0].shape, [1, 3, 48, 192]);
    const top = up.run.outputs[0].top5;
    assert.deepEqual(top.map((e) => e.label).sort(), ['0°', '180°']);
    assert.match(await page.locator('#run-top5').innerText(), /0°[\s\S]*180°|180°[\s\S]*0°/);
    assert.match(await page.locator('#run-inputs').innerText(), /text-upright\.png/);
    await page.screenshot({ path: join(shots, 'run-image.png'), fullPage: true });
    await page.locator('#run-panel').screenshot({ path: join(shots, 'run-image-panel.png') });
    // Upright text reads as 0°, the same picture turned over as 180°: the channels, scale and layout are right.
    assert.equal(top[0].label, '0°', `upright text: ${JSON.stringify(top)}`);
    await dropTextImage(page, { text: 'Quantplay', name: 'text-turned.png', rotate: true });
    await page.waitForFunction(() => document.querySelector('quant-playground').shadowRoot.getElementById('run-image-name').textContent.includes('text-turned.png'), null, WAIT);
    const down = await runOnce(page);
    assert.equal(down.state, 'done', `run failed: ${down.runError}`);
    assert.equal(down.run.outputs[0].top5[0].label, '180°', `turned text: ${JSON.stringify(down.run.outputs[0].top5)}`);
  });

  await step('a bad setting is reported in the panel, and the next run works', async () => {
    await setField(page, 'run-scale', 'one/255');
    assert.equal(await page.locator('#run-preset').inputValue(), 'custom', 'editing a field leaves the preset');
    const r = await runOnce(page);
    assert.equal(r.state, 'error');
    assert.match(r.runError, /^scale: 'one\/255' is not a number/);
    assert.ok(await page.locator('#run-error').isVisible());
    assert.match(await page.locator('#run-error-message').innerText(), /scale/);
    assert.equal(r.page, 'ready', 'a run error is the panel\'s, not the page\'s');
    assert.ok(await page.locator('#error').isHidden());
    await page.locator('#run-panel').screenshot({ path: join(shots, 'run-error.png') });
    await page.selectOption('#run-preset', 'ppocr-cls');
    const ok = await runOnce(page);
    assert.equal(ok.state, 'done', `run failed: ${ok.runError}`);
    assert.ok(await page.locator('#run-error').isHidden());
  });

  await step('a long run can be cancelled and the worker serves the next one', async () => {
    await page.locator('input[name=source][value=random]').check();
    await setField(page, 'run-repeat', 1000);
    const before = (await runState(page)).runsFinished;
    await page.locator('#run-button').click();
    await page.locator('#run-cancel').waitFor({ state: 'visible', ...WAIT });
    await page.waitForTimeout(300);
    await page.locator('#run-cancel').click();
    await page.waitForFunction((n) => window.quantplayState.runsFinished > n, before, WAIT);
    const r = await runState(page);
    assert.equal(r.state, 'cancelled');
    assert.ok(await page.locator('#run-cancel').isHidden());
    await setField(page, 'run-repeat', 1);
    const again = await runOnce(page);
    assert.equal(again.state, 'done', `run after cancel failed: ${again.runError}`);
    assert.equal(again.page, 'ready');
  });

  await step('PP-OCRv4 rec with its character list reads a line of text', async () => {
    const model = await readFile(join(assets, REC));
    assert.equal(await blockedOps(model, REC), null, `the engine runs ${REC}`);
    await drop(page, REC, model);
    await readyWith(page, REC);
    assert.equal(await page.locator('#run-preset').inputValue(), 'ppocr-rec');
    await drop(page, 'ppocr_keys_v1.txt', await readFile(join(assets, 'ppocr_keys_v1.txt')), { type: 'text/plain' });
    await page.waitForFunction(() => /6,623 classes/.test(document.querySelector('quant-playground').shadowRoot.getElementById('run-labels-info').textContent), null, WAIT);
    await dropTextImage(page, { text: 'Quantization 2024', name: 'line.png', width: 760 });
    await page.waitForFunction(() => document.querySelector('quant-playground').shadowRoot.getElementById('run-image-name').textContent.includes('line.png'), null, WAIT);
    await setField(page, 'run-repeat', 1);
    const r = await runOnce(page);
    assert.equal(r.state, 'done', `run failed: ${r.runError}`);
    // Height 48, the width the aspect ratio gives (ceil(48 · 760/120) = 304), padded to the preset's 320.
    assert.deepEqual(r.run.inputs[0].shape, [1, 3, 48, 320]);
    const o = r.run.outputs[0];
    assert.deepEqual(o.shape, [1, 40, 6625]);
    assert.match(o.text, /quantization\s*2024/i, `read ${JSON.stringify(o.text)}`);
    assert.match(await page.locator('#run-text .ctc-text').innerText(), /Quantization/i);
    assert.equal(await page.locator('#run-maps canvas').count(), 0, 'a [1, T, classes] output is not drawn as an image');
    await page.locator('#run-panel').screenshot({ path: join(shots, 'run-rec.png') });
  });

  await step('SqueezeNet on a refcase photo: BGR 0..255 input reproduces onnxruntime, top-5 from a label file', async (s) => {
    const modelPath = join(sharedModels, 'imagenet', SQUEEZENET);
    if (!existsSync(join(sharedModels, 'refcases', 'squeezenet_chelsea'))) return s.skip(`no ${sharedModels}`);
    const model = await readFile(modelPath);
    assert.equal(await blockedOps(model, SQUEEZENET), null, `the engine runs ${SQUEEZENET}`);
    const ref = await refcase('squeezenet_chelsea');
    assert.ok(ref.input.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255), 'the refcase input is whole pixel values');
    await drop(page, SQUEEZENET, model);
    await readyWith(page, SQUEEZENET);
    assert.equal(await page.locator('#run-preset').inputValue(), 'squeezenet');
    assert.equal(await page.locator('#run-channels').inputValue(), 'BGR');
    const labelsFile = join(sharedModels, 'imagenet', 'imagenet_labels_synset.txt');
    await drop(page, 'imagenet_labels_synset.txt', await readFile(labelsFile), { type: 'text/plain' });
    await page.waitForFunction(() => /1,000 classes/.test(document.querySelector('quant-playground').shadowRoot.getElementById('run-labels-info').textContent), null, WAIT);
    await dropTensorImage(page, ref.input, 'BGR', 'chelsea.png');
    await page.waitForFunction(() => document.querySelector('quant-playground').shadowRoot.getElementById('run-image-name').textContent.includes('chelsea.png'), null, WAIT);
    // The picture is already 224×224: the preset's 256-then-crop would resample it, a plain resize does not.
    await page.selectOption('#run-fit', 'stretch');
    await setField(page, 'run-repeat', 1);
    const r = await runOnce(page);
    assert.equal(r.state, 'done', `run failed: ${r.runError}`);
    const o = r.run.outputs[0];
    assert.deepEqual(o.shape, [1, 1000, 1, 1]);
    const want = Array.from(ref.output.data.keys()).sort((a, b) => ref.output.data[b] - ref.output.data[a]).slice(0, 5);
    assert.deepEqual(o.top5.map((e) => e.index), want);
    for (const e of o.top5) assert.ok(Math.abs(e.value - ref.output.data[e.index]) < 1e-4, `class ${e.index}: ${e.value} vs ${ref.output.data[e.index]}`);
    assert.match(o.top5[0].label, /Egyptian cat/);
    assert.match(await page.locator('#run-top5').innerText(), /Egyptian cat/);
    await page.locator('#run-panel').screenshot({ path: join(shots, 'run-squeezenet.png') });
  });

  await step('a model with an unknown op: the panel names op and node, the weight analysis still works', async () => {
    await drop(page, UNKNOWN, unknownBytes);
    await readyWith(page, UNKNOWN);
    const s = await runState(page);
    // The sweep and MixQuant ran on every layer, as for the unmodified model.
    assert.equal(s.layers, expectedCls);
    assert.equal(s.series, expectedCls);
    assert.ok(s.mixquant && s.mixquant.bits.length === expectedCls);
    assert.equal(s.state, 'unsupported');
    assert.equal(s.run, null, 'the previous model\'s report is gone');
    assert.ok(await page.locator('#run-button').isDisabled());
    const box = page.locator('#run-unsupported');
    assert.ok(await box.isVisible());
    const ops = await box.locator('li').evaluateAll((els) => els.map((e) => ({
      op: e.querySelector('code.op').textContent, nodes: e.querySelector('.nodes')?.textContent,
    })));
    const unknown = ops.find((o) => o.op === 'Unknown');
    assert.ok(unknown, `the panel lists Unknown: ${JSON.stringify(ops)}`);
    assert.equal(unknownNode, 'p2o.Softmax.0');
    assert.equal(unknown.nodes, unknownNode);
    assert.equal(ops.length, unknownBlocked.length, 'one line per unsupported op');
    assert.match(await box.innerText(), /weight analysis .* works/);
    await page.screenshot({ path: join(shots, 'run-unsupported.png'), fullPage: true });
  });

  await t.test('no foreign requests, console errors or page errors', () => {
    assert.deepEqual(foreign, [], 'every request stays on 127.0.0.1');
    assert.deepEqual(problems, []);
  });
});
