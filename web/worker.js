// The quantplay worker: owns the one wasm instance and the current model, so long sweeps never block the page.
import { createQuantplay } from './quantplay.js';

let qpPromise = null;
let modelId = 0;

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
      modelId = id;
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
