// Defect class 2 (issue 9): selector globs matched by a backtracking regex; a
// 14-character pattern against a 60-character name blocked the event loop for
// 10 s. Globs now match in linear time, and names and patterns have the
// Kubernetes length limits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore } from '../../../src/core/index.js';
import { globMatch } from '../../../src/core/match.js';
import { validateResource } from '../../../src/resources/schema.js';
import { gateway, res, routeTable, service, settings, workspace } from '../../support/build.js';

/** The old definition, as a reference on inputs small enough for it. */
const reference = (pattern: string, value: string) => new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's').test(value);

describe('glob matching', () => {
  it('agrees with the regex definition on every small pattern and value', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '-', '.'), maxLength: 12 });
    const pattern = fc.string({ unit: fc.constantFrom('a', 'b', '*', '-', '.'), maxLength: 8 });
    fc.assert(fc.property(pattern, text, (p, v) => globMatch(p, v) === reference(p, v)), { numRuns: 5000 });
  });

  it('answers the pathological patterns at once (these took seconds each with backtracking)', () => {
    const name = 'a'.repeat(60);
    const patterns = ['a*a*a*a*a*a*a*b', '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c', `${'*a'.repeat(120)}*`];
    // Run each many times: with the old matcher this loop alone would run for hours.
    for (let i = 0; i < 2000; i++) {
      expect(globMatch(patterns[0], name)).toBe(false);
      expect(globMatch(patterns[1], name)).toBe(false);
      expect(globMatch(patterns[2], 'a'.repeat(120))).toBe(true);
      expect(globMatch(patterns[2], 'a'.repeat(119))).toBe(false);
    }
  });

  it('keeps core computation fast with a long glob in every selector kind', () => {
    const evil = 'a*a*a*a*a*a*a*a*a*a*a*a*b';
    const ns = 'a'.repeat(60);
    const input = [
      res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'evil', namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: evil, namespaces: [{ name: evil }] }] } }),
      workspace('team', [ns]),
      settings('team', ns, { exportTo: [{ workspaces: [{ name: evil }], resources: [{ kind: 'ALL', name: evil, namespace: evil }] }] }),
      gateway(ns),
      ...service(ns, 'web'),
      routeTable(ns, 'a'.repeat(60), [{ name: 'd', delegate: { routeTables: [{ name: evil, namespace: evil }, { workspace: evil }] } }], { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] }),
    ];
    const core = computeCore(input);
    expect(core.status[`RouteTable/${ns}/${'a'.repeat(60)}`].state).toBe('WARNING'); // delegates to nothing
  });
});

describe('Kubernetes length limits', () => {
  const rt = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}) => validateResource({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata, spec });
  const problems = (r: ReturnType<typeof rt>) => (r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`));

  it('refuses names, namespaces, label keys and values over the limits, with the field path', () => {
    expect(problems(rt({ name: 'x'.repeat(254) }))).toEqual(['metadata.name: must be at most 253 characters (the Kubernetes name limit)']);
    expect(problems(rt({ name: 'ok', namespace: 'n'.repeat(64) }))[0]).toMatch(/^metadata.namespace: must be at most 63 characters/);
    expect(problems(rt({ name: 'ok', labels: { ['k'.repeat(64)]: 'v' } }))[0]).toMatch(/^metadata.labels.k{64}: label key/);
    expect(problems(rt({ name: 'ok', labels: { k: 'v'.repeat(64) } }))[0]).toMatch(/^metadata.labels.k: label value must be at most 63/);
    expect(problems(rt({ name: 'ok', labels: { 'gateway.gloo.solo.io/require_auth': 'true', 'app.kubernetes.io/name': 'x' } }))).toEqual([]);
  });

  it('refuses selector globs longer than any name they could match', () => {
    const long = '*'.repeat(300);
    const r = rt({ name: 'ok' }, { http: [{ name: 'd', delegate: { routeTables: [{ name: long }] } }] });
    expect(problems(r)).toEqual(['spec.http[0].delegate.routeTables[0].name: must be at most 253 characters (the Kubernetes name limit)']);
  });

  it('checks the length before any pattern, so a megabyte name costs nothing', () => {
    const huge = 'a'.repeat(5_000_000) + '!';
    expect(problems(rt({ name: huge }))[0]).toMatch(/metadata.name: must be at most 253/);
    expect(problems(rt({ name: 'ok', labels: { k: huge } }))[0]).toMatch(/label value must be at most 63/);
  });
});
