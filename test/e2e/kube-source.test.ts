// The Kubernetes source against a real kube-apiserver + etcd: the CRDs take
// real Gloo manifests unchanged, and the seed scenarios applied to the API
// server give the same routes and statuses as from files.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainView } from '../../src/cli/explain.js';
import { computeCore } from '../../src/core/index.js';
import type { CoreResult } from '../../src/ir/types.js';
import { resourceKey } from '../../src/resources/schema.js';
import { loadKubeConfig } from '../../src/sources/kubernetes/client.js';
import { CUSTOM_KINDS } from '../../src/sources/kubernetes/kinds.js';
import { ClusterSource } from '../../src/sources/kubernetes/source.js';
import { REPO_ROOT } from '../support/envoy.js';
import { installCrds, startKubeApi, type KubeApi } from '../support/kube.js';
import { applyDoc, corpusDir, deleteDoc, docsOf, docsOfDir, ensureNamespaces, knownKind, type Doc } from '../support/kube-corpus.js';
import { waitFor } from '../support/net.js';
import { loadScenario } from '../support/scenario.js';

let kube: KubeApi;
let source: ClusterSource;

beforeAll(async () => {
  kube = await startKubeApi('kube-source');
  // Started before the CRDs exist: the source must wait for every kind (this is what /readyz waits for).
  source = new ClusterSource({ cluster: 'cluster-1', kc: loadKubeConfig({ kubeconfig: kube.kubeconfig }), management: true, log: pino({ level: 'silent' }), debounceMs: 20, backoff: { initialMs: 100, maxMs: 500 } });
  source.start();
});

afterAll(async () => {
  await source?.stop();
  await kube?.stop();
});

/** JSON with sorted keys: the API server returns custom objects' fields in its own order. */
const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

const keyOf = (d: Doc) => resourceKey({ kind: d.kind, metadata: { namespace: d.kind === 'Namespace' ? '' : (d.metadata.namespace ?? 'default'), name: d.metadata.name } });

