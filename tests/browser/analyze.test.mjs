// Browser test of the Analysis panel on the example model (PP-OCR cls): the analysis with progress gives the same
// numbers as a separate wasm instance, its four charts are drawn, cancel stops it and leaves the page usable, the
// single-layer fix and mixed precision fill their views, and nothing leaves the origin.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseWordImages, clickAndWait as waitedClick, CLS, DET, assets, drop, nodeEngine, openBrowser, readyWith, requireDist, shots, startServer, stepper } from './harness.mjs';

const AN_WAIT = { timeout: 180_000 };

let server = null;
let b = null;

after(async () => {
  if (b) await b.browser.close().catch(() => {});
  if (server) await server.stop();
});

const anState = (page) => page.evaluate(() => ({ state: document.querySelector('quant-playground').dataset.analysis, ...window.quantplayState }));

const clickAndWait = (page, selector) => waitedClick(page, selector, 'analysisFinished', AN_WAIT);

// Starts an analysis of `samples` samples, cancels it once progress shows, and waits for the page to be ready again.
async function analyseAndCancel(page, samples) {
  await page.fill('#an-samples', String(samples));
  const before = (await anState(page)).analysisFinished;
  await page.locator('#an-button').click();
  await page.waitForFunction(() => document.querySelector('quant-playground').shadowRoot.getElementById('an-progress-bar').value > 0, null, AN_WAIT);
  await page.locator('#an-cancel').click();
  await page.waitForFunction((n) => window.quantplayState.analysisFinished > n, before, AN_WAIT);
  assert.equal((await anState(page)).analysisState, 'cancelled');
  await page.waitForFunction(() => document.querySelector('quant-playground').dataset.state === 'ready', null, AN_WAIT);
}

