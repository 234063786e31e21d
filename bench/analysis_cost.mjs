// Cost of the layer-wise analysis (issue 5 §3): forward-pass equivalents against the naive (L+1) x N full passes,
// and the wall time natively (quantplay analyze) and in wasm (quantplay.js analyze) on the same seeded data.
// Weights + activations per layer (--no-variants: one run per layer, what the target is about), then with the
// weight-only and activation-only variants too.
// The floor column: per sample one fp32 pass + one all-quantized pass + the downstream-only layer runs as measured,
// over the same naive (L+1) x N: what any exact analysis that recomputes downstream of each layer costs at least.
// Usage: node bench/analysis_cost.mjs [--only name] [--no-wasm]
//   QP_BUILD=dir (native tree with cli/quantplay, default build/), QP_BUILD_WASM=dir (default build-wasm/)
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { fileURLToPath } from 'url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '../shared/models');
const args = process.argv.slice(2);
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
const NO_WASM = args.includes('--no-wasm');
const cli = join(process.env.QP_BUILD || join(root, 'build'), 'cli/quantplay');
const { createQuantplay } = NO_WASM ? {} :
  await import(join(process.env.QP_BUILD_WASM || join(root, 'build-wasm'), 'wasm/quantplay.js'));
const D = 'p2o.DynamicDimension';

// label, model, symbolic dims, samples, modes (false: w+a per layer only; true: with the w and a variants)
const MODELS = [
  ['PP-OCR cls (1×3×48×192)', 'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx', { [`${D}.0`]: 1, [`${D}.1`]: 48, [`${D}.2`]: 192 }, 16, [false, true]],
  ['SqueezeNet 1.1 (1×3×224×224)', 'imagenet/squeezenet1.1_fp32.onnx', {}, 8, [false, true]],
  ['PP-OCRv4 det (1×3×640×640)', 'ppocr/ch_PP-OCRv4_det_infer.onnx', { [`${D}.0`]: 1, [`${D}.1`]: 640, [`${D}.2`]: 640 }, 2, [false]],
].filter(([n]) => !ONLY || n.includes(ONLY));

const rows = [];
for (const [label, rel, dims, samples, modes] of MODELS) {
  const path = join(shared, rel);
  if (!existsSync(path)) { console.error(`skip ${label}`); continue; }
  for (const variants of modes) {
    const dimArgs = Object.entries(dims).flatMap(([k, v]) => ['--dim', `${k}=${v}`]);
    let t0 = performance.now();
    const nat = JSON.parse(execFileSync(cli, ['analyze', path, '--samples', String(samples), '--quiet', '--json', ...dimArgs,
      ...(variants ? [] : ['--no-variants'])], { maxBuffer: 256 << 20 }).toString());
    const natWall = (performance.now() - t0) / 1000;
    let wasmWall = NaN, agree = NaN, heap = NaN;
    if (!NO_WASM) {
      const qp = await createQuantplay();
      const id = qp.load(readFileSync(path), { name: rel });
      t0 = performance.now();
      const w = qp.analyze(id, { variants }, { samples, seed: 1, dims });
      wasmWall = (performance.now() - t0) / 1000;
      qp.unload(id);
      agree = Math.abs(w.summary.snr_all - nat.summary.snr_all);
      heap = qp.heapBytes();
    }
    rows.push({ label, variants, samples, layers: nat.layers.name.length, c: nat.cost, natWall, wasmWall, agree,
      snr: nat.summary.snr_all, heap });
    console.error(`${label} ${variants ? 'w/a/wa' : 'wa'}: native ${natWall.toFixed(1)} s, wasm ${wasmWall.toFixed(1)} s`);
  }
}

const f = (v, d) => (v == null || Number.isNaN(v) ? '—' : v.toFixed(d));
const mb = (b) => (b == null ? '—' : (b / 1048576).toFixed(1));
console.log('\n| model | runs per layer | N | L | pass equivalents | ÷ naive (L+1)×N | floor ÷ naive (L+1)×N | ÷ naive (runs+2)×N | cache MB/sample | kept | native s | wasm s | wasm heap MB | SNR all (dB) | |Δ| native vs wasm (dB) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.label} | ${r.variants ? '3 (w, a, w+a)' : '1 (w+a)'} | ${r.samples} | ${r.layers} | ${r.c.pass_equivalents.toFixed(1)} | **${r.c.ratio_wa.toFixed(3)}** | ${f(r.c.ratio_floor_wa, 3)} | ${r.c.ratio.toFixed(3)} | ${mb(r.c.cache_bytes)} | ${r.c.kept_samples ?? '—'}/${r.samples} | ${r.natWall.toFixed(1)} | ${f(r.wasmWall, 1)} | ${f(r.heap / 1048576, 0)} | ${r.snr.toFixed(2)} | ${Number.isNaN(r.agree) ? '—' : r.agree.toExponential(1)} |`);
}
