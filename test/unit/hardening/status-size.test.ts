// Defect class 7 (issue 9): N Workspaces claiming one namespace made O(N^2)
// status text (3,000 workspaces: 78 MB). Status is now O(number of resources):
// messages name a bounded number of others, and each resource keeps its first
// MAX_MESSAGES_PER_RESOURCE messages and a count of the rest.
import { describe, expect, it } from 'vitest';
import { computeCore } from '../../../src/core/index.js';
import { MAX_MESSAGES_PER_RESOURCE } from '../../../src/core/status.js';
import type { Resource } from '../../../src/resources/schema.js';
import { forward, gateway, policy, res, routeTable, service, settings, workspace } from '../../support/build.js';

const statusBytes = (resources: Resource[]) => JSON.stringify(computeCore(resources).status).length;

describe('status size', () => {
  it('grows linearly with the number of workspaces claiming one namespace', () => {
    const claim = (n: number) => [res({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } }), ...Array.from({ length: n }, (_, i) => workspace(`ws-${String(i).padStart(5, '0')}`, ['shared']))];
    const small = statusBytes(claim(300));
    const large = statusBytes(claim(3000));
    expect(large / small).toBeLessThan(12); // linear: ~10x; quadratic would be ~100x
    expect(large / 3000).toBeLessThan(600); // bytes per workspace stay bounded
    const st = computeCore(claim(3000)).status['Workspace/gloo-mesh/ws-00000'];
    expect(st.state).toBe('INVALID');
    expect(st.messages[0]).toMatch(/selected by 3000 workspaces \(ws-00000, ws-00001, ws-00002, ws-00003, ws-00004 and 2995 more\)/);
  });

  it('keeps the first messages of a resource and counts the rest', () => {
    const RES = 'resilience.policy.gloo.solo.io/v2';
    const routes = Array.from({ length: 500 }, (_, i) => forward(`r${i}`, 'web', { team: 'a' }));
    const input = [
      workspace('team', ['apps']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web'),
      routeTable('apps', 'root', routes, { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] }),
      policy('RetryTimeoutPolicy', RES, 'apps', 'old', { applyToRoutes: [{ route: { labels: { team: 'a' } } }], config: { requestTimeout: '1s' } }, '2024-01-01T00:00:00Z'),
      policy('RetryTimeoutPolicy', RES, 'apps', 'new', { applyToRoutes: [{ route: { labels: { team: 'a' } } }], config: { requestTimeout: '2s' } }, '2024-01-02T00:00:00Z'),
    ];
    const st = computeCore(input).status['RetryTimeoutPolicy/apps/new'];
    expect(st.state).toBe('WARNING');
    expect(st.messages).toHaveLength(MAX_MESSAGES_PER_RESOURCE + 1);
    expect(st.messages[MAX_MESSAGES_PER_RESOURCE]).toBe(`... and ${500 - MAX_MESSAGES_PER_RESOURCE} more messages (only the first ${MAX_MESSAGES_PER_RESOURCE} are kept)`);
    expect(st.counters?.routesSelected).toBe(500);
  });
});
