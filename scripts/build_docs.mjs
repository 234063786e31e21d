#!/usr/bin/env node
// Builds the docs part of the static site: OUT/tutorials/*.html (examples/tutorials templates with their {{numbers}}
// filled from numbers.json) and OUT/docs/{index,cli,api,json-schema}.html (markdown rendered with `marked`; the CLI
// reference generated from the CLI's own --help so it cannot go stale). One header and one stylesheet for all.
//
//   node scripts/build_docs.mjs [--out dist] [--cli build/cli/quantplay] [--numbers examples/tutorials/numbers.json]
//
// Template syntax: {{a.b.c}} (a value of numbers.json; numbers print as stored), {{a.b|f2}} (fixed 2 decimals),
// {{a.b|f1}}, {{a.b|int}} (thousands separated), {{#if a.b}}…{{else}}…{{/if}} (no nesting). A key that is missing,
// or a value that is not a finite number or a string, fails the build naming the file and the key.
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { fileURLToPath } from 'url';
import { marked } from 'marked';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tutorialsDir = join(root, 'examples/tutorials');

function parseArgs(argv) {
  const a = { out: join(root, 'dist'), cli: join(root, 'build/cli/quantplay'), numbers: join(tutorialsDir, 'numbers.json') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--out') a.out = resolve(v());
    else if (k === '--cli') a.cli = resolve(v());
    else if (k === '--numbers') a.numbers = resolve(v());
    else if (k === '-h' || k === '--help') {
      console.log('usage: node scripts/build_docs.mjs [--out dist] [--cli build/cli/quantplay] [--numbers FILE]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function fail(msg) {
  console.error(`build_docs: ${msg}`);
  process.exit(1);
}

const escapeHtml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// ---- templates ------------------------------------------------------------------------------------------------

function lookup(numbers, key, where) {
  let v = numbers;
  for (const part of key.split('.')) {
    if (v === null || typeof v !== 'object' || !(part in v)) fail(`${where}: {{${key}}} is not in numbers.json (re-run examples/tutorials/numbers.mjs?)`);
    v = v[part];
  }
  return v;
}

function format(v, filter, key, where) {
  if (typeof v === 'number' && !Number.isFinite(v)) fail(`${where}: {{${key}}} is not finite`);
  if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') fail(`${where}: {{${key}}} is ${v === null ? 'null' : typeof v}, not a value`);
  if (!filter) return String(v);
  if (typeof v !== 'number') fail(`${where}: {{${key}|${filter}}} needs a number, got ${JSON.stringify(v)}`);
  if (/^f\d$/.test(filter)) return v.toFixed(Number(filter.slice(1)));
  if (filter === 'int') return Math.round(v).toLocaleString('en-US');
  fail(`${where}: unknown filter '${filter}' in {{${key}|${filter}}}`);
}

export function fillTemplate(text, numbers, where) {
  // Conditionals first: the numbers a branch needs may be absent when the branch is not taken.
  text = text.replace(/\{\{#if ([\w.]+)\}\}([\s\S]*?)(?:\{\{else\}\}([\s\S]*?))?\{\{\/if\}\}/g, (_, key, yes, no = '') => {
    let v = numbers;
    for (const part of key.split('.')) v = v && typeof v === 'object' ? v[part] : undefined;
    return v ? yes : no;
  });
  const out = text.replace(/\{\{([\w.]+)(?:\|(\w+))?\}\}/g, (_, key, filter) => escapeHtml(format(lookup(numbers, key, where), filter, key, where)));
  const left = /\{\{[^}]*\}\}?/.exec(out);
  if (left) fail(`${where}: malformed placeholder ${left[0]}`);
  return out;
}

// ---- layout ---------------------------------------------------------------------------------------------------

const TUTORIALS = [];  // {file, title, summary}, filled from the templates' metadata comments

function nav(active) {
  const item = (href, label, key) => `<a href="${href}"${key === active ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<header class="site-header">
  <a class="site-brand" href="../docs/index.html"><svg viewBox="0 0 16 16" aria-hidden="true"><rect width="16" height="16" rx="3"/><path d="M3 12h2V8h2V5h2v3h2v4h2"/></svg>quantplay</a>
  <nav aria-label="Site">
    ${item('../index.html', 'Playground', 'playground')}
    ${item('../docs/index.html', 'Docs', 'index')}
    ${item('../docs/index.html#tutorials', 'Tutorials', 'tutorial')}
    ${item('../docs/cli.html', 'CLI', 'cli')}
    ${item('../docs/api.html', 'JS API', 'api')}
    ${item('../docs/json-schema.html', 'JSON schema', 'schema')}
  </nav>
</header>`;
}

function page({ title, body, active, element = false, description = '' }) {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)} — quantplay</title>
${description ? `  <meta name="description" content="${escapeHtml(description)}">\n` : ''}  <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231d4ed8'/%3E%3C/svg%3E">
  <link rel="stylesheet" href="../docs/docs.css">
${element ? '  <script type="module" src="../quant-playground.js"></script>\n' : ''}</head>
<body>
${nav(active)}
<main class="doc">
${body}
</main>
<footer class="site-footer"><a href="../docs/index.html">Docs index</a> · <a href="../index.html">Playground</a> · everything on this site runs locally; no request leaves it.</footer>
</body>
</html>
`;
}

// Markdown: relative links to other docs' .md files point at their .html pages.
function renderMarkdown(md) {
  const html = marked.parse(md, { gfm: true });
  return html.replace(/href="(?:\.\.\/)?(?:docs\/)?([\w-]+)\.md(#[\w-]*)?"/g, (_, name, hash = '') => `href="${name}.html${hash}"`);
}

// ---- the CLI reference ----------------------------------------------------------------------------------------

function cliReference(cli) {
  if (!existsSync(cli)) fail(`no quantplay CLI at ${cli}: build it first (bash scripts/build.sh) or pass --cli PATH`);
  const help = (args) => {
    try {
      return execFileSync(cli, args, { encoding: 'utf8' });
    } catch (e) {
      fail(`\`${cli} ${args.join(' ')}\` failed: ${e.message}`);
    }
  };
  // Usage lines name the binary by the path it was run as; the reference names it `quantplay`.
  const clean = (s) => s.split(cli).join('quantplay').replace(/[ \t]+$/gm, '').trimEnd();
  const top = help(['--help']);
  const sub = /Subcommands:\n([\s\S]*)$/.exec(top);
  if (!sub) fail(`\`${cli} --help\` lists no subcommands`);
  const commands = sub[1].split('\n').map((l) => /^\s{2}(\w+)\s{2,}(.*)$/.exec(l)).filter(Boolean).map((m) => ({ name: m[1], what: m[2] }));
  if (!commands.length) fail(`could not read the subcommands of \`${cli} --help\``);
  const version = help(['--version']).trim();
  let body = `<h1>CLI reference</h1>
<p>Generated from the <code>--help</code> of <code>quantplay</code> ${escapeHtml(version)} when this site was built.
Every command reads the model and never writes over it; <code>--json</code> prints a report in the
<a href="json-schema.html">quantplay/1 schema</a>. Exit codes: 0 ok, 2 usage error, 3 the model cannot be loaded.</p>
<nav class="toc" aria-label="Commands"><ul>
${commands.map((c) => `<li><a href="#${c.name}"><code>${c.name}</code></a> — ${escapeHtml(c.what)}</li>`).join('\n')}
</ul></nav>
<h2 id="quantplay"><code>quantplay</code></h2>
<pre class="help">${escapeHtml(clean(top))}</pre>
`;
  for (const c of commands) {
    body += `<h2 id="${c.name}"><code>quantplay ${c.name}</code></h2>\n<p>${escapeHtml(c.what)}.</p>\n<pre class="help">${escapeHtml(clean(help([c.name, '--help'])))}</pre>\n`;
  }
  return { body, commands: commands.map((c) => c.name) };
}

