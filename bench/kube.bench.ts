// `npm run bench:kube`: 10,000 objects of mixed kinds in a real kube-apiserver
// (Namespaces, Services, EndpointSlices, Pods, RouteTables, policies, gateways).
// For each run, `meshplane serve --kubeconfig` starts fresh and we measure:
//   - start -> ready: process start to /readyz 200 (initial list of every kind + first translation)
//   - RSS once ready (VmRSS) and its peak (VmHWM)
//   - RouteTable update -> snapshot: a PATCH to the API server until an ADS client
//     subscribed to the gateway receives the new route configuration
// Medians over RUNS runs (default 5), UPDATES updates per run (default 10).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { lookupType, typeUrl } from '../src/xds/protos.js';
import { REPO_ROOT } from '../test/support/envoy.js';
import { installCrds, K8S_VERSION, ETCD_VERSION, startKubeApi, type KubeApi } from '../test/support/kube.js';
import { freePort, waitFor } from '../test/support/net.js';
import pino from 'pino';
import { loadKubeConfig } from '../src/sources/kubernetes/client.js';
import { ClusterSource } from '../src/sources/kubernetes/source.js';
import { median } from './stats.js';

const RUNS = Number(process.env.RUNS ?? 5);
const UPDATES = Number(process.env.UPDATES ?? 10);
const TOTAL = Number(process.env.OBJECTS ?? 10_000);
const NAMESPACES = 50;
const GATEWAYS = 5;

/** The estate: shares of TOTAL by kind (the rest are Pods). */
function estate(): Array<{ path: string; body: object }> {
  const out: Array<{ path: string; body: object }> = [];
  const ns = (i: number) => `team-${i % NAMESPACES}`;
  const per = Math.floor((TOTAL - NAMESPACES - GATEWAYS - 2) / 10);
  for (let i = 0; i < NAMESPACES; i++) out.push({ path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns(i), labels: { tier: i % 2 ? 'odd' : 'even' } } } });
  out.push({ path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gloo-mesh' } } });
  out.push({ path: '/apis/admin.gloo.solo.io/v2/namespaces/gloo-mesh/workspaces', body: { apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'all', namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: 'team-*' }] }] } } });
  for (let g = 0; g < GATEWAYS; g++) {
    out.push({ path: '/apis/networking.gloo.solo.io/v2/namespaces/team-0/virtualgateways', body: { apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: `gw-${g}`, namespace: 'team-0' }, spec: { listeners: [{ port: { number: 8080 + g }, http: {} }] } } });
  }
  for (let i = 0; i < 2 * per; i++) {
    const n = ns(i);
    out.push({ path: `/api/v1/namespaces/${n}/services`, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: n }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    out.push({ path: `/apis/discovery.k8s.io/v1/namespaces/${n}/endpointslices`, body: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${i}-1`, namespace: n, labels: { 'kubernetes.io/service-name': `svc-${i}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8000 }], endpoints: [{ addresses: [`198.18.${(i >> 8) & 255}.${i & 255}`] }, { addresses: [`198.19.${(i >> 8) & 255}.${i & 255}`] }] } });
  }
  for (let i = 0; i < 2 * per; i++) {
    const n = ns(i);
    out.push({ path: `/apis/networking.gloo.solo.io/v2/namespaces/${n}/routetables`, body: { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: `rt-${i}`, namespace: n }, spec: routeTableSpec(i, '/api') } });
  }
  const kinds = [
    ['resilience.policy.gloo.solo.io/v2', 'RetryTimeoutPolicy', 'retrytimeoutpolicies', { retries: { attempts: 2 }, requestTimeout: '3s' }],
    ['trafficcontrol.policy.gloo.solo.io/v2', 'HeaderManipulationPolicy', 'headermanipulationpolicies', { appendRequestHeaders: { 'x-bench': 'yes' } }],
  ] as const;
  for (let i = 0; i < per; i++) {
    const [apiVersion, kind, plural, config] = kinds[i % kinds.length];
    const n = ns(i);
    out.push({ path: `/apis/${apiVersion}/namespaces/${n}/${plural}`, body: { apiVersion, kind, metadata: { name: `p-${i}`, namespace: n }, spec: { applyToRoutes: [{ route: { labels: { route: `r-${i % 200}` } } }], config } } });
  }
  for (let i = 0; out.length < TOTAL; i++) {
    const n = ns(i);
    out.push({ path: `/api/v1/namespaces/${n}/pods`, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: n, labels: { app: `svc-${i}` } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } } });
  }
  return out;
}

function routeTableSpec(i: number, prefix: string): object {
  return {
    hosts: [`h${i}.example.com`],
    virtualGateways: [{ name: `gw-${i % GATEWAYS}`, namespace: 'team-0' }],
    http: [
      { name: 'api', labels: { route: `r-${i % 200}` }, matchers: [{ uri: { prefix } }], forwardTo: { destinations: [{ ref: { name: `svc-${i}` }, port: { number: 80 } }] } },
      { name: 'status', matchers: [{ uri: { exact: '/status' } }], directResponse: { status: 200, body: 'ok' } },
    ],
  };
}

