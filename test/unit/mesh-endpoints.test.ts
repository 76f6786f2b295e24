// Endpoint churn takes a fast path in the memoising core (only EndpointSlices
// changed: patch endpoints and upstream mTLS); its result must be exactly a
// full computation's.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCore, createCore } from '../../src/core/index.js';
import { endpointWork } from '../../src/core/endpoint-updates.js';
import { translateAll } from '../../src/translate/index.js';
import type { Resource } from '../../src/resources/schema.js';
import { CreationClock, ManifestDirectory } from '../../src/sources/file.js';
import { endpointSlice, estate } from '../../bench/mesh/estate.js';
import { clusterDirs, scanClusterDirs } from '../../src/cli/clusters.js';
import { coreSettings } from '../../src/settings.js';

const scan = (dir: string) => new ManifestDirectory(join(import.meta.dirname, '../fixtures/scenarios', dir), new CreationClock(undefined, false), ['expected.yaml']).scan().resources;
const replace = (rs: Resource[], ns: string, name: string, next: (r: Resource) => Resource) =>
  rs.map((r) => (r.kind === 'EndpointSlice' && r.metadata.namespace === ns && r.metadata.name === name ? next(r) : r));
const withAddresses = (r: Resource, addresses: string[], targetPod?: string): Resource => ({
  ...r,
  body: { ...r.body!, endpoints: addresses.map((a, i) => ({ addresses: [a], ...(i === 0 && targetPod ? { targetRef: { kind: 'Pod', name: targetPod, namespace: r.metadata.namespace } } : {}) })) },
});

