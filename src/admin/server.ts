// Admin HTTP port: health, readiness, Prometheus metrics and read-only debug views.
import { createServer, type Server } from 'node:http';
import type { ResourceStatus } from '../ir/types.js';
import type { PipelineState } from '../pipeline.js';
import { ownerOfEnvoyResource } from '../translate/names.js';
import type { XdsServer } from '../xds/server.js';

/** Core statuses plus what proxies rejected, on the resources that produced it. */
export function statusWithRejections(state: PipelineState, xds: XdsServer): Record<string, ResourceStatus> {
  const out: Record<string, ResourceStatus> = JSON.parse(JSON.stringify(state.core?.status ?? {}));
  for (const r of xds.rejected()) {
    // A sidecar's own listeners, routes and secrets belong to its Pod.
    const owner = ownerOfEnvoyResource(r.type, r.resource) ?? (r.key.startsWith('sidecar:') ? `Pod/${r.key.slice('sidecar:'.length)}` : `envoy:${r.type}/${r.resource}`);
    const s = (out[owner] ??= { state: 'ACCEPTED', messages: [] });
    s.state = 'INVALID';
    s.messages.push(`proxy ${r.node} (${r.key}) rejected ${r.type} ${r.resource} at ${r.at}: ${r.message.trim().split('\n')[0]}; it keeps its last accepted version`);
  }
  return out;
}

export function startAdminServer(host: string, port: number, state: PipelineState, xds: XdsServer): Promise<Server> {
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (url === '/healthz') return json(200, { status: 'ok' });
    if (url === '/readyz') return state.core ? json(200, { status: 'ready', generation: state.generation }) : json(503, { status: 'waiting for the first configuration' });
    if (url === '/metrics') {
      void xds.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': xds.metrics.registry.contentType });
        res.end(text);
      });
      return;
    }
    if (url === '/debug/status') return json(200, statusWithRejections(state, xds));
    if (url === '/debug/proxies') return json(200, xds.proxies());
    if (url === '/debug/ir') return json(200, state.core?.ir ?? null);
    if (url.startsWith('/debug/config/')) {
      const who = url.slice('/debug/config/'.length);
      const cfg = xds.configFor(who);
      return cfg ? json(200, cfg) : json(404, { error: `no proxy or gateway "${who}"; see /debug/proxies for node ids` });
    }
    json(404, { error: `no such endpoint ${url}; try /healthz, /readyz, /metrics, /debug/status, /debug/proxies, /debug/config/<node id>, /debug/ir` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
