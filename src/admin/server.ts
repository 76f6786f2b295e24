// Admin HTTP port: health, readiness, Prometheus metrics and read-only debug views.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { ResourceStatus } from '../ir/types.js';
import type { PipelineState } from '../pipeline.js';
import { ownerOfEnvoyResource } from '../translate/names.js';
import type { XdsServer } from '../xds/server.js';

/** Core statuses plus what proxies rejected, on the resources that produced it. */
export function statusWithRejections(state: PipelineState, xds: XdsServer): Record<string, ResourceStatus> {
  const out: Record<string, ResourceStatus> = JSON.parse(JSON.stringify(state.core?.status ?? {}));
  for (const r of xds.rejected()) {
    const owner = ownerOfEnvoyResource(r.type, r.resource) ?? `envoy:${r.type}/${r.resource}`;
    const s = (out[owner] ??= { state: 'ACCEPTED', messages: [] });
    s.state = 'INVALID';
    s.messages.push(`proxy ${r.node} (${r.key}) rejected ${r.type} ${r.resource} at ${r.at}: ${r.message.trim().split('\n')[0]}; it keeps its last accepted version`);
  }
  return out;
}

/** The path of a request, or undefined if it is not a well-formed URL path. */
function requestPath(raw: string | undefined): string | undefined {
  try {
    return decodeURIComponent(new URL(raw ?? '/', 'http://admin').pathname);
  } catch {
    return undefined; // malformed percent-encoding or URL
  }
}

export function startAdminServer(host: string, port: number, state: PipelineState, xds: XdsServer): Promise<Server> {
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      if (res.headersSent) return res.end();
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: `${req.method} is not supported: the admin API is read-only (GET)` });
      const url = requestPath(req.url);
      if (url === undefined) return json(400, { error: 'malformed request path (bad percent-encoding?)' });
      route(url, json, res, state, xds);
    } catch (err) {
      // A handler bug answers 500 and is logged by the caller's process; it never takes the server down.
      json(500, { error: `internal error: ${(err as Error).message}` });
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function route(url: string, json: (code: number, body: unknown) => void, res: ServerResponse, state: PipelineState, xds: XdsServer): void {
  if (url === '/healthz') return json(200, { status: 'ok' });
  if (url === '/readyz') return state.core ? json(200, { status: 'ready', generation: state.generation }) : json(503, { status: 'waiting for the first configuration' });
  if (url === '/metrics') {
    xds.metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': xds.metrics.registry.contentType });
        res.end(text);
      },
      (err: Error) => json(500, { error: `metrics: ${err.message}` }),
    );
    return;
  }
  if (url === '/debug/status') return json(200, statusWithRejections(state, xds));
  if (url === '/debug/proxies') return json(200, xds.proxies());
  if (url === '/debug/ir') return json(200, state.core?.ir ?? null);
  if (url.startsWith('/debug/config/')) {
    const who = url.slice('/debug/config/'.length);
    const cfg = xds.configFor(who);
    return cfg ? json(200, cfg) : json(404, { error: `no proxy or snapshot "${who.slice(0, 200)}"; see /debug/proxies for node ids` });
  }
  json(404, { error: `no such endpoint ${url.slice(0, 200)}; try /healthz, /readyz, /metrics, /debug/status, /debug/proxies, /debug/config/<node id>, /debug/ir` });
}