async function populate(kube: KubeApi): Promise<number> {
  const items = estate();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const it = items[next++];
      const r = await kube.api('POST', it.path, it.body);
      if (r.status !== 201) throw new Error(`POST ${it.path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  console.log(`created ${items.length} objects in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return items.length;
}

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const Client = grpc.makeGenericClientConstructor({
  Ads: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', requestStream: true, responseStream: true,
    requestSerialize: (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()), requestDeserialize: (b: Buffer) => Req.decode(b),
    responseSerialize: (m: object) => Buffer.from(Res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => Res.decode(b) as unknown as { versionInfo: string; nonce: string; typeUrl: string },
  },
}, 'Ads');

/** An ADS client for gateway team-0/gw-0 that ACKs RDS and reports each new route version. */
function routeWatcher(port: number, onVersion: (v: string) => void): () => void {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as { Ads(): grpc.ClientDuplexStream<object, { versionInfo: string; nonce: string; typeUrl: string }>; close(): void };
  const call = client.Ads();
  const names = ['team-0/gw-0:8080'];
  call.on('data', (r) => {
    call.write({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names });
    onVersion(r.versionInfo);
  });
  call.on('error', () => {});
  call.write({ node: { id: 'bench-gw-0', cluster: 'team-0/gw-0' }, typeUrl: typeUrl('route'), resourceNames: names });
  return () => {
    call.cancel();
    client.close();
  };
}

const rssOf = (pid: number): { rss: number; hwm: number } => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
};

async function run(kube: KubeApi, runNo: number): Promise<{ readyMs: number; rss: number; hwm: number; updates: number[] }> {
  const [xdsPort, adminPort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'bin/meshplane.js'), 'serve', '--kubeconfig', kube.kubeconfig, '--xds-address', '127.0.0.1', '--xds-port', String(xdsPort), '--admin-port', String(adminPort), '--no-status', '--log-level', process.env.BENCH_LOG ?? 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor('meshplane /readyz', async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), 120_000, 20);
    const readyMs = performance.now() - t0;
    const mem = rssOf(child.pid!);
    let latest = '';
    let changed: ((v: string) => void) | undefined;
    const stop = routeWatcher(xdsPort, (v) => {
      latest = v;
      changed?.(v);
    });
    await waitFor('the first route configuration', () => (latest ? true : undefined), 30_000, 10);
    const updates: number[] = [];
    for (let u = 0; u < UPDATES; u++) {
      const before = latest;
      const got = new Promise<void>((resolve) => (changed = (v) => v !== before && resolve()));
      const sent = performance.now();
      const r = await kube.api('PATCH', '/apis/networking.gloo.solo.io/v2/namespaces/team-0/routetables/rt-0', { spec: routeTableSpec(0, `/api/v${runNo}-${u}`) }, 'application/merge-patch+json');
      if (r.status !== 200) throw new Error(`PATCH: ${r.status}`);
      await got;
      updates.push(performance.now() - sent);
      await new Promise((x) => setTimeout(x, 300));
    }
    stop();
    const peak = rssOf(child.pid!);
    return { readyMs, rss: mem.rss, hwm: peak.hwm, updates };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** The source alone: a PATCH until the Kubernetes source emits the next resource set (serve's default 150 ms debounce). */
async function sourceLatency(kube: KubeApi): Promise<number[]> {
  const src = new ClusterSource({ cluster: 'cluster-1', kc: loadKubeConfig({ kubeconfig: kube.kubeconfig }), management: true, log: pino({ level: 'warn' }), debounceMs: 150 });
  src.start();
  await src.whenSynced();
  let resolveNext: (() => void) | undefined;
  const sub = src.sets().subscribe(() => resolveNext?.());
  const out: number[] = [];
  for (let u = 0; u < UPDATES; u++) {
    const got = new Promise<void>((r) => (resolveNext = r));
    const sent = performance.now();
    await kube.api('PATCH', '/apis/networking.gloo.solo.io/v2/namespaces/team-0/routetables/rt-0', { spec: routeTableSpec(0, `/src-${u}`) }, 'application/merge-patch+json');
    await got;
    out.push(performance.now() - sent);
    await new Promise((x) => setTimeout(x, 300));
  }
  sub.unsubscribe();
  await src.stop();
  return out;
}

const kube = await startKubeApi('kube-bench');
try {
  await installCrds(kube);
  const objects = await populate(kube);
  const results = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await run(kube, r);
    console.log(`run ${r + 1}: ready ${(res.readyMs / 1000).toFixed(2)} s, RSS ${res.rss.toFixed(0)} MiB (peak ${res.hwm.toFixed(0)}), update -> snapshot median ${median(res.updates).toFixed(0)} ms`);
    results.push(res);
  }
  const source = await sourceLatency(kube);
  const f = (xs: number[], d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
  console.log(`\nkube-apiserver v${K8S_VERSION}, etcd v${ETCD_VERSION}, ${objects} objects, ${RUNS} runs`);
  console.log('| measure | target | median (min-max) |\n|---|---|---|');
  console.log(`| start -> ready (initial sync + first translation) | <= 10 s | ${f(results.map((r) => r.readyMs / 1000), 2)} s |`);
  console.log(`| meshplane RSS when ready | <= 400 MiB | ${f(results.map((r) => r.rss))} MiB |`);
  console.log(`| meshplane RSS peak (VmHWM) | | ${f(results.map((r) => r.hwm))} MiB |`);
  console.log(`| RouteTable update -> snapshot (ADS push) | <= 200 ms | ${f(results.flatMap((r) => r.updates))} ms |`);
  console.log(`| of which the source: update -> resource set (150 ms debounce) | | ${f(source)} ms |`);
} finally {
  await kube.stop();
}
