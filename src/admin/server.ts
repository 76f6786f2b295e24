// Admin HTTP port: health, readiness, Prometheus metrics and read-only debug views.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { PROFILE_PATH, serveCpuProfile } from './profile.js';
import { OPEN_PATHS, scopeIr, scopeStatus, seesKey, viewerOf, type AdminAccess, type Viewer } from './access.js';
import type { ResourceStatus } from '../ir/types.js';
import type { PipelineState } from '../pipeline.js';
import { ownerOfEnvoyResource } from '../translate/names.js';
import type { XdsServer } from '../xds/server.js';
import { UiEvents } from './ui/events.js';
import type { RouteExplanation } from './ui/payload.js';
import { DESTINATION_KINDS } from '../rollout/dependencies.js';
import { explainDestinations, explainPayload, explainRoute } from './ui/explain-endpoint.js';
import { isUiPath, serveUiFile } from './ui/static-files.js';

/** Core statuses plus what proxies rejected, on the resources that produced it, and ACK counts. */
export function statusWithRejections(state: Pick<PipelineState, 'core' | 'rollout'>, xds: XdsServer): Record<string, ResourceStatus> {
  const out: Record<string, ResourceStatus> = JSON.parse(JSON.stringify(state.core?.status ?? {}));
  const rejected = xds.rejected();
  if (state.core && state.rollout) state.rollout.withRollouts(out, state.core, xds.proxies(), rejected);
  for (const r of rejected) {
    // A sidecar's own listeners, routes and secrets belong to its Pod.
    const owner = ownerOfEnvoyResource(r.type, r.resource) ?? (r.key.startsWith('sidecar:') ? `Pod/${r.key.slice('sidecar:'.length)}` : `envoy:${r.type}/${r.resource}`);
    const s = (out[owner] ??= { state: 'ACCEPTED', messages: [] });
    s.state = 'INVALID';
    s.messages.push(`proxy ${r.node} (${r.key}) rejected ${r.type} ${r.resource} at ${r.at}: ${r.message.trim().split('\n')[0]}; it keeps its last accepted version`);
  }
  return out;
}

/** A route's explanation with the ACK counts of what it is built from. */
function withProxies(e: RouteExplanation, state: PipelineState, xds: XdsServer): RouteExplanation {
  if (!state.core || !state.rollout) return e;
  const keys = [...e.route.path.map((l) => `RouteTable/${l.table}`), ...e.route.applied.map((p) => `${p.kind}/${p.namespace}/${p.name}`), ...e.destinations.map((d) => `${DESTINATION_KINDS[d.kind] ?? d.kind}/${d.namespace}/${d.name}`)];
  const all = state.rollout.rollouts(state.core, xds.proxies(), xds.rejected());
  const proxies = Object.fromEntries(keys.filter((k) => all.has(k)).map((k) => [k, all.get(k)!]));
  return { ...e, proxies };
}

/** The path of a request, or undefined if it is not a well-formed URL path. */
function requestPath(raw: string | undefined): string | undefined {
  try {
    return decodeURIComponent(new URL(raw ?? '/', 'http://admin').pathname);
  } catch {
    return undefined; // malformed percent-encoding or URL
  }
}

export interface AdminOptions {
  /** Bearer token file: its content (trimmed) is the token that sees everything. */
  tokenFile?: string;
  /** HTTPS with client certificates verified against clientCa. */
  tls?: { cert: string; key: string; clientCa: string };
}

export function startAdminServer(host: string, port: number, state: PipelineState, xds: XdsServer, opts: AdminOptions = {}): Promise<Server> {
  const access: AdminAccess = {
    ...(opts.tokenFile ? { token: readFileSync(opts.tokenFile, 'utf8').trim() } : {}),
    ...(opts.tls ? { mtls: true } : {}),
  };
  if (opts.tokenFile && !access.token) throw new Error(`${opts.tokenFile} is empty: put the admin bearer token in it`);
  const events = new UiEvents(state, xds);
  const handler: RequestListener = (req, res) => {
    const json = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.headersSent) return res.end();
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: `${req.method} is not supported: the admin API is read-only (GET)` });
      const url = requestPath(req.url);
      if (url === undefined) return json(400, { error: 'malformed request path (bad percent-encoding?)' });
      let viewer: Viewer = { all: true };
      // The page's static files carry no configuration; the data it fetches is guarded like every debug view.
      if (isUiPath(url)) return serveUiFile(url, res);
      if (!OPEN_PATHS.has(url)) {
        const v = viewerOf(req as IncomingMessage, access, state.core?.ir);
        if ('refused' in v) return json(401, { error: `not authorized: ${v.refused}` }, access.token ? { 'www-authenticate': 'Bearer realm="meshplane"' } : {});
        viewer = v;
      }
      if (url === '/debug/events') return events.subscribe(res, viewer);
      if (url === PROFILE_PATH) {
        // The whole process's work: for a viewer who sees everything (the admin token or certificate).
        if (!viewer.all) return json(403, { error: 'a CPU profile shows the whole process: it needs the admin token or certificate, not a team one' });
        return void serveCpuProfile(req.url, res, json);
      }
      route(url, json, res, state, xds, viewer);
    } catch (err) {
      // A handler bug answers 500 and is logged by the caller's process; it never takes the server down.
      json(500, { error: `internal error: ${(err as Error).message}` });
    }
  };
  const server: Server = opts.tls
    ? (createHttpsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), ca: readFileSync(opts.tls.clientCa), requestCert: true, rejectUnauthorized: false }, handler) as unknown as Server)
    : createServer(handler);
  // Event streams never end by themselves: end them when the server closes.
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    events.close();
    return close(cb);
  };
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function route(url: string, json: (code: number, body: unknown) => void, res: ServerResponse, state: PipelineState, xds: XdsServer, viewer: Viewer): void {
  const ir = state.core?.ir;
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
  if (url === '/debug/status') return json(200, scopeStatus(viewer, statusWithRejections(state, xds), ir));
  if (url === '/debug/proxies') return json(200, xds.proxies().filter((p) => seesKey(viewer, p.key, ir)));
  if (url === '/debug/ir') return json(200, ir ? scopeIr(viewer, ir) : null);
  if (url === '/debug/explain') return json(200, explainPayload(state, viewer) ?? null);
  if (url === '/debug/explain/destinations') return json(200, explainDestinations(state, viewer) ?? null);
  if (url.startsWith('/debug/explain/route/')) {
    const id = url.slice('/debug/explain/route/'.length);
    const e = explainRoute(state, viewer, id);
    return e ? json(200, withProxies(e, state, xds)) : json(404, { error: `no route "${id.slice(0, 200)}" in the current configuration; see /debug/explain for route ids` });
  }
  if (url.startsWith('/debug/config/')) {
    const who = url.slice('/debug/config/'.length);
    const cfg = xds.configFor(who);
    // Another tenant's proxy is answered exactly like one that does not exist.
    return cfg && seesKey(viewer, cfg.key, ir) ? json(200, cfg) : json(404, { error: `no proxy or snapshot "${who.slice(0, 200)}"; see /debug/proxies for node ids` });
  }
  json(404, { error: `no such endpoint ${url.slice(0, 200)}; try /healthz, /readyz, /metrics, /debug/status, /debug/proxies, /debug/config/<node id>, /debug/ir, /debug/explain, /debug/events, /ui` });
}
