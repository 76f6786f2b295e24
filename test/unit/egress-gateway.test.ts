// The egress gateway (issue 13, seed 05, Gloo corpus example 18): sidecars
// send an ExternalService's port to it over mesh mTLS, it exposes the
// ExternalService (exposedExternalServices), enforces its workspace's
// AccessPolicies and originates TLS.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { computeCore } from '../../src/core/index.js';
import { gatewayKey, sidecarKey } from '../../src/ir/keys.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';
import { coreSettings } from '../../src/settings.js';
import { EGRESS_RBAC_FILTER } from '../../src/translate/egress-gateway.js';
import { translateAll } from '../../src/translate/index.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';

const load = (text: string): Resource[] =>
  parseAllDocuments(text).map((d) => {
    const r = validateResource(d.toJS());
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.resource;
  });

const GW = 'istio-gateways';
const APP = 'bookinfo-frontends';
function setup(opts: { access?: boolean; gatewayService?: boolean; refs?: string } = {}): string {
  const docs = [
    `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: gateways, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${GW}}]}]}`,
    `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: bookinfo, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${APP}}]}]}`,
    `apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: gateways, namespace: ${GW}}\nspec: {importFrom: [{workspaces: [{name: bookinfo}], resources: [{kind: ALL, labels: {expose: 'true'}}]}]}`,
    `apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: bookinfo, namespace: ${APP}}\nspec: {exportTo: [{workspaces: [{name: gateways}], resources: [{kind: ALL, labels: {expose: 'true'}}]}]}`,
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${APP}, labels: {istio-injection: enabled}}`,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: productpage-1, namespace: ${APP}, labels: {app: productpage}}\nspec: {serviceAccountName: bookinfo-productpage}`,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: egress-1, namespace: ${GW}, labels: {app: istio-egressgateway, istio: egressgateway}}\nspec: {serviceAccountName: istio-egressgateway}`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: egress-gw, namespace: ${GW}}\nspec:\n  listeners: [{exposedExternalServices: [{host: httpbin.org}], appProtocol: HTTPS, port: {number: 443}, tls: {mode: ISTIO_MUTUAL}, http: {}}]\n  workloads: [{selector: {labels: {app: istio-egressgateway, istio: egressgateway}}}]`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: httpbin, namespace: ${APP}, labels: {expose: 'true'}}\nspec:\n  hosts: [httpbin.org]\n  ports: [{clientsideTls: {}, egressGatewayRoutes: {portMatch: 80, virtualGatewayRefs: [${opts.refs ?? `{name: egress-gw, namespace: ${GW}}`}]}, name: https, number: 443, protocol: HTTPS}]`,
  ];
  if (opts.gatewayService !== false) {
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: istio-egressgateway, namespace: ${GW}}\nspec: {selector: {app: istio-egressgateway}, ports: [{name: tls, port: 443, targetPort: 8443}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: egress-1, namespace: ${GW}, labels: {kubernetes.io/service-name: istio-egressgateway}}\naddressType: IPv4\nports: [{name: tls, port: 8443}]\nendpoints: [{addresses: [10.0.9.9], targetRef: {kind: Pod, name: egress-1, namespace: ${GW}}}]`);
  }
  if (opts.access !== false) {
    docs.push(`apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: allow-get-httpbin, namespace: ${GW}}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: httpbin, namespace: ${APP}}}]\n  config:\n    authz: {allowedClients: [{serviceAccountSelector: {name: bookinfo-productpage}}], allowedMethods: [GET]}\n    enforcementLayers: {mesh: true, cni: false}`);
  }
  return docs.join('\n---\n');
}
const run = (opts?: Parameters<typeof setup>[0]) => {
  const core = computeCore(load(setup(opts)), coreSettings({}));
  return { core, res: translateAll(core.ir, { listenerAddress: '0.0.0.0' }) };
};

