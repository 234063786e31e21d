// Browser test of the docs site: each tutorial loads, every live <quant-playground> in it comes up on its model and
// finishes what `autorun` starts, with no console errors and no request leaving the origin; the reference pages load
// too. A full-page screenshot of each tutorial is saved with the test output.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dist, openBrowser, requireDist, root, shots, startServer, stepper } from './harness.mjs';

const LONG = { timeout: 240_000 };
let server = null;
let browser = null;

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

// The live analysis elements must show what the prose quotes (numbers.json, from the CLI): the all-quantized SNR and
// the layer with the largest share of the noise. Weights only, so native and wasm agree far inside 0.05 dB.
const NUMBERS = JSON.parse(await readFile(join(root, 'examples', 'tutorials', 'numbers.json'), 'utf8'));
const EXPECT = {
  'int8-equalization.html': { snr: NUMBERS.t1.an_tensor.snr, top: NUMBERS.t1.culprit1.name },
  'int4-culprit.html': { snr: NUMBERS.t2.random.snr, top: NUMBERS.t2.random.top.name },
};

// Every element is ready on its model, and the panels `autorun` started have finished.
const settled = () => [...document.querySelectorAll('quant-playground')].every((e) => {
  if (e.dataset.state === 'error') return true;
  if (e.dataset.state !== 'ready' || !e.state || !e.state.file) return false;
  if (!e.hasAttribute('autorun')) return true;
  const views = (e.getAttribute('view') || '').split(/[\s,]+/);
  return (!views.includes('analyze') || e.dataset.analysis === 'done')
    && (!views.includes('equalize') || e.dataset.eq === 'done');
});

test('tutorials and reference pages of the docs site', { timeout: 900_000 }, async (t) => {
  await requireDist();
  await mkdir(shots, { recursive: true });
  const tutorials = (await readdir(join(dist, 'tutorials'))).filter((f) => f.endsWith('.html')).sort();
  assert.ok(tutorials.length >= 3, `tutorials: ${tutorials}`);
  server = await startServer();
  const b = await openBrowser();
  browser = b.browser;
  const { page, foreign, problems } = b;
  const step = stepper(t);

  for (const file of tutorials) {
    await step(`${file}: every live element renders its model with no error`, async () => {
      await page.goto(`${server.base}tutorials/${file}`);
      const n = await page.locator('quant-playground').count();
      assert.ok(n >= 1, 'a tutorial embeds live elements');
      // Elements off screen wait; bring each one into view in turn.
      for (let i = 0; i < n; i++) {
        await page.locator('quant-playground').nth(i).scrollIntoViewIfNeeded();
        await page.waitForFunction((k) => {
          const e = document.querySelectorAll('quant-playground')[k];
          return e.dataset.state === 'ready' || e.dataset.state === 'error';
        }, i, LONG);
      }
      await page.waitForFunction(settled, null, LONG);
      const states = await page.evaluate(() => [...document.querySelectorAll('quant-playground')].map((e) => ({
        view: e.getAttribute('view'), src: e.getAttribute('src'), state: e.dataset.state, error: e.state && e.state.error,
        analysis: e.state && e.state.analysisError, eq: e.state && e.state.eqError,
      })));
      for (const s of states) {
        assert.equal(s.state, 'ready', `${s.view} on ${s.src}: ${s.error}`);
        assert.equal(s.analysis || null, null, `${s.view} on ${s.src}: ${s.analysis}`);
        assert.equal(s.eq || null, null, `${s.view} on ${s.src}: ${s.eq}`);
      }
      if (EXPECT[file]) {
        const live = await page.evaluate(() => {
          const e = [...document.querySelectorAll('quant-playground')].find((x) => x.getAttribute('view') === 'analyze');
          const a = e.state.analysis;
          const top = a.layers.share.reduce((best, v, i) => (v > a.layers.share[best] ? i : best), 0);
          return { snr: a.summary.snr_all, top: a.layers.name[top] };
        });
        assert.ok(Math.abs(live.snr - EXPECT[file].snr) < 0.05, `live ${live.snr} dB vs the prose's ${EXPECT[file].snr} dB`);
        assert.equal(live.top, EXPECT[file].top);
      }
      // The numbers in the prose were filled in at build time.
      assert.doesNotMatch(await page.content(), /\{\{/);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(shots, `tutorial-${file.replace(/\.html$/, '')}.png`), fullPage: true });
    });
  }

  await step('the docs index, CLI, API and JSON schema pages load', async () => {
    for (const p of ['docs/index.html', 'docs/cli.html', 'docs/api.html', 'docs/json-schema.html']) {
      const res = await page.goto(`${server.base}${p}`);
      assert.equal(res.status(), 200, p);
      assert.ok((await page.locator('h1').count()) >= 1, `${p} has a title`);
    }
    // The playground links to the docs and the docs link back.
    await page.goto(server.base);
    const href = await page.locator('quant-playground').locator('a.page-only').getAttribute('href');
    assert.equal(href, 'docs/');
    const res = await page.goto(`${server.base}docs/`);
    assert.equal(res.status(), 200);
  });

  await t.test('no foreign requests, console errors or page errors', () => {
    assert.deepEqual(foreign, [], 'every request stays on 127.0.0.1');
    assert.deepEqual(problems, []);
  });
});
