// A namespace that holds only policies (a common layout: a team's policies in
// their own namespace) belongs to the workspace that selects it.
import { describe, expect, it } from 'vitest';
import { computeCore, createCore } from '../../src/core/index.js';
import { forward, gateway, policy, routeTable, service, settings, workspace } from '../support/build.js';

const RES = 'resilience.policy.gloo.solo.io/v2';
describe('namespaces known only from policies', () => {
  it('are claimed by their workspace, and the memoised core agrees', () => {
    const base = [workspace('team', ['apps', 'team-policies']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web'),
      routeTable('apps', 'root', [forward('r', 'web', { val: 'foo' })], { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] })];
    const p = policy('RetryTimeoutPolicy', RES, 'team-policies', 'retries', { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: { requestTimeout: '1s' } });
    const core = computeCore([...base, p]);
    expect(core.status['RetryTimeoutPolicy/team-policies/retries'].state).toBe('ACCEPTED');
    expect(core.ir.routes[0].policies.map((x) => x.name)).toEqual(['retries']);
    const memo = createCore();
    memo(base);
    expect(JSON.stringify(memo([...base, p]))).toBe(JSON.stringify(core));
  });
});
