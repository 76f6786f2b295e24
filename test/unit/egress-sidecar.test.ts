// ExternalServices from sidecars (issue 13, seed 05): only workspaces that own
// or import them reach them; HTTP by host (TLS originated with clientsideTls),
// the app's TLS by SNI, TCP by address; ALLOW_ANY / REGISTRY_ONLY.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { computeCore } from '../../src/core/index.js';
import { sidecarKey } from '../../src/ir/keys.js';
import type { CoreResult, WorkloadIR } from '../../src/ir/types.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';
import { coreSettings } from '../../src/settings.js';
import { translateAll } from '../../src/translate/index.js';
import { REGISTRY_ONLY_STATUS } from '../../src/translate/sidecar-external.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';

const load = (text: string): Resource[] =>
  parseAllDocuments(text).map((d) => {
    const r = validateResource(d.toJS());
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.resource;
  });

const ES = `apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: api, namespace: b}
spec:
  hosts: [api.example.test]
  addresses: [198.51.100.10]
  ports:
  - {name: http, number: 80, protocol: HTTP}
  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {}}
  - {name: tls, number: 8443, protocol: TLS}
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: db, namespace: b}
spec:
  hosts: [db.example.test]
  addresses: [203.0.113.0/24]
  ports: [{name: pg, number: 5432, protocol: TCP}]`;

/** Workspaces a, b, c, one namespace each with sidecars; b exports everything to a, a imports it; c imports nothing. */
function mesh(extra = '', options: Partial<Record<'a' | 'b' | 'c', string>> = {}, settings: Parameters<typeof computeCore>[1] = coreSettings({})): CoreResult {
  const docs: string[] = [];
  for (const ws of ['a', 'b', 'c'] as const) {
    docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ${ws}, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${ws}}]}]}`);
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ws}, labels: {istio-injection: enabled}}`);
    docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: app-1, namespace: ${ws}, labels: {app: app}}\nspec: {serviceAccountName: app}`);
  }
  const opt = (ws: 'a' | 'b' | 'c') => (options[ws] ? `, options: ${options[ws]}` : '');
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: b, namespace: b}\nspec: {exportTo: [{workspaces: [{name: a}]}]${opt('b')}}`);
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: a, namespace: a}\nspec: {importFrom: [{workspaces: [{name: b}]}]${opt('a')}}`);
  if (options.c) docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: c, namespace: c}\nspec: {${opt('c').slice(2)}}`);
  return computeCore(load([...docs, ES, ...(extra ? [extra] : [])].join('\n---\n')), settings);
}
const wl = (core: CoreResult, ns: string): WorkloadIR => core.ir.mesh!.workloads.find((w) => w.ref === `${ns}/app-1`)!;
const sidecar = (core: CoreResult, ns: string) => translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey(`${ns}/app-1`))!;
const outboundListener = (core: CoreResult, ns: string) => sidecar(core, ns).listener.find((l) => l.name === 'outbound')!.body as Record<string, any>;

