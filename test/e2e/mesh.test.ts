// Mesh mode through real Envoy sidecars: bookinfo-like workloads, each a small
// Node app with its own Envoy in its own network namespace (iptables capture,
// as Istio's init container sets up), everything configured by meshplane:
// mTLS with SPIFFE IDs, STRICT/PERMISSIVE, AccessPolicy as RBAC (seed 04),
// the client/server table for imported Services and VirtualDestinations
// (seed 01), service isolation, certificate rotation, and bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpGet, waitFor } from '../support/net.js';
import { createMeshNetwork, netnsSupport, type MeshNetwork } from '../support/netns.js';
import { startGatewayProcess, startWorkload, type GatewayProcess, type Workload } from '../support/sidecar.js';

const FRONT = 'bookinfo-frontends';
const BACK = 'bookinfo-backends';
const OUT = 'outsiders';
const APPS = [
  { app: 'productpage', ns: FRONT, vip: '10.96.0.11' },
  { app: 'reviews', ns: BACK, vip: '10.96.0.12' },
  { app: 'ratings', ns: BACK, vip: '10.96.0.13' },
  { app: 'curl', ns: OUT, vip: '10.96.0.14' },
  { app: 'details', ns: FRONT, vip: '10.96.0.15' },
] as const;
type App = (typeof APPS)[number]['app'];
const PORT = 9080;
const fqdn = (app: App) => `${app}.${APPS.find((a) => a.app === app)!.ns}.svc.cluster.local`;

const GW = 'gateways';
/** The ingress gateway: a VirtualGateway whose Pod runs as this service account (Gloo's zero-trust example). */
const GW_SA = 'istio-ingressgateway-service-account';

function setupYaml(ips: Record<App | 'legacy', string>, isolation = false, gatewayPort = 0): string {
  const docs: string[] = [];
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ${GW}, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${GW}}]}]}`);
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: ${GW}, namespace: ${GW}}\nspec: {importFrom: [{workspaces: [{name: ${FRONT}}], resources: [{kind: SERVICE}]}]}`);
  docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: ingress-1, namespace: ${GW}, labels: {istio: ingressgateway}}\nspec: {serviceAccountName: ${GW_SA}}`);
  docs.push(`apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: ingress, namespace: ${GW}}\nspec: {workloads: [{selector: {labels: {istio: ingressgateway}}}], listeners: [{port: {number: ${gatewayPort || 1}}, http: {}}]}`);
  docs.push(`apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: www, namespace: ${GW}}\nspec: {hosts: [www.example.com], virtualGateways: [{name: ingress}], http: [{name: productpage, forwardTo: {destinations: [{ref: {name: productpage, namespace: ${FRONT}}, port: {number: ${PORT}}}]}}]}`);
  for (const ws of [FRONT, BACK, OUT]) {
    docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ${ws}, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${ws}}]}]}`);
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ws}, labels: {istio-injection: enabled}}`);
  }
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: ${BACK}, namespace: ${BACK}}\nspec:\n  exportTo: [{workspaces: [{name: ${FRONT}}], resources: [{kind: SERVICE}, {kind: VIRTUAL_DESTINATION}, {kind: ROUTE_TABLE}]}]\n  options: {serviceIsolation: {enabled: ${isolation}, trimProxyConfig: true}}`);
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: ${FRONT}, namespace: ${FRONT}}\nspec:\n  importFrom: [{workspaces: [{name: ${BACK}}], resources: [{kind: SERVICE}, {kind: VIRTUAL_DESTINATION}, {kind: ROUTE_TABLE}]}]\n  exportTo: [{workspaces: [{name: ${GW}}], resources: [{kind: SERVICE, labels: {app: productpage}}]}]`);
  for (const a of APPS) {
    docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: ${a.app}-1, namespace: ${a.ns}, labels: {app: ${a.app}}}\nspec: {serviceAccountName: bookinfo-${a.app}}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${a.app}, namespace: ${a.ns}, labels: {app: ${a.app}}}\nspec: {selector: {app: ${a.app}}, clusterIP: ${a.vip}, ports: [{name: http, port: ${PORT}, targetPort: ${PORT}}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${a.app}-1, namespace: ${a.ns}, labels: {kubernetes.io/service-name: ${a.app}}}\naddressType: IPv4\nports: [{name: http, port: ${PORT}}]\nendpoints: [{addresses: [${ips[a.app]}], targetRef: {kind: Pod, name: ${a.app}-1, namespace: ${a.ns}}}]`);
  }
  // A workload without a sidecar (PERMISSIVE peer): its callers use plain text.
  docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: legacy-1, namespace: ${BACK}, labels: {app: legacy, sidecar.istio.io/inject: 'false'}}\nspec: {serviceAccountName: legacy}`);
  docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: legacy, namespace: ${BACK}}\nspec: {selector: {app: legacy}, clusterIP: 10.96.0.16, ports: [{name: http, port: ${PORT}}]}`);
  docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: legacy-1, namespace: ${BACK}, labels: {kubernetes.io/service-name: legacy}}\naddressType: IPv4\nports: [{name: http, port: ${PORT}}]\nendpoints: [{addresses: [${ips.legacy}], targetRef: {kind: Pod, name: legacy-1, namespace: ${BACK}}}]`);
  docs.push(`apiVersion: networking.gloo.solo.io/v2\nkind: VirtualDestination\nmetadata: {name: ratings-global, namespace: ${BACK}}\nspec: {hosts: [ratings.global], services: [{labels: {app: ratings}}], ports: [{number: ${PORT}}]}`);
  // Owned by the backends, backed by a Service of the frontends (which import it).
  docs.push(`apiVersion: networking.gloo.solo.io/v2\nkind: VirtualDestination\nmetadata: {name: details-global, namespace: ${BACK}}\nspec: {hosts: [details.global], services: [{labels: {app: details}}], ports: [{number: ${PORT}}]}`);
  return docs.join('\n---\n') + '\n';
}

const policy = (kind: string, name: string, ns: string, spec: string) => {
  const group = kind === 'AccessPolicy' ? 'security.policy.gloo.solo.io/v2' : kind === 'FaultInjectionPolicy' ? 'resilience.policy.gloo.solo.io/v2' : 'trafficcontrol.policy.gloo.solo.io/v2';
  return `apiVersion: ${group}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
};
const SEED_04 = policy('AccessPolicy', 'ratings-access', BACK, `  applyToDestinations: [{selector: {labels: {app: ratings}}}]\n  config:\n    authn: {tlsMode: STRICT}\n    authzList:\n    - allowedClients: [{serviceAccountSelector: {name: bookinfo-productpage, namespace: ${FRONT}}}]\n      allowedPaths: ['/ratings*']`);

