// <quant-playground>: the whole playground as one custom element (plain Web Components API). Docs pages embed it
// with a <script type="module"> tag; the full page (index.html) is the same element with the `page` attribute.
// Attributes: src, view, height, controls, autorun, page, and the settings below (the full page keeps them in the URL
// hash instead, so a link reproduces a view). Every element gets its own state and worker client; all of them share
// one compiled wasm module and a small worker pool (engine.js).
import css from './style.css';
import template from './playground.html';
import { createPlayground } from './app.js';
import { Chart } from './chart.js';

const VIEWS = ['summary', 'sweep', 'mixquant', 'run', 'equalize', 'analyze'];
const DEFAULT_VIEW = 'sweep mixquant';

// Setting name -> the control it drives (inside the shadow root). Radio groups and checkboxes are handled by type.
const SETTINGS = {
  granularity: '#sweep-form [name=granularity]',
  scheme: '#sweep-form [name=scheme]',
  range: '#range',
  qem: '#qem',
  baseline: '#mq-panel [name=baseline]',
  'eq-method': '#eq-method',
  'eq-cle-mode': '#eq-cle-mode',
  'eq-cle-range': '#eq-cle-range',
  'eq-relu6': '#eq-relu6',
  'eq-hba': '#eq-form [name=hba]',
  'eq-triplets': '#eq-form [name=triplets]',
  'eq-bn-fold': '#eq-form [name=bn_fold]',
  'eq-bc': '#eq-bc',
  'eq-bits': '#eq-bits',
  'eq-granularity': '#eq-granularity',
  'eq-samples': '#eq-samples',
  'w-bits': '#an-wbits',
  'w-granularity': '#an-wgran',
  'w-range': '#an-wrange',
  'a-bits': '#an-abits',
  'a-range': '#an-arange',
  samples: '#an-samples',
};
const NAMES = Object.keys(SETTINGS);
const SWEEP_SETTINGS = ['granularity', 'scheme', 'range'];  // a change re-sweeps (MixQuant follows)
// The action `autorun` starts in each panel once the model is in and the element is on screen.
const AUTORUN = { run: 'run-button', equalize: 'eq-button', analyze: 'an-button' };

const sheet = (() => {
  try {
    const s = new CSSStyleSheet();
    s.replaceSync(css);
    return s;
  } catch {
    return null;  // no constructable stylesheets: a <style> element per element instead
  }
})();

