import { createServer, request as httpRequestRaw } from 'node:http';
import { createServer as createNetServer } from 'node:net';

// Ports this process handed out: the kernel may give a just-closed port again, and two
// listeners of one test on the same port (CI: a MUTUAL listener merged into a SIMPLE one) fail
// in ways that look like a bug of the code under test.
const handedOut = new Set<number>();

/** A port that was free a moment ago on 127.0.0.1, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createNetServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port) || tries >= 100) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpGet(port: number, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, timeout: 5000 }, (res) => {
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
  /** Requests seen, newest last (method, path, headers, body). */
  seen: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }>;
  /** /health answers 503 while false (for active health checks). */
  healthy: boolean;
  /** Every request answers this status while set (for outlier detection). */
  failWith?: number;
  /** Fixed answers by path (e.g. a JWKS document). */
  fixed: Map<string, { contentType: string; body: string }>;
  close(): Promise<void>;
}

/**
 * An HTTP upstream that answers with its name and what it received. Special paths:
 * /status/<code>, /flaky/<key>?fail=N (N failures per key, then 200),
 * /slow?ms=N, /health.
 */
export async function startUpstream(name: string): Promise<Upstream> {
  const port = await freePort();
  const flaky = new Map<string, number>();
  const up: Upstream = { name, port, hits: 0, seen: [], healthy: true, fixed: new Map(), close: async () => {} };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/health') {
        res.statusCode = up.healthy ? 200 : 503;
        return res.end(up.healthy ? 'ok' : 'down');
      }
      const fixed = up.fixed.get(url.pathname);
      if (fixed) {
        res.setHeader('content-type', fixed.contentType);
        return res.end(fixed.body);
      }
      up.hits++;
      up.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-upstream', name);
      const reply = (status: number) => {
        res.statusCode = status;
        res.end(JSON.stringify({ upstream: name, method: req.method, path: req.url, headers: req.headers, body }));
      };
      if (up.failWith) return reply(up.failWith);
      const m = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (m) return reply(Number(m[1]));
      if (url.pathname.startsWith('/flaky/')) {
        const n = flaky.get(url.pathname) ?? 0;
        flaky.set(url.pathname, n + 1);
        return reply(n < Number(url.searchParams.get('fail') ?? '2') ? 503 : 200);
      }
      if (url.pathname.endsWith('/slow')) return void setTimeout(() => reply(200), Number(url.searchParams.get('ms') ?? '2000'));
      reply(200);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  up.close = () =>
    new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => r());
    });
  return up;
}

export function httpRequest(
  port: number,
  opts: { host: string; path: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw(
      { host: '127.0.0.1', port, path: opts.path, method: opts.method ?? 'GET', headers: { host: opts.host, ...(opts.headers ?? {}) }, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.host}${opts.path} timed out`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