const REVIEWS_WITH_HEADER = policy('AccessPolicy', 'reviews-with-header', BACK, `  applyToDestinations: [{selector: {labels: {app: ratings}}}]\n  config:\n    authz:\n      allowedClients: [{serviceAccountSelector: {name: bookinfo-reviews}}]\n      match: {request: {headers: [{name: x-test, values: ['yes']}, {name: x-block, notValues: ['1']}]}}`);

const support = netnsSupport();

describe('mesh mode with real Envoy sidecars', () => {
  let net: MeshNetwork;
  let mp: MeshplaneHandle;
  let dir: string;
  let gatewayPort: number;
  let gateway: GatewayProcess | undefined;
  const w = {} as Record<App, Workload>;
  const ips = {} as Record<App | 'legacy', string>;
  let legacy: { stop(): Promise<void> } | undefined;
  const writePolicies = (...docs: string[]) => writeFileSync(join(dir, 'policies.yaml'), docs.join('\n---\n') + '\n');
  const call = (from: App, to: App, path = '/ratings/1', headers: Record<string, string> = {}, host = fqdn(to)) =>
    w[from].call({ addr: APPS.find((a) => a.app === to)!.vip, port: PORT, host, path, headers });
  /** Polls until the call answers `status` (config changes take a moment to reach every sidecar). */
  const expectStatus = async (from: App, to: App, status: number, path?: string, headers?: Record<string, string>, host?: string) =>
    waitFor(`${from} -> ${to}${path ?? ''} answering ${status}`, async () => {
      const r = await call(from, to, path, headers, host);
      if (r.status !== status) throw new Error(`got ${r.status} ${r.error ?? r.body.slice(0, 200)}`);
      return r;
    }, 20_000, 200);

  beforeAll(async () => {
    if (support) throw new Error(support); // fail, never skip
    net = createMeshNetwork('mesh');
    const spaces = Object.fromEntries(APPS.map((a) => [a.app, net.add(a.app)])) as Record<App, ReturnType<MeshNetwork['add']>>;
    for (const a of APPS) ips[a.app] = spaces[a.app].ip;
    const legacyNs = net.add('legacy', { capture: false });
    ips.legacy = legacyNs.ip;
    const app = legacyNs.spawn(process.execPath, [join(import.meta.dirname, '../support/sidecar-app.mjs'), 'legacy-1', String(PORT), '15100']);
    legacy = { stop: async () => void app.kill('SIGKILL') };
    dir = mkdtempSync(join(tmpdir(), 'mesh-e2e-'));
    gatewayPort = await freePort();
    writeFileSync(join(dir, 'setup.yaml'), setupYaml(ips, false, gatewayPort));
    writePolicies();
    const xdsPort = await freePort();
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort: await freePort(), extraArgs: ['--xds-address', net.hostIp, '--workload-cert-ttl', '6s'] });
    await Promise.all(APPS.map(async (a) => (w[a.app] = await startWorkload(spaces[a.app], { namespace: a.ns, pod: `${a.app}-1`, port: PORT, xdsAddress: net.hostIp, xdsPort }))));
    gateway = await startGatewayProcess({ gateway: `${GW}/ingress`, xdsAddress: net.hostIp, xdsPort, adminPort: await freePort() });
  }, 120_000);

  afterAll(async () => {
    await legacy?.stop();
    await gateway?.stop();
    await Promise.all(Object.values(w).map((x) => x.stop()));
    await mp?.stop();
    net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends traffic between sidecars over mTLS with SPIFFE IDs; the app sees the caller in XFCC', async () => {
    const r = await expectStatus('productpage', 'reviews', 200, '/reviews/1');
    const seen = JSON.parse(r.body) as { app: string; headers: Record<string, string> };
    expect(seen.app).toBe('reviews-1');
    expect(seen.headers['x-forwarded-client-cert']).toContain(`URI=spiffe://cluster.local/ns/${FRONT}/sa/bookinfo-productpage`);
    const stats = await w.productpage.admin('/stats?filter=ssl.handshake');
    expect(stats).toMatch(new RegExp(`cluster\\.svc/${BACK}/reviews_${PORT}@${FRONT}\\.ssl\\.handshake: [1-9]`));
    const certs = JSON.parse(await w.productpage.admin('/certs')) as { certificates: Array<{ cert_chain: Array<{ subject_alt_names: Array<{ uri?: string }> }> }> };
    expect(JSON.stringify(certs)).toContain(`spiffe://cluster.local/ns/${FRONT}/sa/bookinfo-productpage`);
  });

  it('PERMISSIVE (the default) also serves a plain-text client', async () => {
    const r = await fetch(`http://${ips.reviews}:${PORT}/plain`, { headers: { host: fqdn('reviews') } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { headers: Record<string, string> }).headers['x-forwarded-client-cert']).toBeUndefined();
  });

  it('a destination without a sidecar is reached in plain text (PERMISSIVE peer)', async () => {
    const r = await waitFor('productpage -> legacy', async () => {
      const x = await w.productpage.call({ addr: '10.96.0.16', port: PORT, host: `legacy.${BACK}.svc.cluster.local`, path: '/legacy' });
      return x.status === 200 ? x : undefined;
    }, 20_000, 200);
    const seen = JSON.parse(r.body) as { app: string; headers: Record<string, string> };
    expect(seen.app).toBe('legacy-1');
    expect(seen.headers['x-forwarded-client-cert']).toBeUndefined(); // no sidecar in front of it
    expect(await w.productpage.admin('/stats?filter=legacy')).not.toMatch(/legacy_9080@bookinfo-frontends\.ssl\.handshake: [1-9]/);
    const served = (await mp.get('/debug/config/sidecar:bookinfo-frontends/productpage-1')) as { resources: { cluster: Array<{ name: string; transportSocketMatches?: unknown }> } };
    expect(served.resources.cluster.find((c) => c.name === `svc/${BACK}/legacy:${PORT}@${FRONT}`)?.transportSocketMatches).toBeUndefined();
  });

  it('seed 04: only productpage may call ratings, on /ratings*; STRICT refuses plain text', async () => {
    writePolicies(SEED_04);
    await expectStatus('reviews', 'ratings', 403);
    await expectStatus('productpage', 'ratings', 200, '/ratings/1');
    await expectStatus('productpage', 'ratings', 403, '/details/1');
    await expect(fetch(`http://${ips.ratings}:${PORT}/ratings/1`, { headers: { host: fqdn('ratings') }, signal: AbortSignal.timeout(5000) })).rejects.toThrow();
  });

  it('merges two AccessPolicies into one allow-list; header values and notValues', async () => {
    writePolicies(SEED_04, REVIEWS_WITH_HEADER);
    await expectStatus('reviews', 'ratings', 200, '/ratings/1', { 'x-test': 'yes' });
    await expectStatus('reviews', 'ratings', 403, '/ratings/1');
    await expectStatus('reviews', 'ratings', 403, '/ratings/1', { 'x-test': 'yes', 'x-block': '1' });
    await expectStatus('productpage', 'ratings', 200, '/ratings/1');
  });

  it('allowedIpBlocks admits callers by address', async () => {
    writePolicies(policy('AccessPolicy', 'reviews-by-ip', BACK, `  applyToDestinations: [{selector: {labels: {app: reviews}}}]\n  config:\n    authz: {allowedIpBlocks: ['${ips.productpage}/32']}`));
    await expectStatus('ratings', 'reviews', 403, '/reviews/1');
    await expectStatus('productpage', 'reviews', 200, '/reviews/1');
  });

  it('seed 01, imported Service: the target\'s client-side policies apply, the source\'s do not; the source\'s server-side policy applies, the target\'s does not', async () => {
    writePolicies(
      SEED_04,
      REVIEWS_WITH_HEADER,
      policy('HeaderManipulationPolicy', 'target-tags-ratings', FRONT, `  applyToDestinations: [{selector: {labels: {app: ratings}}}]\n  config: {appendRequestHeaders: {x-from-target: 'yes'}}`),
      policy('HeaderManipulationPolicy', 'source-tags-ratings', BACK, `  applyToDestinations: [{selector: {labels: {app: ratings}}}]\n  config: {appendRequestHeaders: {x-from-source: 'yes'}}`),
      policy('FaultInjectionPolicy', 'target-breaks-reviews', FRONT, `  applyToDestinations: [{selector: {labels: {app: reviews}}}]\n  config: {abort: {httpStatus: 418}}`),
      policy('FaultInjectionPolicy', 'source-breaks-reviews', BACK, `  applyToDestinations: [{selector: {labels: {app: reviews}}}]\n  config: {abort: {httpStatus: 503}}`),
      policy('AccessPolicy', 'target-denies-ratings', FRONT, `  applyToDestinations: [{selector: {labels: {app: ratings}}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: nobody}}]}}`),
    );
    await expectStatus('productpage', 'reviews', 418, '/reviews/1');
    await expectStatus('ratings', 'reviews', 503, '/reviews/1');
    const fromProductpage = JSON.parse((await expectStatus('productpage', 'ratings', 200, '/ratings/1')).body) as { headers: Record<string, string> };
    expect(fromProductpage.headers['x-from-target']).toBe('yes');
    expect(fromProductpage.headers['x-from-source']).toBeUndefined();
    const fromReviews = JSON.parse((await expectStatus('reviews', 'ratings', 200, '/ratings/1', { 'x-test': 'yes' })).body) as { headers: Record<string, string> };
    expect(fromReviews.headers['x-from-source']).toBe('yes');
    expect(fromReviews.headers['x-from-target']).toBeUndefined();
  });

  it('seed 01, imported VirtualDestination: the target\'s client-side policies apply, the source\'s do not', async () => {
    writePolicies(
      SEED_04,
      policy('HeaderManipulationPolicy', 'target-tags-vd', FRONT, `  applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: ratings-global}}]\n  config: {appendRequestHeaders: {x-vd-target: 'yes'}}`),
      policy('HeaderManipulationPolicy', 'source-tags-vd', BACK, `  applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: ratings-global}}]\n  config: {appendRequestHeaders: {x-vd-source: 'yes'}}`),
    );
    const seen = await waitFor('the target\'s VD header', async () => {
      const r = await call('productpage', 'ratings', '/ratings/1', {}, 'ratings.global');
      const body = r.status === 200 ? (JSON.parse(r.body) as { headers: Record<string, string> }) : undefined;
      return body?.headers['x-vd-target'] ? body : undefined;
    }, 20_000, 200);
    expect(seen.headers['x-vd-source']).toBeUndefined();
    expect(seen.headers['x-forwarded-client-cert']).toContain(`sa/bookinfo-productpage`);
  });

  it('seed 01, imported VirtualDestination server side: the target\'s policies guard its own backing Services, the source\'s do not', async () => {
    writePolicies(
      policy('AccessPolicy', 'target-guards-vd', FRONT, `  applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: details-global}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: bookinfo-reviews}}]}}`),
      policy('AccessPolicy', 'source-guards-vd', BACK, `  applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: details-global}}]\n  config: {}`),
    );
    await expectStatus('productpage', 'details', 403, '/details/1', {}, 'details.global');
    await expectStatus('reviews', 'details', 200, '/details/1', {}, 'details.global');
  });

  it('a gateway in the mesh calls a STRICT destination over mTLS with its workload\'s identity (Gloo\'s zero-trust example)', async () => {
    writePolicies(policy('AccessPolicy', 'allow-ingress', FRONT, `  applyToDestinations: [{selector: {labels: {app: productpage}}}]\n  config:\n    authn: {tlsMode: STRICT}\n    authz: {allowedClients: [{serviceAccountSelector: {name: ${GW_SA}, namespace: ${GW}}}]}`));
    const r = await waitFor('the gateway reaching productpage', async () => {
      const x = await httpGet(gatewayPort, 'www.example.com', '/productpage');
      return x.status === 200 ? x : undefined;
    }, 20_000, 200);
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-forwarded-client-cert']).toContain(`URI=spiffe://cluster.local/ns/${GW}/sa/${GW_SA}`);
    await expectStatus('details', 'productpage', 403, '/productpage'); // a meshed caller with another identity
    await expect(fetch(`http://${ips.productpage}:${PORT}/productpage`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
  });

  it('a sidecar-served RouteTable reaches the sidecars of the workspaces that import it, with delegation and route policies', async () => {
    writePolicies(
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ratings-api, namespace: ${BACK}, labels: {api: ratings}}\nspec:\n  hosts: [ratings-api.mesh]\n  http: [{name: v1, labels: {tier: public}, matchers: [{uri: {prefix: /v1}}], delegate: {routeTables: [{name: ratings-api-v1}]}}]`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ratings-api-v1, namespace: ${BACK}}\nspec:\n  http: [{name: get, matchers: [{uri: {prefix: /v1/}}], forwardTo: {pathRewrite: /ratings/, destinations: [{ref: {name: ratings}, port: {number: ${PORT}}}]}}]`,
      policy('HeaderManipulationPolicy', 'tag-public', BACK, `  applyToRoutes: [{route: {labels: {tier: public}}}]\n  config: {appendRequestHeaders: {x-api-tier: public}}`),
    );
    const seen = await waitFor('productpage -> ratings-api.mesh/v1/1', async () => {
      // By the Pod's address, so that until the table arrives the request passes through quickly (and unrewritten).
      const r = await w.productpage.call({ addr: ips.ratings, port: PORT, host: 'ratings-api.mesh', path: '/v1/1' });
      const body = r.status === 200 ? (JSON.parse(r.body) as { app: string; path: string; headers: Record<string, string> }) : undefined;
      return body?.path === '/ratings/1' ? body : undefined;
    }, 20_000, 200);
    expect(seen).toMatchObject({ app: 'ratings-1', path: '/ratings/1' });
    expect(seen.headers['x-api-tier']).toBe('public');
    expect(seen.headers['x-forwarded-client-cert']).toContain('sa/bookinfo-productpage'); // still mTLS to the sidecar
    // Outsiders do not import the table: their sidecars have no such host.
    expect(JSON.stringify(await mp.get('/debug/config/sidecar:outsiders/curl-1'))).not.toContain('ratings-api.mesh');
    expect(JSON.stringify(await mp.get('/debug/config/sidecar:bookinfo-frontends/productpage-1'))).toContain('ratings-api.mesh');
  });

  it('removing the policies restores access', async () => {
    writePolicies();
    await expectStatus('reviews', 'ratings', 200, '/ratings/1');
    await expectStatus('productpage', 'reviews', 200, '/reviews/1');
  });

  it('service isolation: a workspace that does not import the service is refused and has no cluster for it', async () => {
    const direct = () => w.curl.call({ addr: ips.ratings, port: PORT, host: fqdn('ratings'), path: '/ratings/1' });
    await waitFor('curl reaching ratings by address (passthrough, PERMISSIVE)', async () => ((await direct()).status === 200 ? true : undefined), 20_000, 200);
    writeFileSync(join(dir, 'setup.yaml'), setupYaml(ips, true, gatewayPort));
    await waitFor('curl refused by ratings', async () => ((await direct()).status !== 200 ? true : undefined), 20_000, 200);
    await expectStatus('productpage', 'ratings', 200, '/ratings/1');
    await expectStatus('reviews', 'ratings', 200, '/ratings/1');
    const dump = await w.curl.admin('/config_dump?resource=dynamic_active_clusters');
    expect(dump).not.toContain('ratings');
    expect(dump).toContain('svc/outsiders/curl');
    const served = (await mp.get('/debug/config/sidecar:outsiders/curl-1')) as { resources: { cluster: Array<{ name: string }> } };
    expect(served.resources.cluster.map((c) => c.name).filter((n) => n.includes('ratings'))).toEqual([]);
    expect(JSON.stringify(served)).toContain('"redacted"'); // the debug view names secrets, never their key material
    expect(JSON.stringify(served)).not.toContain('PRIVATE KEY');
    writeFileSync(join(dir, 'setup.yaml'), setupYaml(ips, false, gatewayPort));
    await waitFor('curl reaching ratings again', async () => ((await direct()).status === 200 ? true : undefined), 20_000, 200);
  });

  it('rotates workload certificates mid-traffic without losing a request', async () => {
    const serial = async () => (JSON.parse(await w.productpage.admin('/certs')) as { certificates: Array<{ cert_chain: Array<{ serial_number: string; subject_alt_names?: Array<{ uri?: string }> }> }> }).certificates
      .flatMap((c) => c.cert_chain)
      .find((c) => c.subject_alt_names?.some((s) => s.uri?.includes('bookinfo-productpage')))?.serial_number;
    const first = await serial();
    expect(first).toBeDefined();
    const statuses: number[] = [];
    // The certificates live 6 s and are renewed at 3 s: traffic for at least 8 s, and on until the
    // sidecar shows a new certificate (a loaded machine may take longer to push it).
    const start = Date.now();
    let now = first;
    while (Date.now() - start < 8_000 || (now === first && Date.now() - start < 40_000)) {
      statuses.push((await call('productpage', 'reviews', '/reviews/1')).status);
      if (Date.now() - start >= 8_000 || statuses.length % 10 === 0) now = await serial();
    }
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(now).not.toBe(first);
  });

  it('bad input: an AccessPolicy with an unknown field or an impossible path is INVALID with the field path and changes nothing served', async () => {
    writePolicies(SEED_04);
    await expectStatus('reviews', 'ratings', 403);
    writePolicies(SEED_04.replace(`allowedPaths: ['/ratings*']`, `allowedPaths: ['/ratings*']\n      allowedPorts: [9080]`), policy('AccessPolicy', 'impossible', BACK, `  config: {authz: {allowedPaths: ['/a*b']}}`), policy('AccessPolicy', 'impossible-client', BACK, `  config: {authz: {allowedClients: [{serviceAccountSelector: {name: Bad_Name}}]}}`));
    const status = await waitFor('the INVALID statuses', async () => {
      const s = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
      return s[`AccessPolicy/${BACK}/impossible`]?.state === 'INVALID' && s[`AccessPolicy/${BACK}/ratings-access`]?.state === 'INVALID' ? s : undefined;
    });
    expect(status[`AccessPolicy/${BACK}/ratings-access`].messages.join()).toContain('spec.config.authzList[0].allowedPorts');
    expect(status[`AccessPolicy/${BACK}/impossible`].messages.join()).toContain('spec.config.authz.allowedPaths[0]');
    expect(status[`AccessPolicy/${BACK}/impossible-client`]?.messages.join()).toContain('spec.config.authz.allowedClients[0].serviceAccountSelector.name');
    await new Promise((r) => setTimeout(r, 500));
    expect((await call('reviews', 'ratings')).status).toBe(403);
    expect((await call('productpage', 'ratings')).status).toBe(200);
  });
});
