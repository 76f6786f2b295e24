// Several clusters in one computation (issue 14, item 8): a management
// cluster's config and two workload clusters' apps, one directory each.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterDirs, scanClusterDirs } from '../../src/cli/clusters.js';
import { computeCore } from '../../src/core/index.js';
import { coreSettings } from '../../src/settings.js';
import { translateAll } from '../../src/translate/index.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, 'test/fixtures/scenarios/multi-cluster');
const CLUSTERS = ['mgmt', 'workload-1', 'workload-2'];
const load = (clusters = CLUSTERS) => {
  const set = scanClusterDirs(clusterDirs(clusters.map((c) => join(FIXTURE, c)), clusters));
  return computeCore(set.resources, coreSettings({ clusterName: clusters[0] }), set.rejected);
};

describe('clusters', () => {
  const core = load();
  const route = (name: string) => core.ir.routes.find((r) => r.route === name)!;
  const endpointsOf = (name: string) => {
    const r = route(name);
    const clusters = r.action.type === 'forward' ? r.action.destinations.map((d) => d.cluster) : [];
    return core.ir.backends.filter((b) => clusters.includes(b.cluster)).flatMap((b) => b.endpoints.map((e) => e.address));
  };

  it('a destination ref names the cluster its Service lives in', () => {
    expect(endpointsOf('one')).toEqual(['10.1.0.1']);
    expect(endpointsOf('two')).toEqual(['10.2.0.1']);
    expect(core.ir.backends.map((b) => b.cluster)).toContain('svc/frontend/nginx@workload-1:80@frontend');
  });

  it('namespaces are per cluster: the same name is owned per cluster, by name or by the Namespace labels there', () => {
    expect(core.status['Service/frontend/nginx@workload-1'].state).toBe('ACCEPTED');
    expect(core.status['Service/frontend/nginx@workload-2'].state).toBe('ACCEPTED');
    expect(core.ir.destinations.filter((d) => d.name === 'nginx').map((d) => d.owner)).toEqual(['frontend', 'frontend']);
    expect(core.status['Namespace//frontend@workload-2'].state).toBe('ACCEPTED');
  });

  it('a ref without a cluster means the referrer\'s cluster; an unknown cluster is an error that says which exist', () => {
    expect(route('local').errors.join()).toContain('destination Service frontend/nginx not found in cluster "mgmt"');
    expect(route('typo').errors.join()).toContain('cluster "workload-9" is not one meshplane reads (clusters: mgmt, workload-1, workload-2)');
    expect(route('one').valid && route('two').valid).toBe(true);
  });

  it('policy selectors match the destination\'s cluster', () => {
    const b1 = core.ir.backends.find((b) => b.resourceCluster === 'workload-1')!;
    const b2 = core.ir.backends.find((b) => b.resourceCluster === 'workload-2')!;
    expect(b1.clientPolicies.map((p) => p.name)).toEqual(['sticky']);
    expect(b2.clientPolicies).toEqual([]);
    expect(core.status['LoadBalancerPolicy/frontend-config/sticky'].counters?.destinationsSelected).toBe(1);
  });

  it('encodes for Envoy', () => {
    for (const [, res] of translateAll(core.ir, { listenerAddress: '0.0.0.0' })) expect(buildSnapshot(res, true).cluster.resources.size).toBeGreaterThan(0);
  });

  it('the management cluster alone cannot resolve the workload clusters\' Services', () => {
    const alone = load(['mgmt']);
    // With a single cluster, every ref is into it: the Services simply are not there.
    expect(alone.ir.routes.find((r) => r.route === 'one')!.errors.join()).toContain('destination Service frontend/nginx not found');
  });

  it('explain takes one --config-dir per --cluster-name', () => {
    const args = CLUSTERS.flatMap((c) => ['--config-dir', join(FIXTURE, c), '--cluster-name', c]);
    const run = spawnSync(process.execPath, ['bin/meshplane.js', 'explain', ...args, '--output', 'json'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { routes: Array<{ route: string; valid: boolean }> };
    expect(out.routes.filter((r) => r.valid).map((r) => r.route).sort()).toEqual(['one', 'two']);
    const bad = spawnSync(process.execPath, ['bin/meshplane.js', 'explain', '--config-dir', join(FIXTURE, 'mgmt'), '--config-dir', join(FIXTURE, 'workload-1')], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('give one --cluster-name per --config-dir');
  });
});
