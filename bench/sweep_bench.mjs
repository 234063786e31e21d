// Benchmark of the weight sweep in wasm under node (one thread): SIMD128 kernel vs scalar reference, wall time
// of the API call (JSON included).
// Usage: node bench/sweep_bench.mjs MODEL... (first: the synthetic model written by build/bench/sweep_bench)
import { readFileSync } from 'fs';
import { basename } from 'path';
import { createQuantplay } from '../build-wasm/wasm/quantplay.js';

const qp = await createQuantplay();
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
console.log(`node ${process.version}, V8 flags: ${process.execArgv.join(' ') || '(default)'}, SIMD target ${qp.simdTarget()}`);
console.log('| model | weights | config | first sweep after load | re-sweep (stats cached) | scalar ref | ref / first |');
console.log('|---|---|---|---|---|---|---|');
const wall = (f) => { const t0 = performance.now(); f(); return performance.now() - t0; };
for (const path of process.argv.slice(2)) {
  const bytes = readFileSync(path);
  let id = qp.load(bytes, { name: basename(path) });
  const params = qp.inspect(id).model.layer_parameters;
  for (const cfg of [{ scheme: 'sym', granularity: 'tensor' }, { scheme: 'asym', granularity: 'channel' }]) {
    qp.sweep(id, cfg);  // warm-up (JIT, heap growth)
    const cold = [], warm = [], ref = [];
    for (let i = 0; i < 11; i++) {
      qp.unload(id);
      id = qp.load(bytes, { name: basename(path) });
      cold.push(wall(() => qp.sweep(id, cfg)));
      warm.push(wall(() => qp.sweep(id, cfg)));
    }
    for (let i = 0; i < 5; i++) ref.push(wall(() => qp.sweep(id, { ...cfg, kernel: 'reference' })));
    const c = median(cold), w = median(warm), r = median(ref);
    console.log(`| ${basename(path)} | ${(params / 1e6).toFixed(2)} M | ${cfg.scheme}, ${cfg.granularity} | ${c.toFixed(1)} ms | ${w.toFixed(1)} ms | ${r.toFixed(1)} ms | ${(r / c).toFixed(1)}x |`);
  }
  qp.unload(id);
}
