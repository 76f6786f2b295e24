// The built-in CA: SPIFFE workload certificates that chain to the root,
// renewal before expiry, the root kept in the state directory, and who may
// have a sidecar's config over mTLS.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MeshCA } from '../../src/ca/ca.js';
import { WorkloadCertificates } from '../../src/ca/workload-certs.js';
import { authorize, nodeInfo, proxyKey } from '../../src/xds/identity.js';
import pino from 'pino';
import type { CoreResult } from '../../src/ir/types.js';
import { MeshServing } from '../../src/mesh-serving.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';

const ID = 'spiffe://cluster.local/ns/bookinfo/sa/productpage';

describe('mesh CA', () => {
  it('issues certificates with the SPIFFE ID as URI SAN, signed by the root', async () => {
    const ca = await MeshCA.generate('cluster.local');
    const c = await ca.issue({ uris: [ID], lifetimeMs: 60_000 });
    const cert = new X509Certificate(c.certPem);
    expect(cert.subjectAltName).toBe(`URI:${ID}`);
    expect(cert.verify(new X509Certificate(ca.rootPem).publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('generates the root once and reuses it from the state directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mesh-ca-')), 'state');
    const a = await MeshCA.loadOrCreate({ trustDomain: 'cluster.local', stateDir: dir });
    const b = await MeshCA.loadOrCreate({ trustDomain: 'cluster.local', stateDir: dir });
    expect(b.rootPem).toBe(a.rootPem);
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const fromFiles = await MeshCA.loadOrCreate({ trustDomain: 'cluster.local', stateDir: '/nonexistent', certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca-key.pem') });
    expect(fromFiles.rootPem).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
    await expect(MeshCA.loadOrCreate({ trustDomain: 'x', stateDir: dir, certFile: join(dir, 'ca.pem') })).rejects.toThrow(/--ca-key/);
  });

  it('renews a certificate after half its lifetime and says whose', async () => {
    const renewed: string[][] = [];
    const certs = new WorkloadCertificates(() => MeshCA.generate('cluster.local'), { lifetimeMs: 61_000 + 400, onRenew: (ids) => renewed.push(ids) });
    await certs.ensure([ID]);
    const first = certs.current(ID)!;
    expect(certs.secrets(ID).map((s) => s.name)).toEqual(['default', 'ROOTCA']);
    await certs.renewDue();
    expect(renewed).toEqual([]); // backdated by 60 s, so half of 61.4 s is reached at +0.7 s
    await new Promise((r) => setTimeout(r, 900));
    await certs.renewDue();
    expect(renewed).toEqual([[ID]]);
    expect(certs.current(ID)!.serial).not.toBe(first.serial);
  });
});

describe('certificate renewal reaches the sidecar snapshot', () => {
  const empty = () => ({ listener: [], route: [], cluster: [], endpoint: [], secret: [] });
  const secret = (name: string, chain: string) => ({ name, body: { name, tlsCertificate: { certificateChain: { inlineString: chain } } } });

  it('of several resources with one name, the last is served and versioned', () => {
    const twice = buildSnapshot({ ...empty(), secret: [secret('default', 'old'), secret('default', 'new')] });
    const once = buildSnapshot({ ...empty(), secret: [secret('default', 'new')] });
    expect(twice.secret.version).toBe(once.secret.version);
    expect(twice.secret.resources.get('default')!.version).toBe(once.secret.resources.get('default')!.version);
  });

  it('a renewed certificate replaces the served one: a new secret version, still one secret per name', async () => {
    const certs = new WorkloadCertificates(() => MeshCA.generate('cluster.local'), { lifetimeMs: 61_000 + 400 });
    const cache = new SnapshotCache();
    const mesh = new MeshServing(cache, pino({ level: 'silent' }), certs);
    const key = 'sidecar:bookinfo/productpage-1';
    await certs.ensure([ID]);
    mesh.begin({ ir: { mesh: { trustDomain: 'cluster.local', workloads: [{ ref: 'bookinfo/productpage-1', spiffeId: ID }], upstreamTls: {}, gateways: {} } }, status: {} } as unknown as CoreResult);
    const resources = mesh.withSecrets(key, empty());
    const next = new Map([[key, buildSnapshot(resources)]]);
    cache.setAll(next);
    mesh.done(next, () => resources);
    const before = cache.get(key)!.secret.version;
    await new Promise((r) => setTimeout(r, 900));
    await certs.renewDue();
    mesh.republish([ID]);
    expect(cache.get(key)!.secret.version).not.toBe(before);
    expect([...cache.get(key)!.secret.resources.keys()]).toEqual(['ROOTCA', 'default']);
  });
});

describe('sidecar identity on the xDS port', () => {
  const node = nodeInfo({ id: 'pp', metadata: { fields: { role: { stringValue: 'sidecar' }, namespace: { stringValue: 'bookinfo' }, name: { stringValue: 'productpage-1' } } } })!;
  const key = proxyKey(node)!;
  const cert = (uri: string) => ({ subjectaltname: `URI:${uri}` }) as PeerCertificate;
  const lookup = (k: string) => (k === key ? ID : undefined);

  it('names the Pod in the sidecar key space', () => expect(key).toBe('sidecar:bookinfo/productpage-1'));
  it('lets a sidecar in with the certificate of its own service account only', () => {
    expect(authorize(key, true, cert(ID), lookup)).toEqual({ ok: true });
    expect(authorize(key, true, cert('spiffe://cluster.local/ns/bookinfo/sa/reviews'), lookup)).toMatchObject({ ok: false, reason: expect.stringContaining('runs as') });
    expect(authorize(key, true, undefined, lookup)).toMatchObject({ ok: false });
    expect(authorize('sidecar:bookinfo/unknown', true, cert(ID), lookup)).toMatchObject({ ok: false, reason: expect.stringContaining('no Pod') });
  });
});
