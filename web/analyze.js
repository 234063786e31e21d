// The Analysis panel: the layer-wise analysis (ALGORITHMS.md §4) run in the worker with progress and cancel, its
// four charts (per-layer SNR with the 10 dB line, share of noise, local SQNR vs noise gain, cumulative SNR), the
// single-layer fix, mixed precision beside MixQuant, and JSON/CSV downloads.
import { h, wholeNumber, fmtNum, fmtMs } from './dom.js';
import { Chart } from './chart.js';
import { createCalibration } from './calibration.js';

const MAX_SAMPLES = 256;
const COLORS = { w: '#2563eb', a: '#f59e0b', wa: '#7c3aed', line: '#ef4444', ok: '#15803d' };

// The JSON writes +inf dB (no noise) as the string "inf".
const dbValue = (v) => (v === 'inf' ? Infinity : v == null ? NaN : v);
const fmtDb = (v) => { const x = dbValue(v); return x === Infinity ? '∞' : Number.isFinite(x) ? x.toFixed(1) : '—'; };

// engine, isCancel, canRun, onChange, onCancel, download: as the Equalize panel (equalize.js).
// imagePreprocess(): the Run panel's image preprocessing, for calibration images (run.js).
export function createAnalyzePanel({ $, host, engine, isCancel, canRun, onChange, onCancel, download, imagePreprocess }) {
  const as = {
    model: null,
    busy: null,       // 'analyze' | 'fix' | 'mixed' | null
    state: 'none',    // none | idle | running | done | error | cancelled
    finished: 0,
    report: null, fix: null, mixed: null, options: null,
    error: null,
    progress: 0,
    progressSeen: 0,  // progress messages received (tests check the bar moves)
    epoch: -1,        // the worker generation that holds the analyzer
    selected: null,   // layer name shown in the layer box
    detail: null,     // layer_detail report of the selected layer
    detailSeq: 0,     // the latest detail request (older replies are dropped)
    overrides: {},    // what-ifs: layer -> override (analysis options' "overrides")
    baseline: null,   // the analysis without what-ifs, for the comparison line
  };
  const form = $('an-form');
  const el = (name) => form.elements[name];
  const calib = createCalibration({ $, prefix: 'an', name: 'analysis', form, engine, imagePreprocess, maxSamples: MAX_SAMPLES });
  const charts = {};

  function setState(state, ended = false) {
    if (ended) as.finished++;
    as.state = state;
    host.dataset.analysis = state;
    sync();
    onChange();
  }

  function sync() {
    const ok = !!as.model && !as.busy && canRun();
    $('an-button').disabled = !ok;
    // The analyzer lives in the worker: after a restart (a cancel anywhere) fix and mixed need a new analysis.
    const stale = !!as.report && as.epoch !== (engine.epoch || 0);
    $('an-fix').disabled = !ok || !as.report || as.report.data.cancelled || stale;
    $('an-mixed').disabled = !ok || !as.report || as.report.data.cancelled || stale;
    $('an-stale').hidden = !stale;
    for (const id of ['an-whatif-fp32', 'an-whatif-w', 'an-whatif-clear']) $(id).disabled = !ok || !as.report || stale;
    $('an-cancel').hidden = !as.busy;
    $('an-progress').hidden = !as.busy;
  }

  function setModel(model) {
    if (as.busy) as.busy = null;
    as.model = model;
    as.report = as.fix = as.mixed = as.options = as.error = as.baseline = as.selected = as.detail = null;
    $('an-detail').hidden = true;
    $('an-detail-status').textContent = '';
    as.overrides = {};
    calib.reset();
    $('an-results').hidden = true;
    $('an-layer').hidden = true;
    $('an-error').hidden = true;
    $('an-meta').textContent = '';
    setState('idle');
  }

  const intField = (name, lo, hi, what) => wholeNumber(el(name), lo, hi, what);

  // A bits 0: activations stay in float32 (a weights-only analysis).
  function actOptions() {
    const bits = intField('abits', 0, 16, 'A bits');
    if (bits === 1) throw new Error('A bits must be 0 (weights only) or a whole number in 2…16');
    return bits === 0 ? { quantize_activations: false } : { act: { bits, range: el('arange').value } };
  }

  function readOptions() {
    return {
      options: {
        weight: { bits: intField('wbits', 2, 16, 'W bits'), granularity: el('wgran').value, range: el('wrange').value },
        ...actOptions(),
      },
      calibration: calib.read(),
    };
  }

  function onProgress(done, total, text) {
    as.progressSeen++;
    as.progress = total ? done / total : 0;
    $('an-progress-bar').value = as.progress;
    $('an-progress-text').textContent = text || '';
    $('an-meta').textContent = `${Math.round(100 * as.progress)} %`;
  }

  async function work(kind, fn) {
    if (!as.model || as.busy || !canRun()) return;
    $('an-error').hidden = true;
    as.error = null;
    let job;
    try {
      job = kind === 'analyze' || !as.options ? readOptions() : as.options;
    } catch (err) {
      showError(err.message, true);
      return;
    }
    const model = as.model;
    as.busy = kind;
    onProgress(0, 1, 'starting…');
    setState('running');
    try {
      await engine.hold(model);
      await fn(job, model);
      if (as.model !== model) return;
      as.busy = null;
      setState('done', true);
    } catch (err) {
      if (as.model !== model) return;
      as.busy = null;
      if (isCancel(err)) {
        $('an-meta').textContent = 'Cancelled';
        setState('cancelled', true);
        return;
      }
      showError(err && err.message ? err.message : String(err), true);
    }
  }

  const analyse = () => {
    as.overrides = {};
    return run('analyze');
  };

  // A what-if re-runs the analysis with overrides: the worker's analyzer re-evaluates only the layers they change.
  function whatIf(override) {
    if (!as.report || !as.selected) return;
    if (override) as.overrides = { ...as.overrides, [as.selected]: override };
    else as.overrides = {};
    return run('whatif');
  }

  const run = (kind) => work(kind, async (job, model) => {
    const options = { ...job.options, overrides: as.overrides };
    await calib.prepare(job.calibration, model);
    const reply = await engine.request({ type: 'analyze', options, calibration: job.calibration }, onProgress);
    if (as.model !== model) return;
    if (kind === 'analyze' || !as.baseline) as.baseline = reply.result;
    as.report = reply.result;
    as.options = job;
    as.epoch = engine.epoch || 0;
    renderWhatIf();
    as.fix = as.mixed = null;
    $('an-fix-box').hidden = true;
    $('an-mixed-box').hidden = true;
    render(reply.result);
  });

  const fix = () => work('fix', async (job, model) => {
    const reply = await engine.request({ type: 'analysisFix', options: {} }, onProgress);
    if (as.model !== model) return;
    as.fix = reply.result;
    renderFix(reply.result);
  });

  const mixed = () => work('mixed', async (job, model) => {
    const reply = await engine.request({ type: 'mixedPrecision', options: { verify: 4 } }, onProgress);
    if (as.model !== model) return;
    as.mixed = reply.result;
    renderMixed(reply.result);
  });

  // --- rendering ---------------------------------------------------------------------------------------------------

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } });
  }

  function render(r) {
    const s = r.summary;
    const L = r.layers;
    const idx = L.name.map((_, i) => i).filter((i) => !L.skipped[i]);
    const names = idx.map((i) => L.name[i]);
    const short = names.map((n) => (n.length > 18 ? `…${n.slice(-17)}` : n));
    const acc = s.top1_agree == null ? '' : ` Top-1 agreement with float32: ${(100 * s.top1_agree).toFixed(1)} %.`;
    const flagged = idx.filter((i) => L.flags[i].length).map((i) => `${L.name[i]} (${L.flags[i].join(', ')})`);
    $('an-summary').textContent = `Everything quantized: ${fmtDb(s.snr_all)} dB measured, ${fmtDb(s.snr_pred)} dB predicted `
      + `from the per-layer noises (interaction ${fmtDb(s.interaction)} dB).${acc} `
      + `${r.data.source}${r.data.cancelled ? ' (stopped early)' : ''}. Cost ${r.cost.pass_equivalents.toFixed(1)} forward passes. `
      + (flagged.length ? `Flagged: ${flagged.join('; ')}.` : 'No layer flagged.');
    const val = (k) => idx.map((i) => { const v = dbValue(L[k][i]); return Number.isFinite(v) ? v : null; });
    const tooltipTitle = (items) => names[items[0].dataIndex];
    chart('an-snr', {
      type: 'bar',
      data: {
        labels: short,
        datasets: [
          { label: 'weights', data: val('snr_w'), backgroundColor: COLORS.w },
          { label: 'activations', data: val('snr_a'), backgroundColor: COLORS.a },
          { label: 'both', data: val('snr_wa'), backgroundColor: COLORS.wa },
          { type: 'line', label: '10 dB', data: idx.map(() => 10), borderColor: COLORS.line, borderDash: [5, 4], pointRadius: 0, borderWidth: 1.5 },
        ],
      },
      options: {
        plugins: { tooltip: { callbacks: { title: tooltipTitle } } },
        scales: { x: { ticks: { maxRotation: 60, autoSkip: true } }, y: { title: { display: true, text: 'output SNR (dB)' } } },
        onClick: (e, items) => { if (items.length) selectLayer(names[items[0].index]); },
      },
    });
    chart('an-share', {
      type: 'bar',
      data: { labels: short, datasets: [{ label: 'share of noise', data: idx.map((i) => L.share[i]), backgroundColor: idx.map((i) => (L.share[i] > 0.5 ? COLORS.line : COLORS.wa)) }] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { title: tooltipTitle } } }, scales: { y: { min: 0, max: 1 } } },
    });
    chart('an-scatter', {
      type: 'scatter',
      data: { datasets: [{ label: 'layers', data: idx.map((i) => ({ x: dbValue(L.gain[i]), y: dbValue(L.local_sqnr[i]) })).map((p) => (Number.isFinite(p.x) && Number.isFinite(p.y) ? p : { x: null, y: null })), backgroundColor: COLORS.wa }] },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${names[c.dataIndex]}: local ${c.parsed.y.toFixed(1)} dB, gain ${c.parsed.x.toFixed(1)} dB` } } },
        scales: { x: { title: { display: true, text: 'noise gain, local − global (dB)' } }, y: { title: { display: true, text: 'local SQNR (dB)' } } },
      },
    });
    chart('an-cumulative', {
      type: 'line',
      data: { labels: short, datasets: [{ label: 'cumulative SNR', data: val('cumulative_snr'), borderColor: COLORS.wa, pointRadius: 2 }] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { title: tooltipTitle } } }, scales: { y: { title: { display: true, text: 'dB' } } } },
    });
    $('an-results').hidden = false;
    $('an-meta').textContent = `Done in ${fmtMs(r.cost.elapsed_ms)}`;
  }

  function selectLayer(name) {
    as.selected = name;
    const L = as.report.layers;
    const i = L.name.indexOf(name);
    if (i < 0) { $('an-layer').hidden = true; return; }
    $('an-layer-name').textContent = `${name} (${L.op[i]})`;
    const range = L.act_range[i] ? `[${fmtNum(L.act_range[i][0])}, ${fmtNum(L.act_range[i][1])}]` : '—';
    $('an-layer-facts').textContent = `Output SNR with only this layer quantized: weights ${fmtDb(L.snr_w[i])} dB, `
      + `activations ${fmtDb(L.snr_a[i])} dB, both ${fmtDb(L.snr_wa[i])} dB; share of the noise ${fmtNum(L.share[i])}; `
      + `local SQNR ${fmtDb(L.local_sqnr[i])} dB, gain ${fmtDb(L.gain[i])} dB; cumulative ${fmtDb(L.cumulative_snr[i])} dB. `
      + `Weights ${L.weight_config[i] || '—'}; activation ${L.act_point[i]} ${L.act_config[i] || ''} range ${range}.`
      + (L.flags[i].length ? ` Flags: ${L.flags[i].join(', ')}.` : '') + (L.skipped[i] ? ` Skipped: ${L.skipped[i]}.` : '');
    $('an-layer').hidden = false;
    onChange();
    loadDetail(i, name);
  }

  // Histograms with the clipping ranges and the QE-vs-bits curve of one layer, from the worker's analyzer (the output
  // SNR at each width costs about one suffix run per sample and width).
  async function loadDetail(i, name) {
    const seq = ++as.detailSeq;
    if (as.detail && as.detail.layer.name !== name) $('an-detail').hidden = true;
    if (as.epoch !== (engine.epoch || 0)) {
      $('an-detail-status').textContent = 'The worker was restarted: analyze again for the layer\'s histograms and curve.';
      return;
    }
    $('an-detail-status').textContent = `Measuring ${name} at 2…8 bits…`;
    try {
      const options = { ...as.options.options, overrides: as.overrides };
      const reply = await engine.request({ type: 'layerDetail', layer: i, options, detail: {} });
      if (seq !== as.detailSeq || as.selected !== name) return;
      as.detail = reply.result;
      renderDetail(reply.result);
      $('an-detail-status').textContent = '';
    } catch (err) {
      if (seq !== as.detailSeq) return;
      $('an-detail-status').textContent = isCancel(err) ? '' : `No detail for ${name}: ${err && err.message ? err.message : err}`;
    }
    onChange();
  }

  // A histogram as a step line on a linear axis, with the quantizer's range as vertical lines.
  function histChart(id, part, color) {
    if (!part || !part.histogram) {
      if (charts[id]) { charts[id].destroy(); delete charts[id]; }
      return;
    }
    const { edges, counts } = part.histogram;
    const steps = edges.map((x, k) => ({ x, y: counts[Math.min(k, counts.length - 1)] }));
    const top = Math.max(1, ...counts);
    const vline = (x, label, dash) => ({ label, data: [{ x, y: 0 }, { x, y: top }], borderColor: COLORS.line, borderDash: dash, borderWidth: 1.5, pointRadius: 0, showLine: true });
    const sets = [{ label: 'count', data: steps, stepped: 'after', showLine: true, fill: true, borderColor: color, backgroundColor: `${color}33`, borderWidth: 1, pointRadius: 0 }];
    const range = part.grid || part.range;
    if (range && Number.isFinite(range[0]) && Number.isFinite(range[1])) {
      sets.push(vline(range[0], 'clipping range', []), vline(range[1], 'clipping range', []));
    }
    chart(id, {
      type: 'scatter',
      data: { datasets: sets },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => (c.datasetIndex ? `${c.dataset.label}: ${fmtNum(c.parsed.x)}` : `${fmtNum(c.parsed.x)}: ${c.parsed.y}`) } } },
        scales: { x: { type: 'linear', title: { display: true, text: 'value' } }, y: { min: 0, title: { display: true, text: 'count' } } },
      },
    });
  }

  function renderDetail(d) {
    $('an-detail').hidden = false;
    histChart('an-whist', d.weight, COLORS.w);
    histChart('an-ahist', d.act, COLORS.a);
    const c = d.curve;
    if (c) {
      const line = (label, arr, color) => ({ label, data: arr ? c.bits.map((b, k) => ({ x: b, y: dbValue(arr[k]) })).filter((p) => Number.isFinite(p.y)) : [], borderColor: color, backgroundColor: color, showLine: true, pointRadius: 3 });
      chart('an-curve', {
        type: 'scatter',
        data: { datasets: [line('weights, local SQNR', c.w_sqnr, COLORS.w), line('activations, local SQNR', c.a_sqnr, COLORS.a), line('model output, this layer\'s weights only', c.out_snr, COLORS.wa)] },
        options: { scales: { x: { type: 'linear', ticks: { stepSize: 1 }, title: { display: true, text: 'bits' } }, y: { title: { display: true, text: 'dB' } } } },
      });
    } else if (charts['an-curve']) {
      charts['an-curve'].destroy();
      delete charts['an-curve'];
    }
    const pct = (f) => (f == null ? '—' : `${(100 * f).toFixed(f < 0.001 ? 3 : 2)} %`);
    const w = d.weight, a = d.act;
    const parts = [];
    if (d.skipped) parts.push(`Not quantized: ${d.skipped}.`);
    if (w && w.range) parts.push(`Weights ${w.config}: range [${fmtNum(w.range[0])}, ${fmtNum(w.range[1])}] of [${fmtNum(w.stats.min)}, ${fmtNum(w.stats.max)}], ${pct(w.clipped_frac)} clipped, SQNR ${fmtDb(w.sqnr)} dB.`);
    if (a && a.grid) parts.push(`Activations ${a.config}: range [${fmtNum(a.grid[0])}, ${fmtNum(a.grid[1])}] of [${fmtNum(a.stats.min)}, ${fmtNum(a.stats.max)}], ${pct(a.clipped_frac)} clipped, SQNR ${fmtDb(a.sqnr)} dB (on ${a.subsample.toLocaleString('en-US')} sampled values).`);
    parts.push(`Cost ${fmtNum(d.cost.pass_equivalents)} pass equivalents, ${fmtMs(d.cost.elapsed_ms)}.`);
    $('an-detail-facts').textContent = parts.join(' ');
  }

  function renderWhatIf() {
    const n = Object.keys(as.overrides).length;
    $('an-whatif').textContent = n && as.baseline
      ? `${n} what-if${n > 1 ? 's' : ''} (${Object.keys(as.overrides).join(', ')}): everything quantized ${fmtDb(as.report.summary.snr_all)} dB `
        + `against ${fmtDb(as.baseline.summary.snr_all)} dB without.`
      : '';
    if (as.selected) selectLayer(as.selected);
  }

  function renderFix(f) {
    $('an-fix-summary').textContent = `Worst layer: ${f.layer} (its ${f.cause} cause most of its noise). Model SNR ${fmtDb(f.before.snr)} dB; `
      + `with this layer in float32 ${fmtDb(f.ceiling.snr)} dB (the most any fix of it can give).`;
    const body = $('an-fix-table').tBodies[0];
    body.replaceChildren(...f.trials.map((t) => h('tr', { class: t.method === f.best ? 'eq-links-ok' : '' },
      h('td', { class: 'left' }, t.method), h('td', {}, fmtDb(t.local.snr)), h('td', {}, fmtDb(t.global.snr)))));
    $('an-fix-box').hidden = false;
  }

  function renderMixed(m) {
    const pt = (a) => ({ x: a.weight_bytes / 1024, y: dbValue(a.snr_measured ?? a.snr_pred) });
    const front = m.front.map((a) => ({ x: a.weight_bytes / 1024, y: dbValue(a.snr_pred) })).filter((p) => Number.isFinite(p.y));
    const measured = m.front.filter((a) => a.snr_measured != null).map(pt).filter((p) => Number.isFinite(p.y));
    const mq = m.mixquant.map((q) => pt(q.mixquant)).filter((p) => Number.isFinite(p.y));
    chart('an-pareto', {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'front (predicted)', data: front, showLine: true, borderColor: COLORS.wa, backgroundColor: COLORS.wa, pointRadius: 1.5 },
          { label: 'front (measured)', data: measured, backgroundColor: COLORS.ok, pointRadius: 4 },
          { label: 'MixQuant (measured)', data: mq, backgroundColor: COLORS.a, pointStyle: 'triangle', pointRadius: 6 },
        ],
      },
      options: { scales: { x: { title: { display: true, text: 'weight KiB' } }, y: { title: { display: true, text: 'output SNR (dB)' } } } },
    });
    $('an-mixed-box').hidden = false;
  }

  function showError(message, ended = false) {
    as.error = message;
    $('an-error-message').textContent = message;
    $('an-error').hidden = false;
    $('an-meta').textContent = '';
    setState('error', ended);
  }

  function csv() {
    const L = as.report.layers;
    const cols = ['name', 'op', 'snr_w', 'snr_a', 'snr_wa', 'share', 'local_sqnr', 'gain', 'cumulative_snr'];
    const esc = (v) => { const s = v == null ? '' : String(v); return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
    const rows = L.name.map((_, i) => [...cols.map((c) => L[c][i]), L.flags[i].join(' '), L.skipped[i] || '']);
    return [[...cols, 'flags', 'skipped'], ...rows].map((r) => r.map(esc).join(',')).join('\r\n') + '\r\n';
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); analyse(); });

  $('an-fix').addEventListener('click', fix);
  $('an-whatif-fp32').addEventListener('click', () => whatIf({ fp32: true }));
  $('an-whatif-w').addEventListener('click', () => {
    const bits = Math.min(16, (as.options ? as.options.options.weight.bits : 8) + 2);
    whatIf({ weight: { bits } });
  });
  $('an-whatif-clear').addEventListener('click', () => whatIf(null));
  $('an-mixed').addEventListener('click', mixed);
  $('an-cancel').addEventListener('click', () => { if (as.busy) onCancel(); });
  $('an-error-dismiss').addEventListener('click', () => { $('an-error').hidden = true; });
  const base = () => as.model.name.replace(/\.onnx$/i, '');
  $('an-json').addEventListener('click', () => as.report && download(`${base()}.analysis.json`, 'application/json',
    `${JSON.stringify({ options: as.options, analysis: as.report, fix: as.fix, mixed_precision: as.mixed }, null, 2)}\n`));
  $('an-csv').addEventListener('click', () => as.report && download(`${base()}.analysis.csv`, 'text/csv', csv()));

  return {
    setModel,
    sync,
    state: () => ({ state: as.state, report: as.report, fix: as.fix, mixed: as.mixed, error: as.error, finished: as.finished,
      progressSeen: as.progressSeen, baseline: as.baseline, overrides: as.overrides, selected: as.selected,
      detail: as.detail }),
  };
}
