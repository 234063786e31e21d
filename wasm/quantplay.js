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
    // Calibration data for model `id` (e.g. images the page decoded and preprocessed): samples is an array of
    // {inputName: {dtype, shape, data: TypedArray}}, every model input in every sample; info: {source (for reports),
    // name (default '')}. Calls that take `calibration` use it when given {data: 'set', name}; a model equalize()
    // returns inherits the sets. Returns the number of samples.
    setCalibration(id, samples, info = {}) {
      const list = [];
      samples.forEach((s, k) => {
        for (const [name, t] of Object.entries(s)) {
          if (!t || !ArrayBuffer.isView(t.data)) throw new Error(`calibration sample ${k}, input '${name}': data must be a typed array`);
          const u8 = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
          list.push({ sample: k, name, dtype: t.dtype || 'float32', shape: Array.from(t.shape || [t.data.length]), ptr: copyIn(M, u8), bytes: u8.length });
        }
      });
      return M._setCalibration(id, list, JSON.stringify({ ...info, samples: samples.length }));
    },
    // BN folding, CLE (DFQ or Meller), HBA and bias correction as one pipeline (options as `quantplay equalize`:
    // docs/json-schema.md "equalize"); calibration: {samples, seed, lo, hi, mean, std, dims} (seeded random data).
    // The result is a new model: {report, id}; the model `id` is left as it was.
    equalize(id, options = {}, calibration = {}) {
      const r = M._equalize(id, JSON.stringify(options), JSON.stringify(calibration));
      return { report: json(r.report), id: r.id };
    },
    // Model-output SQNR (and top-1 agreement) of none / CLE / CLE+HBA / CLE+HBA+BC / Meller at each of options.bits.
    effect: (id, options = {}, calibration = {}) =>
      json(M._effect(id, JSON.stringify(options), JSON.stringify(calibration))),
    // Layer-wise analysis (docs/json-schema.md "analysis"); onProgress({stage, sample, samples, layer, layers,
    // fraction, elapsed_ms, eta_ms}) may return false to stop early (the samples finished so far are reported).
    // The analyzer stays with the model: a later call with other overrides re-runs only the layers they change.
    // One layer of the last analysis in detail (docs/json-schema.md "layer_detail"): weight and activation
    // histograms with the clipping ranges, and weight / activation / output SNR against bits. `layer`: its index in
    // the analysis; options: analysis options ({} = the last analysis'); detail: {bins, bits, output_snr, act_curve}.
    layerDetail: (id, layer, options = {}, detail = {}, onProgress) =>
      json(M._layerDetail(id, layer, JSON.stringify(options), JSON.stringify(detail), onProgress)),
    analyze: (id, options = {}, calibration = {}, onProgress) =>
      json(M._analyze(id, JSON.stringify(options), JSON.stringify(calibration), onProgress)),
    // The single-layer fix (§4.3) and mixed precision on measured sensitivity, from the last analysis.
    analysisFix: (id, options = {}) => json(M._analysisFix(id, JSON.stringify(options))),
    mixedPrecision: (id, options = {}, onProgress) => json(M._mixedPrecision(id, JSON.stringify(options), onProgress)),
    // format: 'fp32' | 'fakequant' | 'qdq' | 'encodings'; config as `quantplay export` (docs/json-schema.md).
    // Returns {bytes: Uint8Array (the file), report}.
    exportModel(id, format, config = {}, calibration = {}) {
      const r = M._exportModel(id, format, JSON.stringify(config), JSON.stringify(calibration));
      return { bytes: r.bytes, report: json(r.report) };
    },
  };
}
