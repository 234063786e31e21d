// Run-panel input preparation without the DOM: presets from the models' documented settings, field parsing, the
// model input's layout, and RGBA pixels -> NCHW float32.

// Each preset is what the model's own pipeline does (PaddleOCR tools/infer, the ONNX zoo, the project's README for
// the trained digits models). fit: 'stretch' = resize to H×W; 'crop' = shorter side to `short`, centre crop H×W;
// 'pad' = keep the aspect ratio at height H, width ≤ W, zeros on the right (PaddleOCR rec/cls resize_norm_img).
export const PRESETS = {
  'ppocr-det': {
    label: 'PP-OCRv4 det', channels: 'RGB', scale: '1/255', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
    h: 640, w: 640, fit: 'stretch', note: 'PaddleOCR DB detector: ImageNet mean/std; H and W must be multiples of 32.',
  },
  'ppocr-rec': {
    label: 'PP-OCRv4 rec', channels: 'RGB', scale: '1/255', mean: [0.5], std: [0.5], h: 48, w: 320, fit: 'pad',
    note: 'PaddleOCR recogniser: (x/255 − 0.5)/0.5, height 48, aspect kept, zero padding on the right. '
      + 'Load its character list (ppocr_keys_v1.txt) as labels to read the text.',
  },
  'ppocr-cls': {
    label: 'PP-OCR cls (mobile v2.0)', channels: 'RGB', scale: '1/255', mean: [0.5], std: [0.5], h: 48, w: 192,
    fit: 'pad', labels: ['0°', '180°'],
    note: 'PaddleOCR text-direction classifier: (x/255 − 0.5)/0.5, 48×192, aspect kept; classes 0° and 180°.',
  },
  squeezenet: {
    label: 'SqueezeNet 1.1', channels: 'BGR', scale: '1', mean: [0], std: [1], h: 224, w: 224, fit: 'crop', short: 256,
    note: 'Caffe2 zoo SqueezeNet 1.1: BGR, 0..255, no mean/std; shorter side 256, then the centre 224×224.',
  },
  mnist: {
    label: 'MNIST (CNTK)', channels: 'L', scale: '1', mean: [0], std: [1], h: 28, w: 28, fit: 'stretch', invert: true,
    note: 'WinML CNTK MNIST: luminance 0..255, white digit on black (invert a dark-on-light picture).',
  },
  digits: {
    label: 'digits_cnn (sklearn digits)', channels: 'L', scale: '16/255', mean: [0], std: [1], h: 32, w: 32,
    fit: 'stretch', invert: true,
    note: 'Trained on scikit-learn digits: ink is high, 0..16 (luminance inverted × 16/255), 32×32.',
  },
  gray: {
    label: 'Grayscale (1 channel)', channels: 'L', scale: '1/255', mean: [0], std: [1], h: 28, w: 28, fit: 'stretch',
    note: 'Luminance (0.299 R + 0.587 G + 0.114 B), scaled to 0..1.',
  },
  custom: { label: 'Custom', note: 'Your own settings.' },
};

// The preset the file name asks for, else 'custom'.
export function presetForFile(name) {
  const n = String(name || '').toLowerCase();
  const ocr = /ocr|paddle/.test(n);
  if (ocr && /det/.test(n)) return 'ppocr-det';
  if (ocr && /rec/.test(n)) return 'ppocr-rec';
  if (/cls/.test(n) && (ocr || /mobile/.test(n))) return 'ppocr-cls';
  if (/squeezenet/.test(n)) return 'squeezenet';
  if (/mnist/.test(n)) return 'mnist';
  if (/digits?_?cnn/.test(n)) return 'digits';
  return 'custom';
}

// "1/255", "0.5", "16/255" -> number; throws with the field's name.
export function parseScale(text, what = 'scale') {
  const s = String(text).trim();
  const m = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\s*(?:\/\s*([\d.]+(?:e[-+]?\d+)?))?$/i.exec(s);
  const v = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!Number.isFinite(v)) throw new Error(`${what}: '${s}' is not a number (write e.g. 1/255 or 0.5)`);
  return v;
}

// "0.485, 0.456, 0.406" or "0.5" -> `channels` numbers (one value is used for every channel).
export function parseChannels(text, channels, what) {
  const parts = String(text).split(/[\s,;]+/).filter(Boolean);
  if (parts.length !== 1 && parts.length !== channels) {
    throw new Error(`${what}: give 1 value or ${channels} (one per channel), not ${parts.length}`);
  }
  const v = parts.map((p) => parseScale(p, what));
  if (what.startsWith('std') && v.some((x) => x === 0)) throw new Error(`${what}: must not be 0`);
  return channels > v.length ? Array(channels).fill(v[0]) : v;
}

