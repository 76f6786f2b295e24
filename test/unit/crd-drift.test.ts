// The CRDs and the chart's RBAC are generated from the zod kind table; this
// fails when someone changes a schema or adds a kind without regenerating.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRD_DIRS, generatedFiles, ROOT } from '../../scripts/kube-generate.js';
import { allCrds, structural, type OpenApiSchema } from '../../src/sources/kubernetes/crds.js';
import { CUSTOM_KINDS, KUBE_KINDS, collectionPath, pluralOf } from '../../src/sources/kubernetes/kinds.js';
import { clusterRules } from '../../src/sources/kubernetes/rbac.js';
import { KINDS } from '../../src/resources/schema.js';

const STALE = 'is stale: run `npm run kube:generate` after changing src/resources/schema.ts';

describe('generated Kubernetes files', () => {
  const files = generatedFiles();

  it('are what the kind table generates today', () => {
    for (const [path, content] of files) {
      const abs = join(ROOT, path);
      expect(existsSync(abs), `${path} is missing: run \`npm run kube:generate\``).toBe(true);
      expect(readFileSync(abs, 'utf8'), `${path} ${STALE}`).toBe(content);
    }
  });

  it('include no CRD of a kind that is gone', () => {
    for (const dir of CRD_DIRS) for (const f of readdirSync(join(ROOT, dir))) expect(files.has(`${dir}/${f}`), `${dir}/${f} ${STALE}`).toBe(true);
  });
});

/** Kubernetes' structural schema rules, as far as our generator can break them. */
function structuralProblems(s: OpenApiSchema, path: string, out: string[]): string[] {
  const keys = Object.keys(s);
  for (const bad of ['$ref', 'anyOf', 'oneOf', 'allOf', 'definitions', '$defs', 'default', 'required', 'enum', 'additionalProperties']) {
    if (bad === 'additionalProperties' && !s.properties) continue;
    if (keys.includes(bad)) out.push(`${path}: has ${bad}`);
  }
  if (!s.type && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-int-or-string']) out.push(`${path}: no type`);
  if (s.type === 'array' && !s.items) out.push(`${path}: array without items`);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, OpenApiSchema>)) structuralProblems(v, `${path}.${k}`, out);
  if (s.items) structuralProblems(s.items as OpenApiSchema, `${path}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') structuralProblems(s.additionalProperties as OpenApiSchema, `${path}{}`, out);
  return out;
}

describe('CRDs', () => {
  it('exist for every Gloo kind in the table, with status subresource and state columns', () => {
    const crds = allCrds();
    expect(crds.map((c) => (c.spec.names as { kind: string }).kind).sort()).toEqual(CUSTOM_KINDS.map((k) => k.kind).sort());
    for (const crd of crds) {
      const v = (crd.spec.versions as Array<Record<string, any>>)[0];
      expect(v.subresources).toEqual({ status: {} });
      expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).toContain('State');
      expect(structuralProblems(v.schema.openAPIV3Schema, crd.metadata.name, [])).toEqual([]);
    }
  });

  it('keep types and shape but leave the rules to meshplane', () => {
    const rt = allCrds().find((c) => c.metadata.name === 'routetables.networking.gloo.solo.io')!;
    const spec = (rt.spec.versions as any)[0].schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.hosts).toEqual({ type: 'array', items: { type: 'string' } });
    expect(spec.properties.weight).toEqual({ type: 'integer' });
    // Unknown fields are kept, so meshplane can report them with their path instead of the API server pruning them.
    expect(spec['x-kubernetes-preserve-unknown-fields']).toBe(true);
    const route = spec.properties.http.items;
    expect(route.properties.forwardTo.properties.destinations.items.properties.kind).toEqual({ type: 'string' });
  });

  it('stop recursion and unions at "any value"', () => {
    const refs = { d: { type: 'object', properties: { child: { $ref: '#/definitions/d' }, n: { type: 'integer' } } } };
    expect(structural({ $ref: '#/definitions/d' }, refs)).toEqual({
      type: 'object',
      properties: { child: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, n: { type: 'integer' } },
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(structural({ anyOf: [{ type: 'integer' }, { type: 'string' }] }, {})).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(structural({ anyOf: [{ type: 'string' }, { type: 'null' }] }, {})).toEqual({ type: 'string', nullable: true });
    expect(structural({ anyOf: [{ type: 'object' }, { type: 'array', items: {} }] }, {})).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
  });
});

describe('watched kinds', () => {
  it('cover the whole kind table with Gloo plural names', () => {
    expect(KUBE_KINDS.map((k) => k.kind).sort()).toEqual(Object.keys(KINDS).sort());
    expect(pluralOf('AccessPolicy')).toBe('accesspolicies');
    expect(pluralOf('WorkspaceSettings')).toBe('workspacesettings');
    expect(pluralOf('RateLimitServerSettings')).toBe('ratelimitserversettings');
    expect(pluralOf('EndpointSlice')).toBe('endpointslices');
    expect(pluralOf('Secret')).toBe('secrets');
    const by = (kind: string) => KUBE_KINDS.find((k) => k.kind === kind)!;
    expect(collectionPath(by('RouteTable'))).toBe('/apis/networking.gloo.solo.io/v2/routetables');
    expect(collectionPath(by('Service'), 'apps')).toBe('/api/v1/namespaces/apps/services');
    expect(collectionPath(by('Namespace'), 'ignored')).toBe('/api/v1/namespaces');
    expect(collectionPath(by('EndpointSlice'))).toBe('/apis/discovery.k8s.io/v1/endpointslices');
    expect(by('Service').custom).toBe(false);
    expect(by('Workspace').custom).toBe(true);
  });

  it('are exactly what the ClusterRole lets meshplane list and watch', () => {
    const rules = clusterRules();
    const readable = rules.filter((r) => r.verbs.join() === 'list,watch').flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`));
    expect(readable.sort()).toEqual(KUBE_KINDS.map((k) => `${k.group}/${k.plural}`).sort());
    const writable = rules.filter((r) => r.verbs.join() === 'patch').flatMap((r) => r.resources);
    expect(writable.sort()).toEqual(CUSTOM_KINDS.map((k) => `${k.plural}/status`).sort());
  });
});
