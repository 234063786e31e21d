// The bridge between <quant-playground> elements and the wasm engine: one WebAssembly.Module compiled once per page,
// a small pool of Workers each instantiating it, and one Engine (a client) per element. A worker serves several
// clients and keeps each one's model apart (worker.js); cancelling long work means terminating the worker, so the
// other clients on it get their requests re-sent to the fresh worker, after their model is loaded into it again.

export class Cancelled extends Error {
  constructor() { super('cancelled'); this.name = 'Cancelled'; }
}

const WASM_URL = new URL('./quantplay_wasm.wasm', import.meta.url);
const WORKER_URL = new URL('./worker.js', import.meta.url);

// Compiling is the expensive part of starting wasm; a Module can be posted to any number of workers. When the page
// cannot compile it (a server without the wasm MIME type still works through the fallback; CSP may forbid it), the
// workers fetch and compile it themselves.
async function compileModule() {
  try {
    const res = await fetch(WASM_URL);
    if (!res.ok) return null;
    return await WebAssembly.compile(await res.arrayBuffer());
  } catch {
    return null;
  }
}

class Slot {
  constructor(pool) {
    this.pool = pool;
    this.clients = new Set();
    this.pending = new Map();  // seq -> { client, msg, transfer, resolve, reject, onProgress }
    this.seq = 0;
    this.worker = null;
    this.gen = 0;              // bumped at every restart: what the worker held is gone
  }
  spawn() {
    const w = new Worker(WORKER_URL, { type: 'module' });
    w.onmessage = (e) => this.receive(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      this.failAll(new Error(e.message || 'the analysis worker could not start (is the site served over http?)'));
    };
    w.postMessage({ type: 'init', seq: 0, module: this.pool.module });
    this.worker = w;
  }
  receive(msg) {
    const p = this.pending.get(msg.seq);
    if (!p) return;
    if (msg.type === 'progress') {
      if (p.onProgress) p.onProgress(msg.done, msg.total, msg.name);
      return;
    }
    this.pending.delete(msg.seq);
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve(msg);
  }
  post(entry) {
    if (!this.worker) this.spawn();
    const seq = ++this.seq;
    this.pending.set(seq, entry);
    this.worker.postMessage({ ...entry.msg, client: entry.client.id, seq }, entry.transfer);
  }
  failAll(err) {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
  // `by` cancels its own work; every other client's requests survive on the new worker.
  restart(by) {
    const entries = [...this.pending.values()];
    this.pending.clear();
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.gen++;
    const held = new Map();
    for (const c of this.clients) {
      held.set(c, c.model);
      c.model = null;
      c.epoch++;
    }
    for (const e of entries) {
      if (e.client === by) e.reject(new Cancelled());
      else e.client.resend(e, held.get(e.client));
    }
  }
}

class Pool {
  constructor() {
    this.size = Math.max(1, Math.min(4, (globalThis.navigator && navigator.hardwareConcurrency) || 2));
    this.slots = [];
    this.clients = 0;
    this.ready = compileModule().then((m) => { this.module = m; });
  }
  // Each new element gets a worker of its own until the pool is full, then shares the least used one.
  attach(client) {
    let slot = this.slots.find((s) => s.clients.size === 0);
    if (!slot && this.slots.length < this.size) this.slots.push((slot = new Slot(this)));
    if (!slot) slot = this.slots.reduce((a, b) => (b.clients.size < a.clients.size ? b : a));
    slot.clients.add(client);
    return slot;
  }
  detach(client) {
    client.slot.clients.delete(client);
  }
}

let pool = null;

export class Engine {
  constructor() {
    if (!pool) pool = new Pool();
    this.pool = pool;
    this.id = ++pool.clients;
    this.slot = pool.attach(this);
    this.model = null;  // the model this client's part of the worker holds
    this.epoch = 0;     // bumped when the worker restarts (a cancel here or by another element on the same worker)
  }
  // `transfer`: buffers handed over to the worker (they become unusable here).
  async request(msg, onProgress, transfer = []) {
    await this.pool.ready;
    return new Promise((resolve, reject) => {
      this.slot.post({ client: this, msg, transfer, resolve, reject, onProgress });
    });
  }
  get busy() {
    for (const p of this.slot.pending.values()) if (p.client === this) return true;
    return false;
  }
  restart() {
    this.slot.restart(this);
  }
  // Another element restarted the shared worker under this request: load the model again, then send it again.
  // Buffers handed over with the request are gone, so such a request (a run) fails with a message instead.
  async resend(entry, model) {
    if (entry.transfer.length) {
      entry.reject(new Error('interrupted: another playground on this page cancelled work in the shared worker; run again'));
      return;
    }
    try {
      if (model && entry.msg.type !== 'load') await this.hold(model);
      this.slot.post(entry);
    } catch (err) {
      entry.reject(err);
    }
  }
  // Loads `model` into the worker unless it already holds it; resolves to the inspect report when it loaded.
  async hold(model) {
    if (this.model === model) return null;
    const gen = this.slot.gen;
    const { name, bytes, externalFiles } = model;
    const reply = await this.request({ type: 'load', name, bytes, externalFiles });
    if (this.slot.gen === gen) this.model = model;
    return reply.inspect;
  }
  // The element left the page: its models are freed in the worker, which other elements may go on using.
  dispose() {
    if (this.slot.worker) this.slot.worker.postMessage({ type: 'release', client: this.id, seq: 0 });
    this.model = null;
    pool.detach(this);
  }
}
