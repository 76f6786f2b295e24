// Mesh mode policy rules in the core: the §6 table for VirtualDestinations,
// AccessPolicies that select nothing (#22) or workloads, service isolation,
// TLS modes, who a serviceAccountSelector names, sidecar-served route tables,
// and AccessPolicy validation.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { computeCore } from '../../src/core/index.js';
import type { CoreResult, WorkloadIR } from '../../src/ir/types.js';
import { sidecarKey } from '../../src/ir/keys.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';
import { translateAll } from '../../src/translate/index.js';
import { coreSettings } from '../../src/settings.js';

const load = (text: string): Resource[] =>
  parseAllDocuments(text).map((d) => {
    const r = validateResource(d.toJS());
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.resource;
  });

/** Workspaces a, b, c (one namespace each, sidecars on); b exports everything to a; app pods and Services per entry. */
function mesh(apps: Array<{ ns: 'a' | 'b' | 'c'; app: string; sidecar?: boolean; ip: string; sa?: string; labels?: string }>, extra = '', options = '', gates = ''): CoreResult {
  const docs: string[] = [];
  for (const ws of ['a', 'b', 'c']) {
    docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ${ws}, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ${ws}}]}]}`);
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ws}, labels: {istio-injection: enabled}}`);
  }
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: b, namespace: b}\nspec: {exportTo: [{workspaces: [{name: a}]}]${options ? `, options: ${options}` : ''}}`);
  docs.push(`apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: a, namespace: a}\nspec: {importFrom: [{workspaces: [{name: b}]}]}`);
  for (const x of apps) {
    docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: ${x.app}-1, namespace: ${x.ns}, labels: {app: ${x.app}${x.sidecar === false ? ", sidecar.istio.io/inject: 'false'" : ''}${x.labels ? `, ${x.labels}` : ''}}}\nspec: {serviceAccountName: ${x.sa ?? x.app}}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${x.app}, namespace: ${x.ns}, labels: {app: ${x.app}${x.labels ? `, ${x.labels}` : ''}}}\nspec: {selector: {app: ${x.app}}, ports: [{port: 80, targetPort: 8080}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${x.app}-1, namespace: ${x.ns}, labels: {kubernetes.io/service-name: ${x.app}}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints: [{addresses: [${x.ip}], targetRef: {kind: Pod, name: ${x.app}-1, namespace: ${x.ns}}}]`);
  }
  return computeCore(load(docs.join('\n---\n') + (extra ? `\n---\n${extra}` : '')), coreSettings({ featureGates: gates }));
}
const access = (name: string, ns: string, spec: string) => `apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${spec}`;
const wl = (core: CoreResult, ref: string): WorkloadIR => core.ir.mesh!.workloads.find((w) => w.ref === ref)!;
const inboundNames = (core: CoreResult, ref: string) => wl(core, ref).inbound[0].policies.map((p) => `${p.namespace}/${p.name}`);

