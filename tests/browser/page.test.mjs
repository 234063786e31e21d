// Browser test of the static site in dist/: real Chromium, real drops, and no request may leave 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');
const shots = join(root, 'test-output', 'browser');
const assets = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const DET = 'ch_PP-OCRv4_det_infer.onnx';
const CLS = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
const WAIT = { timeout: 20_000 };

let server = null;
let browser = null;

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill();
    await new Promise((resolve) => server.once('exit', resolve));
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const args = [join(root, 'scripts', 'serve.mjs'), dist, String(port)];
  server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 10_000);
    server.stdout.on('data', (d) => {
      out += d;
      if (out.includes('serving')) { clearTimeout(timer); resolve(); }
    });
    server.stderr.on('data', (d) => { out += d; });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${out}`)); });
  });
  return `http://127.0.0.1:${port}/`;
}

// The count the page must plot, from a separate wasm instance under node. dist/ holds the assembled snapshot of
// build-wasm/, which stays consistent even while another build rewrites build-wasm/.
async function analysedLayers(file) {
  const { createQuantplay } = await import(new URL('../../dist/quantplay.js', import.meta.url));
  const qp = await createQuantplay();
  const id = qp.load(await readFile(join(assets, file)), { name: file });
  const { layers } = qp.inspect(id);
  qp.unload(id);
  return layers.filter((l) => !l.skip).length;
}

// A real drop: a File in a DataTransfer, carried by the drag events a browser fires on the drop target.
async function drop(page, name, bytes) {
  await page.evaluate(({ name, b64 }) => {
    const bin = atob(b64);
    const u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([u8], name, { type: 'application/octet-stream' }));
    const target = document.getElementById('dropzone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, { name, b64: Buffer.from(bytes).toString('base64') });
}

// The file name check matters: right after a drop the page may still show the previous model as ready. An error
// ends the wait at once, and its message becomes the failure message.
async function readyWith(page, file) {
  await page.waitForFunction((f) => {
    const state = document.body.dataset.state;
    return state === 'error' || (state === 'ready' && window.quantplayState?.file === f);
  }, file, WAIT);
  const { state, error } = await page.evaluate(() => ({
    state: document.body.dataset.state,
    error: window.quantplayState.error,
  }));
  assert.equal(state, 'ready', `the page shows an error instead of ${file}: ${error}`);
}

function setQem(page, value) {
  return page.evaluate((v) => {
    const s = document.getElementById('qem');
    s.value = String(v);
    s.dispatchEvent(new Event('input', { bubbles: true }));
    s.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

const qemIs = (page, v) => page.waitForFunction(
  (q) => window.quantplayState.mixquant && window.quantplayState.mixquant.qem === q, v, WAIT);

// Deterministic "random" bytes, so the bad-file case is the same on every run.
function junk(n, seed = 7) {
  const u = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    u[i] = x & 255;
  }
  return u;
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];

const local = (u) => {
  const url = new URL(u);
  return url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1';
};

test('page: example model, drops, MixQuant slider, errors, no foreign requests', { timeout: 110_000 }, async (t) => {
  await stat(join(dist, 'index.html')).catch(() => {
    throw new Error('dist/ is missing: run bash scripts/assemble_site.sh');
  });
  await mkdir(shots, { recursive: true });
  const expectedDet = await analysedLayers(DET);
  const expectedCls = await analysedLayers(CLS);
  const base = await startServer();

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const foreign = [];
  const problems = [];
  // Context-wide, so requests from the worker count too. Foreign requests are recorded, then aborted so that none
  // actually leaves the machine.
  context.on('request', (req) => { if (!local(req.url())) foreign.push(req.url()); });
  await context.route('**/*', (route) => (local(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  await page.goto(base);

  // Steps build on each other: after a failure the rest are skipped rather than each waiting out its timeout.
  let failed = false;
  const step = (name, fn) => t.test(name, async (s) => {
    if (failed) return s.skip('an earlier step failed');
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  await step('the example model loads on the first visit', async () => {
    await readyWith(page, CLS);
    const s = await page.evaluate(() => window.quantplayState);
    assert.equal(s.layers, expectedCls);
    assert.equal(s.series, s.layers);
    assert.equal(s.error, null);
    assert.ok(s.mixquant && s.mixquant.bits.length === expectedCls, 'a MixQuant allocation for every layer');
    assert.equal(await page.locator('#layer-table tbody tr').count(), expectedCls);
    await page.screenshot({ path: join(shots, 'default.png'), fullPage: true });
  });

  await step('dropping a real model analyses it', async () => {
    await drop(page, DET, await readFile(join(assets, DET)));
    await readyWith(page, DET);
    const s = await page.evaluate(() => window.quantplayState);
    assert.equal(s.series, s.layers);
    assert.equal(s.layers, expectedDet);
    await assert.doesNotReject(page.locator('#summary-title', { hasText: DET }).waitFor(WAIT));
    await page.screenshot({ path: join(shots, 'det.png'), fullPage: true });
  });

  await step('moving the QEM slider changes the MixQuant allocation', async () => {
    await setQem(page, 1.5);
    await qemIs(page, 1.5);
    const low = await page.evaluate(() => window.quantplayState.mixquant);
    await setQem(page, 8);
    await qemIs(page, 8);
    const high = await page.evaluate(() => window.quantplayState.mixquant);
    assert.equal(high.bits.length, expectedDet);
    assert.ok(high.mean_bits !== low.mean_bits || high.bits.join() !== low.bits.join(), 'allocation changed');
    assert.ok(high.mean_bits <= low.mean_bits, 'a looser error budget never needs more bits');
    assert.match(await page.locator('#m-bits').innerText(), new RegExp(`^${high.mean_bits.toFixed(2)}$`));
  });

  await step('a bad file shows an error and a later good drop recovers', async () => {
    await drop(page, 'bad.onnx', junk(1000));
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, WAIT);
    const box = page.locator('#error');
    assert.ok(await box.isVisible(), 'the error box is visible');
    assert.match(await box.innerText(), /not an ONNX model/);
    assert.match(await page.evaluate(() => window.quantplayState.error), /not an ONNX model/);
    await page.screenshot({ path: join(shots, 'error.png') });

    await drop(page, CLS, await readFile(join(assets, CLS)));
    await readyWith(page, CLS);
    const s = await page.evaluate(() => window.quantplayState);
    assert.equal(s.error, null);
    assert.equal(s.layers, expectedCls);
    assert.equal(s.series, expectedCls);
    assert.ok(!(await box.isVisible()), 'the error box is gone');
  });

  await t.test('no foreign requests, console errors or page errors', () => {
    assert.deepEqual(foreign, [], 'every request stays on 127.0.0.1');
    assert.deepEqual(problems, []);
  });
});
