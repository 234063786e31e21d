// The Run panel's preprocessing without a browser: presets by file name, field parsing, placement, RGBA -> NCHW.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PRESETS, ctcDecode, imageInput, parseChannels, parseLabels, parseScale, parseUnsupported, placement, presetForFile, rgbaToNchw,
  symbolicDims,
} from '../../web/preprocess.js';

test('presets follow the real models\' file names', () => {
  const cases = {
    'ch_PP-OCRv4_det_infer.onnx': 'ppocr-det',
    'ch_PP-OCRv4_rec_infer.onnx': 'ppocr-rec',
    'ch_ppocr_mobile_v2.0_cls_infer.onnx': 'ppocr-cls',
    'squeezenet1.1_fp32.onnx': 'squeezenet',
    'mnist_cntk.onnx': 'mnist',
    'digits_cnn.onnx': 'digits',
    'digits_cnn_bn.onnx': 'digits',
    'resnet50.onnx': 'custom',
    'cls_unknown_op.onnx': 'custom',
  };
  for (const [file, key] of Object.entries(cases)) assert.equal(presetForFile(file), key, file);
  assert.deepEqual(PRESETS['ppocr-cls'].labels, ['0°', '180°']);
  assert.deepEqual(PRESETS['ppocr-det'].mean, [0.485, 0.456, 0.406]);
  assert.equal(PRESETS.squeezenet.channels, 'BGR');
});

test('scale, mean and std fields', () => {
  assert.equal(parseScale('1/255'), 1 / 255);
  assert.equal(parseScale(' 16 / 255 '), 16 / 255);
  assert.equal(parseScale('1'), 1);
  assert.equal(parseScale('1e-3'), 0.001);
  assert.throws(() => parseScale('one/255'), /^Error: scale: 'one\/255' is not a number/);
  assert.throws(() => parseScale('1/0'), /not a number/);
  assert.deepEqual(parseChannels('0.5', 3, 'mean'), [0.5, 0.5, 0.5]);
  assert.deepEqual(parseChannels('0.485, 0.456 0.406', 3, 'mean'), [0.485, 0.456, 0.406]);
  assert.throws(() => parseChannels('1, 2', 3, 'mean'), /mean: give 1 value or 3/);
  assert.throws(() => parseChannels('0', 1, 'std'), /std: must not be 0/);
});

test('image input and symbolic dims of real model inputs', () => {
  const cls = [{ name: 'x', dtype: 'float32', shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'] }];
  const img = imageInput(cls);
  assert.deepEqual(img, { index: 0, name: 'x', channels: 3, n: 'p2o.DynamicDimension.0', h: 'p2o.DynamicDimension.1', w: 'p2o.DynamicDimension.2' });
  assert.deepEqual(symbolicDims(cls, img).map((d) => d.roles.join()), ['N', 'H', 'W']);
  assert.equal(imageInput([{ name: 'x', dtype: 'float32', shape: [3, 4, 5] }]), null);
  assert.equal(imageInput([{ name: 'x', dtype: 'int64', shape: [1, 3, 4, 5] }]), null);
  assert.equal(imageInput([{ name: 'x', dtype: 'float32', shape: [1, 1, 28, 28] }]).channels, 1);
  // One name for both sides is one field with both roles.
  const sq = [{ name: 'x', dtype: 'float32', shape: [1, 3, 's', 's'] }];
  assert.deepEqual(symbolicDims(sq, imageInput(sq)), [{ name: 's', roles: ['H', 'W'] }]);
});

test('placement: stretch, shorter-side centre crop, aspect-keeping pad', () => {
  assert.deepEqual(placement(640, 480, 224, 224, 'stretch'), { sx: 0, sy: 0, sw: 640, sh: 480, dw: 224 });
  // 640×480 -> shorter side 256 (scale 0.5333) -> the centre 224×224 is 420×420 source pixels.
  const c = placement(640, 480, 224, 224, 'crop', 256);
  assert.ok(Math.abs(c.sw - 420) < 1e-9 && Math.abs(c.sh - 420) < 1e-9);
  assert.ok(Math.abs(c.sx - 110) < 1e-9 && Math.abs(c.sy - 30) < 1e-9);
  // PaddleOCR resize_norm_img: width ceil(48 * 480/120) = 192, or narrower images padded.
  assert.equal(placement(480, 120, 48, 192, 'pad').dw, 192);
  assert.equal(placement(200, 100, 48, 320, 'pad').dw, 96);
  assert.equal(placement(4000, 10, 48, 320, 'pad').dw, 320);
});

test('RGBA -> NCHW: channel order, scale, mean/std, luminance, invert, padding', () => {
  // 2×2 RGBA: red, green / blue, white.
  const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
  const rgb = rgbaToNchw(rgba, 2, 2, { outChannels: 3, channels: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual([...rgb], [1, 0, 0, 1, /* G */ 0, 1, 0, 1, /* B */ 0, 0, 1, 1]);
  const bgr = rgbaToNchw(rgba, 2, 2, { outChannels: 3, channels: 'BGR', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual([...bgr], [0, 0, 255, 255, /* G */ 0, 255, 0, 255, /* R */ 255, 0, 0, 255]);
  const norm = rgbaToNchw(rgba, 2, 2, { outChannels: 3, channels: 'RGB', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepEqual([...norm.slice(0, 4)], [1, -1, -1, 1]);
  const gray = rgbaToNchw(rgba, 2, 2, { outChannels: 1, channels: 'L', scale: 1, mean: [0], std: [1], invert: true });
  const close = (a, b) => Math.abs(a - b) < 1e-3;
  [255 - 0.299 * 255, 255 - 0.587 * 255, 255 - 0.114 * 255, 0].forEach((v, i) => assert.ok(close(gray[i], v), `${gray[i]} vs ${v}`));
  // Columns past dw are padding: zero after normalisation, whatever the pixels say.
  const pad = rgbaToNchw(rgba, 2, 2, { outChannels: 3, channels: 'RGB', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], dw: 1 });
  assert.deepEqual([pad[1], pad[3], pad[5], pad[7]], [0, 0, 0, 0]);
});

test('labels and the engine\'s unsupported-ops message', () => {
  assert.deepEqual(parseLabels('\uFEFFcat\r\ndog\r\n\r\n'), ['cat', 'dog']);
  assert.deepEqual(parseLabels('a\n\nb\n'), ['a', '', 'b']);
  assert.deepEqual(
    parseUnsupported('cannot run this model: unsupported ops: Conv: c0, c1 and 3 more; Foo (domain \'x.y\'): n1'),
    [{ op: 'Conv', nodes: 'c0, c1 and 3 more' }, { op: 'Foo (domain \'x.y\')', nodes: 'n1' }]);
  assert.equal(parseUnsupported('input \'x\' is not given'), null);
});

test('greedy CTC decoding', () => {
  // T = 6 steps over blank + "a", "b" + space: a a blank a b space -> "aa b ".
  const C = 4, steps = [1, 1, 0, 1, 2, 3];
  const data = new Float32Array(steps.length * C);
  steps.forEach((c, t) => { data[t * C + c] = 0.9; });
  assert.deepEqual(ctcDecode([1, steps.length, C], data, ['a', 'b']), { text: 'aab ', score: Math.fround(0.9) });
  assert.equal(ctcDecode([1, steps.length, C], data, ['a']), null, 'labels must be the classes minus the blank (and space)');
  assert.equal(ctcDecode([2, 3, C], data, ['a', 'b']), null);
});
