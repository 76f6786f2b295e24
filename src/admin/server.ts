// Admin HTTP port: health, readiness and read-only debug views.
import { createServer, type Server } from 'node:http';
import type { PipelineState } from '../pipeline.js';
import type { AdsServer } from '../xds/ads.js';

export function startAdminServer(host: string, port: number, state: PipelineState, ads: AdsServer): Promise<Server> {
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') return json(200, { status: 'ok' });
    if (url === '/readyz') return state.core ? json(200, { status: 'ready', generation: state.generation }) : json(503, { status: 'waiting for the first configuration' });
    if (url === '/debug/status') return json(200, state.core?.status ?? {});
    if (url === '/debug/proxies') return json(200, ads.proxies());
    if (url === '/debug/ir') return json(200, state.core?.ir ?? null);
    json(404, { error: `no such endpoint ${url}; try /healthz, /readyz, /debug/status, /debug/proxies, /debug/ir` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
