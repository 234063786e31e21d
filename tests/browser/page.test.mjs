// Browser test of the static site (dist/ or $QP_DIST): real Chromium, real drops, and no request may leave 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CLS, DET, WAIT, analysedLayers, assets, drop, openBrowser, readyWith, requireDist, shots, startServer, stepper,
} from './harness.mjs';

let server = null;
let browser = null;

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

function setQem(page, value) {
  return page.evaluate((v) => {
    const s = document.querySelector('quant-playground').shadowRoot.getElementById('qem');
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

test('page: example model, drops, MixQuant slider, errors, no foreign requests', { timeout: 110_000 }, async (t) => {
  await requireDist();
  await mkdir(shots, { recursive: true });
  const expectedDet = await analysedLayers(DET);
  const expectedCls = await analysedLayers(CLS);
  server = await startServer();
  const b = await openBrowser();
  browser = b.browser;
  const { page, foreign, problems } = b;

  await page.goto(server.base);

  const step = stepper(t);

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
    await page.waitForFunction(() => document.querySelector('quant-playground').dataset.state === 'error', null, WAIT);
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
