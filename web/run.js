// The Run panel: input source (seeded random or an image with editable preprocessing), labels, running the model
// in the worker, and the run report (output statistics, top-5, time, memory).
import { h, fmtBytes, fmtInt, fmtMs, fmtNum, fmtShape, plural } from './dom.js';
import {
  PRESETS, ctcDecode, imageInput, parseChannels, parseLabels, parseScale, parseUnsupported, placement, presetForFile,
  rgbaToNchw, symbolicDims,
} from './preprocess.js';

const MAX_SIDE = 8192;     // image sides beyond this are a typing slip, and the canvas would refuse them anyway
const MAX_REPEAT = 1000;
const MAP_MIN_SIDE = 8;    // outputs shaped like an image with at least this many rows and columns are drawn,
const MAP_MAX_SIDE = 4096; // up to this size
const MAP_MAX_ASPECT = 16; // and not a strip such as a recogniser's [1, T, classes]

// $: element lookup by id inside the playground; host: the <quant-playground> element (its data-run attribute
// mirrors the panel's state); engine: the element's worker bridge; isCancel(err): whether err means the worker was restarted; canRun(): whether
// the worker may take a run now (not while a new model is being read or parsed); onChange(): the panel's state
// changed (the element republishes its state); onCancel(): the user stopped a run by restarting the worker.
export function createRunPanel({ $, host, engine, isCancel, canRun, onChange, onCancel }) {
  const rs = {
    model: null,         // the page's model object ({name, inspect, …})
    img: null,           // imageInput() of the model, or null
    dims: [],            // symbolicDims() of the model
    blocked: null,       // [{op, nodes}] from inspect's unsupported_ops: the run button stays off
    image: null,         // {name, bitmap}
    labels: null,        // {name, list} from a label file
    builtin: null,       // labels that came with the applied preset
    running: false,
    state: 'none',       // none | idle | running | done | error | unsupported | cancelled
    finished: 0,         // run attempts that ended (done, error, unsupported, cancelled): tests wait on it
    report: null,
    error: null,
    startedAt: 0,
    timer: 0,
  };
  const form = $('run-form');
  const el = (name) => form.elements[name];

  // --- state -------------------------------------------------------------------------------------------------------

  // ended: a run attempt (or its validation) ended here.
  function setState(state, ended = false) {
    if (ended) rs.finished++;
    rs.state = state;
    host.dataset.run = state;
    sync();
    onChange();
  }

  function sync() {
    const ok = !!rs.model && !rs.blocked && !rs.running && canRun();
    $('run-button').disabled = !ok;
    $('run-button').textContent = rs.running ? 'Running…' : 'Run';
    $('run-cancel').hidden = !rs.running;
    form.classList.toggle('is-running', rs.running);
  }

  // --- model ---------------------------------------------------------------------------------------------------------

  function setModel(model) {
    if (rs.running) {
      // The page restarts the worker before opening a model, so this run is already gone.
      finishRunning();
    }
    rs.model = model;
    rs.report = null;
    rs.error = null;
    rs.labels = null;
    const m = model.inspect.model;
    rs.img = imageInput(m.inputs);
    rs.dims = symbolicDims(m.inputs, rs.img);
    rs.blocked = m.unsupported_ops && m.unsupported_ops.length
      ? m.unsupported_ops.map((u) => ({
        op: u.domain ? `${u.domain}::${u.op}` : u.op,
        nodes: u.nodes.join(', ') + (u.count > u.nodes.length ? ', …' : ''),
        count: u.count,
      }))
      : null;
    const imageLabel = $('source-image-label');
    imageLabel.querySelector('input').disabled = !rs.img;
    imageLabel.title = rs.img ? '' : 'the model has no float32 NCHW input with 1 or 3 channels';
    if (!rs.img) el('source').value = 'random';
    renderDims();
    applyPreset(presetForFile(model.name));
    renderLabelsInfo();
    hideError();
    $('run-results').hidden = true;
    $('run-meta').textContent = '';
    renderUnsupported(rs.blocked, 'inspect');
    showSource();
    setState(rs.blocked ? 'unsupported' : 'idle');
  }

  function renderDims() {
    const box = $('run-dims');
    const fields = rs.dims.map((d) => {
      const role = d.roles.join(', ');
      const short = d.name.length > 10 ? `${d.name.slice(0, 9)}…` : d.name;
      const id = `run-dim-${rs.dims.indexOf(d)}`;
      return h('div', { class: 'field field-num', title: `symbolic dimension “${d.name}”` },
        h('label', { for: id }, role || short),
        h('input', {
          id, type: 'number', min: '1', step: '1', value: '1', inputmode: 'numeric',
          'data-dim': d.name, 'data-role': role || null, 'aria-label': `size of dimension ${d.name}`,
        }));
    });
    box.replaceChildren(...fields);
    box.hidden = !fields.length;
  }

  // The preset's size goes into symbolic H/W fields; fixed sizes are the model's.
  function applyPreset(key) {
    const p = PRESETS[key] || PRESETS.custom;
    el('preset').value = key;
    const c = rs.img ? rs.img.channels : 3;
    if (key === 'custom') {
      el('channels').value = c === 1 ? 'L' : 'RGB';
      el('scale').value = '1/255';
      el('mean').value = '0';
      el('std').value = '1';
      el('fit').value = 'stretch';
      el('invert').checked = false;
      rs.builtin = null;
      setSize(224, 224);
    } else {
      el('channels').value = c === 1 ? 'L' : p.channels;
      el('scale').value = p.scale;
      el('mean').value = p.mean.join(', ');
      el('std').value = p.std.join(', ');
      el('fit').value = p.fit;
      el('short').value = String(p.short || 256);
      el('invert').checked = !!p.invert;
      rs.builtin = p.labels ? { name: `built-in (${p.label})`, list: p.labels } : null;
      setSize(p.h, p.w);
    }
    $('run-preset-note').textContent = presetNote(p);
    renderLabelsInfo();
    showFit();
    preview();
  }

  function presetNote(p) {
    if (!rs.img) return p.note;
    const fixed = typeof rs.img.h === 'number' && typeof rs.img.w === 'number';
    return fixed ? `${p.note} The model fixes the size at ${rs.img.h}×${rs.img.w}.` : p.note;
  }

  function setSize(hh, ww) {
    for (const input of $('run-dims').querySelectorAll('input[data-dim]')) {
      const roles = input.dataset.role || '';
      if (roles.includes('H')) input.value = String(hh);
      else if (roles.includes('W')) input.value = String(ww);
    }
  }

  // Channel choices follow the input: a 1-channel input only takes luminance.
  function showFit() {
    $('run-short-field').hidden = el('fit').value !== 'crop';
    const gray = rs.img && rs.img.channels === 1;
    for (const o of el('channels').options) o.disabled = gray && o.value !== 'L';
  }

  function showSource() {
    const image = el('source').value === 'image';
    $('run-image-box').hidden = !image;
    preview();
  }

  // --- inputs --------------------------------------------------------------------------------------------------------

  function intField(input, what, lo, hi) {
    const v = Number(input.value);
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what}: expected a whole number in ${lo}..${hi}, not '${input.value}'`);
    return v;
  }

  function dimValues() {
    const dims = {};
    for (const input of $('run-dims').querySelectorAll('input[data-dim]')) {
      dims[input.dataset.dim] = intField(input, `dimension ${input.dataset.dim}`, 1, MAX_SIDE);
    }
    return dims;
  }

  const sizeOf = (d, dims) => (typeof d === 'number' ? d : dims[d]);

  function prepSettings(dims) {
    const img = rs.img;
    const C = img.channels;
    const hh = sizeOf(img.h, dims), ww = sizeOf(img.w, dims);
    if (!(hh >= 1 && ww >= 1)) throw new Error(`input '${img.name}': height and width must be at least 1`);
    if (hh * ww > MAX_SIDE * MAX_SIDE / 4) throw new Error(`input '${img.name}': ${hh}×${ww} is too large for an image input`);
    return {
      h: hh, w: ww, n: Math.max(1, sizeOf(img.n, dims) || 1),
      outChannels: C,
      channels: C === 1 ? 'L' : el('channels').value,
      scale: parseScale(el('scale').value, 'scale'),
      mean: parseChannels(el('mean').value, C, 'mean'),
      std: parseChannels(el('std').value, C, 'std'),
      fit: el('fit').value,
      short: intField(el('short'), 'shorter side', 1, MAX_SIDE),
      invert: el('invert').checked,
    };
  }

  function canvas(w, hh) {
    if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(w, hh);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = hh;
    return c;
  }

  // The image as the model sees it, before normalisation: RGBA of H×W and the width the image covers.
  function draw(bitmap, s) {
    const c = canvas(s.w, s.h);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    // Transparent pixels read as white paper rather than black.
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, s.w, s.h);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    const p = placement(bitmap.width, bitmap.height, s.h, s.w, s.fit, s.short);
    ctx.drawImage(bitmap, p.sx, p.sy, p.sw, p.sh, 0, 0, p.dw, s.h);
    return { rgba: ctx.getImageData(0, 0, s.w, s.h).data, dw: p.dw };
  }

  function preview() {
    const cv = $('run-preview');
    let shown = false;
    try {
      if (rs.image && rs.img && el('source').value === 'image') {
        const s = prepSettings(dimValues());
        const { rgba, dw } = draw(rs.image.bitmap, s);
        const px = new Uint8ClampedArray(rgba);
        // Show what the numbers will be: luminance (inverted) for gray inputs, a grey band where the padding is.
        for (let i = 0; i < s.h * s.w; i++) {
          const q = 4 * i;
          if (i % s.w >= dw) { px[q] = px[q + 1] = px[q + 2] = 200; continue; }
          if (s.channels === 'L' || s.invert) {
            let r = px[q], g = px[q + 1], b = px[q + 2];
            if (s.channels === 'L') r = g = b = 0.299 * r + 0.587 * g + 0.114 * b;
            if (s.invert) { r = 255 - r; g = 255 - g; b = 255 - b; }
            px[q] = r; px[q + 1] = g; px[q + 2] = b;
          }
        }
        cv.width = s.w;
        cv.height = s.h;
        cv.getContext('2d').putImageData(new ImageData(px, s.w, s.h), 0, 0);
        cv.title = `${s.w}×${s.h} as the model sees it (before mean/std)`;
        shown = true;
      }
    } catch {
      // Invalid fields: the run reports them; the preview just keeps quiet.
    }
    cv.hidden = !shown;
  }

  async function prepare() {
    const dims = dimValues();
    const repeat = intField(el('repeat'), 'repeat', 1, MAX_REPEAT);
    const seed = intField(el('seed'), 'seed', 0, Number.MAX_SAFE_INTEGER);
    const labels = rs.labels ? rs.labels.list : rs.builtin ? rs.builtin.list : [];
    // Random stays on in image mode too: it fills any other inputs the model has.
    const options = { random: true, seed, dims, repeat, labels };
    const inputs = {};
    const transfer = [];
    let source = `random, seed ${seed}`;
    if (el('source').value === 'image') {
      if (!rs.img) throw new Error('the model has no image-like input (float32 NCHW with 1 or 3 channels)');
      if (!rs.image) throw new Error('choose or drop an image first (or switch the input to Random)');
      const s = prepSettings(dims);
      const t = imageTensor(rs.image.bitmap, s);
      inputs[rs.img.name] = t;
      transfer.push(t.data.buffer);
      source = `image ${rs.image.name} (${prepDescription(s, false)})`;
    }
    return { inputs, options, transfer, source };
  }

  // The input tensor of one image under the preprocessing `s` (prepSettings): N copies of it when the batch is N.
  function imageTensor(bitmap, s) {
    const { rgba, dw } = draw(bitmap, s);
    const one = rgbaToNchw(rgba, s.h, s.w, { ...s, dw });
    const data = s.n === 1 ? one : new Float32Array(one.length * s.n);
    if (s.n > 1) for (let k = 0; k < s.n; k++) data.set(one, k * one.length);
    return { dtype: 'float32', shape: [s.n, s.outChannels, s.h, s.w], data };
  }

  // The preprocessing in words, for reports: size (when asked), channels, scale, mean/std, fit.
  function prepDescription(s, size = true) {
    const ch = s.channels === 'L' ? `luminance${s.invert ? ' inverted' : ''}` : `${s.channels}${s.invert ? ' inverted' : ''}`;
    return `${size ? `${s.h}×${s.w}, ` : ''}${ch}, ×${el('scale').value.trim()}, mean ${s.mean.map(fmtNum).join('/')}, `
      + `std ${s.std.map(fmtNum).join('/')}, ${el('fit').selectedOptions[0].textContent}`;
  }

  // --- running -------------------------------------------------------------------------------------------------------

  async function run() {
    if (!rs.model || rs.running || rs.blocked || !canRun()) return;
    hideError();
    let job;
    try {
      job = await prepare();
    } catch (err) {
      showError(err.message || String(err), true);
      return;
    }
    const model = rs.model;
    rs.running = true;
    rs.startedAt = performance.now();
    tick();
    rs.timer = setInterval(tick, 100);
    setState('running');
    try {
      await engine.hold(model);
      const reply = await engine.request({ type: 'run', inputs: job.inputs, options: job.options }, null, job.transfer);
      if (rs.model !== model) return;
      finishRunning();
      rs.report = reply.report;
      rs.error = null;
      renderReport(reply.report, reply.outputs, job.source, job.options.labels);
      setState('done', true);
    } catch (err) {
      if (rs.model !== model) return;
      finishRunning();
      if (isCancel(err)) {
        $('run-meta').textContent = 'Run cancelled';
        setState('cancelled', true);
        return;
      }
      const message = err && err.message ? err.message : String(err);
      const list = parseUnsupported(message);
      if (list) {
        rs.error = message;
        renderUnsupported(list, 'run');
        $('run-results').hidden = true;
        $('run-meta').textContent = '';
        setState('unsupported', true);
      } else {
        showError(message, true);
      }
    }
  }

  function tick() {
    const s = (performance.now() - rs.startedAt) / 1000;
    $('run-meta').textContent = `Running… ${s.toFixed(1)} s`;
  }

  function finishRunning() {
    rs.running = false;
    clearInterval(rs.timer);
    rs.timer = 0;
  }

  function cancel() {
    if (!rs.running) return;
    onCancel();
  }

  // --- errors --------------------------------------------------------------------------------------------------------

  function showError(message, ended = false) {
    rs.error = message;
    $('run-error-message').textContent = message;
    $('run-error').hidden = false;
    $('run-meta').textContent = '';
    setState('error', ended);
  }

  function hideError() {
    $('run-error').hidden = true;
    if (rs.state === 'error') {
      rs.error = null;
      setState(rs.report ? 'done' : 'idle');
    }
  }

  // from: 'inspect' (the importer has no such op) or 'run' (the engine has no kernel for it yet).
  function renderUnsupported(list, from) {
    const box = $('run-unsupported');
    if (!list) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.replaceChildren(
      h('strong', {}, `This model cannot run: ${plural(list.length, 'unsupported operator')}`),
      h('ul', {}, list.map((u) => h('li', {}, h('code', { class: 'op' }, u.op),
        u.count ? ` × ${fmtInt(u.count)}` : '', u.nodes ? h('span', { class: 'muted' }, ' — nodes ', h('span', { class: 'nodes' }, u.nodes)) : null))),
      h('p', {}, from === 'inspect'
        ? 'The engine has no kernel for these, so the Run button is off. '
        : 'The engine reported these when asked to run the model. ',
      'The weight analysis (SQNR sweep, MixQuant) does not execute the model and works as usual.'));
    box.hidden = false;
  }

  // --- results -------------------------------------------------------------------------------------------------------

  function renderReport(r, outputs, source, labels) {
    renderUnsupported(null);
    const ins = r.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape.join(', ')}]`).join('; ');
    $('run-inputs').replaceChildren(h('span', { class: 'muted' }, 'Input '), h('code', {}, ins || 'none'),
      h('span', { class: 'muted' }, ` · ${source} · ${plural(r.time_ms.runs.length, 'run')} · ${plural(r.nodes_run, 'node')} run`));
    const t = r.time_ms;
    $('r-median').textContent = fmtMs(t.median);
    $('r-first').textContent = fmtMs(t.first);
    $('r-gflop').textContent = r.gflop == null ? '—' : r.gflop.toFixed(r.gflop < 0.1 ? 4 : 3);
    $('r-gflops').textContent = r.gflop != null && t.median > 0 ? (r.gflop / (t.median / 1000)).toFixed(2) : '—';
    const mem = r.memory;
    $('r-weights').textContent = fmtBytes(mem.weight_bytes);
    $('r-pool').replaceChildren(fmtBytes(mem.activation_pool_bytes),
      h('small', { class: 'sub', title: 'the most activation memory alive at once' }, `peak live ${fmtBytes(mem.peak_live_activation_bytes)}`));
    $('r-pool').closest('div').title = 'buffers the executor keeps for activations (reused between nodes and runs)';

    $('run-outputs').tBodies[0].replaceChildren(...r.outputs.map((o) => {
      const finite = o.count - o.nan - o.inf;
      const sum = o.mean == null ? null : o.mean * finite;
      const bad = o.nan || o.inf;
      return h('tr', { 'data-output': o.name },
        h('td', { class: 'left name', title: o.name }, o.name),
        h('td', { class: 'left' }, o.dtype),
        h('td', { class: 'left shape' }, `[${o.shape.join(', ')}]`),
        h('td', {}, fmtNum(o.min)), h('td', {}, fmtNum(o.max)), h('td', {}, fmtNum(o.mean)), h('td', {}, fmtNum(o.std)),
        h('td', { class: 'sum' }, fmtNum(sum)),
        h('td', { class: bad ? 'bad' : null }, `${fmtInt(o.nan)} / ${fmtInt(o.inf)}`));
    }));

    const labelsUsed = rs.labels ? rs.labels.name : rs.builtin ? rs.builtin.name : null;
    $('run-top5').replaceChildren(...r.outputs.filter((o) => o.top5).map((o) => {
      const top = Math.max(...o.top5.map((e) => Math.abs(e.value || 0)), 1e-30);
      return h('div', { class: 'top5', 'data-output': o.name },
        h('h3', {}, 'Top ', String(o.top5.length), ' of ', h('code', {}, o.name),
          h('span', { class: 'muted' }, labelsUsed ? ` · labels: ${labelsUsed}` : ` · ${fmtInt(o.count)} classes, no labels`)),
        h('table', { class: 'top5-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Index'),
            h('th', { scope: 'col', class: 'left' }, 'Label'), h('th', { scope: 'col' }, 'Value'),
            h('th', { scope: 'col', class: 'left bar-col' }, h('span', { class: 'visually-hidden' }, 'relative value')))),
          h('tbody', {}, o.top5.map((e, k) => h('tr', {},
            h('td', { class: 'rank' }, String(k + 1)),
            h('td', {}, String(e.index)),
            h('td', { class: 'left label' }, e.label != null ? e.label : h('span', { class: 'muted' }, '—')),
            h('td', {}, fmtNum(e.value)),
            h('td', { class: 'left bar-col' }, h('span', {
              class: 'bar', style: `width:${Math.max(0, Math.min(100, (100 * Math.abs(e.value || 0)) / top)).toFixed(1)}%`,
            })))))));
    }));

    renderText(r, outputs, labels);
    renderMaps(r, outputs);
    $('run-results').hidden = false;
    $('run-meta').textContent = `${fmtMs(t.median)} per run`;
  }

  // A recogniser's [1, T, C] output read with its character list (blank first): the text it sees.
  function renderText(r, outputs, labels) {
    const lines = [];
    for (const o of r.outputs) {
      const dec = outputs && outputs[o.name] ? ctcDecode(o.shape, outputs[o.name].data, labels) : null;
      if (!dec) continue;
      o.text = dec.text;  // part of the state the page publishes
      lines.push(h('p', { class: 'ctc', 'data-output': o.name },
        h('span', { class: 'muted' }, 'Text (greedy CTC decoding of ', h('code', {}, o.name), '): '),
        h('q', { class: 'ctc-text' }, dec.text),
        dec.score != null ? h('span', { class: 'muted' }, ` · mean probability ${dec.score.toFixed(3)}`) : null));
    }
    $('run-text').replaceChildren(...lines);
  }

  // Outputs that are one image ([H,W], [1,H,W], [1,1,H,W]), e.g. a detector's probability map, drawn min–max scaled.
  function renderMaps(r, outputs) {
    const maps = [];
    for (const o of r.outputs) {
      const s = o.shape;
      const hw = s.length >= 2 && s.slice(0, -2).every((d) => d === 1) ? s.slice(-2) : null;
      const t = outputs && outputs[o.name];
      if (!hw || !t || !t.data || o.min == null) continue;
      const [hh, ww] = hw;
      if (Math.min(hh, ww) < MAP_MIN_SIDE || Math.max(hh, ww) > MAP_MAX_SIDE) continue;
      if (Math.max(hh, ww) > MAP_MAX_ASPECT * Math.min(hh, ww)) continue;
      const c = document.createElement('canvas');
      c.width = ww;
      c.height = hh;
      const px = new Uint8ClampedArray(4 * hh * ww);
      const span = o.max - o.min || 1;
      for (let i = 0; i < hh * ww; i++) {
        const v = Number(t.data[i]);
        const g = Number.isFinite(v) ? Math.round((255 * (v - o.min)) / span) : 0;
        px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = g;
        px[4 * i + 3] = 255;
      }
      c.getContext('2d').putImageData(new ImageData(px, ww, hh), 0, 0);
      c.setAttribute('role', 'img');
      c.setAttribute('aria-label', `output ${o.name} drawn as a ${hh}×${ww} image`);
      maps.push(h('figure', { class: 'map' }, c,
        h('figcaption', {}, h('code', {}, o.name), ` ${fmtShape(s)}, black ${fmtNum(o.min)} … white ${fmtNum(o.max)}`)));
    }
    $('run-maps').replaceChildren(...maps);
  }

  // --- images and labels ---------------------------------------------------------------------------------------------

  async function setImage(file) {
    hideError();
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (err) {
      showError(`could not decode ${file.name} as an image: ${err && err.message ? err.message : err}`);
      return;
    }
    if (rs.image && rs.image.bitmap.close) rs.image.bitmap.close();
    rs.image = { name: file.name, bitmap };
    $('run-image-name').textContent = `${file.name} · ${bitmap.width}×${bitmap.height} · click or drop to replace`;
    if (rs.img) el('source').value = 'image';
    showSource();
    sync();
    onChange();
  }

  // Calibration data for the Equalize and Analysis panels: images preprocessed exactly as a run would take them (this
  // panel's size, channels, scale, mean/std, fit). Returns {settings (equal settings give equal tensors), describe,
  // samples(files) → [{input: tensor}]}; the images are decoded only when samples() is called.
  function imagePreprocess() {
    if (!rs.model) throw new Error('no model loaded');
    if (!rs.img) throw new Error('the model has no image-like input (float32 NCHW with 1 or 3 channels)');
    const others = rs.model.inspect.model.inputs.filter((i) => i.name !== rs.img.name);
    if (others.length) {
      throw new Error(`image calibration needs the image to be the model's only input (it also takes ${others.map((i) => `'${i.name}'`).join(', ')})`);
    }
    const dims = dimValues();
    const s = prepSettings(dims);
    const name = rs.img.name;
    const samples = async (files) => {
      const out = [];
      for (const file of files) {
        let bitmap;
        try {
          bitmap = await createImageBitmap(file);
        } catch (err) {
          throw new Error(`could not decode ${file.name} as an image: ${err && err.message ? err.message : err}`);
        }
        out.push({ [name]: imageTensor(bitmap, s) });
        if (bitmap.close) bitmap.close();
      }
      return out;
    };
    return { settings: JSON.stringify({ dims, s }), describe: prepDescription(s), samples };
  }

  async function setLabels(file) {
    hideError();
    try {
      const list = parseLabels(await file.text());
      if (!list.length) throw new Error('the file has no lines');
      rs.labels = { name: file.name, list };
    } catch (err) {
      showError(`could not read the label file ${file.name}: ${err && err.message ? err.message : err}`);
      return;
    }
    renderLabelsInfo();
    onChange();
  }

  function renderLabelsInfo() {
    const info = $('run-labels-info');
    const l = rs.labels || rs.builtin;
    if (!l) info.textContent = 'none (the top-5 shows class indices)';
    else {
      const head = l.list.slice(0, 3).map((x) => (x.length > 24 ? `${x.slice(0, 23)}…` : x)).join(', ');
      info.textContent = `${l.name}: ${plural(l.list.length, 'class', 'classes')} (${head}${l.list.length > 3 ? ', …' : ''})`;
    }
    $('run-labels-clear').hidden = !rs.labels;
  }

  // --- wiring --------------------------------------------------------------------------------------------------------

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  $('run-cancel').addEventListener('click', cancel);
  $('run-error-dismiss').addEventListener('click', hideError);
  for (const r of form.querySelectorAll('input[name=source]')) r.addEventListener('change', showSource);
  el('preset').replaceChildren(...Object.entries(PRESETS).map(([k, p]) => h('option', { value: k }, p.label)));
  // Choosing "Custom" keeps the fields as they are; the defaults are only for a model no preset matches.
  el('preset').addEventListener('change', () => {
    if (el('preset').value !== 'custom') applyPreset(el('preset').value);
    else $('run-preset-note').textContent = presetNote(PRESETS.custom);
  });
  // Editing a preprocessing field turns the preset into "custom"; size and run fields leave it alone.
  for (const name of ['channels', 'scale', 'mean', 'std', 'fit', 'short', 'invert']) {
    el(name).addEventListener('change', () => {
      if (el('preset').value !== 'custom') {
        el('preset').value = 'custom';
        $('run-preset-note').textContent = `Custom (edited from a preset). ${PRESETS.custom.note}`;
      }
      showFit();
      preview();
    });
  }
  $('run-dims').addEventListener('change', preview);

  const imageInputEl = $('run-image-input');
  imageInputEl.addEventListener('change', () => {
    const [file] = imageInputEl.files;
    imageInputEl.value = '';
    if (file) setImage(file);
  });
  const zone = $('run-image-zone');
  zone.addEventListener('click', () => imageInputEl.click());
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); imageInputEl.click(); }
  });
  const labelsInput = $('run-labels-input');
  $('run-labels-open').addEventListener('click', () => labelsInput.click());
  labelsInput.addEventListener('change', () => {
    const [file] = labelsInput.files;
    labelsInput.value = '';
    if (file) setLabels(file);
  });
  $('run-labels-clear').addEventListener('click', () => {
    rs.labels = null;
    renderLabelsInfo();
    onChange();
  });

  host.dataset.run = rs.state;
  sync();

  return {
    setModel,
    setImage,
    imagePreprocess,
    setLabels,
    sync,
    // Called when the worker was restarted under a running run (its promise rejects with the cancel error too).
    get running() { return rs.running; },
    // What tests and the page state read.
    state: () => ({ state: rs.state, report: rs.report, error: rs.error, finished: rs.finished }),
  };
}
