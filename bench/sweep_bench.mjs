// Benchmark of the weight sweep in wasm under node (one thread): SIMD128 kernel vs scalar reference.
// Usage: node bench/sweep_bench.mjs MODEL... (first: the synthetic model written by build/bench/sweep_bench)
import { readFileSync } from 'fs';
import { basename } from 'path';
import { createQuantplay } from '../build-wasm/wasm/quantplay.js';

const qp = await createQuantplay();
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
console.log(`node ${process.version}, V8 flags: ${process.execArgv.join(' ') || '(default)'}, SIMD target ${qp.simdTarget()}`);
console.log('| model | weights | config | SIMD ms (median) | scalar ref ms (median) | ref / SIMD |');
console.log('|---|---|---|---|---|---|');
for (const path of process.argv.slice(2)) {
  const id = qp.load(readFileSync(path), { name: basename(path) });
  const params = qp.inspect(id).model.layer_parameters;
  for (const cfg of [{ scheme: 'sym', granularity: 'tensor' }, { scheme: 'asym', granularity: 'channel' }]) {
    const time = (opts, runs) => {
      qp.sweep(id, opts);  // warm-up
      const t = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        qp.sweep(id, opts);
        t.push(performance.now() - t0);
      }
      return median(t);
    };
    const simd = time(cfg, 21);
    const ref = time({ ...cfg, kernel: 'reference' }, 5);
    console.log(`| ${basename(path)} | ${(params / 1e6).toFixed(2)} M | ${cfg.scheme}, ${cfg.granularity} | ${simd.toFixed(1)} | ${ref.toFixed(1)} | ${(ref / simd).toFixed(1)}x |`);
  }
  qp.unload(id);
}