describe('egress gateway', () => {
  const { core, res } = run();
  const gw = res.get(gatewayKey(`${GW}/egress-gw`))!;
  const sc = res.get(sidecarKey(`${APP}/productpage-1`))!;

  it('sidecars send the ExternalService\'s portMatch port to the gateway over mesh mTLS, never around it', () => {
    const s = core.ir.mesh!.workloads[0].outbound.services.find((x) => x.name === 'httpbin')!;
    expect(s).toMatchObject({ port: 80, domains: ['httpbin.org'], external: { transport: 'http', egressGateway: `${GW}/egress-gw` } });
    expect(s.cluster).toMatch(/#egress$/);
    const c = sc.cluster.find((x) => x.name === s.cluster)!.body as Record<string, any>;
    expect(c.transportSocket).toBeUndefined();
    expect(JSON.stringify(c.transportSocketMatches)).toContain('spiffe://cluster.local/ns/istio-gateways/sa/istio-egressgateway');
    const cla = sc.endpoint.find((x) => x.name === s.cluster)!.body as Record<string, any>;
    expect(cla.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress).toEqual({ address: '10.0.9.9', portValue: 8443 });
  });

  it('the gateway terminates mesh mTLS, routes by host to a cluster that originates TLS, and enforces the AccessPolicy', () => {
    const l = gw.listener[0].body as Record<string, any>;
    const tls = l.filterChains[0].transportSocket.typedConfig;
    expect(tls.requireClientCertificate).toEqual({ value: true });
    expect(tls.commonTlsContext.tlsCertificateSdsSecretConfigs[0].name).toBe('default');
    const rc = gw.route[0].body as { virtualHosts: Array<Record<string, any>> };
    const vh = rc.virtualHosts.find((v) => v.domains.includes('httpbin.org'))!;
    expect(JSON.stringify(vh.typedPerFilterConfig[EGRESS_RBAC_FILTER])).toContain('/sa/bookinfo-productpage');
    const cluster = gw.cluster.find((c) => c.name === vh.routes[0].route.cluster)!.body as Record<string, any>;
    expect(cluster.transportSocket.typedConfig.sni).toBe('httpbin.org');
    expect(core.status['AccessPolicy/istio-gateways/allow-get-httpbin'].messages.join('\n')).not.toContain('no enforcement point');
    expect(core.status['VirtualGateway/istio-gateways/egress-gw'].state).toBe('ACCEPTED');
  });

  it('encodes for Envoy', () => {
    expect(() => buildSnapshot(gw, true)).not.toThrow();
    expect(() => buildSnapshot(sc, true)).not.toThrow();
  });

  it('without an AccessPolicy the gateway lets every mesh client through', () => {
    const r = run({ access: false });
    const rc = r.res.get(gatewayKey(`${GW}/egress-gw`))!.route[0].body as { virtualHosts: Array<Record<string, any>> };
    expect(rc.virtualHosts.find((v) => v.domains.includes('httpbin.org'))!.typedPerFilterConfig).toBeUndefined();
  });

  it('a gateway without endpoints, or that does not exist: the port answers 503 rather than bypass it', () => {
    const noEndpoints = run({ gatewayService: false });
    expect(noEndpoints.core.status['ExternalService/bookinfo-frontends/httpbin'].messages.join('\n')).toContain('has no endpoints on port 443');
    const missing = run({ refs: '{name: nope}' });
    expect(missing.core.status['ExternalService/bookinfo-frontends/httpbin'].messages.join('\n')).toContain('is a VirtualGateway with an egress listener');
    const s = missing.core.ir.mesh!.workloads[0].outbound.services.find((x) => x.name === 'httpbin')!;
    expect(s.cluster).toMatch(/#egress$/);
    expect(missing.core.ir.backends.find((b) => b.cluster === s.cluster)!.endpoints).toEqual([]);
  });
});

describe('egress gateway endpoints in the memoising core', () => {
  it('a change of the gateway\'s EndpointSlice reaches the sidecars (no stale fast path)', async () => {
    const { createCore } = await import('../../src/core/index.js');
    const core = createCore();
    const before = load(setup());
    core(before);
    const after = before.map((r) => (r.kind === 'EndpointSlice' && r.metadata.name === 'egress-1' ? { ...r, body: { ...r.body!, endpoints: [{ addresses: ['10.0.9.10'] }] } } : r));
    const r = core(after);
    expect(JSON.stringify(r)).toBe(JSON.stringify(computeCore(after)));
    const egress = r.ir.backends.find((b) => b.cluster.endsWith('#egress'))!;
    expect(egress.endpoints.map((e) => e.address)).toEqual(['10.0.9.10']);
  });
});

describe('egress gateway access in the incremental translator', () => {
  it('an AccessPolicy edit reaches the gateway\'s route configuration (the memoised one is never changed in place)', async () => {
    const { createCore } = await import('../../src/core/index.js');
    const { createTranslator } = await import('../../src/translate/index.js');
    const engine = createCore();
    const translator = createTranslator({ listenerAddress: '0.0.0.0' });
    const rbacOf = (text: string) => {
      const res = translator(engine(load(text), coreSettings({})).ir).get(gatewayKey(`${GW}/egress-gw`))!;
      const vh = (res.route[0].body as { virtualHosts: Array<Record<string, any>> }).virtualHosts.find((v) => v.domains.includes('httpbin.org'))!;
      return { res, rbac: JSON.stringify(vh.typedPerFilterConfig?.[EGRESS_RBAC_FILTER] ?? null) };
    };
    const rbacIn = (res: ReturnType<typeof rbacOf>['res']) => JSON.stringify((res.route[0].body as { virtualHosts: Array<Record<string, any>> }).virtualHosts.map((v) => v.typedPerFilterConfig ?? null));
    const before = rbacOf(setup());
    const beforeObjects = rbacIn(before.res);
    const first = buildSnapshot(before.res, true).route.version;
    expect(before.rbac).toContain('/sa/bookinfo-productpage');
    const after = rbacOf(setup().replace('serviceAccountSelector: {name: bookinfo-productpage}', 'serviceAccountSelector: {name: reviews}'));
    expect(after.rbac).toContain('/sa/reviews');
    expect(after.rbac).not.toContain('/sa/bookinfo-productpage');
    expect(rbacIn(before.res)).toBe(beforeObjects); // the first translation's objects are unchanged
    expect(buildSnapshot(after.res, true).route.version).not.toBe(first);
  });
});

describe('ISTIO_MUTUAL outside mesh mode', () => {
  it('waits for mesh mode (no certificate to serve yet), with the reason', () => {
    const text = setup().split('\n---\n').filter((d) => !d.includes('name: productpage-1')).join('\n---\n');
    const core = computeCore(load(text), coreSettings({}));
    expect(core.status['VirtualGateway/istio-gateways/egress-gw'].messages.join('\n')).toContain('ISTIO_MUTUAL uses the gateway\'s mesh certificate');
    expect(core.ir.gateways.find((g) => g.ref === `${GW}/egress-gw`)!.listeners).toEqual([]);
  });
});

describe('AccessPolicies of the calling workspace on an ExternalService behind an egress gateway', () => {
  it('are enforced by the caller\'s sidecar; the gateway enforces its own workspace\'s', () => {
    const mine = `apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: bookinfo-httpbin, namespace: ${APP}}\nspec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: httpbin}}]\n  config: {authz: {allowedClients: [{serviceAccountSelector: {name: nobody}}]}}`;
    const core = computeCore(load(`${setup()}\n---\n${mine}`), coreSettings({}));
    const s = core.ir.mesh!.workloads[0].outbound.services.find((x) => x.name === 'httpbin')!;
    expect(s.access!.map((p) => p.name)).toEqual(['bookinfo-httpbin']);
    expect(core.status[`AccessPolicy/${APP}/bookinfo-httpbin`].messages.join('\n')).not.toContain('no enforcement point');
    const gw = core.ir.gateways.find((g) => g.ref === `${GW}/egress-gw`)!;
    expect(Object.values(gw.listeners[0].egress!).flat().map((p) => p.name)).toEqual(['allow-get-httpbin']);
  });
});