describe('endpoint changes in the memoising core', () => {
  it('gives the full computation\'s result for a mesh (endpoints, upstream mTLS)', () => {
    const size = { workspaces: 6, podsPerWorkspace: 3, servicesPerWorkspace: 5 };
    const base = estate(size);
    const core = createCore();
    const first = core(base);
    let current = base;
    for (const gen of [1, 2, 3]) {
      current = replace(current, 'ns-0', 'svc-0-abc', () => endpointSlice(0, 0, size, gen));
      const r = core(current);
      expect(r.status).toBe(first.status); // the fast path: statuses cannot change
      const full = computeCore(current);
      expect(JSON.stringify(r)).toBe(JSON.stringify(full));
      // Translation reuses what the fast path left untouched; the Envoy config is still a fresh one's.
      const sidecars = (c: typeof r) => JSON.stringify([...translateAll(c.ir, { listenerAddress: '0.0.0.0' })]);
      expect(sidecars(r)).toBe(sidecars(full));
    }
    // An endpoint that stops being a meshed Pod loses mTLS.
    current = replace(current, 'ns-1', 'svc-1-abc', (r) => withAddresses(r, ['10.9.9.9']));
    const patched = core(current);
    expect(JSON.stringify(patched)).toBe(JSON.stringify(computeCore(current)));
    expect(patched.ir.mesh!.upstreamTls['svc/ns-1/svc-1:8080@ws-0']).toBeUndefined();
  });

  it('patches a Service without a selector while its slices name the same Pods, and computes in full when they name others', () => {
    const size = { workspaces: 3, podsPerWorkspace: 3, servicesPerWorkspace: 4 };
    // svc-1 of ns-0 loses its selector: its workloads are the Pods its slices name (wl-1).
    const base = estate(size).map((r) => (r.kind === 'Service' && r.metadata.namespace === 'ns-0' && r.metadata.name === 'svc-1' ? ({ ...r, spec: { ports: (r.spec as { ports: unknown }).ports } } as Resource) : r));
    const core = createCore();
    const first = core(base);
    const moved = replace(base, 'ns-0', 'svc-1-abc', () => endpointSlice(0, 1, size, 2));
    const patches = endpointWork.patches;
    const patched = core(moved);
    expect(endpointWork.patches - patches).toBe(1); // the fast path
    expect(patched.status).toBe(first.status);
    expect(JSON.stringify(patched)).toBe(JSON.stringify(computeCore(moved)));
    // Another Pod named: the Service's workloads change, so the core computes in full.
    const renamed = replace(moved, 'ns-0', 'svc-1-abc', (r) => withAddresses(r, ['10.1.2.3'], 'wl-2'));
    const before = endpointWork.patches;
    const full = core(renamed);
    expect(endpointWork.patches - before).toBe(0);
    expect(JSON.stringify(full)).toBe(JSON.stringify(computeCore(renamed)));
    const sidecars = (c: typeof full) => JSON.stringify([...translateAll(c.ir, { listenerAddress: '0.0.0.0' })]);
    expect(sidecars(full)).toBe(sidecars(computeCore(renamed)));
  });

  it('gives the full computation\'s result for gateways and sidecars of the bookinfo fixture', () => {
    for (const dir of ['mesh-bookinfo', 'import-export-service', 'advanced-4-workload-selectors']) {
      const base = scan(dir);
      const core = createCore();
      core(base);
      const slice = base.find((r) => r.kind === 'EndpointSlice')!;
      const next = replace(base, slice.metadata.namespace, slice.metadata.name, (r) => withAddresses(r, ['10.1.2.3', '10.1.2.4']));
      expect(JSON.stringify(core(next)), dir).toBe(JSON.stringify(computeCore(next)));
    }
  });

  it('gives the full computation\'s result when a workload cluster\'s endpoints move (slices are keyed by cluster)', () => {
    const fixture = join(import.meta.dirname, '../fixtures/scenarios/multi-cluster');
    const clusters = ['mgmt', 'workload-1', 'workload-2'];
    const set = scanClusterDirs(clusterDirs(clusters.map((c) => join(fixture, c)), clusters));
    const settings = coreSettings({ clusterName: 'mgmt' });
    const core = createCore();
    const first = core(set.resources, settings);
    for (const remote of ['workload-1', 'workload-2']) {
      const moved = set.resources.map((r) => (r.kind === 'EndpointSlice' && r.cluster === remote ? withAddresses(r, ['10.77.0.1', '10.77.0.2']) : r));
      const patches = endpointWork.patches;
      const patched = core(moved, settings);
      expect(endpointWork.patches - patches, remote).toBe(1); // the fast path
      expect(patched.status, remote).toEqual(first.status);
      expect(JSON.stringify(patched), remote).toBe(JSON.stringify(computeCore(moved, settings)));
      expect(patched.ir.backends.some((b) => b.endpoints.some((e) => e.address === '10.77.0.1')), remote).toBe(true);
      core(set.resources, settings);
    }
  });

  it('the edit after a patch (a route table, then a policy) gives the full computation\'s result, for every slice of several fixtures', () => {
    const patchesBefore = endpointWork.patches;
    let slices = 0;
    for (const dir of ['extauth-gloo-auth', 'mesh-bookinfo', 'import-export-service', 'advanced-4-workload-selectors', 'access-policy-defaults', 'conflict-merging-and-phases']) {
      const base = scan(dir);
      slices += base.filter((r) => r.kind === 'EndpointSlice').length;
      for (const slice of base.filter((r) => r.kind === 'EndpointSlice')) {
        const core = createCore();
        core(base);
        const moved = replace(base, slice.metadata.namespace, slice.metadata.name, (r) => withAddresses(r, ['10.1.2.3', '10.1.2.4']));
        expect(JSON.stringify(core(moved)), `${dir} ${slice.metadata.name}`).toBe(JSON.stringify(computeCore(moved)));
        // A route table's labels change (routing and attachment run again over the patched memos).
        const table = moved.find((r) => r.kind === 'RouteTable')!;
        const relabelled = moved.map((r) => (r === table ? ({ ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, edited: 'yes' } } } as Resource) : r));
        expect(JSON.stringify(core(relabelled)), `${dir} ${slice.metadata.name} then a table`).toBe(JSON.stringify(computeCore(relabelled)));
        // And a policy's.
        const policy = relabelled.find((r) => r.kind.endsWith('Policy'));
        if (policy) {
          const edited = relabelled.map((r) => (r === policy ? ({ ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, edited: 'yes' } } } as Resource) : r));
          expect(JSON.stringify(core(edited)), `${dir} ${slice.metadata.name} then a policy`).toBe(JSON.stringify(computeCore(edited)));
        }
      }
    }
    // Most moves take the patch (a selector-less Service whose slices name Pods computes in full).
    expect(endpointWork.patches - patchesBefore).toBeGreaterThan(slices / 2);
  });
});
