// Benchmark child: meshplane's xDS server fed with synthetic gateway snapshots.
// Commands over IPC: {cmd: 'change'} applies a change touching every proxy and
// reports when the last proxy ACKed it.
import pino from 'pino';
import type { EnvoyResources } from '../../src/translate/index.js';
import { buildSnapshot, SnapshotCache, type Snapshot } from '../../src/xds/snapshot.js';
import { XdsServer } from '../../src/xds/server.js';

export const KEYS = Number(process.env.KEYS ?? 250);
export const CLUSTERS = 20;

export function gatewayResources(k: number, generation: number): EnvoyResources {
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => `svc/ns-${k}/app-${i}:80@ws-${k}`);
  return {
    cluster: clusters.map((name) => ({ name, body: { name, type: 'EDS', connectTimeout: { seconds: 5 }, edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } } })),
    endpoint: clusters.map((name, i) => ({
      name,
      body: { clusterName: name, endpoints: [{ locality: {}, lbEndpoints: [1, 2, 3].map((j) => ({ endpoint: { address: { socketAddress: { address: `10.${k % 250}.${i}.${j}`, portValue: 8000 + generation } } } })) }] },
    })),
    listener: [{ name: `gw-${k}:8080`, body: { name: `gw-${k}:8080`, address: { socketAddress: { address: '0.0.0.0', portValue: 8080 } } } }],
    route: [{ name: `gw-${k}:8080`, body: { name: `gw-${k}:8080`, virtualHosts: [{ name: 'vh', domains: ['*'], routes: clusters.map((c, i) => ({ match: { prefix: `/app-${i}` }, route: { cluster: c } })) }] } }],
    secret: [],
  };
}

if (process.send) {
  const cache = new SnapshotCache();
  const build = (gen: number) => new Map<string, Snapshot>(Array.from({ length: KEYS }, (_, k) => [`gw/${k}`, buildSnapshot(gatewayResources(k, gen))]));
  cache.setAll(build(0));
  const server = new XdsServer(cache, pino({ level: 'silent' }), {});
  let generation = 0;
  let waiting: { expect: number; acked: number; started: number; cpu: NodeJS.CpuUsage; pushesBefore: number; latencies: number[] } | undefined;
  const pushesTotal = async () => (await server.metrics.pushes.get()).values.reduce((s, v) => s + v.value, 0);
  const origAccepted = (server as any).host.reportAccepted;
  (server as any).host.reportAccepted = (s: unknown, type: string, names: string[]) => {
    origAccepted(s, type, names);
    if (!waiting || type !== 'endpoint') return;
    waiting.acked++;
    waiting.latencies.push(performance.now() - waiting.started);
    if (waiting.acked === waiting.expect) {
      const w = waiting;
      waiting = undefined;
      const cpu = process.cpuUsage(w.cpu);
      void pushesTotal().then((p) =>
        process.send!({ event: 'changed', ms: performance.now() - w.started, cpuMs: (cpu.user + cpu.system) / 1000, pushes: p - w.pushesBefore, latencies: w.latencies, rss: process.memoryUsage().rss }),
      );
    }
  };
  process.on('message', async (m: { cmd: string; clients?: number }) => {
    if (m.cmd === 'listen') process.send!({ event: 'listening', port: await server.listen('127.0.0.1', 0) });
    if (m.cmd === 'stats') process.send!({ event: 'stats', rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, proxies: server.proxies().length });
    if (m.cmd === 'change') {
      generation++;
      const pushesBefore = await pushesTotal();
      // The clock starts before encoding the 250 new snapshots: change seen -> last ACK.
      waiting = { expect: m.clients!, acked: 0, started: performance.now(), cpu: process.cpuUsage(), pushesBefore, latencies: [] };
      cache.setAll(build(generation));
    }
    if (m.cmd === 'exit') {
      await server.close(500);
      process.exit(0);
    }
  });
}
