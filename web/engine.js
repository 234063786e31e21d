// The bridge between <quant-playground> elements and the wasm engine: one WebAssembly.Module compiled once per page,
// a small pool of Workers each instantiating it, and one Engine (a client) per element. A worker serves several
// clients and keeps each one's model apart (worker.js). Each worker runs one request at a time from a queue kept
// here, so a cancel knows whose work is running: it terminates the worker only when the canceller's own request is
// the one running (other clients' requests are then re-sent to the fresh worker after their model is loaded into it
// again); otherwise it just drops the canceller's queued requests.

export class Cancelled extends Error {
  constructor() { super('cancelled'); this.name = 'Cancelled'; }
}

const WASM_URL = new URL('./quantplay_wasm.wasm', import.meta.url);
const WORKER_URL = new URL('./worker.js', import.meta.url);

// Compiling is the expensive part of starting wasm; a Module can be posted to any number of workers. When the page
// cannot compile it (CSP may forbid it), the workers fetch and compile it themselves.
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
    this.queue = [];       // entries waiting: { client, msg, transfer, resolve, reject, onProgress }
    this.running = null;   // the entry the worker is working on
    this.seq = 0;
    this.worker = null;
    this.gen = 0;          // bumped whenever the worker goes away: what it held is gone
  }
  spawn() {
    const w = new Worker(WORKER_URL, { type: 'module' });
    w.onmessage = (e) => this.receive(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      this.lost(new Error(e.message || 'the analysis worker could not start (is the site served over http?)'));
    };
    w.onmessageerror = () => this.lost(new Error('the analysis worker sent a message that could not be read'));
    w.postMessage({ type: 'init', seq: 0, module: this.pool.module });
    this.worker = w;
  }
  // The worker died: every request fails with `err`, and the next one starts a fresh worker.
  lost(err) {
    const all = [...(this.running ? [this.running] : []), ...this.queue];
    this.running = null;
    this.queue = [];
    this.drop();
    for (const e of all) e.reject(err);
  }
  drop() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.gen++;
    for (const c of this.clients) {
      c.model = null;
      c.epoch++;
    }
    // After this task, so that the rejections above settle first: each client's page re-reads what is stale.
    setTimeout(() => { for (const c of this.clients) if (c.onRestart) c.onRestart(); }, 0);
  }
  receive(msg) {
    const e = this.running;
    if (!e || msg.seq !== this.seq) return;
    if (msg.type === 'progress') {
      if (e.onProgress) e.onProgress(msg.done, msg.total, msg.name);
      return;
    }
    this.running = null;
    if (msg.type === 'error') e.reject(new Error(msg.message));
    else e.resolve(msg);
    this.pump();
  }
  post(entry) {
    this.queue.push(entry);
    this.pump();
  }
  pump() {
    while (!this.running && this.queue.length) {
      const e = this.queue.shift();
      if (!this.worker) this.spawn();
      const seq = ++this.seq;
      try {
        this.worker.postMessage({ ...e.msg, client: e.client.id, seq }, e.transfer);
        this.running = e;
      } catch (err) {
        e.reject(err);  // e.g. a buffer that cannot be cloned: this request fails, the queue goes on
      }
    }
  }
  // `by` cancels its work: its queued requests are dropped; if its request is the one running, the worker is
  // terminated and the other clients' requests are re-sent to a fresh one.
  // `match(msg)` limits the cancel to some of `by`'s requests (default: all).
  cancel(by, match = () => true) {
    const hit = (e) => e.client === by && match(e.msg);
    const mine = this.queue.filter(hit);
    this.queue = this.queue.filter((e) => !hit(e));
    for (const e of mine) e.reject(new Cancelled());
    if (!this.running || !hit(this.running)) return false;
    const running = this.running;
    this.running = null;
    const waiting = this.queue;
    this.queue = [];
    const held = new Map([...this.clients].map((c) => [c, c.model]));
    this.drop();
    running.reject(new Cancelled());
    for (const e of waiting) {
      if (!this.clients.has(e.client)) e.reject(new Cancelled());
      else e.client.resend(e, held.get(e.client));
    }
    return true;
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
}

let pool = null;

export class Engine {
  constructor() {
    if (!pool) pool = new Pool();
    this.pool = pool;
    this.id = ++pool.clients;
    this.slot = pool.attach(this);
    this.model = null;  // the model this client's part of the worker holds
    this.epoch = 0;     // bumped when the worker is lost or restarted (what it held for this client is gone)
    this.disposed = false;
    this.onRestart = null;  // called when the worker went away (a cancel here or elsewhere, or a crash)
  }
  // `transfer`: buffers handed over to the worker (they become unusable here).
  async request(msg, onProgress, transfer = []) {
    await this.pool.ready;
    if (this.disposed) throw new Cancelled();
    return new Promise((resolve, reject) => {
      this.slot.post({ client: this, msg, transfer, resolve, reject, onProgress });
    });
  }
  get busy() {
    const s = this.slot;
    return (s.running && s.running.client === this) || s.queue.some((e) => e.client === this);
  }
  // Stops this client's work (its queued requests fail with Cancelled), or only the requests whose message `match`
  // accepts. Returns whether the worker was restarted, i.e. whether what it held for this client is gone.
  restart(match) {
    return this.slot.cancel(this, match);
  }
  // Another client's cancel restarted the shared worker while this request waited: load the model again, then send
  // it again. Buffers handed over with the request are gone, so such a request (a run) fails with a message; so do
  // requests that need state the worker lost (the page's panels show those as stale).
  async resend(entry, model) {
    if (entry.transfer.length) {
      entry.reject(new Error('interrupted: another playground on this page cancelled work in the shared worker; run again'));
      return;
    }
    try {
      if (model && entry.msg.type !== 'load') await this.hold(model);
      if (this.disposed) throw new Cancelled();
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
  // The element left the page: its work stops, its models are freed in the worker (which other elements may go on
  // using), and later requests fail with Cancelled.
  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    const restarted = this.slot.cancel(this);
    this.slot.clients.delete(this);
    if (!this.slot.clients.size) {
      // The last client of this worker: end it, and its wasm heap with it (the next element starts a fresh one).
      if (this.slot.worker && !this.slot.running) this.slot.drop();
    } else if (!restarted && this.slot.worker && this.model) {
      this.slot.post({ client: this, msg: { type: 'release' }, transfer: [], resolve: () => {}, reject: () => {} });
    }
    this.model = null;
  }
}
