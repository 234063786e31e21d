// Inference benchmark, one thread, same inputs: our wasm SIMD build vs onnxruntime-web (wasm, numThreads = 1) in
// this node process, and our native build (quantplay run) vs onnxruntime-node (intraOpNumThreads = 1).
// Medians of N timed runs after warm-up, interleaved so both engines see the same machine noise.
// Usage: node [V8 flags] bench/run_bench.mjs [--runs N] [--warmup N] [--rounds N] [--only name] [--no-native]
// QP_BUILD / QP_BUILD_WASM point at other build trees (default build/ and build-wasm/).
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, dirname, join, resolve } from 'path';
import { fileURLToPath } from 'url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '../shared/models');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const RUNS = Number(opt('--runs', 20));
const ONLY = opt('--only', '');
const NATIVE = !args.includes('--no-native');
const ROUNDS = Number(opt('--rounds', 3));  // native batches per engine, alternating
// V8 tiers wasm up over the first runs (cls takes ~10 runs to reach its steady speed); both engines get the same.
const WARM = Number(opt('--warmup', 10));

const MODELS = [
  ['PP-OCRv4 det', 'ppocr/ch_PP-OCRv4_det_infer.onnx', [1, 3, 640, 640]],
  ['PP-OCRv4 rec', 'ppocr/ch_PP-OCRv4_rec_infer.onnx', [1, 3, 48, 320]],
  ['PP-OCR cls', 'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx', [1, 3, 48, 192]],
  ['SqueezeNet 1.1', 'imagenet/squeezenet1.1_fp32.onnx', [1, 3, 224, 224]],
  ['digits_cnn', 'trained/digits_cnn.onnx', [1, 1, 32, 32]],
].filter(([n]) => !ONLY || n.includes(ONLY));

const { npyWrite } = await import(join(root, 'tests/js/npy.mjs'));
const tmp = mkdtempSync(join(tmpdir(), 'qp-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const buildDir = process.env.QP_BUILD || join(root, 'build');
const wasmDir = process.env.QP_BUILD_WASM || join(root, 'build-wasm');
const { createQuantplay } = await import(join(wasmDir, 'wasm/quantplay.js'));
let qp = await createQuantplay();
const ortWeb = await import('onnxruntime-web');
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.simd = true;
ortWeb.env.logLevel = 'error';
const ortNode = NATIVE ? (await import('onnxruntime-node')).default : null;

function input(shape, seed = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let a = seed;
  for (let i = 0; i < n; i++) { a = (a * 1664525 + 1013904223) >>> 0; d[i] = a / 4294967296; }
  return d;
}

console.log(`node ${process.version}, V8 flags: ${process.execArgv.join(' ') || '(default)'}, ${RUNS} timed runs after ${WARM} warm-up runs, one thread`);
console.log(`ours: wasm SIMD target ${qp.simdTarget()}; peer: onnxruntime-web ${ortWeb.env.versions?.web ?? ''} (wasm, numThreads 1)`);
const rows = [];
for (const [label, rel, shape] of MODELS) {
  const path = join(shared, rel);
  if (!existsSync(path)) { console.log(`skip ${label}: ${path} missing`); continue; }
  const bytes = readFileSync(path);
  const data = input(shape);
  qp = await createQuantplay();  // a fresh instance per model, so its heap size is this model's
  const id = qp.load(bytes, { name: basename(path) });
  const sess = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feedsOrt = { [sess.inputNames[0]]: new ortWeb.Tensor('float32', data, shape) };
  const feedsQp = { [sess.inputNames[0]]: { dtype: 'float32', shape, data } };
  let report;
  const ours = [], theirs = [];
  for (let i = 0; i < WARM + RUNS; i++) {
    let t0 = performance.now();
    const r = qp.run(id, feedsQp);
    const a = performance.now() - t0;
    t0 = performance.now();
    await sess.run(feedsOrt);
    const b = performance.now() - t0;
    if (i >= WARM) { ours.push(a); theirs.push(b); }
    report = r.report;
  }
  const heap = qp.heapBytes();
  qp.unload(id);
  await sess.release();
  const row = { label, shape, gflop: report.gflop, ours: median(ours), theirs: median(theirs), mem: report.memory, heap };
  if (NATIVE) {
    // Natively the two engines run in different processes, so they alternate in ROUNDS batches (ours: one
    // `quantplay run --repeat` process per batch, its warm-up runs dropped; theirs: the same count in this
    // process) and the medians are over all batches: a noisy stretch of the machine hits both.
    const npy = join(tmp, 'input.npy');
    writeFileSync(npy, npyWrite({ dtype: 'float32', shape, data }));
    const s = await ortNode.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const f = { [s.inputNames[0]]: new ortNode.Tensor('float32', data, shape) };
    for (let i = 0; i < WARM; i++) await s.run(f);
    const nat = [], t = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = JSON.parse(execFileSync(join(buildDir, 'cli/quantplay'),
        ['run', path, '--input', npy, '--repeat', String(WARM + RUNS), '--json'], { maxBuffer: 64 << 20 }).toString());
      nat.push(...r.time_ms.runs.slice(WARM));
      for (let i = 0; i < RUNS; i++) { const t0 = performance.now(); await s.run(f); t.push(performance.now() - t0); }
    }
    row.native = median(nat);
    row.ortNode = median(t);
    await s.release();
  }
  rows.push(row);
  console.error(`${label}: ours ${fmt(row.ours)} ms, onnxruntime-web ${fmt(row.theirs)} ms`);
}


console.log('\n| model (input) | GFLOP | ours wasm ms | onnxruntime-web ms | ratio | ours GFLOP/s | ours native ms | onnxruntime-node ms | ratio |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.label} (${r.shape.join('×')}) | ${r.gflop.toFixed(3)} | ${fmt(r.ours)} | ${fmt(r.theirs)} | **${(r.ours / r.theirs).toFixed(2)}** | ${(r.gflop / (r.ours / 1000)).toFixed(1)} | ${r.native !== undefined ? fmt(r.native) : '-'} | ${r.ortNode !== undefined ? fmt(r.ortNode) : '-'} | ${r.native !== undefined ? (r.native / r.ortNode).toFixed(2) : '-'} |`);
}
console.log('\nMemory of a run in wasm (a fresh instance per model; the heap only grows):');
console.log('| model | weights MB | largest live activations MB | weights + live MB | activation pool MB | wasm heap MB | heap / (weights + live) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const mb = (b) => (b / 1048576).toFixed(1);
  const need = r.mem.weight_bytes + r.mem.peak_live_activation_bytes;
  console.log(`| ${r.label} | ${mb(r.mem.weight_bytes)} | ${mb(r.mem.peak_live_activation_bytes)} | ${mb(need)} | ${mb(r.mem.activation_pool_bytes)} | ${mb(r.heap)} | ${(r.heap / need).toFixed(2)} |`);
}