// ---- build ----------------------------------------------------------------------------------------------------

function readTutorials() {
  const files = readdirSync(tutorialsDir).filter((f) => f.endsWith('.html')).sort();
  if (!files.length) fail(`no tutorials in ${tutorialsDir}`);
  return files.map((f) => {
    const text = readFileSync(join(tutorialsDir, f), 'utf8');
    const meta = /^<!--\s*([\s\S]*?)-->/.exec(text);
    const fields = {};
    if (meta) for (const line of meta[1].split('\n')) {
      const m = /^\s*(\w+):\s*(.*\S)\s*$/.exec(line);
      if (m) fields[m[1]] = m[2];
    }
    if (!fields.title) fail(`${f}: the template must open with a <!-- title: … --> comment`);
    return { file: f, title: fields.title, summary: fields.summary || '', order: Number(fields.order || 99), body: meta ? text.slice(meta[0].length) : text };
  }).sort((a, b) => a.order - b.order || a.file.localeCompare(b.file));
}

function indexPage(commands) {
  return `<h1>quantplay documentation</h1>
<p>quantplay shows, for every layer of an ONNX model, how much error quantization causes, which layers are to blame
and what fixes them. The same C++ core runs in the browser (WebAssembly) and natively (the <code>quantplay</code> CLI),
and they give the same numbers.</p>
<ul class="cards">
  <li><a href="../index.html"><strong>The playground</strong></a><span>Open a model (it never leaves your machine): weight SQNR per layer and bit-width, MixQuant, equalization, layer-wise analysis, export.</span></li>
  <li><a href="cli.html"><strong>CLI reference</strong></a><span>${commands.map((c) => `<code>${c}</code>`).join(' ')}</span></li>
  <li><a href="api.html"><strong>JavaScript API</strong></a><span>The wasm API (<code>createQuantplay</code>) and the <code>&lt;quant-playground&gt;</code> element for your own pages.</span></li>
  <li><a href="json-schema.html"><strong>JSON reports</strong></a><span>The <code>quantplay/1</code> schema of every <code>--json</code> report and wasm result.</span></li>
</ul>
<h2 id="tutorials">Tutorials</h2>
<p>Worked examples on real models with live playgrounds in the page. Every number in their text is produced by
<code>examples/tutorials/numbers.mjs</code>, which runs the CLI commands each tutorial prints.</p>
<ol class="tutorial-list">
${TUTORIALS.map((t) => `  <li><a href="../tutorials/${t.file}">${escapeHtml(t.title)}</a>${t.summary ? `<span>${escapeHtml(t.summary)}</span>` : ''}</li>`).join('\n')}
</ol>
`;
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  if (!existsSync(a.numbers)) fail(`no ${a.numbers}: run node examples/tutorials/numbers.mjs first`);
  const numbers = JSON.parse(readFileSync(a.numbers, 'utf8'));
  const docsOut = join(a.out, 'docs'), tutOut = join(a.out, 'tutorials');
  mkdirSync(docsOut, { recursive: true });
  mkdirSync(tutOut, { recursive: true });

  const cli = cliReference(a.cli);
  TUTORIALS.push(...readTutorials());
  const written = [];
  const write = (path, html) => {
    writeFileSync(path, html);
    written.push(path);
  };

  for (const t of TUTORIALS) {
    const body = fillTemplate(t.body, numbers, `examples/tutorials/${t.file}`);
    write(join(tutOut, t.file), page({ title: t.title, body, active: 'tutorial', element: true, description: t.summary }));
  }
  write(join(docsOut, 'index.html'), page({ title: 'Documentation', body: indexPage(cli.commands), active: 'index' }));
  write(join(docsOut, 'cli.html'), page({ title: 'CLI reference', body: cli.body, active: 'cli' }));
  for (const [md, name, title, active] of [['docs/api.md', 'api', 'JavaScript API', 'api'], ['docs/json-schema.md', 'json-schema', 'JSON reports', 'schema']]) {
    const src = join(root, md);
    if (!existsSync(src)) fail(`missing ${md}`);
    write(join(docsOut, `${name}.html`), page({ title, body: renderMarkdown(readFileSync(src, 'utf8')), active }));
  }
  copyFileSync(join(root, 'docs/docs.css'), join(docsOut, 'docs.css'));
  console.log(`build_docs: ${written.length} pages (${TUTORIALS.map((t) => basename(t.file, '.html')).join(', ')}; docs index, cli, api, json-schema) in ${a.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