// How the model's inputs read as an image: the first float32 input of rank 4 with 1 or 3 channels (NCHW).
// Returns {index, name, channels, h, w} where h/w are numbers or symbolic names, or null.
export function imageInput(inputs) {
  for (let i = 0; i < (inputs || []).length; i++) {
    const v = inputs[i];
    if (!v.shape || v.shape.length !== 4 || v.dtype !== 'float32') continue;
    const c = v.shape[1];
    if (c !== 1 && c !== 3) continue;
    return { index: i, name: v.name, channels: c, n: v.shape[0], h: v.shape[2], w: v.shape[3] };
  }
  return null;
}

// Symbolic dims of all inputs, in order of first appearance, with the role they play for the image input.
export function symbolicDims(inputs, img) {
  const dims = [];
  const seen = new Set();
  for (const v of inputs || []) {
    for (const d of v.shape || []) {
      if (typeof d !== 'string' || seen.has(d)) continue;
      seen.add(d);
      const roles = [];
      if (img && v.name === img.name) {
        if (img.n === d) roles.push('N');
        if (img.h === d) roles.push('H');
        if (img.w === d) roles.push('W');
      }
      dims.push({ name: d, roles });
    }
  }
  return dims;
}

// Where the image lands on the H×W canvas: the source rectangle and the destination width (the rest is padding).
export function placement(srcW, srcH, h, w, fit, short = 256) {
  if (fit === 'crop') {
    const s = short / Math.min(srcW, srcH);  // shorter side -> `short`
    const sw = Math.min(srcW, w / s), sh = Math.min(srcH, h / s);
    return { sx: (srcW - sw) / 2, sy: (srcH - sh) / 2, sw, sh, dw: w };
  }
  if (fit === 'pad') {
    const dw = Math.max(1, Math.min(w, Math.ceil((h * srcW) / srcH)));
    return { sx: 0, sy: 0, sw: srcW, sh: srcH, dw };
  }
  return { sx: 0, sy: 0, sw: srcW, sh: srcH, dw: w };
}

// RGBA bytes (h×w, row-major) -> Float32Array [1, C, h, w]. opts: {channels: 'RGB'|'BGR'|'L', outChannels: 1|3,
// scale, mean[C], std[C], invert, dw (columns < dw hold the image; the rest are zero after normalisation)}.
export function rgbaToNchw(rgba, h, w, opts) {
  const C = opts.outChannels;
  const plane = h * w;
  const out = new Float32Array(C * plane);
  const dw = opts.dw == null ? w : opts.dw;
  const order = opts.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const gray = opts.channels === 'L' || C === 1;
  const inv = !!opts.invert;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < dw; x++) {
      const p = y * w + x, q = 4 * p;
      if (gray) {
        let l = 0.299 * rgba[q] + 0.587 * rgba[q + 1] + 0.114 * rgba[q + 2];
        if (inv) l = 255 - l;
        for (let c = 0; c < C; c++) out[c * plane + p] = (l * opts.scale - opts.mean[c]) / opts.std[c];
      } else {
        for (let c = 0; c < C; c++) {
          let v = rgba[q + order[c]];
          if (inv) v = 255 - v;
          out[c * plane + p] = (v * opts.scale - opts.mean[c]) / opts.std[c];
        }
      }
    }
  }
  return out;
}

// A label file: one class per line; a trailing empty line and CR line ends are not classes.
export function parseLabels(text) {
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}

// "cannot run this model: unsupported ops: Op: n1, n2; Op2 (domain 'x'): n3" -> [{op, nodes}] or null.
export function parseUnsupported(message) {
  const m = /unsupported ops: (.*)$/s.exec(String(message));
  if (!m) return null;
  return m[1].split('; ').map((part) => {
    const i = part.indexOf(': ');
    return i < 0 ? { op: part, nodes: '' } : { op: part.slice(0, i), nodes: part.slice(i + 2) };
  });
}

// Greedy CTC decoding of a [1, T, C] output whose classes are blank + labels (+ a space last), as PaddleOCR's
// recognisers emit: the best class per step, repeats merged, blanks dropped. Null when the shapes do not fit.
export function ctcDecode(shape, data, labels) {
  if (!labels || shape.length !== 3 || shape[0] !== 1 || !data) return null;
  const [, T, C] = shape;
  if (labels.length !== C - 1 && labels.length !== C - 2) return null;
  let text = '', prev = -1, sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    let best = 0, bv = -Infinity;
    for (let c = 0; c < C; c++) {
      const v = Number(data[t * C + c]);
      if (v > bv) { bv = v; best = c; }
    }
    if (best !== 0 && best !== prev) {
      text += best <= labels.length ? labels[best - 1] : ' ';
      sum += bv;
      n++;
    }
    prev = best;
  }
  return { text, score: n ? sum / n : null };
}
