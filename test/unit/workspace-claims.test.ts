// Which workspace owns a namespace (semantics §1): the index looks only at the
// workspaces whose selectors can name it (literal names by name, globs and
// label-only selectors always). It must decide exactly what checking every
// workspace decides: owners, and the conflict reports with their claimant order.
import { describe, expect, it } from 'vitest';
import { globMatch, labelsMatch, byAge } from '../../src/core/match.js';
import { StatusBook } from '../../src/core/status.js';
import { indexWorkspaces, type NamespaceInfo } from '../../src/core/workspaces.js';
import type { WorkspaceR } from '../../src/resources/schema.js';

/** A small deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

function estate(seed: number) {
  const pick = rng(seed);
  const nsNames = Array.from({ length: 12 }, (_, i) => `team-${i}`);
  const namespaces: NamespaceInfo[] = nsNames.map((name, i) => ({ name, labels: i % 3 === 0 ? { env: 'prod' } : { env: 'dev' } }));
  const selector = () => {
    switch (pick(5)) {
      case 0: return { name: 'team-*' };
      case 1: return { labels: { env: pick(2) ? 'prod' : 'dev' } };
      case 2: return { name: `team-${pick(3)}*`, labels: { env: 'prod' } };
      default: return { name: nsNames[pick(nsNames.length)] };
    }
  };
  const workspaces = Array.from({ length: 8 }, (_, w) => ({
    apiVersion: 'admin.gloo.solo.io/v2',
    kind: 'Workspace',
    metadata: { name: `ws-${w}`, namespace: 'gloo-mesh', creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, pick(4))).toISOString() },
    spec: { workloadClusters: [{ name: pick(4) ? '*' : 'other', namespaces: Array.from({ length: 1 + pick(3) }, selector) }] },
  })) as unknown as WorkspaceR[];
  return { workspaces, namespaces };
}

/** The rule checked against every workspace, oldest first. */
function claimantsByScan(workspaces: WorkspaceR[], ns: NamespaceInfo, clusterName: string): string[] {
  return [...workspaces]
    .sort(byAge)
    .filter((ws) => ws.spec.workloadClusters.some((wc) => globMatch(wc.name, ns.cluster ?? clusterName) && wc.namespaces.some((n) => (n.name === undefined || globMatch(n.name, ns.name)) && labelsMatch(n.labels, ns.labels))))
    .map((w) => w.metadata.name);
}

describe('namespace claims', () => {
  it('the claimant index decides what checking every workspace decides (200 random estates)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { workspaces, namespaces } = estate(seed);
      const status = new StatusBook();
      const index = indexWorkspaces(workspaces, [], namespaces, 'local', status);
      for (const ns of namespaces) {
        const claimants = claimantsByScan(workspaces, ns, 'local');
        expect(index.workspaceOf(ns.name), `seed ${seed}, namespace ${ns.name}`).toBe(claimants[0]);
        if (claimants.length > 1) {
          const report = status.get(`Workspace/gloo-mesh/${claimants[0]}`)!.messages.find((m) => m.startsWith(`namespace "${ns.name}"`));
          expect(report, `seed ${seed}, namespace ${ns.name}`).toContain(`selected by ${claimants.length} workspaces (${claimants.slice(0, 5).join(', ')}`);
        }
      }
    }
  });
});
