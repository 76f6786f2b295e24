// The Kubernetes source's pure parts: object conversion, merging sources,
// context flags and status comparison. The watching itself is tested against
// a real API server in test/e2e/kube-*.test.ts.
import { describe, expect, it } from 'vitest';
import type { ResourceSet } from '../../src/sources/file.js';
import { canonicalStatus } from '../../src/sinks/kubernetes-status.js';
import { parseContexts } from '../../src/sources/kubernetes/flags.js';
import { kubeKind } from '../../src/sources/kubernetes/kinds.js';
import { convert } from '../../src/sources/kubernetes/objects.js';
import { mergeSets } from '../../src/sources/merge.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';

const routeTable = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.gloo.solo.io/v2',
  kind: 'RouteTable',
  metadata: {
    name: 'shop',
    namespace: 'apps',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-12-01T10:00:00Z',
    finalizers: ['argocd.argoproj.io/finalizer'],
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{...}' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec,
  ...extra,
});

describe('Kubernetes objects become resources', () => {
  const rt = kubeKind('RouteTable')!;

  it('like a manifest file, without the API server\'s bookkeeping, stamped with the cluster', () => {
    const c = convert(routeTable({ hosts: ['shop.example.com'], http: [] }, { status: { state: 'ACCEPTED' } }), rt, 'west');
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.key).toBe('RouteTable/apps/shop');
    expect(c.resource.cluster).toBe('west');
    expect(c.resource.metadata).toEqual({ name: 'shop', namespace: 'apps', uid: 'u-1', generation: 3, creationTimestamp: '2026-12-01T10:00:00Z', labels: {} });
  });

  it('with the same fingerprint when only status or resourceVersion changed', () => {
    const a = convert(routeTable({ http: [] }), rt, 'c');
    const b = convert({ ...routeTable({ http: [] }, { status: { state: 'INVALID' } }), metadata: { ...routeTable({}).metadata, resourceVersion: '43' } }, rt, 'c');
    expect(a.fingerprint).toBe(b.fingerprint);
  });

  it('or as problems with field paths', () => {
    const c = convert(routeTable({ http: [{ name: 'r', forwardTo: { destinations: [{ ref: { name: 'x' }, weigth: 2 }] } }] }), rt, 'c');
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.problems).toEqual([{ path: 'spec.http[0].forwardTo.destinations[0].weigth', message: 'unknown field' }]);
  });

  it('keeps what Kubernetes kinds carry (status, ownerReferences) for later stages', () => {
    const pod = convert(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'apps', resourceVersion: '1', ownerReferences: [{ kind: 'ReplicaSet' }] }, spec: { containers: [] }, status: { podIP: '10.0.0.1' } },
      kubeKind('Pod')!,
      'c',
    );
    expect(pod.ok).toBe(true);
    const ns = convert({ metadata: { name: 'apps', resourceVersion: '1' } }, kubeKind('Namespace')!, 'c');
    expect(ns.ok && ns.key).toBe('Namespace//apps');
  });
});

const res = (doc: unknown, cluster?: string): Resource => {
  const r = validateResource(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return { ...r.resource, ...(cluster ? { cluster } : {}) };
};
const ws = (name: string, created: string, cluster?: string) =>
  res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name, namespace: 'gloo-mesh', creationTimestamp: created }, spec: {} }, cluster);
const set = (...resources: Resource[]): ResourceSet => ({ resources, rejected: [], diagnostics: [] });

describe('merging sources', () => {
  it('concatenates sets and their rejections', () => {
    const a = { ...set(ws('a', '2026-01-01T00:00:00Z')), rejected: [{ key: 'RouteTable/x/y', messages: ['bad'] }] };
    const m = mergeSets([{ name: 'files', set: a }, { name: 'cluster c', set: set(ws('b', '2026-01-01T00:00:00Z', 'c')) }], 'cluster-1');
    expect(m.resources.map((r) => r.metadata.name)).toEqual(['a', 'b']);
    expect(m.rejected).toEqual([{ key: 'RouteTable/x/y', messages: ['bad'] }]);
  });

  it('keeps one copy of a resource two sources give: the older', () => {
    const fromFile = ws('team', '2026-02-01T00:00:00Z');
    const fromKube = ws('team', '2026-01-01T00:00:00Z', 'cluster-1'); // same cluster: the default
    const m = mergeSets([{ name: 'files', set: set(fromFile) }, { name: 'cluster cluster-1', set: set(fromKube) }], 'cluster-1');
    expect(m.resources).toEqual([fromKube]);
    expect(m.diagnostics[0].file).toBe('files');
    expect(m.diagnostics[0].problems[0].message).toMatch(/also comes from cluster cluster-1, which is older and wins/);
  });

  it('but not the same name in two clusters', () => {
    const m = mergeSets([{ name: 'a', set: set(ws('team', '2026-01-01T00:00:00Z', 'east')) }, { name: 'b', set: set(ws('team', '2026-01-01T00:00:00Z', 'west')) }], 'cluster-1');
    expect(m.resources).toHaveLength(2);
    expect(m.diagnostics).toEqual([]);
  });
});

describe('--kube-context flags', () => {
  it('default to the current context, named by --cluster-name', () => {
    expect(parseContexts(undefined, 'mgmt')).toEqual([{ cluster: 'mgmt', management: true }]);
  });

  it('name clusters; the management context takes --cluster-name unless named', () => {
    expect(parseContexts(['kind-mgmt', 'kind-west=west', 'kind-east'], 'mgmt')).toEqual([
      { context: 'kind-mgmt', cluster: 'mgmt', management: true },
      { context: 'kind-west', cluster: 'west', management: false },
      { context: 'kind-east', cluster: 'kind-east', management: false },
    ]);
    expect(parseContexts(['a=one', 'b=two'], 'x', 'b').find((c) => c.management)?.cluster).toBe('two');
  });

  it('refuse ambiguity', () => {
    expect(() => parseContexts(['a=x', 'b=x'], 'm')).toThrow(/two --kube-context flags name cluster "x"/);
    expect(() => parseContexts(['a'], 'm', 'b')).toThrow(/--management-context b is not one of/);
    expect(() => parseContexts(undefined, 'm', 'b')).toThrow(/needs --kube-context/);
  });
});

describe('status comparison', () => {
  it('ignores order of counters and fields we do not write', () => {
    expect(canonicalStatus({ state: 'ACCEPTED', messages: [], observedGeneration: 2, counters: { b: 1, a: 2 } })).toBe(
      canonicalStatus({ observedGeneration: 2, counters: { a: 2, b: 1 }, messages: [], state: 'ACCEPTED', ...({ other: 1 } as object) }),
    );
    expect(canonicalStatus({ state: 'ACCEPTED', messages: [], observedGeneration: 2 })).not.toBe(canonicalStatus({ state: 'ACCEPTED', messages: [], observedGeneration: 3 }));
  });
});
