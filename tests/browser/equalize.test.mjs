// Browser test of the Equalize panel on the example model (PP-OCR cls, 35 unfused BNs): DFQ CLE with the links
// found and refused, the per-channel range picture, the float32 check against a separate wasm instance's report,
// the effect table, a download of the QDQ model that onnxruntime-node then runs, and an error shown in the panel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseWordImages, clickAndWait as waitedClick, CLS, WAIT, assets, nodeEngine, openBrowser, readyWith, requireDist, shots, startServer, stepper } from './harness.mjs';

const EQ_WAIT = { timeout: 120_000 };

let server = null;
let b = null;

after(async () => {
  if (b) await b.browser.close().catch(() => {});
  if (server) await server.stop();
});


const clickAndWait = (page, selector) => waitedClick(page, selector, 'eqFinished', EQ_WAIT);
const anyState = (page) => page.evaluate(() => ({ ...window.quantplayState }));

test('the Equalize panel folds BN, equalizes, compares methods and exports a QDQ model', { timeout: 400_000 }, async (t) => {
  await requireDist();
  const step = stepper(t);
  server = await startServer();
  b = await openBrowser();
  const { page, foreign, problems } = b;
  await page.goto(server.base);
  await readyWith(page, CLS);

  const options = { bn_fold: true, equalize: 'dfq', cle_mode: 'one_pass', cle_range: 'max_abs', relu6: 'refuse',
    triplets: true, hba: false, meller_two_step: false, bias_correction: 'off', bits: 8 };
  const calibration = { samples: 8, seed: 1 };

  await step('Apply runs BN fold + CLE and lists the links with the same result as the wasm API', async () => {
    const s = await clickAndWait(page, '#eq-button');
    assert.equal(s.eqState, 'done', s.eqError);
    const kinds = s.equalize.steps.map((x) => x.kind);
    assert.deepEqual(kinds, ['bn_fold', 'cle']);
    assert.ok(s.equalize.verification.max_rel_dev <= 1e-5, `fp32 deviation ${s.equalize.verification.max_rel_dev}`);
    // The same call on a separate instance gives the same links (the page reports what the core found).
    const qp = await nodeEngine();
    const id = qp.load(await readFile(join(assets, CLS)), { name: CLS });
    const ref = qp.equalize(id, options, calibration).report;
    const cle = (r) => r.steps.find((x) => x.kind === 'cle');
    assert.deepEqual(cle(s.equalize).links, cle(ref).links);
    const accepted = cle(ref).links.filter((l) => l.accepted).length;
    const refused = cle(ref).links.length - accepted;
    assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
    assert.equal(await page.locator('#eq-links tbody tr.eq-links-ok').count(), accepted);
    assert.equal(await page.locator('#eq-links tbody tr.eq-links-refused').count(), refused);
    const reasons = await page.locator('#eq-links tbody tr.eq-links-refused td.result').allTextContents();
    assert.ok(reasons.every((r) => /^refused: \S/.test(r)), 'every refused link says why');
    assert.ok(await page.locator('#eq-layer option').count() >= 2, 'equalized layers to draw');
    const drawn = await page.evaluate(() => {
      const c = customElements.get('quant-playground').Chart.getChart(document.querySelector('quant-playground').shadowRoot.getElementById('eq-chart'));
      return c ? c.data.datasets.map((d) => d.data.length) : null;
    });
    assert.ok(drawn && drawn.length === 2 && drawn[0] > 1 && drawn[0] === drawn[1], `chart datasets ${drawn}`);
    await page.screenshot({ path: join(shots, 'equalize-cls.png'), fullPage: true });
  });

  await step('Compare methods fills the effect table for 8 and 4 bits', async () => {
    const s = await clickAndWait(page, '#eq-effect');
    assert.equal(s.eqState, 'done', s.eqError);
    const rows = s.effect.rows;
    assert.ok(rows.some((r) => r.bits === 4) && rows.some((r) => r.bits === 8));
    assert.equal(await page.locator('#eq-effect-table tbody tr').count(), rows.length);
    // 8-bit weights are better than 4-bit ones for the unequalized model; bias correction shrinks the mean output
    // shift that per-tensor 8-bit weights cause.
    const row = (v, b) => rows.find((r) => r.variant === v && r.bits === b);
    assert.ok(row('none', 8).sqnr_w_db > row('none', 4).sqnr_w_db, `none: 8-bit ${row('none', 8).sqnr_w_db} dB, 4-bit ${row('none', 4).sqnr_w_db} dB`);
    assert.ok(row('cle+hba+bc', 8).mean_abs_shift_w < row('cle+hba', 8).mean_abs_shift_w);
  });

  await step('the QDQ download is an ONNX model onnxruntime-node runs', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download', WAIT), page.locator('[data-export=qdq]').click()]);
    assert.match(dl.suggestedFilename(), /\.qdq\.onnx$/);
    const bytes = await readFile(await dl.path());
    const ort = (await import('onnxruntime-node')).default;
    const sess = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]);
    const out = await sess.run({ [sess.inputNames[0]]: x });
    const y = out[sess.outputNames[0]].data;
    assert.equal(y.length, 2);
    assert.ok(Math.abs(y[0] + y[1] - 1) < 1e-3, `softmax output ${y}`);
  });

  await step('images as calibration data: the effect table, bias correction and the QDQ export use them', async () => {
    const random = (await page.evaluate(() => window.quantplayState.effect)).rows;
    await page.selectOption('#eq-data', 'images');
    await chooseWordImages(page, 'eq-images-input', ['quant', 'play', 'int8']);
    const s = await clickAndWait(page, '#eq-effect');
    assert.equal(s.eqState, 'done', s.eqError);
    assert.match(await page.locator('#eq-data-info').textContent(), /^Calibration: 3 images \(word0\.png/);
    const shift = (rows) => rows.map((r) => r.mean_abs_shift_w);
    assert.notDeepEqual(shift(s.effect.rows), shift(random), 'the effect table did not change with the data');
    await page.selectOption('#eq-bc', 'empirical');
    const a = await clickAndWait(page, '#eq-button');
    assert.equal(a.eqState, 'done', a.eqError);
    assert.ok(a.equalize.steps.some((x) => x.kind === 'bias_correction'));
    // The equalized model inherits the images: its QDQ export calibrates its activation ranges on them.
    const [dl] = await Promise.all([page.waitForEvent('download', WAIT), page.locator('[data-export=qdq]').click()]);
    const ort = (await import('onnxruntime-node')).default;
    const sess = await ort.InferenceSession.create(await readFile(await dl.path()));
    assert.equal(sess.inputNames.length, 1);
    assert.equal((await anyState(page)).eqError, null);
    await page.selectOption('#eq-bc', 'off');
    await page.selectOption('#eq-data', 'random');
  });

  await step('a bad setting shows an error inside the panel', async () => {
    await page.fill('#eq-bits', '1');
    const s = await clickAndWait(page, '#eq-button');
    assert.equal(s.eqState, 'error');
    assert.match(s.eqError, /W bits/);
    assert.ok(await page.locator('#eq-error').isVisible());
    await page.fill('#eq-bits', '8');
  });

  await t.test('no foreign requests, console errors or page errors', () => {
    assert.deepEqual(foreign, [], 'every request stays on 127.0.0.1');
    assert.deepEqual(problems, []);
  });
});
