// quantplay page logic: model intake (example, drop, picker), worker orchestration, charts, layer table, downloads.
import { Chart, Interaction } from './chart.js';
import { h, fmtInt, fmtBytes, plural, fmtShape } from './dom.js';
import { Engine, Cancelled } from './engine.js';
import { createRunPanel } from './run.js';
import { createEqualizePanel } from './equalize.js';
import { createAnalyzePanel } from './analyze.js';

const BITS = [8, 7, 6, 5, 4, 3, 2];
// Shared by the bar chart and the table badges so a bit-width reads the same everywhere.
const BIT_COLORS = { 8: '#1e3a8a', 7: '#2563eb', 6: '#0ea5e9', 5: '#14b8a6', 4: '#84cc16', 3: '#f59e0b', 2: '#ef4444' };
const HIT_PX = 8;

// The API sends non-finite numbers as null; with qe == 0 that null is an exact (infinite-SQNR) quantization.
const sqnrValue = (r) => (r == null ? NaN : r.sqnr_db != null ? r.sqnr_db : r.qe === 0 ? Infinity : NaN);
function fmtDb(v) {
  if (v === Infinity) return '∞';
  return Number.isFinite(v) ? v.toFixed(1) : '—';
}
const hsl = (i, a = 1) => `hsla(${Math.round((i * 137.508) % 360)}, 62%, 43%, ${a})`;
function hexA(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

// Charts are created per element; the line-under-the-pointer interaction is registered once and asks the chart.
Interaction.modes.layerLine = (chart, e) => (chart.$qpLineAt ? chart.$qpLineAt(chart, e) : []);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#4a5568';
Chart.defaults.borderColor = '#e6e9ee';

// One playground inside `root` (a container in the element's shadow root holding the template; each build of the
// element has its own, so a torn-down instance's late replies land in a detached container), on `host` (the element).
// page: the full page (drops anywhere on the document); views: the panels shown (a Set of 'summary', 'sweep',
// 'mixquant', 'run', 'equalize', 'analyze'); whenVisible(): resolves when the element may work (it is on screen);
// onState(state): the element's state changed.
export function createPlayground({ root, host, page = false, views, whenVisible = async () => {}, onState = () => {} }) {
  const $ = (id) => root.querySelector(`#${id}`);
  const dropTarget = page ? document : host;
  const wantSweep = views.has('sweep') || views.has('mixquant');
  for (const el of root.querySelectorAll('[data-view]')) {
    el.hidden = !el.dataset.view.split(' ').some((v) => views.has(v));
  }

  // --- page state ----------------------------------------------------------------------------------------------------

  const engine = new Engine();
  // Another element's cancel (or a crash) can restart the shared worker: the panels show what went with it.
  engine.onRestart = () => settle();
  const st = {
    model: null,        // {name, bytes, externalFiles, inspect}: the model on display
    sweep: null,        // sweep report on display
    sweepOptions: null, // the options that produced it (the mixquant calls reuse them)
    mq: null,           // last mixquant report; config = its one config
    config: null,
    selected: -1,       // layer index into sweep.layers
    hovered: -1,        // dataset index in the SQNR chart
    sort: { key: 'index', dir: 1 },
    error: null,
    // What runs now: 'read' (files), 'open' (parsing a new model), 'load' (re-loading the displayed model into a fresh
    // worker), 'sweep', 'mixquant', or 'idle'.
    phase: 'idle',
  };
  let gen = 0;          // bumped whenever new work supersedes old; stale replies compare against it
  let plotted = [];     // SQNR dataset index -> layer index

  // The panels share the one worker: none runs while a model is read, parsed or re-loaded into it (the work would load
  // it again); a cancel in any of them restarts the worker; downloads are files made in the worker.
  const panelHooks = {
    $,
    host,
    engine,
    isCancel: (err) => err instanceof Cancelled,
    canRun: () => !['read', 'open', 'load'].includes(st.phase),
    onChange: () => settle(),
    onCancel: cancelRun,
    download: (name, type, data) => download(name, type, data),
  };
  const runPanel = createRunPanel(panelHooks);
  const imagePreprocess = () => runPanel.imagePreprocess();
  const eqPanel = createEqualizePanel({ ...panelHooks, imagePreprocess });
  const anPanel = createAnalyzePanel({ ...panelHooks, imagePreprocess });

  function settle() {
    // 'empty': no model and nothing under way (no src yet, or the only model failed to load and was dismissed).
    host.dataset.state = st.error ? 'error' : !st.model && st.phase === 'idle' ? 'empty'
      : st.phase !== 'idle' || (wantSweep && !st.sweep) ? 'loading' : 'ready';
    $('download-json').disabled = !(st.model && st.sweep && st.mq);
    $('download-csv').disabled = !(st.model && st.sweep);
    host.state = {
      layers: plotted.length,
      series: sqnrChart ? sqnrChart.data.datasets.length : 0,
      mixquant: st.config,
      error: st.error,
      file: st.model ? st.model.name : null,
      ...runFields(),
      ...eqFields(),
      ...anFields(),
    };
    onState(host.state);
    runPanel.sync();
    eqPanel.sync();
    anPanel.sync();
  }

  // The Run panel's part of the element's state: run (the last run report), runState, runError, runsFinished.
  function runFields() {
    const r = runPanel.state();
    return { run: r.report, runState: r.state, runError: r.error, runsFinished: r.finished };
  }

  // The Equalize panel's part of the element's state: equalize (its report), effect, eqState, eqError, eqFinished.
  function eqFields() {
    const r = eqPanel.state();
    return { equalize: r.report, effect: r.effect, eqState: r.state, eqError: r.error, eqFinished: r.finished };
  }

  // The Analysis panel's part: analysis, analysisFix, analysisMixed, analysisState, analysisError, analysisFinished.
  function anFields() {
    const r = anPanel.state();
    return { analysis: r.report, analysisFix: r.fix, analysisMixed: r.mixed, analysisState: r.state, analysisError: r.error,
      analysisFinished: r.finished, analysisProgressSeen: r.progressSeen, analysisBaseline: r.baseline,
      analysisOverrides: r.overrides, analysisSelected: r.selected, analysisDetail: r.detail };
  }

  // Stopping a run means a fresh worker; analysis that was queued behind the run starts over on it.
  function cancelRun() {
    const analysing = ['load', 'sweep', 'mixquant'].includes(st.phase);
    engine.restart();
    if (analysing) analyse(++gen);
    else setTimeout(requestMixquant, 0);  // after the cancelled call's cleanup; re-requests only if out of date
  }

  function showError(message, title = 'Could not analyse the model') {
    st.error = message;
    $('error').querySelector('.error-title').textContent = title;
    $('error-message').textContent = message;
    $('error').hidden = false;
    settle();
  }

  function clearError() {
    st.error = null;
    $('error').hidden = true;
  }

  function fail(err, my) {
    if (err instanceof Cancelled || my !== gen) return;
    st.phase = 'idle';
    progress.hide();
    // Put the controls back to what the display shows, so they never describe results that were not computed.
    syncControls();
    showError(err && err.message ? err.message : String(err));
  }

  // --- progress bar (shown only if work outlasts a blink, so quick sweeps do not flash it) ---------------------------

  const progress = {
    timer: 0,
    show(label, done = null, total = null) {
      const box = $('progress');
      const track = box.querySelector('.progress-track');
      const determinate = total != null && total > 0;
      box.classList.toggle('indeterminate', !determinate);
      const pct = determinate ? Math.round((100 * done) / total) : 0;
      box.querySelector('.progress-fill').style.width = determinate ? `${pct}%` : '';
      if (determinate) track.setAttribute('aria-valuenow', String(pct));
      else track.removeAttribute('aria-valuenow');
      $('progress-label').textContent = label;
      if (box.hidden && !this.timer) this.timer = setTimeout(() => { this.timer = 0; box.hidden = false; }, 150);
    },
    hide() {
      clearTimeout(this.timer);
      this.timer = 0;
      $('progress').hidden = true;
    },
  };

  // --- intake --------------------------------------------------------------------------------------------------------

  async function intake(files) {
    if (!files.length) return;
    const models = files.filter((f) => /\.onnx$/i.test(f.name));
    // An image or a label file alone is input for the Run panel, not a model.
    if (!models.length && files.length === 1 && st.model) {
      const [f] = files;
      if (/^image\//.test(f.type) || /\.(png|jpe?g|gif|webp|bmp|avif)$/i.test(f.name)) return runPanel.setImage(f);
      if (/\.txt$/i.test(f.name)) return runPanel.setLabels(f);
    }
    if (models.length !== 1) {
      // Nothing to open, so whatever is running carries on; only the message changes.
      const names = files.map((f) => f.name).join(', ');
      const why = models.length === 0
        ? `No .onnx file among the dropped files (${names}).`
        : `${models.length} .onnx files were dropped together (${names}).`;
      showError(`${why} Drop one .onnx model, together with its external-data files if it has any.`);
      return;
    }
    const my = ++gen;
    clearError();
    st.phase = 'read';
    settle();
    const [file] = models;
    progress.show(`Reading ${file.name}…`);
    let model;
    try {
      const read = async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
      const [main, ...ext] = await Promise.all([file, ...files.filter((f) => f !== file)].map(read));
      model = { name: main.name, bytes: main.bytes, externalFiles: ext };
    } catch (err) {
      fail(new Error(`could not read the dropped files: ${err.message}`), my);
      return;
    }
    if (my === gen) openModel(model);
  }

  async function loadUrl(url) {
    const my = ++gen;
    st.phase = 'read';
    settle();
    await whenVisible();
    if (my !== gen) return;
    progress.show(`Fetching ${url}…`);
    let bytes;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`could not fetch the model ${url}: HTTP ${res.status} ${res.statusText}`.trim());
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      // fetch's own TypeError says only "Failed to fetch": name the URL and the usual causes.
      fail(err instanceof TypeError ? new Error(`could not fetch the model ${url} (network error, or the server does `
        + 'not allow this origin: CORS)') : err, my);
      return;
    }
    const name = decodeURIComponent(new URL(url, document.baseURI).pathname.split('/').pop() || 'model.onnx');
    if (my === gen) openModel({ name, bytes, externalFiles: [] });
  }

  async function openModel(model) {
    const my = ++gen;
    if (engine.busy) engine.restart();
    clearError();
    st.phase = 'open';
    settle();
    progress.show(`Parsing ${model.name} (${fmtBytes(model.bytes.length)})…`);
    try {
      model.inspect = await engine.hold(model);
    } catch (err) {
      fail(err, my);
      // A failed load left the display on the previous model; make sure the worker can still serve it.
      if (my === gen && st.mq && mqKey() !== st.mqKey) requestMixquant();
      return;
    }
    if (my !== gen) return;
    st.model = model;
    st.sweep = st.mq = st.config = null;
    st.selected = -1;
    try {
      renderSummary();
      runPanel.setModel(model);
      eqPanel.setModel(model);
      anPanel.setModel(model);
    } catch (err) {
      // A report the page cannot show must not leave the element stuck in 'open'.
      fail(new Error(`could not show ${model.name}: ${err && err.message ? err.message : err}`), my);
      return;
    }
    await analyse(my);
  }

  // --- analysis ------------------------------------------------------------------------------------------------------

  function sweepOptions() {
    const form = $('sweep-form');
    return {
      bits: BITS,
      granularity: form.elements.granularity.value,
      scheme: form.elements.scheme.value,
      range: form.elements.range.value,
    };
  }

  function mqOptions() {
    const baseline = root.querySelector('input[name=baseline]:checked').value;
    return { ...st.sweepOptions, qem: [Number($('qem').value)], baseline, include_sweep: false };
  }
  const mqKey = () => JSON.stringify(mqOptions());

  async function analyse(my) {
    if (!st.model) return;
    if (!wantSweep) {
      st.phase = 'idle';
      progress.hide();
      settle();
      return;
    }
    const options = sweepOptions();
    try {
      st.phase = 'load';
      settle();
      if (engine.model !== st.model) {
        progress.show(`Loading ${st.model.name} into the worker…`);
        await engine.hold(st.model);
        if (my !== gen) return;
      }
      st.phase = 'sweep';
      progress.show('Sweeping layers…', 0, 1);
      const { result: sweep } = await engine.request({ type: 'sweep', options }, (done, total, name) =>
        progress.show(`Sweeping layer ${done}/${total}: ${name}`, done, total));
      if (my !== gen) return;
      st.sweep = sweep;
      st.sweepOptions = options;
      if (st.selected >= sweep.layers.length) st.selected = -1;
      renderSweep();
      st.phase = 'mixquant';
      progress.show('MixQuant…', 0, 1);
      const opts = mqOptions();
      const { result } = await engine.request({ type: 'mixquant', options: opts }, (done, total) =>
        progress.show(`MixQuant: sweeping layer ${done}/${total}`, done, total));
      if (my !== gen) return;
      applyMixquant(result, JSON.stringify(opts));
      st.phase = 'idle';
      progress.hide();
      settle();
      if (mqKey() !== st.mqKey) requestMixquant();
    } catch (err) {
      fail(err, my);
    }
  }

  function rerunSweep() {
    // Without a model there is nothing to sweep (and an error on display stays: it is about the model).
    if (!st.model && st.phase === 'idle') return;
    clearError();
    // A model being read or parsed sweeps with whatever the controls say once it is ready.
    if (st.phase === 'read' || st.phase === 'open') return settle();
    const my = ++gen;
    // Only the page's own sweep work is superseded; a panel's run, equalization or analysis finishes first.
    if (['load', 'sweep', 'mixquant'].includes(st.phase)) engine.restart((m) => m.type === 'sweep' || m.type === 'mixquant');
    analyse(my);
  }

  // mixquant re-sweeps in the wasm API, so slider moves are coalesced: one call in flight, then the latest settings.
  let mqBusy = false;
  async function requestMixquant() {
    if (!st.sweep || st.phase !== 'idle' || mqBusy) return;
    mqBusy = true;
    const my = gen;
    $('mq-panel').classList.add('stale');
    try {
      while (my === gen && st.phase === 'idle' && mqKey() !== st.mqKey) {
        const opts = mqOptions();
        await engine.hold(st.model);
        const { result } = await engine.request({ type: 'mixquant', options: opts }, (done, total) => {
          if (my === gen && st.phase === 'idle') progress.show(`MixQuant: sweeping layer ${done}/${total}`, done, total);
        });
        if (my !== gen) break;
        applyMixquant(result, JSON.stringify(opts));
      }
    } catch (err) {
      fail(err, my);
    } finally {
      mqBusy = false;
      $('mq-panel').classList.remove('stale');
      if (my === gen && st.phase === 'idle') progress.hide();
    }
  }

  function onMixquantControls() {
    $('qem-value').textContent = Number($('qem').value).toFixed(1);
    if (st.error && st.phase === 'idle') {
      clearError();
      settle();
    }
    requestMixquant();
  }

  function applyMixquant(result, key) {
    st.mq = result;
    st.mqKey = key;
    st.config = result.configs[0];
    renderMixquant();
    renderTableBits();
    settle();
  }

  // Controls follow the results on display after a failure or cancellation.
  function syncControls() {
    const o = st.sweepOptions;
    if (!o) return;
    const form = $('sweep-form');
    form.elements.granularity.value = o.granularity;
    form.elements.scheme.value = o.scheme;
    form.elements.range.value = o.range;
  }

  // --- summary -------------------------------------------------------------------------------------------------------

  function shapeNodes(shape) {
    if (shape == null) return [h('span', { class: 'muted' }, 'shape unknown')];
    const parts = [];
    shape.forEach((d, i) => {
      if (i) parts.push(', ');
      // Exporters name dynamic dims verbosely (p2o.DynamicDimension.0); the full name stays in the tooltip.
      if (typeof d !== 'string') parts.push(String(d));
      else parts.push(h('span', { class: 'dim-sym', title: `symbolic dimension “${d}”` }, d.length > 8 ? '?' : d));
    });
    return ['[', ...parts, ']'];
  }

  function renderSummary() {
    const m = st.model.inspect.model;
    const layers = st.model.inspect.layers;
    // Long exported file names break after separators rather than mid-word.
    const pieces = m.file.split(/(?<=[._-])/);
    $('summary-title').replaceChildren(...pieces.flatMap((part, i) => (i ? [h('wbr'), part] : [part])));
    $('embed-model').textContent = m.file;
    const body = $('summary-body');
    const opsets = Object.entries(m.opsets).map(([d, v]) => `${d} ${v}`).join(', ') || '—';
    const pct = m.parameters ? ` (${((100 * m.layer_parameters) / m.parameters).toFixed(1)} % of all)` : '';
    const tensorsNote = [
      m.initializers ? plural(m.initializers, 'initializer') : null,
      m.weight_tensors_from_constants ? `${fmtInt(m.weight_tensors_from_constants)} from Constant nodes` : null,
      m.external_tensors ? `${fmtInt(m.external_tensors)} external` : null,
    ].filter(Boolean).join(', ');
    const fact = (k, ...v) => [h('dt', {}, k), h('dd', {}, ...v)];
    const aside = (text) => h('span', { class: 'muted' }, text);
    const facts = h('dl', { class: 'facts' },
      fact('Size', fmtBytes(m.bytes), m.bytes >= 1024 ? aside(` (${fmtInt(m.bytes)} B)`) : null),
      fact('IR version', String(m.ir_version)),
      fact('Opsets', opsets),
      fact('Producer', m.producer || aside('not recorded')),
      m.graph_name ? fact('Graph', m.graph_name) : null,
      fact('Nodes', fmtInt(m.nodes), m.constant_nodes ? aside(` (${fmtInt(m.constant_nodes)} Constant)`) : null),
      fact('Weight tensors', fmtInt(m.weight_tensors), tensorsNote ? aside(` (${tensorsNote})`) : null),
      fact('Parameters', fmtInt(m.parameters)),
      fact('Quantizable layers', h('strong', {}, fmtInt(layers.length)),
        aside(` · ${fmtInt(m.layer_parameters)} params${pct}`)),
    );
    const io = (list) => h('ul', { class: 'io' }, list.map((v) => h('li', {},
      h('span', { class: 'io-name' }, v.name), ' ',
      h('span', { class: 'io-type' }, v.dtype, ' ', ...shapeNodes(v.shape)))));
    const ops = [...m.ops].sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
    const opChips = h('ul', { class: 'chips', 'aria-label': 'operator counts' }, ops.map((o) => h('li', {
      class: o.supported ? null : 'unsupported',
      title: o.domain ? `domain ${o.domain}` : null,
    }, o.op, h('b', {}, fmtInt(o.count)))));
    const unsupported = m.unsupported_ops.length
      ? h('div', { class: 'warn-box', role: 'note' },
        h('strong', {}, `Unsupported operators (${m.unsupported_ops.length})`),
        h('ul', {}, m.unsupported_ops.map((u) => h('li', {},
          h('code', {}, u.domain ? `${u.domain}::${u.op}` : u.op), ` × ${fmtInt(u.count)}`,
          u.nodes.length ? aside(` — ${u.nodes.join(', ')}${u.count > u.nodes.length ? ', …' : ''}`) : null))))
      : h('p', { class: 'ok-note' }, '✓ All operators are supported.');
    const meta = Object.entries(m.metadata || {});
    const skipped = layers.filter((l) => l.skip);
    body.replaceChildren(...[
      facts,
      h('h3', {}, `Inputs (${m.inputs.length})`), io(m.inputs),
      h('h3', {}, `Outputs (${m.outputs.length})`), io(m.outputs),
      h('h3', {}, `Operators (${plural(ops.length, 'type')})`), opChips,
      unsupported,
      skipped.length ? h('div', { class: 'warn-box', role: 'note' },
        h('strong', {}, `Layers not analysed (${skipped.length})`),
        h('ul', {}, skipped.map((l) => h('li', {}, h('code', {}, l.name), ` — ${l.skip}`)))) : null,
      meta.length ? h('details', {}, h('summary', {}, `Metadata (${meta.length})`),
        h('dl', { class: 'facts' }, meta.map(([k, v]) => fact(k, v)))) : null,
    ].filter(Boolean));
  }

  // --- SQNR chart ----------------------------------------------------------------------------------------------------

  function segmentDistance(px, py, ax, ay, bx, by) {
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
    return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
  }

  // The line under the pointer (not the nearest vertex: with dozens of layers the vertices coincide at each bit-width).
  function lineAt(chart, x, y) {
    let best = -1, bestD = HIT_PX;
    const order = chart.data.datasets.map((_, i) => i);
    // The highlighted line is drawn on top, so it also wins ties.
    if (st.selected >= 0) order.sort((a, b) => (plotted[b] === st.selected) - (plotted[a] === st.selected));
    for (const di of order) {
      const pts = chart.getDatasetMeta(di).data;
      for (let k = 0; k < pts.length; k++) {
        const a = pts[k];
        if (a.skip) continue;
        const b = pts[k + 1] && !pts[k + 1].skip ? pts[k + 1] : a;
        const d = segmentDistance(x, y, a.x, a.y, b.x, b.y);
        if (d < bestD) { bestD = d; best = di; }
      }
    }
    return best;
  }

  let sqnrChart = null;
  let bitsChart = null;

  function createCharts() {
    const tooltip = {
      backgroundColor: 'rgba(27, 34, 48, 0.94)',
      padding: 8,
      titleFont: { family: 'ui-monospace, Menlo, Consolas, monospace', weight: '600' },
      displayColors: false,
    };
    sqnrChart = new Chart($('sqnr-chart'), {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'layerLine', intersect: false },
        elements: { line: { borderWidth: 1.4, tension: 0 }, point: { radius: 0, hoverRadius: 4, hitRadius: 0 } },
        plugins: {
          legend: { display: false },
          tooltip: {
            ...tooltip,
            callbacks: {
              title: (items) => (items.length ? layerOf(items[0].datasetIndex).name : ''),
              label: (item) => `${item.parsed.x}-bit: ${fmtDb(item.raw.v)} dB SQNR`,
              afterLabel: (item) => {
                const l = layerOf(item.datasetIndex);
                return `${l.op} ${fmtShape(l.shape)} · ${fmtInt(l.params)} params`;
              },
            },
          },
        },
        scales: {
          x: {
            type: 'linear', min: 2, max: 8,
            ticks: { stepSize: 1, callback: (v) => `${v}-bit` },
            title: { display: true, text: 'weight bit-width' },
            grid: { color: '#eef0f3' },
          },
          y: { title: { display: true, text: 'SQNR (dB)' }, grid: { color: '#eef0f3' } },
        },
        onHover: (e, _els, chart) => {
          const di = lineAt(chart, e.x, e.y);
          chart.canvas.style.cursor = di >= 0 ? 'pointer' : 'default';
          if (di !== st.hovered) {
            st.hovered = di;
            styleSqnr();
          }
        },
        onClick: (e, _els, chart) => {
          const di = lineAt(chart, e.x, e.y);
          select(di < 0 ? -1 : plotted[di] === st.selected ? -1 : plotted[di], true);
        },
      },
    });
    sqnrChart.$qpLineAt = (chart, e) => {
      const di = lineAt(chart, e.x, e.y);
      if (di < 0) return [];
      const pts = chart.getDatasetMeta(di).data;
      let k = 0;
      pts.forEach((p, i) => { if (!p.skip && Math.abs(p.x - e.x) < Math.abs(pts[k].x - e.x)) k = i; });
      return [{ element: pts[k], datasetIndex: di, index: k }];
    };
    $('sqnr-chart').addEventListener('mouseleave', () => {
      if (st.hovered !== -1) { st.hovered = -1; styleSqnr(); }
    });
    bitsChart = new Chart($('bits-chart'), {
      type: 'bar',
      data: {
        labels: [],
        datasets: [{ data: [], borderWidth: 0, barPercentage: 0.9, categoryPercentage: 0.95, maxBarThickness: 36 }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            ...tooltip,
            callbacks: {
              title: (items) => {
                if (!items.length) return '';
                const i = items[0].dataIndex;
                return `#${i + 1} ${st.sweep.layers[i].name}`;
              },
              label: (item) => {
                const l = st.sweep.layers[item.dataIndex];
                if (!item.raw) return `kept in float32 (${l.skip || 'not analysed'})`;
                return `${item.raw} bits · ${fmtInt(l.params)} params`;
              },
            },
          },
        },
        scales: {
          x: {
            title: { display: true, text: 'layer #' },
            grid: { display: false },
            ticks: { autoSkipPadding: 6, maxRotation: 0 },
          },
          y: {
            min: 0, max: 8,
            ticks: { stepSize: 1 },
            title: { display: true, text: 'bits' },
            grid: { color: '#eef0f3' },
          },
        },
        onClick: (_e, els) => {
          if (!els.length) return select(-1, true);
          const i = els[0].index;
          select(i === st.selected ? -1 : i, true);
        },
        onHover: (_e, els, chart) => { chart.canvas.style.cursor = els.length ? 'pointer' : 'default'; },
      },
    });
  }

  const layerOf = (di) => st.sweep.layers[plotted[di]];

  function renderSweep() {
    const layers = st.sweep.layers;
    plotted = [];
    const datasets = [];
    layers.forEach((l, i) => {
      if (!l.results.length) return;
      plotted.push(i);
      datasets.push({
        label: l.name,
        // y is what gets drawn (a gap where SQNR is not finite); v keeps the value the tooltip reports, e.g. ∞.
        data: l.results.map((r) => {
          const v = sqnrValue(r);
          return { x: r.bits, y: Number.isFinite(v) ? v : null, v };
        }).sort((a, b) => a.x - b.x),
        spanGaps: false,
      });
    });
    sqnrChart.data.datasets = datasets;
    st.hovered = -1;
    styleSqnr(false);
    sqnrChart.update('none');
    const o = st.sweep.options;
    const gran = o.granularity === 'channel' ? 'per channel' : 'per tensor';
    $('sweep-meta').textContent =
      `${plural(layers.length, 'layer')} · ${gran}, ${o.scheme}, ${o.range} · ${st.sweep.elapsed_ms.toFixed(0)} ms`;
    $('simd-target').textContent = `wasm kernel: ${st.sweep.simd_target}`;
    renderTable();
  }

  function styleSqnr(update = true) {
    const sel = st.selected, hov = st.hovered;
    sqnrChart.data.datasets.forEach((ds, di) => {
      const li = plotted[di];
      const focus = li === sel || di === hov;
      const dim = sel >= 0 || hov >= 0;
      ds.borderColor = focus ? hsl(li) : dim ? (sel >= 0 ? 'rgba(150, 160, 176, 0.28)' : hsl(li, 0.22)) : hsl(li, 0.75);
      ds.backgroundColor = hsl(li);
      ds.pointHoverBackgroundColor = hsl(li);
      ds.borderWidth = li === sel ? 3 : di === hov ? 2.4 : 1.4;
      // Markers only on the highlighted line: its values at each bit-width are what the user is reading off.
      ds.pointRadius = li === sel ? 3 : 0;
      ds.pointBackgroundColor = hsl(li);
      // Lower order draws last, i.e. on top.
      ds.order = li === sel ? -2 : di === hov ? -1 : 0;
    });
    if (update) sqnrChart.update('none');
  }

  // --- MixQuant ------------------------------------------------------------------------------------------------------

  function renderMixquant() {
    const c = st.config;
    const fp32 = c.weight_bytes * c.compression_vs_fp32;
    $('m-size').replaceChildren(`${(c.weight_bytes / 1024).toFixed(1)} KiB `,
      h('small', {}, `of ${(fp32 / 1024).toFixed(1)} KiB fp32`));
    $('m-bits').textContent = c.mean_bits.toFixed(2);
    $('m-fp32').textContent = `${c.compression_vs_fp32.toFixed(2)}×`;
    $('m-int8').textContent = `${c.compression_vs_int8.toFixed(2)}×`;
    $('m-sqnr').textContent = c.weight_sqnr_db == null ? '—' : `${c.weight_sqnr_db.toFixed(1)} dB`;
    const ds = bitsChart.data.datasets[0];
    bitsChart.data.labels = c.bits.map((_, i) => String(i + 1));
    ds.data = c.bits.slice();
    styleBars(false);
    bitsChart.update('none');
    $('bits-chart').setAttribute('aria-label', `Bar chart of the bits MixQuant assigns to each of ${c.bits.length} `
      + `layers at QEM ${c.qem}, ${c.baseline} baseline: mean ${c.mean_bits.toFixed(2)} bits`);
  }

  function styleBars(update = true) {
    const ds = bitsChart.data.datasets[0];
    ds.backgroundColor = ds.data.map((b, i) => {
      const col = BIT_COLORS[b] || '#9aa3b2';
      return st.selected < 0 || i === st.selected ? col : hexA(col, 0.22);
    });
    if (update) bitsChart.update('none');
  }

  // --- table ---------------------------------------------------------------------------------------------------------

  const COLUMNS = [
    { key: 'index', label: '#', title: 'position in the graph (topological order)', value: (l, i) => i + 1, cls: 'idx' },
    { key: 'name', label: 'Layer', left: true, value: (l) => l.name, cls: 'name' },
    { key: 'op', label: 'Op', left: true, value: (l) => l.op },
    // Shapes sort by size, which is what comparing them usually means.
    {
      key: 'shape', label: 'Weight shape', left: true, cls: 'shape',
      value: (l) => l.params, text: (l) => fmtShape(l.shape),
    },
    { key: 'params', label: 'Params', value: (l) => l.params, text: (l) => fmtInt(l.params) },
    {
      key: 'mos', label: 'max/std', title: 'max |w| / std(w): large values mean outliers stretch the range',
      value: (l) => (l.stats.max_over_std == null ? NaN : l.stats.max_over_std),
      text: (l) => (l.stats.max_over_std == null ? '—' : l.stats.max_over_std.toFixed(1)),
    },
    ...BITS.map((b) => ({
      key: `q${b}`, label: `${b}-bit`, title: `SQNR in dB at ${b} bits`, cls: 'sq',
      value: (l) => sqnrValue(l.results[st.sweep.options.bits.indexOf(b)]),
      text: (l) => fmtDb(sqnrValue(l.results[st.sweep.options.bits.indexOf(b)])),
    })),
    {
      key: 'mq', label: 'MixQuant', title: 'bits MixQuant assigns at the current QEM and baseline', cls: 'bits',
      value: (l, i) => (st.config ? st.config.bits[i] : NaN),
    },
  ];

  function renderTableHead() {
    const tr = h('tr', {}, COLUMNS.map((c) => h('th', {
      scope: 'col', class: c.left ? 'left' : null, title: c.title,
      'aria-sort': st.sort.key === c.key ? (st.sort.dir > 0 ? 'ascending' : 'descending') : 'none',
    }, h('button', { type: 'button', onclick: () => sortBy(c.key) }, c.label))));
    $('layer-table').tHead.replaceChildren(tr);
  }

  function sortBy(key) {
    st.sort = st.sort.key === key ? { key, dir: -st.sort.dir } : { key, dir: 1 };
    renderTable();
  }

  function sortedIndices() {
    const col = COLUMNS.find((c) => c.key === st.sort.key);
    const layers = st.sweep.layers;
    const idx = layers.map((_, i) => i);
    const dir = st.sort.dir;
    idx.sort((a, b) => {
      const va = col.value(layers[a], a), vb = col.value(layers[b], b);
      if (typeof va === 'string') return dir * va.localeCompare(vb, 'en', { numeric: true }) || a - b;
      // Missing values stay at the bottom in either direction.
      const na = Number.isNaN(va), nb = Number.isNaN(vb);
      if (na || nb) return na - nb || a - b;
      return va === vb ? a - b : dir * (va < vb ? -1 : 1);
    });
    return idx;
  }

  function renderTable() {
    renderTableHead();
    const layers = st.sweep.layers;
    const tbody = $('layer-table').tBodies[0];
    if (!layers.length) {
      tbody.replaceChildren(h('tr', {}, h('td', { class: 'empty', colspan: COLUMNS.length },
        'No quantizable layers (Conv, ConvTranspose, Gemm or MatMul with a constant weight) in this model.')));
    } else {
      tbody.replaceChildren(...sortedIndices().map((i) => {
        const l = layers[i];
        const cells = COLUMNS.map((c) => {
          if (c.key === 'name') {
            const title = `${l.name}\nweight: ${l.weight}${l.skip ? `\nnot analysed: ${l.skip}` : ''}`;
            return h('td', { class: 'left name', title },
              h('span', { class: 'swatch', style: `background:${l.results.length ? hsl(i) : '#c5cbd5'}` }), l.name,
              l.flags.map((f) => h('span', { class: 'flag' }, f.replace('_', ' '))));
          }
          if (c.key === 'mq') return h('td', { class: 'bits' });
          const text = c.text ? c.text(l, i) : String(c.value(l, i));
          return h('td', { class: [c.left ? 'left' : '', c.cls || ''].join(' ').trim() || null }, text);
        });
        return h('tr', {
          'data-layer': String(i), tabindex: '0',
          onclick: () => select(i === st.selected ? -1 : i, false),
          onkeydown: (e) => {
            if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(i === st.selected ? -1 : i, false); }
          },
        }, cells);
      }));
    }
    const model = st.sweep.model || [];
    $('layer-table').tFoot.replaceChildren(h('tr', {},
      h('td', { class: 'left', colspan: 4 }, 'All analysed weights'),
      h('td', {}, fmtInt(layers.reduce((s, l) => s + (l.results.length ? l.params : 0), 0))),
      h('td', {}, ''),
      BITS.map((b) => h('td', {}, fmtDb(sqnrValue(model[st.sweep.options.bits.indexOf(b)])))),
      h('td', { class: 'bits', id: 'foot-bits' }, '')));
    const analysed = layers.filter((l) => l.results.length).length;
    const partly = analysed < layers.length ? ` (${analysed} analysed)` : '';
    $('table-meta').textContent = `${plural(layers.length, 'layer')}${partly}`;
    renderTableBits();
    styleRows();
  }

  function renderTableBits() {
    if (!st.sweep) return;
    const bits = st.config && st.config.bits.length === st.sweep.layers.length ? st.config.bits : null;
    for (const tr of $('layer-table').tBodies[0].rows) {
      const cell = tr.querySelector('td.bits');
      if (!cell) continue;
      const b = bits ? bits[Number(tr.dataset.layer)] : null;
      if (b == null) cell.replaceChildren('…');
      else if (b === 0) cell.replaceChildren(h('span', { class: 'muted', title: 'not analysed: stays float32' }, 'fp32'));
      else cell.replaceChildren(h('b', { style: `background:${BIT_COLORS[b] || '#6b7484'}` }, String(b)));
    }
    const foot = $('foot-bits');
    if (foot) foot.textContent = st.config ? `${st.config.mean_bits.toFixed(2)} avg` : '';
    // Sorting by the MixQuant column must follow the allocation as it changes.
    if (st.sort.key === 'mq' && bits) reorderRows();
  }

  function reorderRows() {
    const tbody = $('layer-table').tBodies[0];
    const byLayer = new Map([...tbody.rows].map((r) => [r.dataset.layer, r]));
    tbody.append(...sortedIndices().map((i) => byLayer.get(String(i))).filter(Boolean));
  }

  function styleRows() {
    const tbody = $('layer-table').tBodies[0];
    tbody.classList.toggle('has-selection', st.selected >= 0);
    for (const tr of tbody.rows) {
      const on = Number(tr.dataset.layer) === st.selected;
      tr.classList.toggle('is-selected', on);
      if (on) tr.setAttribute('aria-current', 'true');
      else tr.removeAttribute('aria-current');
    }
  }

  function select(i, scrollTable) {
    st.selected = i;
    styleSqnr();
    styleBars();
    styleRows();
    $('clear-selection').hidden = i < 0;
    if (scrollTable && i >= 0) {
      // Scroll only the table's own box: moving the whole page away from the chart that was clicked would be jarring.
      const box = $('table-scroll');
      const row = $('layer-table').tBodies[0].querySelector(`tr[data-layer="${i}"]`);
      if (row) {
        const head = $('layer-table').tHead.offsetHeight, foot = $('layer-table').tFoot.offsetHeight;
        const top = row.offsetTop - head, bottom = row.offsetTop + row.offsetHeight - box.clientHeight + foot;
        if (box.scrollTop > top) box.scrollTop = top;
        else if (box.scrollTop < bottom) box.scrollTop = bottom;
      }
    }
  }

  // --- downloads -----------------------------------------------------------------------------------------------------

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const baseName = () => st.model.name.replace(/\.onnx$/i, '');

  function downloadJson() {
    if (!st.model || !st.sweep) return;
    const report = {
      schema: 'quantplay/1',
      kind: 'report',
      created: new Date().toISOString(),
      settings: { sweep: st.sweepOptions, mixquant: st.mqKey ? JSON.parse(st.mqKey) : null },
      inspect: st.model.inspect,
      sweep: st.sweep,
      mixquant: st.mq,
    };
    download(`${baseName()}.quantplay.json`, 'application/json', `${JSON.stringify(report, null, 2)}\n`);
  }

  function csvField(v) {
    const s = v == null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function downloadCsv() {
    if (!st.sweep) return;
    const bitsIdx = BITS.map((b) => st.sweep.options.bits.indexOf(b));
    const head = ['index', 'layer', 'op', 'weight', 'shape', 'params', 'channels', 'groups', 'max_over_std',
      ...BITS.map((b) => `sqnr_db_${b}bit`), 'mixquant_bits', 'flags', 'skip'];
    const rows = st.sweep.layers.map((l, i) => {
      const sq = bitsIdx.map((k) => {
        const v = sqnrValue(l.results[k]);
        return v === Infinity ? 'inf' : Number.isFinite(v) ? v.toFixed(4) : '';
      });
      return [i + 1, l.name, l.op, l.weight, l.shape.join('x'), l.params, l.channels, l.groups,
        l.stats.max_over_std == null ? '' : l.stats.max_over_std.toFixed(4), ...sq,
        st.config ? st.config.bits[i] : '', l.flags.join(' '), l.skip || ''];
    });
    const text = [head, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n');
    download(`${baseName()}.layers.csv`, 'text/csv', `${text}\r\n`);
  }

  // --- wiring --------------------------------------------------------------------------------------------------------

  function wire() {
    $('sweep-form').addEventListener('change', rerunSweep);
    $('sweep-form').addEventListener('submit', (e) => e.preventDefault());
    $('qem').addEventListener('input', onMixquantControls);
    $('qem').addEventListener('change', onMixquantControls);
    for (const r of root.querySelectorAll('input[name=baseline]')) r.addEventListener('change', onMixquantControls);
    $('clear-selection').addEventListener('click', () => select(-1, false));
    $('error-dismiss').addEventListener('click', () => { clearError(); settle(); });
    $('download-json').addEventListener('click', downloadJson);
    $('download-csv').addEventListener('click', downloadCsv);

    const input = $('file-input');
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = '';  // choosing the same file again must fire change again
      intake(files);
    });
    $('open-model').addEventListener('click', () => input.click());
    const zone = $('dropzone');
    zone.addEventListener('click', () => input.click());
    zone.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
    });

    // Dropping anywhere works; the counter survives dragenter/dragleave pairs fired by every child element.
    const overlay = $('drop-overlay');
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    dropTarget.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      overlay.hidden = false;
    });
    dropTarget.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    dropTarget.addEventListener('dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) overlay.hidden = true;
    });
    dropTarget.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      intake([...e.dataTransfer.files]);
    });
  }

  createCharts();
  wire();
  settle();

  return {
    engine,
    loadUrl,
    // A model handed in from script: bytes (Uint8Array or ArrayBuffer) and its file name.
    // The element hands over bytes of its own (el.load copies the caller's). An element off screen opens the model
    // once it scrolls into view.
    async loadBytes(bytes, name = 'model.onnx', externalFiles = []) {
      const model = { name, bytes, externalFiles };
      const my = ++gen;
      st.phase = 'read';
      settle();
      await whenVisible();
      if (my === gen) await openModel(model);
    },
    rerunSweep,
    onMixquantControls,
    showError,
    // No model yet (no src): say what to do instead of "loading".
    showIdle() {
      $('summary-body').replaceChildren(h('p', { class: 'muted' }, 'Open or drop an .onnx model.'));
      $('embed-model').textContent = 'No model: open or drop an .onnx file';
      settle();
    },
    state: () => host.state,
    dispose() {
      gen++;
      engine.dispose();
      for (const c of [sqnrChart, bitsChart]) if (c) c.destroy();
    },
  };
}