describe('server-side policies on sidecars', () => {
  it('imported VirtualDestination: each workspace\'s server-side policies apply to the backing Services in that workspace (§6)', () => {
    const core = mesh(
      [{ ns: 'a', app: 'reviews', ip: '10.0.0.1' }, { ns: 'b', app: 'reviews', ip: '10.0.0.2' }],
      [
        `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualDestination\nmetadata: {name: reviews-vd, namespace: b}\nspec: {hosts: [reviews.global], services: [{labels: {app: reviews}}], ports: [{number: 80, targetPort: {number: 80}}]}`,
        access('target-on-vd', 'a', `{applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: reviews-vd}}], config: {authz: {allowedClients: [{serviceAccountSelector: {namespace: a}}]}}}`),
        access('source-on-vd', 'b', `{applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: reviews-vd}}], config: {authz: {allowedClients: [{serviceAccountSelector: {namespace: b}}]}}}`),
      ].join('\n---\n'),
    );
    expect(inboundNames(core, 'a/reviews-1')).toEqual(['a/target-on-vd']);
    expect(inboundNames(core, 'b/reviews-1')).toEqual(['b/source-on-vd']);
    expect(wl(core, 'a/reviews-1').inbound[0].destinations).toContain('VirtualDestination b/reviews-vd');
    for (const p of ['AccessPolicy/a/target-on-vd', 'AccessPolicy/b/source-on-vd']) expect(core.status[p].messages.join()).not.toContain('no enforcement point');
  });

  it('an AccessPolicy that selects nothing applies to every destination of its workspace (#22), applyToWorkloads to its own workloads only', () => {
    const core = mesh(
      [{ ns: 'b', app: 'ratings', ip: '10.0.0.1' }, { ns: 'b', app: 'details', ip: '10.0.0.2' }, { ns: 'a', app: 'ratings', ip: '10.0.0.3' }],
      [access('everything', 'b', `{config: {}}`), access('by-label', 'a', `{applyToWorkloads: [{selector: {labels: {app: ratings}}}], config: {authn: {tlsMode: STRICT}}}`)].join('\n---\n'),
    );
    expect(inboundNames(core, 'b/ratings-1')).toEqual(['b/everything']);
    expect(inboundNames(core, 'b/details-1')).toEqual(['b/everything']);
    expect(inboundNames(core, 'a/ratings-1')).toEqual(['a/by-label']);
    expect(wl(core, 'a/ratings-1').inbound[0].tlsMode).toBe('STRICT');
    expect(wl(core, 'b/ratings-1').notEnforced).toEqual([expect.objectContaining({ name: 'by-label', reason: expect.stringContaining('never crosses workspaces') })]);
    // An empty config allows nobody: RBAC with no policies denies everything (403).
    const rbac = JSON.stringify(translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey('b/ratings-1'))!.listener[0].body);
    expect(rbac).toContain('"action":"ALLOW","policies":{}');
  });

  it('without a sidecar a server-side policy has no enforcement point, and callers use plain text', () => {
    const core = mesh([{ ns: 'b', app: 'legacy', ip: '10.0.0.9', sidecar: false }, { ns: 'a', app: 'web', ip: '10.0.0.1' }], access('legacy-access', 'b', `{applyToDestinations: [{selector: {labels: {app: legacy}}}], config: {}}`));
    expect(core.status['AccessPolicy/b/legacy-access'].messages.join()).toContain('no enforcement point');
    expect(core.ir.mesh!.workloads.map((w) => w.ref)).toEqual(['a/web-1']);
    expect(core.ir.mesh!.upstreamTls['svc/b/legacy:80@a']).toBeUndefined();
    expect(core.ir.mesh!.upstreamTls['svc/a/web:80@a']).toEqual({ meshedEndpoints: ['10.0.0.1:8080'], principals: ['spiffe://cluster.local/ns/a/sa/web'] });
  });

  it('DISABLE: plain text only, and callers do not use TLS to it', () => {
    const core = mesh([{ ns: 'b', app: 'old', ip: '10.0.0.2' }, { ns: 'a', app: 'web', ip: '10.0.0.1' }], access('no-tls', 'b', `{applyToDestinations: [{selector: {labels: {app: old}}}], config: {authn: {tlsMode: DISABLE}}}`));
    expect(wl(core, 'b/old-1').inbound[0].tlsMode).toBe('DISABLE');
    expect(core.ir.mesh!.upstreamTls['svc/b/old:80@a']).toBeUndefined();
    const chains = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey('b/old-1'))!.listener[0].body.filterChains as Array<{ filterChainMatch: Record<string, unknown> }>;
    expect(chains.map((c) => c.filterChainMatch)).toEqual([{ destinationPort: { value: 8080 } }]);
  });

  it('service isolation: STRICT, and only the owning and importing workspaces\' identities', () => {
    const core = mesh([{ ns: 'b', app: 'ratings', ip: '10.0.0.1' }], '', '{serviceIsolation: {enabled: true, trimProxyConfig: true}}');
    const i = wl(core, 'b/ratings-1').inbound[0];
    expect(i.tlsMode).toBe('STRICT');
    expect(i.isolation).toEqual([{ prefix: 'spiffe://cluster.local/ns/a/sa/' }, { prefix: 'spiffe://cluster.local/ns/b/sa/' }]);
  });

  it('service isolation turns applyToWorkloads AccessPolicies off (seed 04), with a warning', () => {
    const core = mesh([{ ns: 'b', app: 'ratings', ip: '10.0.0.1' }], access('by-workload', 'b', `{applyToWorkloads: [{selector: {labels: {app: ratings}}}], config: {}}`), '{serviceIsolation: {enabled: true}}');
    expect(wl(core, 'b/ratings-1').inbound[0].policies).toEqual([]);
    expect(core.status['AccessPolicy/b/by-workload'].messages.join()).toContain('service isolation on');
  });
});