describe('ExternalServices from sidecars', () => {
  const core = mesh();

  it('reach the workspaces that own or import them, and no others', () => {
    const names = (ns: string) => wl(core, ns).outbound.services.filter((s) => s.kind === 'EXTERNAL_SERVICE').map((s) => `${s.name}:${s.port}`).sort();
    expect(names('a')).toEqual(['api:443', 'api:80', 'api:8443', 'db:5432']);
    expect(names('b')).toEqual(['api:443', 'api:80', 'api:8443', 'db:5432']);
    expect(names('c')).toEqual([]);
    expect(sidecar(core, 'c').cluster.some((c) => c.name.includes('api'))).toBe(false);
  });

  it('routes HTTP by host, and by the listed addresses whatever the Host', () => {
    const routes = sidecar(core, 'a').route.find((r) => r.name === 'outbound|80|a')!.body as { virtualHosts: Array<{ name: string; domains: string[] }> };
    expect(routes.virtualHosts.find((v) => v.name === 'es/b/api:80')!.domains).toEqual(['api.example.test']);
    const byAddress = outboundListener(core, 'a').filterChains.find((c: any) => c.name === 'outbound|80|es/b/api:80');
    expect(byAddress.filterChainMatch).toEqual({ destinationPort: { value: 80 }, prefixRanges: [{ addressPrefix: '198.51.100.10', prefixLen: { value: 32 } }] });
  });

  it('originates TLS on an HTTPS port with clientsideTls: the app speaks plain HTTP to it', () => {
    const res = sidecar(core, 'a');
    expect(res.route.some((r) => r.name === 'outbound|443|a')).toBe(true);
    const c = res.cluster.find((x) => x.name === 'ext/b/api:443@a')!.body as Record<string, any>;
    expect(c.transportSocket.typedConfig.sni).toBe('api.example.test');
  });

  it('passes the app\'s own TLS through by SNI on a TLS port without clientsideTls', () => {
    const l = outboundListener(core, 'a');
    const chain = l.filterChains.find((c: any) => c.name === 'outbound|8443|es/b/api:8443');
    expect(chain.filterChainMatch).toEqual({ destinationPort: { value: 8443 }, serverNames: ['api.example.test'], transportProtocol: 'tls' });
    expect(l.listenerFilters.map((f: any) => f.name)).toContain('envoy.filters.listener.tls_inspector');
    const copy = sidecar(core, 'a').cluster.find((c) => c.name === 'ext/b/api:8443@a|tls-passthrough')!.body as Record<string, unknown>;
    expect(copy.transportSocket).toBeUndefined();
  });

  it('takes TCP by address: a CIDR goes where the app dialled', () => {
    const chain = outboundListener(core, 'a').filterChains.find((c: any) => c.name === 'outbound|5432|es/b/db:5432');
    expect(chain.filterChainMatch.prefixRanges).toEqual([{ addressPrefix: '203.0.113.0', prefixLen: { value: 24 } }]);
    const c = sidecar(core, 'a').cluster.find((x) => x.name === 'ext/b/db:5432@a')!.body as Record<string, unknown>;
    expect(c.type).toBe('ORIGINAL_DST');
  });

  it('encodes for Envoy', () => {
    for (const [key, res] of translateAll(core.ir, { listenerAddress: '0.0.0.0' })) if (key.startsWith('sidecar:')) expect(() => buildSnapshot(res, true)).not.toThrow();
  });
});

describe('outbound traffic policy', () => {
  const catchAll = (core: CoreResult, ns: string) => {
    const rc = sidecar(core, ns).route.find((r) => r.name === `outbound|80|${ns}`)!.body as { virtualHosts: Array<{ domains: string[]; routes: any[] }> };
    return rc.virtualHosts.find((v) => v.domains[0] === '*')!.routes[0];
  };

  it('ALLOW_ANY by default: unknown hosts and connections pass through', () => {
    const core = mesh();
    expect(wl(core, 'a').outbound.mode).toBeUndefined();
    expect(catchAll(core, 'a').route.cluster).toBe('PassthroughCluster');
    expect(outboundListener(core, 'a').defaultFilterChain.name).toBe('passthrough');
  });

  it('REGISTRY_ONLY per workspace (WorkspaceSettings options): 502 for unknown hosts, other connections closed', () => {
    const core = mesh('', { a: '{outboundTrafficPolicy: {mode: REGISTRY_ONLY}}' });
    expect(wl(core, 'a').outbound.mode).toBe('REGISTRY_ONLY');
    expect(wl(core, 'b').outbound.mode).toBeUndefined();
    expect(catchAll(core, 'a').directResponse.status).toBe(REGISTRY_ONLY_STATUS);
    expect(outboundListener(core, 'a').defaultFilterChain.filters[0].typedConfig.cluster).toBe('BlackHoleCluster');
    expect(sidecar(core, 'a').cluster.some((c) => c.name === 'BlackHoleCluster')).toBe(true);
    expect(() => buildSnapshot(sidecar(core, 'a'), true)).not.toThrow();
  });

  it('mesh-wide REGISTRY_ONLY, and a workspace that says ALLOW_ANY keeps passing through', () => {
    const core = mesh('', { c: '{outboundTrafficPolicy: {mode: ALLOW_ANY}}' }, { ...coreSettings({}), outboundTrafficPolicy: 'REGISTRY_ONLY' });
    expect(wl(core, 'a').outbound.mode).toBe('REGISTRY_ONLY');
    expect(wl(core, 'c').outbound.mode).toBeUndefined();
  });
});

