// `meshplane explain` answers "why does (or doesn't) this policy apply to my
// route" in one command, narrowed by --route or --policy, in json, yaml or table.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../..');
const explain = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'explain', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const scenario = (n: string) => join(ROOT, 'test/fixtures/scenarios', n);

describe('meshplane explain', () => {
  it('says why a policy from another workspace does not reach a route (seed 02, delegated scenario 4)', () => {
    const out = JSON.parse(explain('--config-dir', scenario('delegated-4-workspace-boundaries'), '--route', 'parent/parent:route-b'));
    expect(out.routes).toHaveLength(1);
    expect(out.routes[0].policies.map((p: { name: string }) => p.name)).toEqual(['policy-1']);
    expect(out.routes[0].skipped).toEqual([
      expect.objectContaining({ kind: 'FaultInjectionPolicy', namespace: 'child', name: 'policy-2', workspace: 'child-ws', reason: 'workspace-not-on-chain' }),
    ]);
    expect(out.routes[0].labelSources).toEqual({ val: 'table parent/parent' });
  });

  it('narrows to one policy and shows the label fold that decided (yaml output)', () => {
    const out = parse(explain('--config-dir', scenario('delegated-3-conflicting-labels'), '--policy', 'RetryTimeoutPolicy/parent/policy-1', '--output', 'yaml'));
    expect(out.routes).toHaveLength(1);
    expect(out.routes[0].policies).toEqual([]);
    expect(out.routes[0].skipped).toEqual([
      expect.objectContaining({ name: 'policy-1', reason: 'labels', labels: [{ key: 'val', want: 'foo', have: 'bar', setBy: 'table child/child' }] }),
    ]);
    expect(Object.keys(out.status)).toEqual(['RetryTimeoutPolicy/parent/policy-1']);
  });

  it('prints the reasons in the table view', () => {
    const out = explain('--config-dir', scenario('import-export-service'), '--output', 'table');
    expect(out).toMatch(/skipped RetryTimeoutPolicy:source\/source-client \[client-server-table\]/);
  });

  it('refuses an unknown output format with exit code 2', () => {
    expect(() => explain('--config-dir', scenario('basic-1-route-label'), '--output', 'xml')).toThrow(/--output must be json, yaml or table/);
  });
});
