// Minimal static file server for dist/ on the loopback interface (the page needs correct MIME types for .mjs/.wasm).
import { createServer } from 'http';
import { createReadStream, statSync } from 'fs';
import { extname, join, normalize, resolve } from 'path';

const root = resolve(process.argv[2] || 'dist');
const port = Number(process.argv[3] || process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.md': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

const server = createServer((req, res) => {
  let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = normalize(join(root, path));
  if (!file.startsWith(root)) { res.writeHead(403).end('forbidden'); return; }
  let target = file;
  try {
    if (statSync(target).isDirectory()) target = join(target, 'index.html');
    statSync(target);
  } catch { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
  res.writeHead(200, { 'content-type': types[extname(target)] || 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(target).pipe(res);
});
server.listen(port, host, () => console.log(`quantplay: serving ${root} at http://${host}:${port}/`));
