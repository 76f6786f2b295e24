// Mesh mode in the core and translator: which workloads get sidecar config,
// what they may reach, what their inbound side enforces (seed 04, §6).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sidecarKey } from '../../src/ir/keys.js';
import type { WorkloadIR } from '../../src/ir/types.js';
import { translateAll } from '../../src/translate/index.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';
import { loadScenario } from '../support/scenario.js';

const DIR = join(import.meta.dirname, '../fixtures/scenarios/mesh-bookinfo');
const core = loadScenario(DIR);
const wl = (ref: string): WorkloadIR => {
  const w = core.ir.mesh?.workloads.find((x) => x.ref === ref);
  if (!w) throw new Error(`no workload ${ref}; have ${core.ir.mesh?.workloads.map((x) => x.ref).join(', ')}`);
  return w;
};
const resources = translateAll(core.ir, { listenerAddress: '0.0.0.0' });

describe('mesh workloads', () => {
  it('gives every Pod with a sidecar an identity from its service account', () => {
    expect(core.ir.mesh!.workloads.map((w) => w.ref)).toEqual(['bookinfo-backends/ratings-1', 'bookinfo-backends/reviews-1', 'bookinfo-frontends/productpage-1', 'outsiders/curl-1']);
    expect(wl('bookinfo-frontends/productpage-1').spiffeId).toBe('spiffe://cluster.local/ns/bookinfo-frontends/sa/bookinfo-productpage');
  });

  it('reaches what its workspace owns or imports, and nothing else', () => {
    const names = (ref: string) => wl(ref).outbound.services.map((s) => `${s.namespace}/${s.name}`).sort();
    expect(names('bookinfo-frontends/productpage-1')).toEqual(['bookinfo-backends/ratings', 'bookinfo-backends/reviews', 'bookinfo-frontends/productpage']);
    expect(names('outsiders/curl-1')).toEqual(['outsiders/curl']);
    const clusters = resources.get(sidecarKey('outsiders/curl-1'))!.cluster.map((c) => c.name);
    expect(clusters.some((c) => c.includes('ratings'))).toBe(false);
  });

  it('enforces the owner\'s AccessPolicy on the destination\'s inbound port, not the importer\'s', () => {
    const inbound = wl('bookinfo-backends/ratings-1').inbound;
    expect(inbound).toHaveLength(1);
    expect(inbound[0]).toMatchObject({ port: 9080, tlsMode: 'STRICT' });
    expect(inbound[0].policies.map((p) => p.name)).toEqual(['ratings-access']);
    expect(wl('bookinfo-backends/reviews-1').inbound[0].policies).toEqual([]);
    expect(wl('bookinfo-backends/reviews-1').notEnforced.map((p) => p.name)).toContain('frontends-on-reviews');
    expect(core.status['AccessPolicy/bookinfo-backends/ratings-access'].messages.join()).not.toContain('no enforcement point');
  });

  it('turns the policy into RBAC with the client\'s SPIFFE ID and the path prefix', () => {
    const inbound = resources.get(sidecarKey('bookinfo-backends/ratings-1'))!.listener.find((l) => l.name === 'inbound')!;
    const text = JSON.stringify(inbound.body);
    expect(text).toContain('"exact":"spiffe://cluster.local/ns/bookinfo-frontends/sa/bookinfo-productpage"');
    expect(text).toContain('"prefix":"/ratings"');
    // STRICT: only a TLS filter chain for the port.
    const chains = (inbound.body.filterChains as Array<{ name: string }>).map((c) => c.name);
    expect(chains).toEqual(['inbound|9080|mtls']);
  });

  it('uses mTLS to endpoints with sidecars and the importer\'s client-side policy on its default route', () => {
    const r = resources.get(sidecarKey('bookinfo-frontends/productpage-1'))!;
    const reviews = r.cluster.find((c) => c.name === 'svc/bookinfo-backends/reviews:9080@bookinfo-frontends')!;
    expect(JSON.stringify(reviews.body)).toContain('spiffe://cluster.local/ns/bookinfo-backends/sa/bookinfo-reviews');
    const rc = r.route.find((x) => x.name === 'outbound|9080|bookinfo-frontends')!;
    const vh = (rc.body.virtualHosts as Array<{ name: string; domains: string[]; routes: unknown[] }>).find((v) => v.name === 'svc/bookinfo-backends/reviews:9080')!;
    expect(vh.domains).toContain('reviews.bookinfo-backends.svc.cluster.local');
    expect(vh.domains).toContain('10.96.0.12');
    expect(JSON.stringify(vh.routes)).toContain('x-caller-workspace');
  });

  it('encodes every sidecar resource with known fields only', () => {
    for (const [key, res] of resources) if (key.startsWith('sidecar:')) expect(() => buildSnapshot(res, true)).not.toThrow();
  });
});
