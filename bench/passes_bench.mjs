// Equalization benchmark on the real models: time of the data-free passes (BN fold + CLE + HBA from BN statistics)
// natively and in wasm, per-layer weight SQNR before/after CLE at 8/6/4 bits per tensor, and the effect table
// (model-output SQNR for none / CLE / CLE+HBA / CLE+HBA+BC / Meller one- and two-step, weights at 8 and 4 bits per
// tensor, without and with 8-bit activations; accuracy on the labelled digits).
// Usage: node bench/passes_bench.mjs [--only name] [--runs N] [--no-effect]
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, resolve } from 'path';
import { fileURLToPath } from 'url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '../shared/models');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const ONLY = opt('--only', '');
const RUNS = Number(opt('--runs', 5));
const EFFECT = !args.includes('--no-effect');
const cli = join(process.env.QP_BUILD || join(root, 'build'), 'cli/quantplay');
const { createQuantplay } = await import(join(process.env.QP_BUILD_WASM || join(root, 'build-wasm'), 'wasm/quantplay.js'));
const tmp = mkdtempSync(join(tmpdir(), 'qp-passes-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const D = 'p2o.DynamicDimension';
// label, model, calibration arguments (random data shaped as the benchmark inputs unless a labelled set exists)
const MODELS = [
  ['PP-OCRv4 det', 'ppocr/ch_PP-OCRv4_det_infer.onnx', ['--dim', `${D}.1=256`, '--dim', `${D}.2=256`, '--samples', '4']],
  ['PP-OCRv4 rec', 'ppocr/ch_PP-OCRv4_rec_infer.onnx', ['--dim', `${D}.1=320`, '--samples', '8']],
  ['PP-OCR cls', 'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx', ['--dim', `${D}.1=48`, '--dim', `${D}.2=192`, '--samples', '16']],
  ['SqueezeNet 1.1', 'imagenet/squeezenet1.1_fp32.onnx', ['--samples', '8', '--hi', '255']],
  ['mnist_cntk', 'winml/mnist_cntk.onnx', ['--samples', '16', '--hi', '255']],
  ['digits_cnn_bn', 'trained/digits_cnn_bn.onnx', ['--data', join(shared, 'trained/digits_cnn_test_x.npy'), '--samples', '450',
    '--labels', join(shared, 'trained/digits_cnn_test_y.npy')]],
].filter(([n]) => !ONLY || n.includes(ONLY));

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const f = (x, d = 2) => (x == null ? '—' : Number(x).toFixed(d));
const json = (a) => JSON.parse(execFileSync(cli, [...a, '--json'], { maxBuffer: 256 << 20 }).toString());
const stepMs = (r, kind) => r.steps.find((s) => s.kind === kind)?.report.ms ?? 0;

const timing = [], sqnr = [], effect = [];
for (const [label, rel, calib] of MODELS) {
  const path = join(shared, rel);
  if (!existsSync(path)) { console.error(`skip ${label}: missing`); continue; }
  const noLabels = calib.filter((a, i) => a !== '--labels' && calib[i - 1] !== '--labels');
  // Data-free passes: BN fold + DFQ CLE + HBA from BN statistics (the calibration data only verifies).
  const dataFree = ['equalize', path, '--hba', '--hba-source', 'bn', '--dim', `${D}.0=1`, '--samples', '1'];
  const nat = [];
  for (let i = 0; i < RUNS; i++) {
    const r = json(dataFree);
    nat.push(['bn_fold', 'cle', 'hba'].map((k) => stepMs(r, k)));
  }
  const qp = await createQuantplay();
  const id = qp.load(readFileSync(path), { name: rel });
  const wasm = [];
  for (let i = 0; i < RUNS; i++) {
    const r = qp.equalize(id, { hba: true, hba_source: 'bn' }, { samples: 1 });
    qp.unload(r.id);
    wasm.push(['bn_fold', 'cle', 'hba'].map((k) => stepMs(r.report, k)));
  }
  qp.unload(id);
  const col = (rows, k) => median(rows.map((r) => r[k]));
  timing.push({ label, native: [0, 1, 2].map((k) => col(nat, k)), wasm: [0, 1, 2].map((k) => col(wasm, k)) });
  console.error(`${label}: timing done`);

  // Per-layer weight SQNR of the equalized layers, before (BN folded) and after CLE.
  const folded = join(tmp, 'folded.onnx'), eq = join(tmp, 'eq.onnx');
  execFileSync(cli, ['equalize', path, '--method', 'none', '--out', folded]);
  const r = json(['equalize', path, '--out', eq, '--relu6', 'bound', ...noLabels]);
  const layers = new Set(r.steps.find((s) => s.kind === 'cle').sets.flatMap((s) => s.link.layers));
  const sweep = (p) => json(['sweep', p, '--bits', '8,6,4']).layers.filter((l) => layers.has(l.name));
  const [b, a] = [sweep(folded), sweep(eq)];
  const row = { label, layers: layers.size, bits: {} };
  for (const [k, bits] of [[0, 8], [1, 6], [2, 4]]) {
    const mean = (ls) => ls.reduce((s, l) => s + (l.results[k].sqnr_db ?? 0), 0) / Math.max(1, ls.length);
    const min = (ls) => Math.min(...ls.map((l) => l.results[k].sqnr_db ?? Infinity));
    const up = a.filter((l, i) => (l.results[k].sqnr_db ?? 0) > (b[i].results[k].sqnr_db ?? 0)).length;
    row.bits[bits] = { before: mean(b), after: mean(a), minBefore: min(b), minAfter: min(a), up };
  }
  sqnr.push(row);
  console.error(`${label}: sweep done`);

  if (EFFECT) {
    const t0 = performance.now();
    const e = json(['equalize', path, '--effect', ...calib]).effect;
    effect.push({ label, rows: e.rows, s: (performance.now() - t0) / 1000, calib: noLabels.join(' ') });
    console.error(`${label}: effect done`);
  }
}

console.log(`\nData-free passes (BN fold + DFQ CLE + HBA from BN statistics), median of ${RUNS}, ms:`);
console.log('| model | native bn_fold | native cle | native hba | wasm bn_fold | wasm cle | wasm hba | wasm total |');
console.log('|---|---|---|---|---|---|---|---|');
for (const t of timing) {
  console.log(`| ${t.label} | ${t.native.map((x) => f(x, 1)).join(' | ')} | ${t.wasm.map((x) => f(x, 1)).join(' | ')} | ${f(t.wasm[0] + t.wasm[1] + t.wasm[2], 1)} |`);
}
console.log('\nWeight SQNR (dB, per tensor, symmetric min-max) of the CLE-equalized layers, mean (min) before → after; layers improved:');
console.log('| model | layers | 8 bit | 6 bit | 4 bit |');
console.log('|---|---|---|---|---|');
for (const r of sqnr) {
  const c = (x) => `${f(x.before, 1)} (${f(x.minBefore, 1)}) → ${f(x.after, 1)} (${f(x.minAfter, 1)}); ${x.up}/${r.layers} up`;
  console.log(`| ${r.label} | ${r.layers} | ${c(r.bits[8])} | ${c(r.bits[6])} | ${c(r.bits[4])} |`);
}
if (EFFECT) {
  console.log('\nModel-output SQNR (dB) against fp32, all weights per tensor (symmetric min-max); w+a adds 8-bit asymmetric activations on every layer input:');
  console.log('| model | variant | w8 | w8+a8 | w4 | w4+a8 | top-1 agree w8 / w4 | accuracy w8 / w4 / w8+a8 | fp32 dev |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const e of effect) {
    const vars = [...new Set(e.rows.map((r) => r.variant))];
    for (const v of vars) {
      const r8 = e.rows.find((r) => r.variant === v && r.bits === 8);
      const r4 = e.rows.find((r) => r.variant === v && r.bits === 4);
      const pct = (x) => (x == null ? '—' : `${(100 * x).toFixed(1)}`);
      console.log(`| ${e.label} | ${v} | ${f(r8.sqnr_w_db)} | ${f(r8.sqnr_wa_db)} | ${f(r4.sqnr_w_db)} | ${f(r4.sqnr_wa_db)} | ${pct(r8.top1_agree_w)} / ${pct(r4.top1_agree_w)} | ${pct(r8.accuracy_w)} / ${pct(r4.accuracy_w)} / ${pct(r8.accuracy_wa)} | ${r8.fp32_dev == null ? '—' : r8.fp32_dev.toExponential(1)} |`);
    }
  }
  console.log('\nCalibration / evaluation data and wall time of each effect table:');
  for (const e of effect) console.log(`- ${e.label}: \`${e.calib}\` (${e.s.toFixed(1)} s)`);
}