test('the Analysis panel analyses, cancels, fixes and searches mixed precision', { timeout: 600_000 }, async (t) => {
  await requireDist();
  const step = stepper(t);
  server = await startServer();
  b = await openBrowser();
  const { page, foreign, problems } = b;
  await page.goto(server.base);
  await readyWith(page, CLS);

  await step('Analyze reports every layer, with the same numbers as the wasm API', async () => {
    await page.fill('#an-samples', '2');
    const s = await clickAndWait(page, '#an-button');
    assert.equal(s.analysisState, 'done', s.analysisError);
    assert.ok(s.analysisProgressSeen > 0, 'progress reached the page');
    assert.ok(await page.locator('#an-progress').isHidden(), 'the progress bar is hidden when done');
    const qp = await nodeEngine();
    const id = qp.load(await readFile(join(assets, CLS)), { name: CLS });
    const ref = qp.analyze(id, { weight: { bits: 8, granularity: 'channel', range: 'minmax' }, act: { bits: 8, range: 'minmax' } },
      { samples: 2, seed: 1 });
    assert.deepEqual(s.analysis.layers.name, ref.layers.name);
    assert.equal(s.analysis.summary.snr_all, ref.summary.snr_all);
    assert.deepEqual(s.analysis.layers.snr_wa, ref.layers.snr_wa);
    const plotted = ref.layers.skipped.filter((x) => x == null).length;
    const counts = await page.evaluate(() => ['an-snr', 'an-share', 'an-scatter', 'an-cumulative'].map((id) => {
      const c = customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById(id));
      return c ? c.data.datasets[0].data.length : -1;
    }));
    assert.deepEqual(counts, [plotted, plotted, plotted, plotted]);
    // The 10 dB line is drawn on the SNR chart.
    const line = await page.evaluate(() => customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById('an-snr')).data.datasets[3].data[0]);
    assert.equal(line, 10);
    await page.screenshot({ path: join(shots, 'analysis-cls.png'), fullPage: true });
  });

  await step('clicking a layer shows it; a what-if keeps it in float32 and matches the wasm API', async () => {
    await page.locator('#an-snr').scrollIntoViewIfNeeded();
    const pt = await page.evaluate(() => {
      const c = customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById('an-snr'));
      const el = c.getDatasetMeta(2).data[0];
      const r = c.canvas.getBoundingClientRect();
      return { x: r.left + el.x, y: r.top + (el.y + el.base) / 2 };
    });
    await page.mouse.click(pt.x, pt.y);
    const first = (await anState(page)).analysis.layers.name[0];
    assert.equal((await anState(page)).analysisSelected, first);
    assert.ok(await page.locator('#an-layer').isVisible());
    assert.ok((await page.locator('#an-layer-name').textContent()).startsWith(first));
    // Its histograms with the clipping ranges and its QE-vs-bits curve: the wasm API's numbers, drawn.
    await page.waitForFunction((f) => window.quantplayState.analysisDetail?.layer.name === f, first, AN_WAIT);
    const d = (await anState(page)).analysisDetail;
    {
      const qp = await nodeEngine();
      const id = qp.load(await readFile(join(assets, CLS)), { name: CLS });
      qp.analyze(id, { weight: { bits: 8, granularity: 'channel', range: 'minmax' }, act: { bits: 8, range: 'minmax' } }, { samples: 2, seed: 1 });
      const ref = qp.layerDetail(id, 0);
      assert.deepEqual(d.weight.range, ref.weight.range);
      assert.deepEqual(d.act.grid, ref.act.grid);
      assert.deepEqual(d.curve.out_snr, ref.curve.out_snr);
      assert.deepEqual(d.weight.histogram.counts, ref.weight.histogram.counts);
    }
    const drawn = await page.evaluate(() => ['an-whist', 'an-ahist', 'an-curve'].map((id) => {
      const c = customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById(id));
      return c ? c.data.datasets.map((ds) => ds.data.length) : null;
    }));
    assert.deepEqual(drawn[0], [d.weight.histogram.edges.length, 2, 2], 'weight histogram + the two range lines');
    assert.deepEqual(drawn[1], [d.act.histogram.edges.length, 2, 2], 'activation histogram + the two range lines');
    assert.equal(drawn[2][2], d.curve.bits.length, 'output SNR at every width');
    await page.locator('#an-detail').screenshot({ path: join(shots, 'analysis-layer-detail.png') });
    const s = await clickAndWait(page, '#an-whatif-fp32');
    assert.equal(s.analysisState, 'done', s.analysisError);
    assert.deepEqual(Object.keys(s.analysisOverrides), [first]);
    assert.equal(s.analysis.layers.skipped[0], 'kept in float32');
    const qp = await nodeEngine();
    const id = qp.load(await readFile(join(assets, CLS)), { name: CLS });
    const ref = qp.analyze(id, { weight: { bits: 8, granularity: 'channel', range: 'minmax' }, act: { bits: 8, range: 'minmax' },
      overrides: { [first]: { fp32: true } } }, { samples: 2, seed: 1 });
    assert.equal(s.analysis.summary.snr_all, ref.summary.snr_all);
    assert.match(await page.locator('#an-whatif').textContent(), /what-if/);
  });

  await step('Cancel stops a long analysis and the panel works again', async () => {
    await analyseAndCancel(page, 256);
    // The analyzer went with the old worker: fixing needs a new analysis.
    assert.ok(await page.locator('#an-fix').isDisabled());
    assert.ok(await page.locator('#an-stale').isVisible());
    await page.fill('#an-samples', '2');
    const s = await clickAndWait(page, '#an-button');
    assert.equal(s.analysisState, 'done', s.analysisError);
  });

  await step('Fix worst layer compares the local fix with the global one', async () => {
    const s = await clickAndWait(page, '#an-fix');
    assert.equal(s.analysisState, 'done', s.analysisError);
    const f = s.analysisFix;
    assert.ok(s.analysis.layers.name.includes(f.layer));
    assert.ok(['weights', 'activations'].includes(f.cause));
    assert.equal(await page.locator('#an-fix-table tbody tr').count(), f.trials.length);
  });

  await step('Mixed precision draws the front with MixQuant beside it', async () => {
    const s = await clickAndWait(page, '#an-mixed');
    assert.equal(s.analysisState, 'done', s.analysisError);
    const m = s.analysisMixed;
    assert.ok(m.front.length > 2);
    for (let i = 1; i < m.front.length; i++) assert.ok(m.front[i].weight_bytes <= m.front[i - 1].weight_bytes, 'front ordered by size');
    const sets = await page.evaluate(() => customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById('an-pareto')).data.datasets.map((d) => d.data.length));
    assert.ok(sets[0] > 2 && sets[1] > 0 && sets[2] > 0, `pareto datasets ${sets}`);
  });

  await step('images as calibration data: preprocessed by the page, analysed in the worker', async () => {
    await page.selectOption('#an-data', 'images');
    await chooseWordImages(page, 'an-images-input', ['quant', 'play', 'int8']);
    const s = await clickAndWait(page, '#an-button');
    assert.equal(s.analysisState, 'done', s.analysisError);
    assert.equal(s.analysis.data.samples, 3);
    assert.match(s.analysis.data.source, /^3 images \(word0\.png, word1\.png, word2\.png; 48×192, RGB/);
    assert.match(await page.locator('#an-data-info').textContent(), /Calibration: 3 images/);
    // A what-if on image data reuses the worker's analyzer (no new calibration is sent).
    const random = await page.evaluate(() => window.quantplayState.analysis.summary.snr_all);
    assert.ok(Number.isFinite(random));
    await page.selectOption('#an-data', 'random');
  });

  await step('PP-OCR det: the full analysis with progress, a cancel, and the same numbers as the wasm API', async () => {
    const bytes = await readFile(join(assets, DET));
    await drop(page, DET, bytes);
    await readyWith(page, DET);
    await analyseAndCancel(page, 64);
    await page.fill('#an-samples', '1');
    const s = await clickAndWait(page, '#an-button');
    assert.equal(s.analysisState, 'done', s.analysisError);
    assert.ok(s.analysisProgressSeen > 1, 'progress reached the page');
    const qp = await nodeEngine();
    const id = qp.load(bytes, { name: DET });
    const ref = qp.analyze(id, { weight: { bits: 8, granularity: 'channel', range: 'minmax' }, act: { bits: 8, range: 'minmax' } },
      { samples: 1, seed: 1 });
    assert.equal(s.analysis.layers.name.length, ref.layers.name.length);
    assert.deepEqual(s.analysis.layers.snr_wa, ref.layers.snr_wa);
    assert.equal(s.analysis.summary.snr_all, ref.summary.snr_all);
  });

  await t.test('no foreign requests, console errors or page errors', () => {
    assert.deepEqual(foreign, [], 'every request stays on 127.0.0.1');
    assert.deepEqual(problems, []);
  });
});
