// Issue 13 through real Envoy sidecars (seed 05): workloads in their own
// network namespaces (iptables capture) reach "external" upstreams that live
// in other namespaces without sidecars: an ExternalService by host and by
// address, TLS originated by the sidecar (the TLS upstream asserts SNI and
// the client certificate), ExternalEndpoints by locality with failover,
// ALLOW_ANY / REGISTRY_ONLY, the overlap rule across workspaces, and an
// egress gateway (an Envoy on the host) that sidecars reach over mesh mTLS,
// which enforces an AccessPolicy (403) and originates TLS to the upstream.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, waitFor } from '../support/net.js';
import { createMeshNetwork, netnsSupport, type MeshNetwork, type Netns } from '../support/netns.js';
import { startGatewayProcess, startWorkload, type GatewayProcess, type Workload } from '../support/sidecar.js';

const UPSTREAM = join(import.meta.dirname, '../support/external-upstream.mjs');
const HTTP_PORT = 8080;
const TLS_PORT = 8443;
/** Where the app dials names that have no DNS: any address; the sidecar routes by Host. */
const SOME_VIP = '10.96.7.7';

/** A test CA, the TLS upstream's certificate (DNS SAN) and a client certificate for the sidecar to present. */
function makeCerts(dir: string) {
  const o = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=egress-test-ca', '-days', '2');
  const issue = (name: string, san: string) => {
    o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    o('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  issue('upstream', 'DNS:secure.example.test,DNS:egress.example.test');
  issue('client', 'DNS:client.shop.example');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { ca: read('ca.pem'), clientCert: read('client.pem'), clientKey: read('client-key.pem'), files: { cert: join(dir, 'upstream.pem'), key: join(dir, 'upstream-key.pem'), ca: join(dir, 'ca.pem') } };
}

const pem = (v: string) => v.trim().split('\n').map((l) => `    ${l}`).join('\n');
const ws = (name: string, extra = '') =>
  `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ${name}, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${name}}]}]}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: {istio-injection: enabled}}${extra}`;
const settings = (name: string, spec: string) => `apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: ${name}, namespace: ${name}}\nspec: ${spec}`;
const ee = (name: string, ip: string, port: number, labels: string) => `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalEndpoint\nmetadata: {name: ${name}, namespace: external, labels: {${labels}}}\nspec: {address: ${ip}, ports: [{name: http, number: ${port}}]}`;

interface Ips { near: string; far: string; plain: string; tls: string; outside: string }

function setupYaml(ip: Ips, certs: ReturnType<typeof makeCerts>, gw: { hostIp: string; port: number }, shared = false): string {
  return [
    ws('shop'),
    ws('gateways'),
    ws('guests'),
    ws('external'),
    settings('external', `{exportTo: [{workspaces: [{name: shop}, {name: gateways}${shared ? ', {name: guests}' : ''}], resources: [{kind: EXTERNAL_SERVICE}]}]}`),
    settings('gateways', `{importFrom: [{workspaces: [{name: external}], resources: [{kind: EXTERNAL_SERVICE}]}]}`),
    settings('shop', `{importFrom: [{workspaces: [{name: external}], resources: [{kind: EXTERNAL_SERVICE}]}]}`),
    settings('guests', `{${shared ? 'importFrom: [{workspaces: [{name: external}], resources: [{kind: EXTERNAL_SERVICE}]}], ' : ''}options: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}}`),
    `apiVersion: v1\nkind: Pod\nmetadata: {name: app-1, namespace: shop, labels: {app: app, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1}}\nspec: {serviceAccountName: app}`,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: guest-1, namespace: guests, labels: {app: guest}}\nspec: {serviceAccountName: guest}`,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: intruder-1, namespace: shop, labels: {app: intruder}}\nspec: {serviceAccountName: intruder}`,
    // The egress gateway (Gloo corpus example 18's shape): its Pod's identity, its Service and endpoint (the host, where its Envoy runs).
    `apiVersion: v1\nkind: Pod\nmetadata: {name: egress-1, namespace: gateways, labels: {app: egress-gw, sidecar.istio.io/inject: 'false'}}\nspec: {serviceAccountName: egress-gw}`,
    `apiVersion: v1\nkind: Service\nmetadata: {name: egress-gw, namespace: gateways}\nspec: {selector: {app: egress-gw}, ports: [{name: tls, port: ${gw.port}, targetPort: ${gw.port}}]}`,
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: egress-1, namespace: gateways, labels: {kubernetes.io/service-name: egress-gw}}\naddressType: IPv4\nports: [{name: tls, port: ${gw.port}}]\nendpoints: [{addresses: [${gw.hostIp}]}]`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: egress, namespace: gateways}\nspec:\n  listeners: [{exposedExternalServices: [{host: egress.example.test}], appProtocol: HTTPS, port: {number: ${gw.port}}, tls: {mode: ISTIO_MUTUAL}, http: {}}]\n  workloads: [{selector: {labels: {app: egress-gw}}}]`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: egress-api, namespace: external}\nspec:\n  hosts: [egress.example.test]\n  selector: {app: egress-api}\n  ports: [{name: https, number: 443, protocol: HTTPS, clientsideTls: {credentialName: secure-tls}, egressGatewayRoutes: {portMatch: 80, virtualGatewayRefs: [{name: egress, namespace: gateways}]}}]`,
    ee('egress-api-1', ip.tls, TLS_PORT, 'app: egress-api'),
    `apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: only-app, namespace: gateways}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: egress-api, namespace: external}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: app, namespace: shop}}]}}`,
    // By host and by address: no ExternalEndpoints, the address is the endpoint.
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: plain, namespace: external, creationTimestamp: '2024-01-01T00:00:00Z'}\nspec: {hosts: [plain.example.test], addresses: [${ip.plain}], ports: [{name: http, number: ${HTTP_PORT}, protocol: HTTP}]}`,
    // The same address in a workspace that does not share external services with "external".
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: plain-copy, namespace: guests, creationTimestamp: '2024-01-02T00:00:00Z'}\nspec: {hosts: [plain.example.test], addresses: [${ip.plain}], ports: [{name: http, number: ${HTTP_PORT}, protocol: HTTP}]}`,
    // An internal hostname backed by two ExternalEndpoints in two localities.
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: db, namespace: external}\nspec: {hosts: [db.example.internal], selector: {app: db}, ports: [{name: http, number: 80, protocol: HTTP, targetPort: {name: http}}]}`,
    ee('db-near', ip.near, HTTP_PORT, 'app: db, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1'),
    ee('db-far', ip.far, HTTP_PORT, 'app: db, topology.kubernetes.io/region: r2, topology.kubernetes.io/zone: z2'),
    // The consumer's client-side policy (semantics §6): a failed endpoint is ejected at once.
    `apiVersion: resilience.policy.gloo.solo.io/v2\nkind: OutlierDetectionPolicy\nmetadata: {name: eject-fast, namespace: shop}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: db, namespace: external}}]\n  config: {consecutiveErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100}`,
    // Plain HTTP from the app, TLS from the sidecar: SNI, the test CA, a client certificate.
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: secure, namespace: external}\nspec:\n  hosts: [secure.example.test]\n  selector: {app: secure}\n  ports: [{name: http, number: 80, protocol: HTTP, targetPort: {name: http}, clientsideTls: {credentialName: secure-tls}}]`,
    ee('secure-1', ip.tls, TLS_PORT, 'app: secure'),
    `apiVersion: v1\nkind: Secret\nmetadata: {name: secure-tls, namespace: external}\nstringData:\n  ca.crt: |\n${pem(certs.ca)}\n  tls.crt: |\n${pem(certs.clientCert)}\n  tls.key: |\n${pem(certs.clientKey)}`,
  ].join('\n---\n') + '\n';
}

const support = netnsSupport();

describe('egress from real Envoy sidecars', () => {
  let net: MeshNetwork;
  let mp: MeshplaneHandle;
  let dir: string;
  let certs: ReturnType<typeof makeCerts>;
  const ip = {} as Ips;
  const upstreams: Record<string, ChildProcess> = {};
  const w = {} as Record<'app' | 'guest' | 'intruder', Workload>;
  let gateway: GatewayProcess | undefined;
  let gw: { hostIp: string; port: number };

  const call = (from: 'app' | 'guest' | 'intruder', host: string, port: number, addr = SOME_VIP, path = '/') => w[from].call({ addr, port, host, path });
  const expectStatus = (from: 'app' | 'guest' | 'intruder', host: string, port: number, status: number, addr?: string) =>
    waitFor(`${from} -> ${host}:${port} answering ${status}`, async () => {
      const r = await call(from, host, port, addr);
      if (r.status !== status) throw new Error(`got ${r.status} ${r.error ?? r.body.slice(0, 200)}`);
      return r;
    }, 30_000, 250);
  const seen = (r: { body: string }) => JSON.parse(r.body) as { upstream: string; host: string; remote: string; tls: { sni: string; clientCert: string | null; authorized: boolean } | null };
  const startUpstream = (ns: Netns, name: string, port: number, tls = false) => {
    upstreams[name] = ns.spawn(process.execPath, [UPSTREAM, name, String(port), ...(tls ? [certs.files.cert, certs.files.key, certs.files.ca] : [])]);
  };

  beforeAll(async () => {
    if (support) throw new Error(support); // fail, never skip
    dir = mkdtempSync(join(tmpdir(), 'egress-e2e-'));
    certs = makeCerts(dir);
    net = createMeshNetwork('egress');
    const app = net.add('app');
    const guest = net.add('guest');
    const intruder = net.add('intruder');
    gw = { hostIp: net.hostIp, port: await freePort() };
    const spaces = Object.fromEntries((['near', 'far', 'plain', 'tls', 'outside'] as const).map((n) => [n, net.add(n, { capture: false })])) as Record<keyof Ips, Netns>;
    for (const [n, s] of Object.entries(spaces)) ip[n as keyof Ips] = s.ip;
    for (const n of ['near', 'far', 'plain', 'outside'] as const) startUpstream(spaces[n], n, HTTP_PORT);
    startUpstream(spaces.tls, 'tls', TLS_PORT, true);
    mkdirConfig();
    const xdsPort = await freePort();
    mp = await startMeshplane({ configDir: join(dir, 'config'), xdsPort, adminPort: await freePort(), extraArgs: ['--xds-address', net.hostIp, '--listener-address', net.hostIp] });
    w.app = await startWorkload(app, { namespace: 'shop', pod: 'app-1', port: 9080, xdsAddress: net.hostIp, xdsPort });
    w.guest = await startWorkload(guest, { namespace: 'guests', pod: 'guest-1', port: 9080, xdsAddress: net.hostIp, xdsPort });
    w.intruder = await startWorkload(intruder, { namespace: 'shop', pod: 'intruder-1', port: 9080, xdsAddress: net.hostIp, xdsPort });
    gateway = await startGatewayProcess({ gateway: 'gateways/egress', xdsAddress: net.hostIp, xdsPort, adminPort: await freePort() });
  }, 120_000);

  function mkdirConfig(shared = false) {
    execFileSync('mkdir', ['-p', join(dir, 'config')]);
    writeFileSync(join(dir, 'config', 'setup.yaml'), setupYaml(ip, certs, gw, shared));
  }

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(Object.values(w).map((x) => x.stop()));
    for (const u of Object.values(upstreams)) u.kill('SIGKILL');
    await mp?.stop();
    net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reaches an ExternalService by host, and by its address', async () => {
    expect(seen(await expectStatus('app', 'plain.example.test', HTTP_PORT, 200)).upstream).toBe('plain');
    // Dialled by IP with another Host: the listed address makes it the ExternalService's.
    expect(seen(await expectStatus('app', 'whatever.test', HTTP_PORT, 200, ip.plain)).upstream).toBe('plain');
  });

  it('originates TLS at the sidecar: the upstream sees SNI and the client certificate; the app spoke plain HTTP', async () => {
    const r = seen(await expectStatus('app', 'secure.example.test', 80, 200));
    expect(r.upstream).toBe('tls');
    expect(r.tls).toMatchObject({ sni: 'secure.example.test', authorized: true });
    expect(r.tls!.clientCert).toContain('DNS:client.shop.example');
  });

  it('ALLOW_ANY (the default): an unknown host passes through to where the app dialled', async () => {
    expect(seen(await expectStatus('app', 'unknown.example.test', HTTP_PORT, 200, ip.outside)).upstream).toBe('outside');
  });

  it('REGISTRY_ONLY (WorkspaceSettings): an unknown host is refused, and so is an ExternalService of a workspace it does not import', async () => {
    const r = await expectStatus('guest', 'unknown.example.test', HTTP_PORT, 502, ip.outside);
    expect(r.body).toContain('REGISTRY_ONLY');
    // A port none of its destinations use has no HTTP chain: the connection is closed (secure.example.test is not its own).
    expect((await call('guest', 'secure.example.test', 80)).status).toBe(0);
    expect((await call('guest', 'unknown.example.test', 9999, ip.outside)).status).toBe(0);
  });

  it('an internal hostname with ExternalEndpoints in two localities: the local one serves, and when it is down the other does', async () => {
    for (let i = 0; i < 5; i++) expect(seen(await expectStatus('app', 'db.example.internal', 80, 200)).upstream).toBe('near');
    upstreams.near.kill('SIGKILL');
    const r = await waitFor('failover to the far endpoint', async () => {
      const x = await call('app', 'db.example.internal', 80);
      return x.status === 200 && seen(x).upstream === 'far' ? x : undefined;
    }, 30_000, 250);
    expect(seen(r).upstream).toBe('far');
  });

  it('the same address in two workspaces that do not share it: both work; when they share, the newer is INVALID with the reason', async () => {
    expect(seen(await expectStatus('guest', 'plain.example.test', HTTP_PORT, 200)).upstream).toBe('plain');
    let status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
    expect(status['ExternalService/guests/plain-copy'].state).toBe('ACCEPTED');
    mkdirConfig(true);
    status = await waitFor('guests/plain-copy INVALID', async () => {
      const s = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
      return s['ExternalService/guests/plain-copy']?.state === 'INVALID' ? s : undefined;
    }, 20_000, 250);
    expect(status['ExternalService/guests/plain-copy'].messages.join('\n')).toContain(`address plain.example.test, ${ip.plain} is already used by ExternalService external/plain (older)`);
    expect(status['ExternalService/external/plain'].state).toBe('ACCEPTED');
    expect(seen(await expectStatus('app', 'plain.example.test', HTTP_PORT, 200)).upstream).toBe('plain');
  });

  it('egress gateway: the allowed client gets 200 and the upstream sees TLS from the gateway (SNI, client cert); the app spoke plain HTTP to port 80', async () => {
    const r = await expectStatus('app', 'egress.example.test', 80, 200).catch(async (e) => {
      const admin = async (path: string) => (await fetch(`http://127.0.0.1:${gateway!.adminPort}${path}`)).text();
      throw new Error(`${(e as Error).message}\n${gateway?.logs().slice(-2000)}\nlisteners: ${await admin('/listeners')}\n${(await admin('/config_dump?include_eds')).slice(0, 200)}\n${JSON.stringify(await mp.get('/debug/config/gateway:gateways/egress')).slice(0, 3000)}`);
    });
    const s = seen(r);
    expect(s.upstream).toBe('tls');
    expect(s.remote).toBe(net.hostIp); // the gateway's address, not the workload's
    expect(s.tls).toMatchObject({ sni: 'egress.example.test', authorized: true });
    expect(s.tls!.clientCert).toContain('DNS:client.shop.example');
    // The sidecar reached the gateway over mesh mTLS.
    expect(await w.app.admin('/stats?filter=egress')).toMatch(/#egress\.ssl\.handshake: [1-9]/);
  });

  it('egress gateway: a client the AccessPolicy does not allow gets 403', async () => {
    const r = await expectStatus('intruder', 'egress.example.test', 80, 403);
    expect(r.body).toContain('RBAC');
  });

  it('semantics §6 without an egress gateway: the importing workspace\'s AccessPolicy on an ExternalService is enforced by the caller\'s sidecar', async () => {
    writeFileSync(join(dir, 'config', 'policies.yaml'), `apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: plain-only-app, namespace: shop}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: plain, namespace: external}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: app}}]}}\n`);
    await expectStatus('intruder', 'plain.example.test', HTTP_PORT, 403);
    expect(seen(await expectStatus('app', 'plain.example.test', HTTP_PORT, 200)).upstream).toBe('plain');
    rmSync(join(dir, 'config', 'policies.yaml'));
    await expectStatus('intruder', 'plain.example.test', HTTP_PORT, 200);
  });
});