describe('client-side policies on an imported VirtualDestination (sidecars)', () => {
  const run = (gates = '') =>
    mesh(
      [{ ns: 'b', app: 'reviews', ip: '10.0.0.1' }, { ns: 'a', app: 'web', ip: '10.0.0.2' }],
      [
        `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualDestination\nmetadata: {name: reviews-vd, namespace: b}\nspec: {hosts: [reviews.global], services: [{labels: {app: reviews}}], ports: [{number: 80, targetPort: {number: 80}}]}`,
        `apiVersion: resilience.policy.gloo.solo.io/v2\nkind: RetryTimeoutPolicy\nmetadata: {name: source-timeout, namespace: b}\nspec: {applyToDestinations: [{kind: VIRTUAL_DESTINATION, selector: {name: reviews-vd}}], config: {requestTimeout: 2s}}`,
      ].join('\n---\n'),
      '',
      gates,
    );
  const onWeb = (core: CoreResult) => wl(core, 'a/web-1').outbound.services.find((s) => s.kind === 'VIRTUAL_DESTINATION')!.policies.map((p) => p.name);
  it('the source\'s do not apply, unless VirtualDestinationWorkspacePolicyOverride lets them fill in', () => {
    expect(onWeb(run())).toEqual([]);
    expect(onWeb(run('VirtualDestinationWorkspacePolicyOverride=true'))).toEqual(['source-timeout']);
  });
});

describe('bad Pods', () => {
  it('a Pod whose spec cannot give it an identity is INVALID and gets no sidecar config; odd container ports do not break anything', () => {
    const docs = load(
      [
        `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: a, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: a}]}]}`,
        `apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {istio-injection: enabled}}`,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: bad-1, namespace: a, labels: {app: bad}}\nspec: {serviceAccountName: {oops: 1}}`,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: odd-1, namespace: a, labels: {app: odd}}\nspec: {containers: {not: a-list}}`,
        `apiVersion: v1\nkind: Service\nmetadata: {name: odd, namespace: a}\nspec: {selector: {app: odd}, ports: [{port: 80, targetPort: http}]}`,
      ].join('\n---\n'),
    );
    const core = computeCore(docs);
    expect(core.status['Pod/a/bad-1']).toMatchObject({ state: 'INVALID', messages: [expect.stringContaining('spec.serviceAccountName')] });
    expect(core.ir.mesh!.workloads.map((w) => w.ref)).toEqual(['a/odd-1']);
    expect(wl(core, 'a/odd-1').inbound).toEqual([]);
    expect(core.status['Pod/a/odd-1'].counters).toMatchObject({ sidecarInboundPorts: 0, sidecarReachablePorts: 1 });
  });
});

describe('gateways in the mesh', () => {
  it('present the service account of the Pods their workloads select and use mTLS to meshed endpoints', () => {
    const core = mesh(
      [{ ns: 'b', app: 'reviews', ip: '10.0.0.1' }, { ns: 'a', app: 'ingress', ip: '10.0.0.9', sidecar: false, sa: 'istio-ingressgateway', labels: 'istio: ingressgateway' }],
      [
        `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: a}\nspec: {workloads: [{selector: {labels: {istio: ingressgateway}}}], listeners: [{port: {number: 8080}, http: {}}]}`,
        `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: other, namespace: a}\nspec: {listeners: [{port: {number: 8081}, http: {}}]}`,
        `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: www, namespace: a}\nspec: {hosts: [www.example.com], virtualGateways: [{name: gw}], http: [{name: r, forwardTo: {destinations: [{ref: {name: reviews, namespace: b}, port: {number: 80}}]}}]}`,
      ].join('\n---\n'),
    );
    expect(core.ir.mesh!.gateways).toEqual({ 'a/gw': 'spiffe://cluster.local/ns/a/sa/istio-ingressgateway', 'a/other': 'spiffe://cluster.local/ns/a/sa/other' });
    const c = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get('gateway:a/gw')!.cluster.find((x) => x.name === 'svc/b/reviews:80@a')!;
    expect(JSON.stringify(c.body)).toContain('transportSocketMatches');
    expect(JSON.stringify(c.body)).toContain('spiffe://cluster.local/ns/b/sa/reviews');
  });
});

