// The quantplay worker: owns the one wasm instance and the current model, so long sweeps never block the page.
import { createQuantplay } from './quantplay.js';

let qpPromise = null;
let modelId = 0;
let equalizedId = 0;  // the last equalize result: a model of its own, what the equalized downloads export

// Instantiating lazily means a wasm failure surfaces as an ordinary error reply rather than a dead worker.
function engine() {
  if (!qpPromise) qpPromise = createQuantplay();
  return qpPromise;
}

function progress(seq) {
  return (done, total, name) => self.postMessage({ type: 'progress', seq, done, total, name });
}

async function handle(msg) {
  const qp = await engine();
  switch (msg.type) {
    case 'load': {
      const id = qp.load(msg.bytes, { name: msg.name, externalFiles: msg.externalFiles || [] });
      // The previous model is dropped only once the new one parsed, so a bad file leaves the worker usable.
      if (modelId) qp.unload(modelId);
      if (equalizedId) qp.unload(equalizedId);
      modelId = id;
      equalizedId = 0;
      return { type: 'loaded', inspect: qp.inspect(id), simdTarget: qp.simdTarget() };
    }
    case 'sweep':
      if (!modelId) throw new Error('no model loaded');
      return { type: 'sweep', result: qp.sweep(modelId, msg.options, progress(msg.seq)) };
    case 'mixquant':
      if (!modelId) throw new Error('no model loaded');
      return { type: 'mixquant', result: qp.mixquant(modelId, msg.options, progress(msg.seq)) };
    case 'run': {
      if (!modelId) throw new Error('no model loaded');
      const { report, outputs } = qp.run(modelId, msg.inputs || {}, msg.options || {});
      // The output arrays are fresh copies out of the wasm heap, so the page can take them over.
      return { type: 'run', report, outputs, transfer: Object.values(outputs).map((o) => o.data.buffer) };
    }
    case 'equalize': {
      if (!modelId) throw new Error('no model loaded');
      const r = qp.equalize(modelId, msg.options || {}, msg.calibration || {});
      if (equalizedId) qp.unload(equalizedId);
      equalizedId = r.id;
      return { type: 'equalize', report: r.report };
    }
    case 'effect':
      if (!modelId) throw new Error('no model loaded');
      return { type: 'effect', result: qp.effect(modelId, msg.options || {}, msg.calibration || {}) };
    case 'analyze': {
      if (!modelId) throw new Error('no model loaded');
      // The analysis reports a fraction; the page's progress bar counts in thousandths.
      const onProgress = (p) => {
        self.postMessage({ type: 'progress', seq: msg.seq, done: Math.round(1000 * p.fraction), total: 1000,
          name: `${p.stage}: sample ${p.sample}/${p.samples}, layer ${p.layer}/${p.layers}, ETA ${(p.eta_ms / 1000).toFixed(1)} s` });
      };
      return { type: 'analyze', result: qp.analyze(modelId, msg.options || {}, msg.calibration || {}, onProgress) };
    }
    case 'analysisFix':
      if (!modelId) throw new Error('no model loaded');
      return { type: 'analysisFix', result: qp.analysisFix(modelId, msg.options || {}) };
    case 'mixedPrecision': {
      if (!modelId) throw new Error('no model loaded');
      const onProgress = (p) => self.postMessage({ type: 'progress', seq: msg.seq, done: Math.round(1000 * p.fraction), total: 1000, name: p.stage });
      return { type: 'mixedPrecision', result: qp.mixedPrecision(modelId, msg.options || {}, onProgress) };
    }
    case 'export': {
      const id = msg.which === 'equalized' ? equalizedId : modelId;
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
