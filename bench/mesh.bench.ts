// `npm run bench:mesh`: 1,000 simulated sidecars over 500 workloads in 50
// workspaces with 1,000 Services, each workspace importing from two others,
// through meshplane's real pipeline (core, translate, CA, snapshots) and xDS
// server. Reports config size per sidecar (and how it grows with the mesh),
// time from one Service's endpoint change to the last ACK (median, p99), RSS.
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { computeCore } from '../src/core/index.js';
import { translateAll } from '../src/translate/index.js';
import { buildSnapshot } from '../src/xds/snapshot.js';
import { estate } from './mesh/estate.js';
import { median, percentile } from './stats.js';

const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const RUNS = Number(process.env.RUNS ?? 20);
const here = import.meta.dirname;
const r1 = (n: number) => Math.round(n * 10) / 10;

function child(file: string, env: Record<string, string> = {}): ChildProcess {
  return fork(join(here, file), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=2048', ...(process.env.BENCH_PROF && file.includes('server') ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : [])], env: { ...process.env, CLIENTS: String(CLIENTS), ...env } });
}
const once = <T>(p: ChildProcess, event: string): Promise<T> =>
  new Promise((resolve) => {
    const h = (m: any) => {
      if (m?.event === event) {
        p.off('message', h);
        resolve(m as T);
      }
    };
    p.on('message', h);
  });

// 1. Per-sidecar config size as the mesh grows (same shape per workspace): it must not grow with the mesh.
const growth: Record<string, number> = {};
for (const workspaces of [25, 50, 100]) {
  const core = computeCore(estate({ workspaces, podsPerWorkspace: 10, servicesPerWorkspace: 20 }));
  const res = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get('sidecar:ns-0/wl-0')!;
  const snap = buildSnapshot(res);
  growth[`${workspaces} workspaces / ${workspaces * 20} Services`] = Object.values(snap).reduce((s, t) => s + [...t.resources.values()].reduce((a, r) => a + r.value.length, 0), 0);
}

// 2. The full-size mesh with 1,000 connected sidecars.
const server = child('mesh/server.ts');
const { keys } = await once<{ keys: number }>(server, 'ready');
server.send({ cmd: 'listen' });
const { port } = await once<{ port: number }>(server, 'listening');
server.send({ cmd: 'names' });
const { names } = await once<{ names: Record<string, { eds: string[]; rds: string[] }> }>(server, 'names');
const workloads = Object.keys(names).filter((k) => k.startsWith('sidecar:')).map((k) => k.slice('sidecar:'.length)).sort();
const t0 = performance.now();
const clients = child('mesh/clients.ts', { PORT: String(port) });
clients.send({ cmd: 'start', names, workloads });
await once(clients, 'ready');
const connectMs = performance.now() - t0;
server.send({ cmd: 'stats' });
const stats = await once<{ rss: number; proxies: number; sizes: Array<{ total: number; reachable: number; reachableDestinations: number }>; certificates: number }>(server, 'stats');

const lastAck: number[] = [];
const acks: number[] = [];
let affected = 0;
let rssPeak = stats.rss;
for (let r = 0; r < RUNS; r++) {
  server.send({ cmd: 'change' });
  const res = await once<{ ms: number; affectedStreams: number; latencies: number[]; rss: number }>(server, 'changed');
  lastAck.push(res.ms);
  acks.push(...res.latencies);
  affected = res.affectedStreams;
  rssPeak = Math.max(rssPeak, res.rss);
  await new Promise((x) => setTimeout(x, 300));
}
clients.send({ cmd: 'exit' });
server.send({ cmd: 'exit' });
const totals = stats.sizes.map((s) => s.total);
const ratios = stats.sizes.map((s) => s.total / s.reachable);
console.log(JSON.stringify({
  sidecars: CLIENTS, workloads: workloads.length, snapshots: keys, workspaces: 50, services: 1000, runs: RUNS, proxiesConnected: stats.proxies, certificatesIssued: stats.certificates,
  allConnectedAndAckedMs: Math.round(connectMs),
  configBytesPerSidecar: { median: median(totals), max: Math.max(...totals), reachableDestinations: median(stats.sizes.map((s) => s.reachableDestinations)) },
  configVsReachableAlone: { median: Math.round(median(ratios) * 100) / 100, max: Math.round(Math.max(...ratios) * 100) / 100 },
  configBytesOfOneSidecarAsTheMeshGrows: growth,
  endpointChangeToLastAckMs: { median: r1(median(lastAck)), p99: r1(percentile(lastAck, 99)), min: r1(Math.min(...lastAck)), affectedStreams: affected },
  perAckMs: { median: r1(median(acks)), p99: r1(percentile(acks, 99)) },
  rssMiB: { connected: r1(stats.rss / 2 ** 20), peak: r1(rssPeak / 2 ** 20) },
  loadAverage: loadavg().map(r1),
}, null, 2));
process.exit(0);