describe('ExternalEndpoints by locality', () => {
  const EE = (name: string, ip: string, region: string, zone: string) =>
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalEndpoint\nmetadata: {name: ${name}, namespace: b, labels: {app: cache, topology.kubernetes.io/region: ${region}, topology.kubernetes.io/zone: ${zone}}}\nspec: {address: ${ip}, ports: [{name: http, number: 6380}]}`;
  const extra = [
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: cache, namespace: b}\nspec: {hosts: [cache.internal], selector: {app: cache}, ports: [{name: http, number: 80, protocol: HTTP, targetPort: {name: http}}]}`,
    EE('cache-a', '192.0.2.1', 'eu', 'eu-1'),
    EE('cache-b', '192.0.2.2', 'eu', 'eu-2'),
    EE('cache-c', '192.0.2.3', 'us', 'us-1'),
    `apiVersion: v1\nkind: Pod\nmetadata: {name: near-1, namespace: a, labels: {app: near, topology.kubernetes.io/region: eu, topology.kubernetes.io/zone: eu-2}}\nspec: {serviceAccountName: near}`,
  ].join('\n---\n');
  const core = mesh(extra);
  const priorities = (ref: string) => {
    const res = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey(ref))!;
    const cla = res.endpoint.find((e) => e.name === 'ext/b/cache:80@a')!.body as { endpoints: Array<{ priority?: number; lbEndpoints: Array<{ endpoint: { address: { socketAddress: { address: string; portValue: number } } } }> }> };
    return Object.fromEntries(cla.endpoints.flatMap((g) => g.lbEndpoints.map((e) => [`${e.endpoint.address.socketAddress.address}:${e.endpoint.address.socketAddress.portValue}`, g.priority ?? 0])));
  };

  it('sends a workload to its own zone first, then its region, then the rest', () => {
    expect(core.ir.mesh!.workloads.find((w) => w.ref === 'a/near-1')!.locality).toEqual({ region: 'eu', zone: 'eu-2' });
    expect(priorities('a/near-1')).toEqual({ '192.0.2.2:6380': 0, '192.0.2.1:6380': 1, '192.0.2.3:6380': 2 });
  });

  it('a workload without topology labels has no nearest endpoint: all are equal', () => {
    expect(Object.values(priorities('a/app-1'))).toEqual([0, 0, 0]);
  });
});

describe('AccessPolicies on ExternalServices, enforced by the caller\'s sidecar (no egress gateway)', () => {
  const policy = `apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: only-app-get, namespace: a}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: api, namespace: b}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: app, namespace: a}}], allowedMethods: [GET]}}`;
  const other = `apiVersion: v1\nkind: Pod\nmetadata: {name: other-1, namespace: a, labels: {app: other}}\nspec: {serviceAccountName: other}`;
  const core = mesh([policy, other].join('\n---\n'));
  const vhost = (ref: string) => {
    const res = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey(ref))!;
    const rc = res.route.find((r) => r.name === 'outbound|80|a')!.body as { virtualHosts: Array<Record<string, any>> };
    return rc.virtualHosts.find((v) => v.name === 'es/b/api:80')!;
  };

  it('the importing workspace\'s policy applies (semantics §6) and has an enforcement point', () => {
    expect(wl(core, 'a').outbound.services.find((s) => s.name === 'api' && s.port === 80)!.access!.map((p) => p.name)).toEqual(['only-app-get']);
    expect(wl(core, 'b').outbound.services.find((s) => s.name === 'api' && s.port === 80)!.access).toBeUndefined();
    expect(core.status['AccessPolicy/a/only-app-get'].messages.join('\n')).not.toContain('no enforcement point');
  });

  it('an allowed caller keeps the rule\'s other conditions; another caller is denied (403)', () => {
    const allowed = JSON.stringify(vhost('a/app-1').typedPerFilterConfig);
    expect(allowed).toContain('only-app-get[0]');
    expect(allowed).toContain('"exact":"GET"');
    const denied = vhost('a/other-1').typedPerFilterConfig['envoy.filters.http.rbac.external'];
    expect(denied.rbac.rules.policies).toEqual({});
  });

  it('a TCP port the caller may not use is closed', () => {
    const tcpPolicy = policy.replace('name: api, namespace: b', 'name: db, namespace: b').replace('only-app-get', 'only-app-db');
    const c = mesh([tcpPolicy, other].join('\n---\n'));
    const chain = (ref: string) => ((translateAll(c.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey(ref))!.listener.find((l) => l.name === 'outbound')!.body as any).filterChains.find((x: any) => x.name === 'outbound|5432|es/b/db:5432'));
    // allowedMethods cannot be checked on TCP: the rule does not allow a connection.
    expect(chain('a/app-1').filters[0].typedConfig.cluster).toBe('BlackHoleCluster');
    const open = mesh([tcpPolicy.replace(', allowedMethods: [GET]', ''), other].join('\n---\n'));
    const openChain = (translateAll(open.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey('a/app-1'))!.listener.find((l) => l.name === 'outbound')!.body as any).filterChains.find((x: any) => x.name === 'outbound|5432|es/b/db:5432');
    expect(openChain.filters[0].typedConfig.cluster).toBe('ext/b/db:5432@a');
    expect(() => buildSnapshot(translateAll(c.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey('a/other-1'))!, true)).not.toThrow();
  });
});
