// A quantplay pool worker: owns one wasm instance and, per client (one <quant-playground> element), its model and
// its last equalized model, so long sweeps never block the page and elements sharing a worker never see each other's
// models.
import { createQuantplay } from './quantplay.js';

let qpPromise = null;
let wasmModule = null;  // the WebAssembly.Module compiled once by the page and shared by every pool worker
const clients = new Map();  // client id -> { modelId, equalizedId }

// Instantiating lazily means a wasm failure surfaces as an ordinary error reply rather than a dead worker.
function engine() {
  if (!qpPromise) {
    const opts = {};
    // Emscripten waits for `done` and has no way to fail, so a failed instantiation must reject the promise itself.
    let failed = null;
    if (wasmModule) {
      failed = new Promise((_, reject) => {
        opts.instantiateWasm = (imports, done) => {
          WebAssembly.instantiate(wasmModule, imports).then((inst) => done(inst, wasmModule),
            (err) => reject(new Error(`could not instantiate the wasm module: ${err && err.message ? err.message : err}`)));
          return {};
        };
      });
    }
    qpPromise = failed ? Promise.race([createQuantplay(opts), failed]) : createQuantplay(opts);
  }
  return qpPromise;
}

function client(id) {
  let c = clients.get(id);
  if (!c) clients.set(id, (c = { modelId: 0, equalizedId: 0 }));
  return c;
}

function progress(seq) {
  return (done, total, name) => self.postMessage({ type: 'progress', seq, done, total, name });
}

async function handle(msg) {
  if (msg.type === 'init') {
    wasmModule = msg.module || null;
    return { type: 'init' };
  }
  const qp = await engine();
  const c = client(msg.client || 0);
  switch (msg.type) {
    case 'release': {
      if (c.modelId) qp.unload(c.modelId);
      if (c.equalizedId) qp.unload(c.equalizedId);
      clients.delete(msg.client || 0);
      return { type: 'released' };
    }
    case 'load': {
      const id = qp.load(msg.bytes, { name: msg.name, externalFiles: msg.externalFiles || [] });
      // The previous model is dropped only once the new one parsed, so a bad file leaves the worker usable.
      if (c.modelId) qp.unload(c.modelId);
      if (c.equalizedId) qp.unload(c.equalizedId);
      c.modelId = id;
      c.equalizedId = 0;
      return { type: 'loaded', inspect: qp.inspect(id), simdTarget: qp.simdTarget() };
    }
    case 'sweep':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'sweep', result: qp.sweep(c.modelId, msg.options, progress(msg.seq)) };
    case 'mixquant':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'mixquant', result: qp.mixquant(c.modelId, msg.options, progress(msg.seq)) };
    case 'run': {
      if (!c.modelId) throw new Error('no model loaded');
      const { report, outputs } = qp.run(c.modelId, msg.inputs || {}, msg.options || {});
      // The output arrays are fresh copies out of the wasm heap, so the page can take them over.
      return { type: 'run', report, outputs, transfer: Object.values(outputs).map((o) => o.data.buffer) };
    }
    case 'equalize': {
      if (!c.modelId) throw new Error('no model loaded');
      const r = qp.equalize(c.modelId, msg.options || {}, msg.calibration || {});
      if (c.equalizedId) qp.unload(c.equalizedId);
      c.equalizedId = r.id;
      return { type: 'equalize', report: r.report };
    }
    case 'effect':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'effect', result: qp.effect(c.modelId, msg.options || {}, msg.calibration || {}) };
    case 'setCalibration':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'calibration', samples: qp.setCalibration(c.modelId, msg.samples, msg.info || {}) };
    case 'analyze': {
      if (!c.modelId) throw new Error('no model loaded');
      // The analysis reports a fraction; the page's progress bar counts in thousandths.
      const onProgress = (p) => {
        self.postMessage({ type: 'progress', seq: msg.seq, done: Math.round(1000 * p.fraction), total: 1000,
          name: `${p.stage}: sample ${p.sample}/${p.samples}, layer ${p.layer}/${p.layers}, ETA ${(p.eta_ms / 1000).toFixed(1)} s` });
      };
      return { type: 'analyze', result: qp.analyze(c.modelId, msg.options || {}, msg.calibration || {}, onProgress) };
    }
    case 'layerDetail':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'layerDetail', result: qp.layerDetail(c.modelId, msg.layer, msg.options || {}, msg.detail || {}) };
    case 'analysisFix':
      if (!c.modelId) throw new Error('no model loaded');
      return { type: 'analysisFix', result: qp.analysisFix(c.modelId, msg.options || {}) };
    case 'mixedPrecision': {
      if (!c.modelId) throw new Error('no model loaded');
      const onProgress = (p) => self.postMessage({ type: 'progress', seq: msg.seq, done: Math.round(1000 * p.fraction), total: 1000, name: p.stage });
      return { type: 'mixedPrecision', result: qp.mixedPrecision(c.modelId, msg.options || {}, onProgress) };
    }
    case 'export': {
      const id = msg.which === 'equalized' ? c.equalizedId : c.modelId;
      if (!id) throw new Error(msg.which === 'equalized' ? 'nothing equalized yet' : 'no model loaded');
      const r = qp.exportModel(id, msg.format, msg.config || {}, msg.calibration || {});
      return { type: 'export', bytes: r.bytes, report: r.report, transfer: [r.bytes.buffer] };
    }
    default:
      throw new Error(`worker: unknown message type '${msg.type}'`);
  }
}

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    const { transfer = [], ...reply } = await handle(msg);
    self.postMessage({ ...reply, seq: msg.seq }, [...new Set(transfer)]);
  } catch (err) {
    self.postMessage({ type: 'error', seq: msg.seq, message: err && err.message ? err.message : String(err) });
  }
};
