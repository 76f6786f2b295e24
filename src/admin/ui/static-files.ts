// The /ui page's static files, built by `npm run build:ui` (npm ci runs it) into dist/ui.
// They hold no configuration: the page asks /debug/explain, /debug/proxies and
// /debug/events for that, with the viewer's token or certificate.
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';

export const UI_DIST = join(import.meta.dirname, '../../../dist/ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** /ui, /ui/ and /ui/<file>: the paths of the page. */
export const isUiPath = (url: string): boolean => url === '/ui' || url.startsWith('/ui/');

export function serveUiFile(url: string, res: ServerResponse, dist = UI_DIST): void {
  const name = url === '/ui' || url === '/ui/' ? 'index.html' : url.slice('/ui/'.length);
  const type = TYPES[name.slice(name.lastIndexOf('.'))];
  // Only plain file names of known types: no traversal out of dist/ui.
  const file = /^[\w-]+(\.[\w-]+)*$/.test(name) && type ? join(dist, name) : undefined;
  if (!existsSync(join(dist, 'index.html'))) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`The UI is not built (${dist} is missing): run \`npm run build:ui\` in the meshplane checkout (npm ci does it), then reload.\n`);
    return;
  }
  if (!file || !existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`no such UI file ${name.slice(0, 200)}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(readFileSync(file));
}
