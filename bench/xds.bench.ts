// `npm run bench:xds`: meshplane and go-control-plane (bench/peer) side by
// side, each serving the same 250 gateway snapshots to CLIENTS simulated ADS
// clients (grpc-js, one client process per server, same program), changes
// interleaved in one run (ABBA order). A change moves every endpoint of every
// gateway. Per server: time from the change to the last ACK, CPU per response,
// RSS; then a storm of back-to-back changes (every proxy must converge on the
// last one, no stream may be closed). Prints both figures and the ratios.
//   CLIENTS=1000 KEYS=250 RUNS=15 STORM=5 STALL_MS=30000 PEER=1
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildSnapshot, type Snapshot } from '../src/xds/snapshot.js';
import { median, percentile } from './stats.js';
import { floorOfChange } from './xds/floor.js';
import { digest, estate, writeSnapshotFile } from './xds/snapshots.js';

const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const KEYS = Number(process.env.KEYS ?? 250);
const RUNS = Number(process.env.RUNS ?? 15);
const STORM = Number(process.env.STORM ?? 5);
const WITH_PEER = process.env.PEER !== '0';
const here = import.meta.dirname;
const dir = mkdtempSync(join(tmpdir(), 'perf-xds-bench-'));

/** A benchmark child speaking JSON messages: a forked Node process (IPC) or the Go peer (lines on stdio). */
interface Child { send(m: object): void; once<T>(event: string): Promise<T>; proc: ChildProcess }
function wrap(proc: ChildProcess, onMessage: (h: (m: any) => void) => void, send: (m: object) => void): Child {
  const waiters: Array<{ event: string; resolve: (m: any) => void }> = [];
  onMessage((m) => {
    if (m?.event === 'error') throw new Error(`benchmark child: ${m.message}`);
    const i = waiters.findIndex((w) => w.event === m?.event);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  proc.on('exit', (code) => {
    if (code && code !== 0) throw new Error(`benchmark child exited with ${code}`);
  });
  return { proc, send, once: (event) => new Promise((resolve) => waiters.push({ event, resolve })) };
}
// meshplane's side runs compiled, as `meshplane serve` runs dist/ (TSX_SERVER=1: through tsx, ~20-35 MiB more RSS).
const compiledServer: string | undefined = process.env.TSX_SERVER ? undefined : await (await import(join(here, '../scripts/compile-ts.mjs') as string)).compile(join(here, 'xds/server.ts'));
function node(file: string, env: Record<string, string> = {}): Child {
  const bundled = file === 'xds/server.ts' && compiledServer;
  const p = fork(bundled || join(here, file), [], { execArgv: [...(bundled ? [] : ['--import', 'tsx']), '--max-old-space-size=2048', ...(bundled && process.env.SERVER_NODE_FLAGS ? process.env.SERVER_NODE_FLAGS.split(' ') : []), ...(process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : [])], env: { ...process.env, KEYS: String(KEYS), CLIENTS: String(CLIENTS), ...env } });
  return wrap(p, (h) => p.on('message', h), (m) => p.send(m));
}
function goPeer(bin: string): Child {
  const p = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout! });
  return wrap(p, (h) => lines.on('line', (l) => h(JSON.parse(l))), (m) => p.stdin!.write(JSON.stringify(m) + '\n'));
}

interface Changed { gcs?: number; gcPauseMs?: number; allocatedBytes?: number; buildMs?: number; ms: number; cpuMs: number; pushes: number; rss: number; heap?: number; external?: number; stalled?: number; proxies: number; digest?: string; latencies?: number[] }
interface Side {
  name: string;
  server: Child;
  port: number;
  clients?: Child;
  connectMs: number;
  rssConnected: number;
  /** Node's process.memoryUsage() once the clients are connected (meshplane only). */
  memoryConnected?: NodeJS.MemoryUsage;
  changes: Changed[];
  storm?: Changed & { clientErrors: number; clientEnded: number };
  /** Make generation g ready to apply (outside the clock). */
  prepare(gens: number[]): Promise<void>;
}

