// `npm run bench:xds`: 1,000 simulated ADS clients (250 distinct node configs)
// on loopback; a change that touches every client (new endpoints everywhere).
// Reports time from the change to the last ACK (median and p99 over runs),
// per-ACK latency, meshplane's RSS with every client connected, CPU per push.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { median, percentile } from './stats.js';

const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const KEYS = Number(process.env.KEYS ?? 250);
const RUNS = Number(process.env.RUNS ?? 15);
const here = import.meta.dirname;

function child(file: string, env: Record<string, string> = {}): ChildProcess {
  return fork(join(here, file), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=1024'], env: { ...process.env, KEYS: String(KEYS), CLIENTS: String(CLIENTS), ...env } });
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

const server = child('xds/server.ts');
server.send({ cmd: 'listen' });
const { port } = await once<{ port: number }>(server, 'listening');
const t0 = performance.now();
const clients = child('xds/clients.ts', { PORT: String(port) });
await once(clients, 'ready');
const connectMs = performance.now() - t0;
server.send({ cmd: 'stats' });
const stats = await once<{ rss: number; heap: number; proxies: number }>(server, 'stats');

const lastAck: number[] = [];
const acks: number[] = [];
const cpuPerPush: number[] = [];
let rssPeak = stats.rss;
for (let r = 0; r < RUNS; r++) {
  server.send({ cmd: 'change', clients: CLIENTS });
  const res = await once<{ ms: number; cpuMs: number; pushes: number; latencies: number[]; rss: number }>(server, 'changed');
  lastAck.push(res.ms);
  acks.push(...res.latencies);
  cpuPerPush.push(res.cpuMs / res.pushes);
  rssPeak = Math.max(rssPeak, res.rss);
  await new Promise((x) => setTimeout(x, 200));
}
clients.send({ cmd: 'exit' });
server.send({ cmd: 'exit' });
const r1 = (n: number) => Math.round(n * 10) / 10;
console.log(JSON.stringify({
  clients: CLIENTS, nodeConfigs: KEYS, runs: RUNS, proxiesConnected: stats.proxies,
  allConnectedAndAckedMs: Math.round(connectMs),
  lastAckMs: { median: r1(median(lastAck)), p99: r1(percentile(lastAck, 99)), min: r1(Math.min(...lastAck)) },
  perAckMs: { median: r1(median(acks)), p99: r1(percentile(acks, 99)) },
  rssMiB: { connected: r1(stats.rss / 2 ** 20), peak: r1(rssPeak / 2 ** 20) },
  cpuMsPerPush: r1(median(cpuPerPush) * 1000) / 1000,
}, null, 2));
process.exit(0);
