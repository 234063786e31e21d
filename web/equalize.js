// The Equalize panel: pass options, the pipeline run in the worker (a new model; the user's stays as it was), the
// CLE links found and refused, the per-channel weight-range picture of an equalized layer, the effect table of every
// method, and the downloads (equalized fp32, fake-quant, QDQ, encodings).
import { h, wholeNumber, fmtMs, fmtNum, plural } from './dom.js';
import { Chart } from './chart.js';
import { createCalibration } from './calibration.js';

const MAX_SAMPLES = 256;

// engine, isCancel, canRun, onChange, onCancel: as the Run panel (run.js); download(name, type, data): saves a file.
// imagePreprocess(): the Run panel's image preprocessing, for calibration images (run.js).
export function createEqualizePanel({ $, host, engine, isCancel, canRun, onChange, onCancel, download, imagePreprocess }) {
  const es = {
    model: null,
    busy: null,        // 'equalize' | 'effect' | 'export' | null
    state: 'none',     // none | idle | running | done | error | cancelled
    finished: 0,       // attempts that ended: tests wait on it
    report: null,      // the last equalize report
    effect: null,      // the last effect report
    options: null,     // what produced `report`
    epoch: -1,         // the worker generation that holds the equalized model
    error: null,
    startedAt: 0,
    timer: 0,
  };
  const form = $('eq-form');
  const el = (name) => form.elements[name];
  const calib = createCalibration({ $, prefix: 'eq', name: 'equalize', form, engine, imagePreprocess, maxSamples: MAX_SAMPLES });
  let chart = null;

  function setState(state, ended = false) {
    if (ended) es.finished++;
    es.state = state;
    host.dataset.eq = state;
    sync();
    onChange();
  }

  function sync() {
    const ok = !!es.model && !es.busy && canRun();
    $('eq-button').disabled = !ok;
    $('eq-effect').disabled = !ok;
    $('eq-button').textContent = es.busy === 'equalize' ? 'Applying…' : 'Apply';
    $('eq-cancel').hidden = !es.busy;
    const m = el('method').value;
    form.classList.toggle('meller', m.startsWith('meller'));
    form.classList.toggle('none', m === 'none');
    // The equalized model lives in the worker: after a restart (a cancel anywhere) it is gone until Apply again.
    const stale = !!es.report && es.epoch !== (engine.epoch || 0);
    for (const b of $('eq-results').querySelectorAll('[data-export]')) b.disabled = !!es.busy || !es.report || stale;
    $('eq-stale').hidden = !stale;
  }

  function setModel(model) {
    calib.reset();
    if (es.busy) finishBusy();
    es.model = model;
    es.report = es.effect = es.options = es.error = null;
    $('eq-results').hidden = true;
    $('eq-effect-box').hidden = true;
    $('eq-error').hidden = true;
    $('eq-meta').textContent = '';
    setState('idle');
  }

  // --- options -----------------------------------------------------------------------------------------------------

  const intField = (name, lo, hi, what) => wholeNumber(el(name), lo, hi, what);

  function readOptions() {
    const method = el('method').value;
    const options = {
      bn_fold: el('bn_fold').checked,
      equalize: method.startsWith('meller') ? 'meller' : method,
      meller_two_step: method === 'meller2',
      cle_mode: el('cle_mode').value,
      cle_range: el('cle_range').value,
      relu6: el('relu6').value,
      triplets: el('triplets').checked,
      hba: method === 'dfq' && el('hba').checked,
      bias_correction: el('bc').value,
      bits: intField('bits', 2, 8, 'W bits'),
      granularity: el('granularity').value,
    };
    return { options, calibration: calib.read() };
  }

  // --- work --------------------------------------------------------------------------------------------------------

  async function work(kind, fn) {
    if (!es.model || es.busy || !canRun()) return;
    hideError();
    let job;
    try {
      job = readOptions();
    } catch (err) {
      showError(err.message, true);
      return;
    }
    const model = es.model;
    es.busy = kind;
    es.startedAt = performance.now();
    tick();
    es.timer = setInterval(tick, 100);
    setState('running');
    try {
      await engine.hold(model);
      await fn(job, model);
      if (es.model !== model) return;
      finishBusy();
      setState('done', true);
    } catch (err) {
      if (es.model !== model) return;
      finishBusy();
      if (isCancel(err)) {
        $('eq-meta').textContent = 'Cancelled';
        setState('cancelled', true);
        return;
      }
      showError(err && err.message ? err.message : String(err), true);
    }
  }

  const apply = () => work('equalize', async (job, model) => {
    await calib.prepare(job.calibration, model);
    const reply = await engine.request({ type: 'equalize', options: job.options, calibration: job.calibration });
    if (es.model !== model) return;
    es.report = reply.report;
    es.options = job;
    es.epoch = engine.epoch || 0;
    renderReport(reply.report);
  });

  const compare = () => work('effect', async (job, model) => {
    const { options, calibration } = job;
    await calib.prepare(calibration, model);
    const reply = await engine.request({
      type: 'effect',
      options: { bits: [...new Set([8, 4, options.bits])].sort((a, b) => b - a), relu6: options.relu6 },
      calibration,
    });
    if (es.model !== model) return;
    es.effect = reply.result;
    renderEffect(reply.result);
  });

  async function exportFile(format) {
    if (!es.report || es.busy || !canRun()) return;
    const job = es.options;
    const model = es.model;
    es.busy = 'export';
    setState('running');
    try {
      await engine.hold(model);
      const reply = await engine.request({
        type: 'export', which: 'equalized', format,
        // The quantizer bias correction targeted, so the corrected biases fit the exported weights.
        config: { bits: job.options.bits, granularity: job.options.granularity }, calibration: job.calibration,
      });
      if (es.model !== model) return;
      const base = model.name.replace(/\.onnx$/i, '');
      const name = format === 'encodings' ? `${base}.encodings.json`
        : format === 'fp32' ? `${base}.equalized.onnx` : `${base}.${format}.onnx`;
      download(name, format === 'encodings' ? 'application/json' : 'application/octet-stream', reply.bytes);
      finishBusy();
      setState('done', true);
    } catch (err) {
      if (es.model !== model) return;
      finishBusy();
      if (isCancel(err)) { setState('cancelled', true); return; }
      showError(err && err.message ? err.message : String(err), true);
    }
  }

  function tick() {
    const s = (performance.now() - es.startedAt) / 1000;
    $('eq-meta').textContent = `${es.busy === 'effect' ? 'Comparing methods' : 'Applying'}… ${s.toFixed(1)} s`;
  }

  function finishBusy() {
    es.busy = null;
    clearInterval(es.timer);
    es.timer = 0;
  }

  // --- rendering ---------------------------------------------------------------------------------------------------

  function renderReport(r) {
    const steps = r.steps.map((s) => s.kind.replace('_', ' ')).join(' → ') || 'nothing';
    const v = r.verification;
    const dev = v.max_rel_dev == null ? '∞' : fmtNum(v.max_rel_dev);
    $('eq-summary').textContent = `${steps}. Float32 check on ${v.inputs}: max |Δy| / max |y| = ${dev}.`;
    $('eq-meta').textContent = `Done in ${fmtMs(r.ms)}`;
    const cle = r.steps.find((s) => s.kind === 'cle');
    const body = $('eq-links').tBodies[0];
    body.replaceChildren();
    const notes = r.steps.flatMap((s) => s.report.notes.map((n) => `${s.kind.replace('_', ' ')}: ${n}`));
    if (cle) {
      for (const l of cle.links) {
        body.append(h('tr', { class: l.accepted ? 'eq-links-ok' : 'eq-links-refused' },
          h('td', { class: 'left' }, l.kind),
          h('td', { class: 'left mono' }, l.layers.join(' → ')),
          h('td', { class: 'left' }, l.between.join(' ') || '—'),
          h('td', { class: 'left result' }, l.accepted ? 'equalized' : `refused: ${l.reason}`)));
      }
    } else {
      body.append(h('tr', {}, h('td', { class: 'left', colspan: 4 }, notes.join(' · ') || 'no DFQ links (Meller or none)')));
    }
    const sel = $('eq-layer');
    sel.replaceChildren();
    const sets = cle ? cle.sets : [];
    sets.forEach((s, i) => s.link.layers.forEach((name, j) => {
      if (s.out_ranges_before[j]) sel.append(h('option', { value: `${i}:${j}` }, name));
    }));
    sel.disabled = !sel.options.length;
    if (!sel.options.length) sel.append(h('option', {}, 'no equalized layer'));
    $('eq-results').hidden = false;
    drawRanges();
  }

  function drawRanges() {
    const cle = es.report && es.report.steps.find((s) => s.kind === 'cle');
    const pick = $('eq-layer').value;
    if (chart) { chart.destroy(); chart = null; }
    if (!cle || !/^\d+:\d+$/.test(pick)) return;
    const [i, j] = pick.split(':').map(Number);
    const before = cle.sets[i].out_ranges_before[j];
    const after = cle.sets[i].out_ranges_after[j];
    chart = new Chart($('eq-chart'), {
      type: 'bar',
      data: {
        labels: before.map((_, c) => c),
        datasets: [
          { label: 'before', data: before, backgroundColor: 'rgba(148, 163, 184, 0.75)' },
          { label: 'after', data: after, backgroundColor: 'rgba(37, 99, 235, 0.85)' },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { position: 'top', labels: { boxWidth: 12 } } },
        scales: {
          x: { title: { display: true, text: 'output channel' }, ticks: { maxTicksLimit: 16 } },
          y: { title: { display: true, text: 'weight range' }, beginAtZero: true },
        },
      },
    });
  }

  function renderEffect(res) {
    const body = $('eq-effect-table').tBodies[0];
    body.replaceChildren();
    const best = new Map();
    for (const r of res.rows) if (r.sqnr_w_db != null && !(best.get(r.bits) >= r.sqnr_w_db)) best.set(r.bits, r.sqnr_w_db);
    const pct = (v) => (v == null ? '—' : `${(100 * v).toFixed(1)} %`);
    for (const r of res.rows) {
      body.append(h('tr', {},
        h('td', { class: 'left' }, r.variant),
        h('td', {}, r.bits),
        h('td', { class: best.get(r.bits) === r.sqnr_w_db ? 'best' : '' }, fmtNum(r.sqnr_w_db)),
        h('td', {}, fmtNum(r.sqnr_wa_db)),
        h('td', {}, fmtNum(r.mean_abs_shift_w)),
        h('td', {}, pct(r.top1_agree_w)),
        h('td', {}, fmtNum(r.fp32_dev))));
    }
    $('eq-effect-box').hidden = false;
    $('eq-meta').textContent = `Compared ${plural(res.rows.length, 'variant')}`;
  }

  // --- errors ------------------------------------------------------------------------------------------------------

  function showError(message, ended = false) {
    es.error = message;
    $('eq-error-message').textContent = message;
    $('eq-error').hidden = false;
    $('eq-meta').textContent = '';
    setState('error', ended);
  }

  function hideError() {
    es.error = null;
    $('eq-error').hidden = true;
  }

  // --- wiring ------------------------------------------------------------------------------------------------------

  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  form.addEventListener('change', sync);
  $('eq-effect').addEventListener('click', compare);
  $('eq-cancel').addEventListener('click', () => { if (es.busy) onCancel(); });
  $('eq-error-dismiss').addEventListener('click', hideError);
  $('eq-layer').addEventListener('change', drawRanges);
  for (const b of $('eq-results').querySelectorAll('[data-export]')) b.addEventListener('click', () => exportFile(b.dataset.export));
  $('eq-report-download').addEventListener('click', () => {
    if (!es.report) return;
    const base = es.model.name.replace(/\.onnx$/i, '');
    download(`${base}.equalize.json`, 'application/json', `${JSON.stringify({ options: es.options, report: es.report, effect: es.effect }, null, 2)}\n`);
  });

  return {
    setModel,
    sync,
    state: () => ({ state: es.state, report: es.report, effect: es.effect, error: es.error, finished: es.finished }),
  };
}