const snapshotsOf = (g: number) => new Map<string, Snapshot>(estate(KEYS, g).map(([k, r]) => [k, buildSnapshot(r)]));
/** What meshplane builds for generation g: its digest, and the file the Go peer loads. */
const expected = new Map<number, string>();
function writeGeneration(g: number): string {
  const snaps = snapshotsOf(g);
  expected.set(g, digest(snaps));
  const file = join(dir, `gen-${g}.snap`);
  writeSnapshotFile(file, snaps);
  return file;
}

async function startMeshplane(): Promise<Side> {
  const server = node('xds/server.ts');
  server.send({ cmd: 'listen' });
  const { port } = await server.once<{ port: number }>('listening');
  return {
    name: 'meshplane', server, port, connectMs: 0, rssConnected: 0, changes: [],
    prepare: async (gens) => {
      server.send({ cmd: 'prepare', gens });
      await server.once('prepared');
    },
  };
}

let peerCheck = { resources: 0, equal: 0, identical: 0 };
async function startPeer(): Promise<Side> {
  const bin = execFileSync(join(here, '../scripts/build-peer.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const server = goPeer(bin);
  const load = async (g: number) => {
    const file = writeGeneration(g);
    server.send({ cmd: "load", gen: g, file });
    const r = await server.once<typeof peerCheck>('loaded');
    peerCheck = { resources: peerCheck.resources + r.resources, equal: peerCheck.equal + r.equal, identical: peerCheck.identical + r.identical };
    if (r.equal !== r.resources) throw new Error(`go-control-plane would serve ${r.resources - r.equal} resources that differ from meshplane's (proto.Equal)`);
  };
  await load(0);
  server.send({ cmd: 'set', gen: 0 });
  await server.once('set');
  server.send({ cmd: 'listen' });
  const { port } = await server.once<{ port: number }>('listening');
  return {
    name: 'go-control-plane', server, port, connectMs: 0, rssConnected: 0, changes: [],
    prepare: async (gens) => {
      for (const g of gens) await load(g);
    },
  };
}

async function connect(side: Side): Promise<void> {
  const t0 = performance.now();
  side.clients = node('xds/clients.ts', { PORT: String(side.port) });
  await side.clients.once('ready');
  side.connectMs = performance.now() - t0;
  side.server.send({ cmd: 'stats' });
  const stats = await side.server.once<{ rss: number; memory?: NodeJS.MemoryUsage }>('stats');
  side.rssConnected = stats.rss;
  side.memoryConnected = stats.memory;
}

async function change(side: Side, gens: number[]): Promise<Changed> {
  await side.prepare(gens);
  side.server.send({ cmd: 'change', gen: gens[gens.length - 1], gens, clients: CLIENTS });
  const res = await side.server.once<Changed>('changed');
  const want = expected.get(gens[gens.length - 1]);
  if (res.digest && want && res.digest !== want) throw new Error(`meshplane served other snapshots than the Go peer loaded (generation ${gens.at(-1)})`);
  return res;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`bench:xds ${msg}\n`);
const sides: Side[] = [await startMeshplane()];
if (WITH_PEER) sides.push(await startPeer());
for (const s of sides) {
  await connect(s);
  progress(`${CLIENTS} clients connected to ${s.name} in ${Math.round(s.connectMs)} ms`);
}

for (let r = 1; r <= RUNS; r++) {
  const order = r % 4 === 1 || r % 4 === 0 ? sides : [...sides].reverse(); // ABBA
  for (const s of order) {
    if (!WITH_PEER) expected.set(r, digest(snapshotsOf(r)));
    s.changes.push(await change(s, [r]));
    progress(`change ${r}/${RUNS} ${s.name}: last ACK ${Math.round(s.changes.at(-1)!.ms)} ms`);
    await pause(200);
  }
}
// Back-to-back changes: each lands before the previous has reached every proxy.
if (STORM > 0) {
  const gens = Array.from({ length: STORM }, (_, i) => RUNS + 1 + i);
  for (const s of sides) {
    if (!WITH_PEER) expected.set(gens.at(-1)!, digest(snapshotsOf(gens.at(-1)!)));
    const res = await change(s, gens);
    s.clients!.send({ cmd: 'report' });
    const rep = await s.clients!.once<{ errors: number; ended: number }>('report');
    s.storm = { ...res, clientErrors: rep.errors, clientEnded: rep.ended };
    await pause(200);
  }
}
if (process.env.HEAP_SNAPSHOT) {
  sides[0].server.send({ cmd: 'heapsnapshot' });
  progress(`heap snapshot: ${(await sides[0].server.once<{ file: string }>('heapsnapshot')).file}`);
}
for (const s of sides) {
  s.clients!.send({ cmd: 'exit' });
  s.server.send({ cmd: 'exit' });
}
rmSync(dir, { recursive: true, force: true });

const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;
const figures = (s: Side) => {
  const last = s.changes.map((c) => c.ms);
  const cpuPerPush = s.changes.map((c) => c.cpuMs / c.pushes);
  const acks = s.changes.flatMap((c) => c.latencies ?? []);
  return {
    lastAckMs: { median: r1(median(last)), p99: r1(percentile(last, 99)), min: r1(Math.min(...last)) },
    ...(acks.length ? { perAckMs: { median: r1(median(acks)), p99: r1(percentile(acks, 99)) } } : {}),
    cpuMsPerChange: r1(median(s.changes.map((c) => c.cpuMs))),
    ...(s.changes[0]?.buildMs !== undefined ? { buildSnapshotsMs: r1(median(s.changes.map((c) => c.buildMs!))) } : {}),
    cpuMsPerPush: r3(median(cpuPerPush)),
    gcPerChange: { collections: median(s.changes.map((c) => c.gcs ?? 0)), pauseMs: r1(median(s.changes.map((c) => c.gcPauseMs ?? 0))), ...(s.changes[0]?.allocatedBytes !== undefined ? { allocatedMiB: r1(median(s.changes.map((c) => c.allocatedBytes!)) / 2 ** 20) } : {}) },
    pushesPerChange: median(s.changes.map((c) => c.pushes)),
    rssMiB: { connected: r1(s.rssConnected / 2 ** 20), median: r1(median(s.changes.map((c) => c.rss)) / 2 ** 20), peak: r1(Math.max(s.rssConnected, ...s.changes.map((c) => c.rss)) / 2 ** 20) },
    ...(s.memoryConnected ? { connectedMiB: Object.fromEntries(Object.entries(s.memoryConnected).map(([k, v]) => [k, r1(v / 2 ** 20)])) } : {}),
    ...(s.changes[0]?.heap ? { heapMiB: r1(median(s.changes.map((c) => c.heap!)) / 2 ** 20), externalMiB: r1(median(s.changes.map((c) => c.external!)) / 2 ** 20) } : {}),
    connectAndFirstAckMs: Math.round(s.connectMs),
    ...(s.storm
      ? { storm: { changes: STORM, lastAckMs: r1(s.storm.ms), proxiesConverged: CLIENTS, proxiesConnected: s.storm.proxies, stalledStreams: s.storm.stalled ?? 0, clientStreamErrors: s.storm.clientErrors, clientStreamsEnded: s.storm.clientEnded } }
      : {}),
  };
};
const floor = await floorOfChange(KEYS, CLIENTS);
const out: Record<string, unknown> = { clients: CLIENTS, nodeConfigs: KEYS, runs: RUNS, physicalFloorMs: floor, [sides[0].name]: figures(sides[0]) };
if (WITH_PEER) {
  const [m, g] = sides.map(figures);
  out[sides[1].name] = g;
  out.peerServesWhatMeshplaneBuilt = { ...peerCheck, check: 'proto.Equal(go-control-plane marshalled, meshplane encoded), per resource per generation' };
  out.ratioMeshplaneToGo = {
    lastAckMedian: r3(m.lastAckMs.median / g.lastAckMs.median),
    meshplaneLastAckToFloor: r3(m.lastAckMs.median / floor.totalMs),
    goLastAckToFloor: r3(g.lastAckMs.median / floor.totalMs),
    cpuPerPush: r3(m.cpuMsPerPush / g.cpuMsPerPush),
    cpuPerChange: r3(m.cpuMsPerChange / g.cpuMsPerChange),
    rssPeak: r3(m.rssMiB.peak / g.rssMiB.peak),
    rssMedian: r3(m.rssMiB.median / g.rssMiB.median),
    rssConnected: r3(m.rssMiB.connected / g.rssMiB.connected),
    ...(m.storm && g.storm ? { stormLastAck: r3(m.storm.lastAckMs / g.storm.lastAckMs) } : {}),
  };
}
console.log(JSON.stringify(out, null, 2));
process.exit(0);
