// The quantplay JS API over the wasm module: plain objects in, plain objects out, errors as Error.
import createQuantplayModule from './quantplay_wasm.mjs';

const isNode = typeof process === 'object' && !!(process.versions && process.versions.node);

function copyIn(M, bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const ptr = M._malloc(Math.max(1, u8.length)) >>> 0;
  if (!ptr) throw new Error(`out of memory: cannot allocate ${u8.length} bytes in the wasm heap`);
  M.HEAPU8.set(u8, ptr);  // take the view right before use: growth detaches old views
  return ptr;
}

// Creates one wasm instance. Models loaded into it are addressed by the id `load` returns.
export async function createQuantplay(moduleOptions = {}) {
  const opts = { ...moduleOptions };
  if (isNode && !opts.wasmBinary) {
    const { readFile } = await import('fs/promises');
    opts.wasmBinary = await readFile(new URL('./quantplay_wasm.wasm', import.meta.url));
  }
  const M = await createQuantplayModule(opts);
  const json = (s) => JSON.parse(s);
  return {
    simdTarget: () => M._simdTarget(),
    heapBytes: () => M.HEAPU8.length,  // the wasm heap's current size (it only grows)
    // bytes: Uint8Array | ArrayBuffer of the .onnx; externalFiles: [{name, bytes}] dropped with it.
    load(bytes, { name = 'model.onnx', externalFiles = [] } = {}) {
      const ext = externalFiles.map((f) => {
        const u8 = f.bytes instanceof Uint8Array ? f.bytes : new Uint8Array(f.bytes);
        return { name: f.name, ptr: copyIn(M, u8), size: u8.length };
      });
      const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      const ptr = copyIn(M, u8);
      return M._load(ptr, u8.length, name, ext);
    },
    unload: (id) => M._unload(id),
    inspect: (id) => json(M._inspect(id)),
    sweep: (id, options = {}, onProgress) => json(M._sweep(id, JSON.stringify(options), onProgress)),
    mixquant: (id, options = {}, onProgress) => json(M._mixquant(id, JSON.stringify(options), onProgress)),
    // inputs: {name: {dtype, shape, data: TypedArray}}; options: {random, seed, dims, repeat, labels}.
    // Returns {report, outputs: {name: {dtype, shape, data}}}; data is copied out of the wasm heap.
    run(id, inputs = {}, options = {}) {
      const list = Object.entries(inputs).map(([name, t]) => {
        if (!t || !ArrayBuffer.isView(t.data)) throw new Error(`input '${name}': data must be a typed array`);
        const u8 = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        return { name, dtype: t.dtype || 'float32', shape: Array.from(t.shape || [t.data.length]), ptr: copyIn(M, u8), bytes: u8.length };
      });
      const r = M._run(id, list, JSON.stringify(options));
      const outputs = {};
      for (const o of r.outputs) outputs[o.name] = { dtype: o.dtype, shape: o.shape, data: o.data };
      return { report: json(r.report), outputs };
    },
  };
}
