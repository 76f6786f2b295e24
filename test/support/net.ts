import { createServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpGet(port: number, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

export interface Upstream {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

/** An HTTP upstream that answers with its name and what it received. */
export async function startUpstream(name: string): Promise<Upstream> {
  const port = await freePort();
  const up: Upstream = { name, port, hits: 0, close: async () => {} };
  const server = createServer((req, res) => {
    up.hits++;
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-upstream', name);
    res.end(JSON.stringify({ upstream: name, method: req.method, path: req.url, headers: req.headers }));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  up.close = () => new Promise((r) => server.close(() => r()));
  return up;
}
