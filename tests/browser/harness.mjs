// Shared by the browser tests: the site directory (QP_DIST, default dist/), a loopback server, Chromium with every
// non-local request recorded and aborted, real file drops, and the page's state waits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('../../', import.meta.url));
// Another site copy (e.g. a private build) can be tested without touching dist/.
export const dist = resolve(process.env.QP_DIST || join(root, 'dist'));
export const shots = join(root, 'test-output', 'browser');
export const assets = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');
export const DET = 'ch_PP-OCRv4_det_infer.onnx';
export const CLS = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
export const WAIT = { timeout: 20_000 };

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];

export async function requireDist() {
  await stat(join(dist, 'index.html')).catch(() => {
    throw new Error(`${dist} is missing: run bash scripts/assemble_site.sh (or point QP_DIST at a site copy)`);
  });
}

// A separate wasm instance under node, from the same site copy the browser loads.
export async function nodeEngine() {
  const { createQuantplay } = await import(pathToFileURL(join(dist, 'quantplay.js')).href);
  return createQuantplay();
}

// Layers the page must plot for `file` (from the npm assets).
export async function analysedLayers(file, bytes = null) {
  const qp = await nodeEngine();
  const id = qp.load(bytes || await readFile(join(assets, file)), { name: file });
  const { layers } = qp.inspect(id);
  qp.unload(id);
  return layers.filter((l) => !l.skip).length;
}

function freePort() {
  return new Promise((ok, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// Serves the site on 127.0.0.1; returns {base, stop}.
export async function startServer() {
  const port = await freePort();
  const server = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs'), dist, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((ok, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 10_000);
    server.stdout.on('data', (d) => {
      out += d;
      if (out.includes('serving')) { clearTimeout(timer); ok(); }
    });
    server.stderr.on('data', (d) => { out += d; });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${out}`)); });
  });
  const stop = async () => {
    if (server.exitCode !== null) return;
    server.kill();
    await new Promise((ok) => server.once('exit', ok));
  };
  return { base: `http://127.0.0.1:${port}/`, stop };
}

const local = (u) => {
  const url = new URL(u);
  return url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1';
};

// Chromium with a context-wide guard (worker requests count too): foreign requests are recorded, then aborted so
// that none actually leaves the machine. Console and page errors are collected in `problems`.
export async function openBrowser() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const foreign = [];
  const problems = [];
  context.on('request', (req) => { if (!local(req.url())) foreign.push(req.url()); });
  await context.route('**/*', (route) => (local(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { browser, page, foreign, problems };
}

// A real drop: a File in a DataTransfer, carried by the drag events a browser fires on the drop target.
export async function drop(page, name, bytes, { target = 'dropzone', type = 'application/octet-stream' } = {}) {
  await page.evaluate(({ name, b64, target, type }) => {
    const bin = atob(b64);
    const u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([u8], name, { type }));
    const el = document.querySelector('quant-playground').shadowRoot.getElementById(target);
    for (const t of ['dragenter', 'dragover', 'drop']) {
      el.dispatchEvent(new DragEvent(t, { bubbles: true, composed: true, cancelable: true, dataTransfer: dt }));
    }
  }, { name, b64: Buffer.from(bytes).toString('base64'), target, type });
}

// The file name check matters: right after a drop the page may still show the previous model as ready. An error
// ends the wait at once, and its message becomes the failure message.
export async function readyWith(page, file) {
  await page.waitForFunction((f) => {
    const state = document.querySelector('quant-playground').dataset.state;
    return state === 'error' || (state === 'ready' && window.quantplayState?.file === f);
  }, file, WAIT);
  const { state, error } = await page.evaluate(() => ({
    state: document.querySelector('quant-playground').dataset.state,
    error: window.quantplayState.error,
  }));
  assert.equal(state, 'ready', `the page shows an error instead of ${file}: ${error}`);
}

// Steps build on each other: after a failure the rest are skipped rather than each waiting out its timeout.
export function stepper(t) {
  let failed = false;
  return (name, fn) => t.test(name, async (s) => {
    if (failed) return s.skip('an earlier step failed');
    try {
      await fn(s);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

// Clicks `selector` and waits until window.quantplayState[counter] (a panel's count of finished attempts) moves;
// returns the page state.
export async function clickAndWait(page, selector, counter, wait = { timeout: 180_000 }) {
  const before = await page.evaluate((c) => window.quantplayState[c], counter);
  await page.locator(selector).click();
  await page.waitForFunction(({ c, n }) => window.quantplayState[c] > n, { c: counter, n: before }, wait);
  return page.evaluate(() => ({ ...window.quantplayState }));
}

// Chooses `words.length` small PNG images (a word each, drawn by the page) in the file input `inputId` of the
// playground, as a reader picking files would.
export async function chooseWordImages(page, inputId, words) {
  await page.evaluate(async ({ inputId, words }) => {
    const root = document.querySelector('quant-playground').shadowRoot;
    const dt = new DataTransfer();
    for (const [k, word] of words.entries()) {
      const c = new OffscreenCanvas(240, 60);
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, 240, 60);
      ctx.fillStyle = '#000';
      ctx.font = '40px sans-serif';
      ctx.fillText(word, 10 + 20 * k, 45);
      dt.items.add(new File([await c.convertToBlob({ type: 'image/png' })], `word${k}.png`, { type: 'image/png' }));
    }
    const input = root.getElementById(inputId);
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, { inputId, words });
}