describe('serviceAccountSelector -> SPIFFE principals', () => {
  const principals = (sel: string, extra = '') => {
    const core = mesh([{ ns: 'b', app: 'ratings', ip: '10.0.0.1' }], [access('p', 'b', `{config: {authz: {allowedClients: [{serviceAccountSelector: ${sel}}]}}}`), extra].filter(Boolean).join('\n---\n'));
    return core.ir.policies['AccessPolicy/b/p'].access!.rules![0].principals;
  };
  it('name and namespace', () => expect(principals('{name: web, namespace: a}')).toEqual([{ exact: 'spiffe://cluster.local/ns/a/sa/web' }]));
  it('a namespace', () => expect(principals('{namespace: a}')).toEqual([{ prefix: 'spiffe://cluster.local/ns/a/sa/' }]));
  it('a name in any namespace, globs', () => {
    expect(principals('{name: web}')).toEqual([{ regex: 'spiffe://cluster\\.local/ns/[^/]+/sa/web' }]);
    expect(principals("{name: 'web-*', namespace: a}")).toEqual([{ regex: 'spiffe://cluster\\.local/ns/a/sa/web-[^/]*' }]);
  });
  it('a workspace: its namespaces', () => expect(principals('{workspace: a}')).toEqual([{ prefix: 'spiffe://cluster.local/ns/a/sa/' }]));
  it('labels: the ServiceAccount resources that carry them', () =>
    expect(principals('{labels: {team: web}}', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: frontend, namespace: a, labels: {team: web}}')).toEqual([{ exact: 'spiffe://cluster.local/ns/a/sa/frontend' }]));
  it('another cluster or nothing matching: nobody', () => {
    expect(principals('{cluster: other, name: web}')).toEqual([{ none: true }]);
    expect(principals('{workspace: nope}')).toEqual([{ none: true }]);
  });
});

describe('sidecar-served route tables', () => {
  it('reach the sidecars of the workspaces that own or import them, with delegation and route policies', () => {
    const core = mesh(
      [{ ns: 'b', app: 'reviews', ip: '10.0.0.1' }, { ns: 'a', app: 'web', ip: '10.0.0.2' }, { ns: 'c', app: 'other', ip: '10.0.0.3' }],
      [
        `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: reviews, namespace: b}\nspec:\n  hosts: [reviews.mesh]\n  http: [{name: v1, labels: {tier: gold}, delegate: {routeTables: [{name: reviews-child}]}}]`,
        `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: reviews-child, namespace: b}\nspec:\n  http: [{name: all, matchers: [{uri: {prefix: /}}], forwardTo: {destinations: [{ref: {name: reviews}, port: {number: 80}}]}}]`,
        `apiVersion: resilience.policy.gloo.solo.io/v2\nkind: RetryTimeoutPolicy\nmetadata: {name: gold-timeout, namespace: b}\nspec: {applyToRoutes: [{route: {labels: {tier: gold}}}], config: {requestTimeout: 3s}}`,
      ].join('\n---\n'),
    );
    expect(wl(core, 'a/web-1').outbound.routes).toHaveLength(1);
    expect(wl(core, 'b/reviews-1').outbound.routes).toHaveLength(1);
    expect(wl(core, 'c/other-1').outbound.routes).toHaveLength(0);
    const rc = translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(sidecarKey('a/web-1'))!.route.find((r) => r.name === 'outbound|80|a')!;
    const vh = (rc.body.virtualHosts as Array<{ name: string; routes: Array<{ route?: { cluster: string; timeout?: unknown } }> }>).find((v) => v.name === 'reviews.mesh')!;
    expect(vh.routes[0].route).toMatchObject({ cluster: 'svc/b/reviews:80@b', timeout: { seconds: 3 } });
  });
});

describe('AccessPolicy validation', () => {
  const problems = (config: string) => {
    const r = validateResource(parseAllDocuments(access('bad', 'b', `{config: ${config}}`))[0].toJS());
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };
  it('names the field of an unknown key, a bad CIDR, an impossible path, a header without values', () => {
    expect(problems('{authz: {allowedPorts: [80]}}')).toEqual(['spec.config.authz.allowedPorts: unknown field']);
    expect(problems("{authz: {allowedIpBlocks: ['10.0.0.0/40']}}")[0]).toMatch(/^spec.config.authz.allowedIpBlocks\[0\]: must be an IPv4/);
    expect(problems("{authzList: [{allowedPaths: ['/a*b']}]}")[0]).toMatch(/^spec.config.authzList\[0\].allowedPaths\[0\]: a \* may only/);
    expect(problems('{authz: {match: {request: {headers: [{name: x}]}}}}')[0]).toMatch(/^spec.config.authz.match.request.headers\[0\]: set values/);
    expect(problems('{authn: {tlsMode: SOMETIMES}}')[0]).toMatch(/^spec.config.authn.tlsMode/);
    expect(problems("{authz: {allowedClients: [{serviceAccountSelector: {name: 'Bad_Name'}}]}}")[0]).toMatch(/serviceAccountSelector.name: must be a Kubernetes name/);
  });
});
