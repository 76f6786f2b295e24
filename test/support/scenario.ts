// Loads a fixture directory the way `meshplane explain` does and checks it
// against the directory's expected.yaml.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { computeCore } from '../../src/core/index.js';
import { destinationKey, explainPolicies, type PolicyExplanation } from '../../src/core/explain.js';
import type { CoreResult, FinalRoute, PolicyRef } from '../../src/ir/types.js';
import { coreSettings } from '../../src/settings.js';
import { CreationClock, ManifestDirectory } from '../../src/sources/file.js';

export interface RouteExpectation {
  path: string;
  gateway?: string | null;
  labels?: Record<string, string>;
  policies?: string[];
  skipped?: string[];
  workspace?: string;
  valid?: boolean;
  errors?: string[]; // substrings
  workloadSelector?: Record<string, string>;
  matchers?: unknown[];
  endpoints?: string[];
  status?: number; // for direct responses
  /** Policy ("Kind ns/name") -> "applied" or the skip reason explain gives. */
  why?: Record<string, string>;
}

export interface Expected {
  featureGates?: string;
  partial?: boolean;
  routes?: RouteExpectation[];
  order?: string[];
  status?: Record<string, string>;
  statusMessages?: Record<string, string[]>;
  destinations?: Array<{ kind: string; namespace: string; name: string; consumer: string; clientPolicies?: string[]; serverPolicies?: string[]; why?: Record<string, string> }>;
}

export const pathOf = (r: FinalRoute): string => r.path.map((p) => `${p.table}:${p.route}`).join(' > ');
export const refName = (p: PolicyRef): string => `${p.kind} ${p.namespace}/${p.name}`;

export function loadScenario(dir: string, featureGates?: string): CoreResult {
  return loadScenarioWithInputs(dir, featureGates).core;
}

function loadScenarioWithInputs(dir: string, featureGates?: string): { core: CoreResult; why: PolicyExplanation } {
  const set = new ManifestDirectory(dir, new CreationClock(undefined, false), ['expected.yaml']).scan();
  const settings = coreSettings({ featureGates });
  const core = computeCore(set.resources, settings, set.rejected);
  return { core, why: explainPolicies(set.resources, settings, core) };
}

/** Each policy's verdict on a route or destination: "applied" or its skip reason. */
function verdicts(v: { applied: PolicyRef[]; skipped: Array<PolicyRef & { reason: string }> } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of v?.applied ?? []) out[refName(p)] = 'applied';
  for (const p of v?.skipped ?? []) out[refName(p)] ??= p.reason;
  return out;
}

export function checkScenario(dir: string): CoreResult {
  const expected = parse(readFileSync(join(dir, 'expected.yaml'), 'utf8')) as Expected;
  const { core, why } = loadScenarioWithInputs(dir, expected.featureGates);
  const routes = core.ir.routes;
  for (const want of expected.routes ?? []) {
    const matches = routes.filter((r) => pathOf(r) === want.path && (want.gateway === undefined || r.gateway === want.gateway));
    expect(matches.length, `route ${want.path}; routes are: ${routes.map(pathOf).join(' | ')}`).toBeGreaterThan(0);
    const r = matches[0];
    const ctx = `route ${want.path}`;
    if (want.labels) expect(r.labels, ctx).toEqual(want.labels);
    if (want.policies) expect(r.policies.map(refName).sort(), ctx).toEqual([...want.policies].sort());
    if (want.skipped) expect(r.skipped.map(refName).sort(), ctx).toEqual([...want.skipped].sort());
    if (want.workspace) expect(r.workspace, ctx).toBe(want.workspace);
    if (want.valid !== undefined) expect(r.valid, `${ctx}: ${r.errors.join('; ')}`).toBe(want.valid);
    else expect(r.errors, ctx).toEqual([]);
    for (const e of want.errors ?? []) expect(r.errors.join('\n'), ctx).toContain(e);
    if (want.workloadSelector) expect(r.workloadSelector, ctx).toEqual(want.workloadSelector);
    if (want.why) expect(verdicts(why.routes.get(r.id)), `${ctx}: why each policy does or does not apply`).toEqual(want.why);
    if (want.matchers) expect(r.matchers, ctx).toEqual(want.matchers);
    if (want.status) expect(r.action.type === 'directResponse' ? r.action.status : r.action.type, ctx).toBe(want.status);
    if (want.endpoints) {
      expect(r.action.type, ctx).toBe('forward');
      const clusters = r.action.type === 'forward' ? r.action.destinations.map((d) => d.cluster) : [];
      const eps = core.ir.backends.filter((b) => clusters.includes(b.cluster)).flatMap((b) => b.endpoints.map((e) => e.address));
      expect(eps.sort(), ctx).toEqual([...want.endpoints].sort());
    }
  }
  if (expected.routes && !expected.partial) {
    expect(routes.map(pathOf).sort(), 'every final route is expected').toEqual(expected.routes.map((r) => r.path).sort());
  }
  if (expected.order) {
    const actual = routes.map(pathOf).filter((p) => expected.order!.includes(p));
    expect(actual).toEqual(expected.order);
  }
  for (const [key, state] of Object.entries(expected.status ?? {})) {
    expect(core.status[key]?.state, `status of ${key}: ${JSON.stringify(core.status[key])}`).toBe(state);
  }
  for (const [key, msgs] of Object.entries(expected.statusMessages ?? {})) {
    for (const m of msgs) expect(core.status[key]?.messages.join('\n') ?? '', `status messages of ${key}`).toContain(m);
  }
  for (const d of expected.destinations ?? []) {
    const got = core.ir.destinations.find((x) => x.kind === d.kind && x.namespace === d.namespace && x.name === d.name && x.consumer === d.consumer);
    expect(got, `destination ${d.kind} ${d.namespace}/${d.name} for ${d.consumer}`).toBeDefined();
    if (d.clientPolicies) expect(got!.clientPolicies.map(refName).sort(), `client policies of ${d.name}@${d.consumer}`).toEqual([...d.clientPolicies].sort());
    if (d.serverPolicies) expect(got!.serverPolicies.map(refName).sort(), `server policies of ${d.name}@${d.consumer}`).toEqual([...d.serverPolicies].sort());
    if (d.why) expect(verdicts(why.destinations.get(destinationKey(got!))), `why policies do or do not apply to ${d.name}@${d.consumer}`).toEqual(d.why);
  }
  return core;
}

export const hasExpected = (dir: string) => existsSync(join(dir, 'expected.yaml'));
