// Shared page helpers: element lookup, a tiny element builder (textContent only) and number formatting.

export const $ = (id) => document.getElementById(id);

// Names inside models and files are untrusted, so children are always text nodes or elements, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmtInt = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}
export const plural = (n, one, many = `${one}s`) => `${fmtInt(n)} ${n === 1 ? one : many}`;
export const fmtShape = (s) => (s && s.length ? s.join('×') : '—');

// Four significant digits; exponent form only where fixed notation would hide the value.
export function fmtNum(v) {
  if (v == null || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e5 || a < 1e-3 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  return s.replace('-', '−');
}
export function fmtMs(ms) {
  if (ms == null) return '—';
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  if (ms < 10000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

// A form field's whole-number value in [lo, hi]; otherwise an Error naming the field (`what`) and the range.
export function wholeNumber(input, lo, hi, what) {
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what} must be a whole number in ${lo}…${hi}`);
  return v;
}