describe('CRDs', () => {
  it('are needed before the source is synced: it emits nothing until every kind is listed, retrying the missing ones', async () => {
    const emitted: number[] = [];
    const sub = source.sets().subscribe((s) => emitted.push(s.resources.length));
    await waitFor('the watches of the missing CRDs to fail', () => (source.failing().length === CUSTOM_KINDS.length ? true : undefined), 20_000, 50);
    expect(source.failing()[0].error).toMatch(/404/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(source.synced()).toBe(false);
    expect(emitted).toEqual([]);
    await installCrds(kube);
    await source.whenSynced();
    await waitFor('the first resource set', () => (emitted.length ? true : undefined), 10_000, 20);
    // A watch opened while the CRD was being established may still be retrying: it recovers by itself.
    await waitFor('every watch to be up', () => (source.failing().length === 0 ? true : undefined), 20_000, 50);
    sub.unsubscribe();
  });

  it('are established for every Gloo kind, with status subresource and a State column', () => {
    const crds = JSON.parse(kube.kubectl(['get', 'crd', '-l', 'app.kubernetes.io/part-of=meshplane', '-o', 'json'])).items;
    expect(crds.map((c: any) => c.spec.names.kind).sort()).toEqual(CUSTOM_KINDS.map((k) => k.kind).sort());
    for (const c of crds) expect(c.status.conditions.find((x: any) => x.type === 'Established')?.status, c.metadata.name).toBe('True');
    // kubectl knows the shape (from the generated schema) and the category.
    expect(kube.kubectl(['explain', 'routetables.spec.http.forwardTo.destinations.ref'])).toMatch(/namespace/);
    expect(() => kube.kubectl(['get', 'meshplane', '-A'])).not.toThrow(); // the category names every Gloo kind
  });

  it('take every Gloo manifest of the corpus unchanged: nothing refused, pruned or defaulted', async () => {
    const dir = corpusDir();
    const examples = readdirSync(dir).filter((d) => /^\d\d-/.test(d)).sort();
    expect(examples.length).toBeGreaterThanOrEqual(70);
    const refused: string[] = [];
    const changed: string[] = [];
    const notOurs = new Set<string>();
    let applied = 0;
    const created: Doc[] = [];
    for (const ex of examples) {
      const docs = ['context.yaml', 'support.yaml', 'manifests.yaml'].flatMap((f) => docsOf(join(dir, ex, f)));
      for (const d of docs) if (!knownKind(d)) notOurs.add(`${d.apiVersion} ${d.kind}`);
      const ours = docs.filter(knownKind);
      await ensureNamespaces(kube, ours);
      for (const d of ours) {
        const r = await applyDoc(kube, d, 'corpus');
        if (r.status >= 300) {
          refused.push(`${ex}: ${d.kind} ${d.metadata.namespace}/${d.metadata.name}: ${r.body.message}`);
          continue;
        }
        applied++;
        created.push(d);
        if (!CUSTOM_KINDS.some((k) => k.kind === d.kind)) continue;
        // What the API server stored is what was applied.
        if (canon(r.body.spec ?? null) !== canon(d.spec ?? null)) changed.push(`${ex}: ${d.kind} ${d.metadata.namespace}/${d.metadata.name}`);
      }
    }
    // Leave the API server as it was for the scenarios below (namespaces cannot be deleted here).
    for (const d of created.reverse()) if (d.kind !== 'Namespace') await deleteDoc(kube, d);
    expect(refused).toEqual([]);
    expect(changed).toEqual([]);
    expect(applied).toBeGreaterThan(1000);
    // Kinds meshplane does not handle (it has no CRD for them): Gloo's portal and cloud-provider kinds.
    expect([...notOurs].sort()).toEqual([
      'apimanagement.gloo.solo.io/v2 Portal',
      'apimanagement.gloo.solo.io/v2 PortalGroup',
      'infrastructure.gloo.solo.io/v2 CloudProvider',
    ]);
  });
});

// These scenarios decide by creationTimestamp, which the API server sets
// itself (it ignores the manifests' values): tested separately below.
const TIMESTAMPED = ['conflict-merging-and-phases', 'conflict-oldest-wins', 'external-service-overlap'];
// One directory per cluster: applied to two API servers by kube-multicluster.test.ts.
const MULTI_CLUSTER = ['multi-cluster'];
const SCENARIOS = join(REPO_ROOT, 'test/fixtures/scenarios');

/** The scenario as Kubernetes takes it: no loopback endpoints, Pods with a container. */
function forKubernetes(d: Doc): Doc {
  const doc = JSON.parse(JSON.stringify(d).replace(/"127\.(\d+)\.(\d+)\.(\d+)"/g, '"198.18.$2.$3"'));
  if (doc.kind === 'Pod') {
    doc.spec = { containers: [{ name: 'app' }], ...(doc.spec ?? {}) };
    for (const c of doc.spec.containers) c.image ??= 'app';
  }
  return doc;
}

/**
 * Routes and the statuses of the given keys, with file locations dropped from
 * messages. Routes as a set: their order among tables follows creation times,
 * which the API server sets. So does the order in which a route lists the
 * policies it applies (oldest first; policies of different kinds all apply):
 * that list is compared as a set too. Which policy of a kind wins is still
 * compared (the applied and skipped ones differ), and age itself is the
 * subject of the timestamped scenarios below.
 */
function view(core: CoreResult, keys: Set<string>): unknown {
  const routes = (explainView(core).routes as Array<{ policies?: unknown[] }>)
    .map((r) => JSON.stringify(r.policies ? { ...r, policies: r.policies.map((p) => JSON.stringify(p)).sort().map((p) => JSON.parse(p)) } : r))
    .sort()
    .map((r) => JSON.parse(r));
  const text = JSON.stringify({ routes, status: Object.fromEntries(Object.entries(core.status).filter(([k]) => keys.has(k))) });
  const located = /test\/fixtures\/scenarios\/[^"]*?(?::\d+:\d+ \(document \d+\)| document \d+ \(line \d+\)): /g;
  const out = JSON.parse(text.replace(located, '').replace(/198\.18\./g, '127.0.'));
  // Messages in a stable order: with the file prefix gone, their sort order may change.
  for (const st of Object.values(out.status) as { messages: string[] }[]) st.messages.sort();
  return out;
}

async function settle(present: string[], absent: string[] = []): Promise<void> {
  await waitFor(`the source to see ${present.length} objects and lose ${absent.length}`, () => {
    const set = source.snapshot();
    // The source stamps its cluster on every key (`@cluster-1`); the scenarios' keys carry none.
    const local = (k: string) => k.replace(/@cluster-1$/, '');
    const have = new Set([...set.resources.map((r) => local(resourceKey(r))), ...set.rejected.map((r) => local(r.key))]);
    return present.every((k) => have.has(k)) && absent.every((k) => !have.has(k)) ? true : undefined;
  }, 20_000, 25);
}

describe('the seed scenarios applied to the API server', () => {
  const scenarios = readdirSync(SCENARIOS).filter((s) => !TIMESTAMPED.includes(s) && !MULTI_CLUSTER.includes(s)).sort();

  it.each(scenarios)('%s: same routes and statuses as from files', async (name) => {
    const docs = docsOfDir(join(SCENARIOS, name)).filter(knownKind).map(forKubernetes);
    await ensureNamespaces(kube, docs);
    const applied: Doc[] = [];
    const refused: string[] = [];
    for (const d of docs) {
      const r = await applyDoc(kube, d);
      if (r.status < 300) applied.push(d);
      else refused.push(`${d.kind}: ${r.body.message}`);
    }
    // Only bad-input has documents the API server itself refuses (no name, a mapping as name).
    if (name === 'bad-input') expect(refused).toHaveLength(2);
    else expect(refused).toEqual([]);
    const keys = applied.filter((d) => d.kind !== 'Namespace').map(keyOf);
    await settle(keys);
    try {
      const set = source.snapshot();
      const kubeView = view(computeCore(set.resources, undefined, set.rejected), new Set(keys));
      expect(kubeView).toEqual(view(loadScenario(join(SCENARIOS, name)), new Set(keys)));
    } finally {
      for (const d of applied) if (d.kind !== 'Namespace') await deleteDoc(kube, d);
      await settle([], keys);
    }
  });

  it('oldest wins by the API server\'s creationTimestamp', async () => {
    const docs = docsOfDir(join(SCENARIOS, 'conflict-oldest-wins')).filter(knownKind).map(forKubernetes);
    await ensureNamespaces(kube, docs);
    // "newer" is created first here, so in Kubernetes it is the older one and wins.
    const order = ['newer', 'older', 'tie-a', 'tie-b'];
    const policies = docs.filter((d) => d.kind === 'RetryTimeoutPolicy').sort((a, b) => order.indexOf(a.metadata.name) - order.indexOf(b.metadata.name));
    const rest = docs.filter((d) => d.kind !== 'RetryTimeoutPolicy');
    for (const d of rest) await applyDoc(kube, d);
    for (const d of policies) {
      const { metadata } = d;
      await applyDoc(kube, { ...d, metadata: { ...metadata, creationTimestamp: undefined } });
      await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has one-second resolution
    }
    const keys = [...rest, ...policies].filter((d) => d.kind !== 'Namespace').map(keyOf);
    await settle(keys);
    try {
      const set = source.snapshot();
      const core = computeCore(set.resources, undefined, set.rejected);
      const route = core.ir.routes.find((r) => r.path.some((p) => p.route === 'route-a'))!;
      expect(route.policies.filter((p) => p.kind === 'RetryTimeoutPolicy').map((p) => p.name)).toEqual(['newer']);
      expect(core.status['RetryTimeoutPolicy/apps/older'].messages.join()).toMatch(/conflicts with apps\/newer \(older\)/);
    } finally {
      for (const d of [...rest, ...policies]) if (d.kind !== 'Namespace') await deleteDoc(kube, d);
      await settle([], keys);
    }
  });
});
