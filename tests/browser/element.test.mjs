// Browser test of the <quant-playground> element embedded in a page: several elements on different models, each
// with its own state, settings from attributes (and back), a bad src shown inside its element, off-screen elements
// idle, el.load(bytes), one compiled wasm module for all of them, and the full page's URL-hash round trip.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLS, WAIT, analysedLayers, assets, openBrowser, requireDist, shots, startServer, stepper } from './harness.mjs';

const REC = 'ch_PP-OCRv4_rec_infer.onnx';
let server = null;
let browser = null;

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

// Elements a, b, c fit in the first screen; d sits far below it.
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed test</title>
<script type="module" src="quant-playground.js"></script></head>
<body style="margin: 0 auto; max-width: 1200px; font: 14px sans-serif">
<div style="display: grid; grid-template-columns: 1fr 1fr; gap: 12px">
<quant-playground id="a" src="models/${CLS}" view="sweep" height="380" controls="granularity"></quant-playground>
<quant-playground id="b" src="models/${REC}" view="mixquant" height="380" qem="4" baseline="max"></quant-playground>
</div>
<quant-playground id="c" src="models/missing.onnx" view="sweep" height="160"></quant-playground>
<div style="height: 4000px"></div>
<quant-playground id="d" src="models/${CLS}?offscreen" view="sweep" height="300"></quant-playground>
</body></html>`;

const el = (page, id, fn, arg) => page.evaluate(({ id, src, arg }) => {
  const e = document.getElementById(id);
  // eslint-disable-next-line no-new-func
  return new Function('e', 'arg', `return (${src})(e, arg);`)(e, arg);
}, { id, src: fn.toString(), arg });

const stateOf = (page, id) => el(page, id, (e) => ({ state: e.dataset.state, ...(e.state || {}) }));
const readyOn = (page, id, file) => page.waitForFunction(({ id, file }) => {
  const e = document.getElementById(id);
  return e.dataset.state === 'ready' && e.state && e.state.file === file;
}, { id, file }, WAIT);

test('<quant-playground>: elements side by side, isolation, attributes, errors, off-screen, one wasm module',
  { timeout: 150_000 }, async (t) => {
    await requireDist();
    await mkdir(shots, { recursive: true });
    const layersCls = await analysedLayers(CLS);
    const layersRec = await analysedLayers(REC);
    server = await startServer();
    const b = await openBrowser();
    browser = b.browser;
    const { page, foreign, problems } = b;
    const requests = [];
    page.context().on('request', (r) => requests.push(r.url()));
    await page.route(`${server.base}embed.html`, (r) => r.fulfill({ body: PAGE, contentType: 'text/html' }));
    await page.goto(`${server.base}embed.html`);
    const step = stepper(t);

    await step('two elements on different models render, each with its own settings', async () => {
      await readyOn(page, 'a', CLS);
      await readyOn(page, 'b', REC);
      const a = await stateOf(page, 'a');
      const bb = await stateOf(page, 'b');
      assert.equal(a.layers, layersCls);
      assert.equal(a.series, layersCls);
      assert.equal(bb.layers, layersRec);
      // b's attributes reached its MixQuant call; a keeps the defaults.
      await page.waitForFunction(() => document.getElementById('b').state.mixquant?.qem === 4, null, WAIT);
      assert.equal((await stateOf(page, 'b')).mixquant.baseline, 'max');
      assert.equal((await stateOf(page, 'a')).mixquant.qem, 2);
      // Only the panels in `view` are shown.
      const shown = await el(page, 'a', (e) => [...e.shadowRoot.querySelectorAll('[data-view]')]
        .filter((s) => !s.hidden).map((s) => s.dataset.view));
      assert.deepEqual(shown, ['sweep', 'sweep mixquant']);
      const lines = await el(page, 'a', (e) => customElements.get('quant-playground').Chart
        .getChart(e.shadowRoot.getElementById('sqnr-chart')).data.datasets.length);
      assert.equal(lines, layersCls);
    });

    await step('a setting changed in one element re-sweeps it alone and is reflected in its attribute', async () => {
      const before = JSON.stringify((await stateOf(page, 'b')).mixquant);
      const meta = () => el(page, 'a', (e) => e.shadowRoot.getElementById('sweep-meta').textContent);
      assert.match(await meta(), /per tensor/);
      await page.locator('#a').locator('label:has(input[value=channel])').click();
      await page.waitForFunction(() => /per channel/.test(document.getElementById('a').shadowRoot
        .getElementById('sweep-meta').textContent) && document.getElementById('a').dataset.state === 'ready', null, WAIT);
      assert.equal(await el(page, 'a', (e) => e.getAttribute('granularity')), 'channel');
      assert.equal(JSON.stringify((await stateOf(page, 'b')).mixquant), before, 'b changed with a');
      // `controls` locks the settings it does not list.
      assert.deepEqual(await el(page, 'a', (e) => ['scheme', 'range', 'granularity'].map((n) => {
        const sel = { scheme: '#sweep-form [name=scheme]', range: '#range', granularity: '#sweep-form [name=granularity]' }[n];
        return e.shadowRoot.querySelector(sel).disabled;
      })), [true, true, false]);
    });

    await step('an attribute set from script drives the element', async () => {
      await el(page, 'b', (e) => e.setAttribute('qem', '8'));
      await page.waitForFunction(() => document.getElementById('b').state.mixquant?.qem === 8, null, WAIT);
      assert.equal(await el(page, 'b', (e) => e.shadowRoot.getElementById('qem').value), '8');
      assert.equal(await el(page, 'b', (e) => e.setting('qem')), '8');
      // A bad value names the setting and what it accepts, inside the element, and stays on show (a model load does
      // not clear it) until the setting gets a valid value; the element keeps working with the previous value.
      const settingsError = () => el(page, 'b', (e) => {
        const box = e.shadowRoot.querySelector('#settings-error');
        return box.hidden ? null : box.textContent;
      });
      await el(page, 'b', (e) => e.setAttribute('baseline', 'median'));
      assert.match(await settingsError(), /baseline="median": expected one of layer, model, max/);
      assert.equal(await el(page, 'b', (e) => e.setting('baseline')), 'max');
      // Off the control's grid: refused, not silently snapped by the browser (qem steps by 0.1).
      await el(page, 'b', (e) => e.setAttribute('qem', '2.55'));
      assert.match(await settingsError(), /qem="2\.55": expected a multiple of 0\.1 in \[1, 20\]/);
      assert.equal(await el(page, 'b', (e) => e.setting('qem')), '8');
      await el(page, 'b', (e) => { e.setAttribute('baseline', 'model'); e.setAttribute('qem', '8'); });
      assert.equal(await settingsError(), null);
      await page.waitForFunction(() => document.getElementById('b').state.mixquant?.baseline === 'model', null, WAIT);
      assert.equal((await stateOf(page, 'b')).state, 'ready');
    });

    await step('a bad src shows its error inside that element; the others keep working', async () => {
      await page.waitForFunction(() => document.getElementById('c').dataset.state === 'error', null, WAIT);
      const box = await el(page, 'c', (e) => ({
        shown: !e.shadowRoot.getElementById('error').hidden,
        text: e.shadowRoot.getElementById('error-message').textContent,
      }));
      assert.ok(box.shown);
      assert.match(box.text, /missing\.onnx/);
      assert.match(box.text, /404/);
      await page.locator('#a').locator('label:has(input[value=tensor])').click();
      await page.waitForFunction(() => /per tensor/.test(document.getElementById('a').shadowRoot
        .getElementById('sweep-meta').textContent) && document.getElementById('a').dataset.state === 'ready', null, WAIT);
    });

    await step('an element off screen does no work until it scrolls into view', async () => {
      const fetched = () => requests.filter((u) => u.includes('?offscreen')).length;
      assert.equal(fetched(), 0, 'the off-screen element fetched its model');
      assert.equal((await stateOf(page, 'd')).file, null);
      await page.locator('#d').scrollIntoViewIfNeeded();
      await readyOn(page, 'd', CLS);
      assert.equal(fetched(), 1);
    });

    await step('el.load(bytes) opens a model handed in from script', async () => {
      const bytes = [...await readFile(join(assets, CLS))];
      await page.evaluate((arr) => document.getElementById('d').load(new Uint8Array(arr), 'from-script.onnx'), bytes);
      await readyOn(page, 'd', 'from-script.onnx');
      const threw = await el(page, 'd', (e) => { try { e.load('nope'); return null; } catch (err) { return err.message; } });
      assert.match(threw, /bytes must be a Uint8Array or an ArrayBuffer/);
    });

    await step('an element removed in the middle of its work stops it, quietly; the others keep working', async () => {
      const before = problems.length;
      await el(page, 'd', (e) => {
        e.setAttribute('view', 'sweep analyze');
        e.setAttribute('samples', '256');
      });
      // The rebuilt element reopens the model last handed to load(), not its src.
      await readyOn(page, 'd', 'from-script.onnx');
      await el(page, 'd', (e) => e.shadowRoot.getElementById('an-button').click());
      await page.waitForFunction(() => document.getElementById('d').state.analysisProgressSeen > 0, null, WAIT);
      await el(page, 'd', (e) => e.remove());
      // The worker it shared is free again: another element's sweep completes at once.
      await page.locator('#a').locator('label:has(input[value=channel])').click();
      await page.waitForFunction(() => /per channel/.test(document.getElementById('a').shadowRoot
        .getElementById('sweep-meta').textContent) && document.getElementById('a').dataset.state === 'ready', null, WAIT);
      await page.waitForTimeout(500);
      assert.deepEqual(problems.slice(before), [], 'late replies of the removed element raised errors');
    });

    await step('a view change keeps a model handed in with load()', async () => {
      const bytes = [...await readFile(join(assets, CLS))];
      await page.evaluate((arr) => {
        const e = document.createElement('quant-playground');
        e.id = 'e';
        e.setAttribute('view', 'sweep');
        document.body.prepend(e);
        e.load(new Uint8Array(arr), 'given.onnx');
      }, bytes);
      await readyOn(page, 'e', 'given.onnx');
      await el(page, 'e', (e) => e.setAttribute('view', 'mixquant'));
      await readyOn(page, 'e', 'given.onnx');
      await el(page, 'e', (e) => e.remove());
    });

    await step('all elements share one compiled wasm module', async () => {
      const wasm = requests.filter((u) => u.endsWith('quantplay_wasm.wasm'));
      assert.equal(wasm.length, 1, `the wasm file was fetched ${wasm.length} times`);
      await page.locator('#a').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(shots, 'element-embed.png'), fullPage: false });
    });

    await step('the full page keeps its settings in the URL hash', async () => {
      await page.goto(`${server.base}#granularity=channel&qem=4`);
      await page.waitForFunction(() => window.quantplayState?.mixquant?.qem === 4, null, WAIT);
      const ctl = await page.evaluate(() => {
        const r = document.querySelector('quant-playground').shadowRoot;
        return [r.querySelector('#sweep-form [name=granularity]:checked').value, r.getElementById('qem').value];
      });
      assert.deepEqual(ctl, ['channel', '4']);
      await page.locator('quant-playground').locator('label:has(input[value=asym])').click();
      await page.waitForFunction(() => /scheme=asym/.test(location.hash), null, WAIT);
      const hash = await page.evaluate(() => location.hash);
      assert.match(hash, /granularity=channel/);
      assert.match(hash, /qem=4/);
      // The shared link reproduces the view.
      await page.goto('about:blank');
      await page.goto(`${server.base}${hash}`);
      await page.waitForFunction(() => window.quantplayState?.mixquant?.qem === 4
        && document.querySelector('quant-playground').dataset.state === 'ready', null, WAIT);
      const again = await page.evaluate(() => document.querySelector('quant-playground').shadowRoot
        .getElementById('sweep-meta').textContent);
      assert.match(again, /per channel, asym/);
      // Editing the hash by hand applies every setting in it (one sweep for all of them).
      const requestsBefore = requests.length;
      await page.evaluate(() => { location.hash = '#granularity=tensor&scheme=sym&qem=6'; });
      await page.waitForFunction(() => window.quantplayState?.mixquant?.qem === 6
        && /per tensor, sym/.test(document.querySelector('quant-playground').shadowRoot.getElementById('sweep-meta').textContent)
        && document.querySelector('quant-playground').dataset.state === 'ready', null, WAIT);
      assert.equal(await page.evaluate(() => document.querySelector('quant-playground').shadowRoot.getElementById('qem-value').textContent), '6.0');
      assert.equal(requests.slice(requestsBefore).filter((u) => u.endsWith('worker.js')).length, 0, 'the worker was restarted');
    });

    await step('no foreign requests, console errors or page errors', async () => {
      assert.deepEqual(foreign, []);
      // The one expected failure is the bad src's 404, which Chromium also logs to the console.
      assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
    });
  });