function parseList(text) {
  return (text || '').split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export class QuantPlayground extends HTMLElement {
  static get observedAttributes() { return ['src', 'view', 'height', 'controls', 'autorun', ...NAMES]; }

  constructor() {
    super();
    this.api = null;
    this.visible = false;
    this.waiters = [];
    this.reflecting = false;  // a control change is being written back to the attribute / hash
    this.autoran = false;
    this.settingErrors = new Map();  // setting (or 'view', 'controls', 'height') -> message, shown apart from model errors
    this.given = null;               // the last model handed to load(): reopened when the element is rebuilt
  }

  // The element's state: model, reports and per-panel status (read-only; a `statechange` event fires on change).
  get state() { return this._state || null; }
  set state(v) { this._state = v; }

  connectedCallback() {
    if (this.disposeTimer) {
      clearTimeout(this.disposeTimer);
      this.disposeTimer = 0;
    }
    if (!this.api) this.build();
  }

  disconnectedCallback() {
    // Moving an element around the DOM disconnects and reconnects it in one task; only a real removal frees it.
    this.disposeTimer = setTimeout(() => this.teardown(), 0);
  }

  teardown() {
    if (this.observer) this.observer.disconnect();
    if (this.hashListener) window.removeEventListener('hashchange', this.hashListener);
    if (this.api) this.api.dispose();
    this.api = null;
    // The old instance may still get late replies: they land in its own detached container.
    if (this.box) this.box.remove();
    this.box = null;
  }

  get isPage() { return this.hasAttribute('page'); }

  views() {
    const asked = parseList(this.getAttribute('view'));
    const list = asked.length ? asked : this.isPage ? VIEWS : parseList(DEFAULT_VIEW);
    const bad = list.filter((v) => !VIEWS.includes(v));
    return { views: new Set(list.filter((v) => VIEWS.includes(v))), bad };
  }

  build() {
    const root = this.shadowRoot || this.attachShadow({ mode: 'open' });
    if (sheet) root.adoptedStyleSheets = [sheet];
    else if (!root.querySelector('style')) root.append(Object.assign(document.createElement('style'), { textContent: css }));
    this.box = document.createElement('div');
    this.box.className = 'qp';
    this.box.innerHTML = template;
    root.append(this.box);
    const { views, bad } = this.views();
    this.autoran = false;
    this.settingErrors.clear();
    this.applyHeight();
    this.api = createPlayground({
      root: this.box,
      host: this,
      page: this.isPage,
      views,
      whenVisible: () => this.whenVisible(),
      onState: (s) => this.onState(s),
    });
    this.defaults = Object.fromEntries(NAMES.map((n) => [n, this.getSetting(n)]));
    this.box.addEventListener('change', (e) => this.reflect(e.target));
    this.box.addEventListener('input', (e) => { if (e.target.type === 'range') this.reflect(e.target); });
    this.watchVisibility();
    if (bad.length) {
      this.settingErrors.set('view', `view="${this.getAttribute('view')}": unknown panel ${bad.map((b) => `'${b}'`).join(', ')} `
        + `(expected some of ${VIEWS.join(', ')})`);
    }
    // The full page reads its settings from the URL hash; an element from its attributes.
    const given = this.isPage ? this.hashSettings() : Object.fromEntries(NAMES.filter((n) => this.hasAttribute(n))
      .map((n) => [n, this.getAttribute(n)]));
    for (const [name, value] of Object.entries(given)) this.noteSetting(name, this.setSetting(name, value));
    this.applyControls();
    if (this.isPage && !this.hashListener) {
      this.hashListener = () => this.onHash();
      window.addEventListener('hashchange', this.hashListener);
    }
    // A rebuild (a `view` change) reopens the model on display: the one given to load() if that came last.
    const src = (this.isPage && this.hashSrc()) || this.getAttribute('src');
    this.loadedSrc = src;
    if (this.given) this.api.loadBytes(this.given.bytes, this.given.name);
    else if (src) this.api.loadUrl(src);
    else this.api.showIdle();
  }

  // Settings errors are kept apart from model errors: they stay on show until the setting gets a valid value.
  noteSetting(name, err) {
    if (err) this.settingErrors.set(name, err);
    else this.settingErrors.delete(name);
    if (!this.box) return;
    const box = this.box.querySelector('#settings-error');
    box.hidden = this.settingErrors.size === 0;
    this.box.querySelector('#settings-error-message').textContent = [...this.settingErrors.values()].join('\n');
  }

  // --- public API ------------------------------------------------------------------------------------------------

  // Opens a model handed in from script (the element's `src` is left as it is).
  load(bytes, name = 'model.onnx') {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
      throw new TypeError('quant-playground.load(bytes, name): bytes must be a Uint8Array or an ArrayBuffer');
    }
    if (!this.isConnected) throw new Error('quant-playground.load(): add the element to the page first');
    this.autoran = false;
    this.given = { bytes: new Uint8Array(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)), name };
    return this.api.loadBytes(this.given.bytes, name);
  }

  // The current value of a setting (see SETTINGS), as the attribute would spell it.
  setting(name) {
    if (!SETTINGS[name]) throw new Error(`quant-playground: unknown setting '${name}' (known: ${NAMES.join(', ')})`);
    return this.getSetting(name);
  }

  // --- settings ------------------------------------------------------------------------------------------------

  controlsOf(name) {
    return this.box ? [...this.box.querySelectorAll(SETTINGS[name])] : [];
  }

  getSetting(name) {
    const els = this.controlsOf(name);
    if (!els.length) return null;
    if (els[0].type === 'radio') {
      const on = els.find((e) => e.checked);
      return on ? on.value : null;
    }
    if (els[0].type === 'checkbox') return els[0].checked ? 'true' : 'false';
    return els[0].value;
  }

  // Sets a control from text; returns an error message naming the setting and what it accepts, or null.
  setSetting(name, raw, notify = true) {
    const els = this.controlsOf(name);
    if (!els.length) return `unknown setting '${name}'`;
    const value = String(raw).trim();
    const el = els[0];
    let target = el;
    if (raw == null) return null;
    if (el.type === 'radio') {
      target = els.find((e) => e.value === value);
      if (!target) return `${name}="${value}": expected one of ${els.map((e) => e.value).join(', ')}`;
      if (target.checked) return null;
      target.checked = true;
    } else if (el.type === 'checkbox') {
      if (!['true', 'false', ''].includes(value)) return `${name}="${value}": expected true or false`;
      const on = value !== 'false';
      if (el.checked === on) return null;
      el.checked = on;
    } else if (el.tagName === 'SELECT') {
      const opts = [...el.options].map((o) => o.value);
      if (!opts.includes(value)) return `${name}="${value}": expected one of ${opts.join(', ')}`;
      if (el.value === value) return null;
      el.value = value;
    } else {
      const v = Number(value);
      const lo = Number(el.min), hi = Number(el.max), step = el.step === 'any' ? 0 : Number(el.step || 1);
      const integral = step === 1;
      // Plain decimals only (no hex, no blanks), on the control's grid: the browser would snap 2.55 to 2.6 silently.
      const k = step ? (v - lo) / step : 0;
      if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value) || !Number.isFinite(v) || v < lo || v > hi
          || Math.abs(k - Math.round(k)) > 1e-9) {
        return `${name}="${value}": expected ${integral ? 'an integer' : `a multiple of ${el.step}`} in [${el.min}, ${el.max}]`;
      }
      if (Number(el.value) === v) return null;
      el.value = String(v);
    }
    // The element reacts as if the reader had changed the control (sweeps again, moves the MixQuant allocation).
    if (notify) {
      this.reflecting = true;
      try {
        target.dispatchEvent(new Event(el.type === 'range' ? 'input' : 'change', { bubbles: true }));
      } finally {
        this.reflecting = false;
      }
    }
    return null;
  }

  // Which settings the reader may change: `controls` lists them (`all`, `none`, or names); the rest are disabled.
  applyControls() {
    const attr = this.getAttribute('controls');
    const list = parseList(attr);
    const all = attr == null || list.includes('all');
    const bad = list.filter((n) => n !== 'all' && n !== 'none' && !SETTINGS[n]);
    for (const n of NAMES) {
      const locked = !all && !list.includes(n);
      for (const el of this.controlsOf(n)) {
        el.disabled = locked;
        if (!('qpTitle' in el.dataset)) el.dataset.qpTitle = el.title;
        el.title = locked ? `fixed by the page (${n}="${this.getSetting(n)}")` : el.dataset.qpTitle;
      }
    }
    this.noteSetting('controls', bad.length ? `controls="${attr}": unknown setting ${bad.map((b) => `'${b}'`).join(', ')}` : null);
  }

  // A control changed: the attribute (element) or the URL hash (page) follows, so the view can be shared.
  reflect(target) {
    if (this.reflecting || !this.api) return;
    const name = NAMES.find((n) => this.controlsOf(n).includes(target));
    if (!name) return;
    const value = this.getSetting(name);
    if (this.isPage) {
      this.writeHash();
      return;
    }
    this.reflecting = true;
    try {
      this.setAttribute(name, value);
    } finally {
      this.reflecting = false;
    }
  }

  attributeChangedCallback(name, old, value) {
    if (!this.api || this.reflecting || old === value) return;
    if (name === 'height') return this.applyHeight();
    if (name === 'controls') return this.applyControls();
    if (name === 'autorun') return this.maybeAutorun();
    if (name === 'view') {
      this.teardown();
      this.build();
      return;
    }
    if (name === 'src') {
      this.autoran = false;
      this.given = null;
      this.loadedSrc = value;
      if (value) this.api.loadUrl(value);
      return;
    }
    // A removed setting attribute puts the control back to its default.
    this.noteSetting(name, this.setSetting(name, value == null ? this.defaults[name] : value));
  }

  applyHeight() {
    const hgt = this.getAttribute('height');
    const css = hgt && /^\d+(\.\d+)?$/.test(hgt) ? `${hgt}px` : hgt;
    const ok = !css || typeof CSS === 'undefined' || CSS.supports('height', css);
    this.style.height = css && ok ? css : '';
    this.noteSetting('height', ok ? null : `height="${hgt}": not a CSS length (e.g. 480, 480px, 60vh)`);
  }

  // --- URL hash (full page) ------------------------------------------------------------------------------------

  hashParams() {
    return new URLSearchParams(location.hash.replace(/^#/, ''));
  }

  hashSettings() {
    const p = this.hashParams();
    return Object.fromEntries(NAMES.filter((n) => p.has(n)).map((n) => [n, p.get(n)]));
  }

  hashSrc() {
    return this.hashParams().get('src');
  }

  // Only the settings that differ from the defaults, so a plain link stays plain.
  writeHash() {
    const p = this.hashParams();
    for (const n of NAMES) {
      const v = this.getSetting(n);
      if (v === this.defaults[n]) p.delete(n);
      else p.set(n, v);
    }
    const text = p.toString();
    history.replaceState(null, '', text ? `#${text}` : location.pathname + location.search);
  }

  // A new hash may change several settings at once: they are set quietly, then the sweep and MixQuant run once.
  onHash() {
    const given = this.hashSettings();
    const before = Object.fromEntries(NAMES.map((n) => [n, this.getSetting(n)]));
    for (const n of NAMES) this.noteSetting(n, this.setSetting(n, n in given ? given[n] : this.defaults[n], false));
    const changed = NAMES.filter((n) => this.getSetting(n) !== before[n]);
    if (changed.some((n) => SWEEP_SETTINGS.includes(n))) this.api.rerunSweep();
    if (changed.some((n) => n === 'qem' || n === 'baseline')) this.api.onMixquantControls();
    const src = this.hashSrc();
    if (src && src !== this.loadedSrc) {
      this.loadedSrc = src;
      this.api.loadUrl(src);
    }
  }

  // --- visibility: an element off screen does no work ----------------------------------------------------------

  watchVisibility() {
    if (this.isPage || typeof IntersectionObserver === 'undefined') {
      this.visible = true;
      return;
    }
    this.observer = new IntersectionObserver((entries) => {
      this.visible = entries.some((e) => e.isIntersecting);
      this.dataset.visible = String(this.visible);
      if (this.visible) {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
        this.maybeAutorun();
      }
    }, { rootMargin: '200px' });
    this.observer.observe(this);
  }

  whenVisible() {
    return this.visible ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  onState(s) {
    this.state = s;
    // The full page also publishes it as a global, for scripts and the browser tests.
    if (this.isPage) window.quantplayState = s;
    this.dispatchEvent(new CustomEvent('statechange', { detail: s }));
    this.maybeAutorun();
  }

  // `autorun`: once per model, when it is loaded, the element is ready and on screen.
  maybeAutorun() {
    if (this.autoran || !this.hasAttribute('autorun') || !this.visible || !this.api) return;
    if (this.dataset.state !== 'ready' || !this.state || !this.state.file) return;
    this.autoran = true;
    const { views } = this.views();
    // After this task: the panels enable their buttons when the state settles.
    setTimeout(() => {
      for (const [view, id] of Object.entries(AUTORUN)) {
        if (!views.has(view)) continue;
        const b = this.box && this.box.querySelector(`#${id}`);
        if (b && !b.disabled) b.click();
      }
    }, 0);
  }
}

// Tests and pages reach the bundled plotting library through the element class (no global is added).
QuantPlayground.Chart = Chart;

if (!customElements.get('quant-playground')) customElements.define('quant-playground', QuantPlayground);
