// Lets the ES-module build run under node: Emscripten 3.1.6's node path calls require() and reads __dirname.
var require, __dirname;
if (typeof process === 'object' && process.versions && process.versions.node) {
  const { createRequire } = await import('module');
  const { fileURLToPath } = await import('url');
  require = createRequire(import.meta.url);
  __dirname = fileURLToPath(new URL('.', import.meta.url));
}
