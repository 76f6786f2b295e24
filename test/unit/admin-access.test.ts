// The admin API is not an open door: on a non-loopback address it needs a bearer
// token or a client certificate, and a tenant's certificate sees only its own
// workspace's resources, proxies and config.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer } from '../../src/admin/server.js';
import { computeCore } from '../../src/core/index.js';
import { translateAll } from '../../src/translate/index.js';
import { XdsServer } from '../../src/xds/server.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';
import { makePki } from '../support/certs.js';
import { forward, res, routeTable, service, settings, workspace } from '../support/build.js';

const NET = 'networking.gloo.solo.io/v2';
const tenants = () => {
  const gw = (ns: string) => res({ apiVersion: NET, kind: 'VirtualGateway', metadata: { name: 'gw', namespace: ns }, spec: { listeners: [{ port: { number: 8080 }, http: {} }] } });
  return ['a', 'b'].flatMap((t) => [workspace(t, [t]), settings(t, t), gw(t), ...service(t, 'web'), routeTable(t, 'root', [forward('r', 'web')], { hosts: [`${t}.example.com`], virtualGateways: [{ name: 'gw' }] })]);
};

function setup() {
  const core = computeCore(tenants());
  const cache = new SnapshotCache();
  cache.setAll(new Map([...translateAll(core.ir, { listenerAddress: '127.0.0.1' })].map(([k, v]) => [k, buildSnapshot(v)])));
  return { core, xds: new XdsServer(cache, pino({ level: 'silent' })) };
}

describe('admin API with a bearer token', () => {
  let server: Server;
  let port: number;
  const { core, xds } = setup();
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-admin-'));
    writeFileSync(join(dir, 'token'), 's3cret\n');
    server = await startAdminServer('127.0.0.1', 0, { core, generation: 1 }, xds, { tokenFile: join(dir, 'token') });
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}${path}`, { headers });

  it('keeps probes and metrics open, and refuses the debug views without the token', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    const r = await get('/debug/status');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/debug/status', { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await get('/debug/status', { authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(200);
    expect(Object.keys(await ok.json())).toEqual(expect.arrayContaining(['RouteTable/a/root', 'RouteTable/b/root']));
  });

  it('takes a CPU profile of the process for the admin, one at a time, for a sane duration', async () => {
    const auth = { authorization: 'Bearer s3cret' };
    expect((await get('/debug/pprof/profile?seconds=1')).status).toBe(401);
    for (const bad of ['0', '61', 'abc', '-1', '1e3']) {
      const r = await get(`/debug/pprof/profile?seconds=${bad}`, auth);
      expect(r.status, bad).toBe(400);
      expect((await r.json()).error).toMatch(/at most 60/);
    }
    const first = get('/debug/pprof/profile?seconds=0.5', auth);
    await new Promise((r) => setTimeout(r, 100));
    expect((await get('/debug/pprof/profile?seconds=0.5', auth)).status).toBe(409);
    const r = await first;
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toMatch(/meshplane\.cpuprofile/);
    const profile = await r.json();
    expect(profile.nodes.length).toBeGreaterThan(0);
    expect(profile.endTime).toBeGreaterThan(profile.startTime);
    expect((await get('/debug/pprof/profile?seconds=0.2', auth)).status).toBe(200); // free again
  });
});

describe('admin API with client certificates', () => {
  let server: Server;
  let port: number;
  const pki = makePki();
  const { core, xds } = setup();
  beforeAll(async () => {
    server = await startAdminServer('127.0.0.1', 0, { core, generation: 1 }, xds, { tls: { cert: pki.files.serverCert, key: pki.files.serverKey, clientCa: pki.files.ca } });
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());
  const get = (path: string, client?: { cert: string; key: string }) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, ca: pki.ca, servername: 'localhost', ...(client ?? {}) }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: body ? JSON.parse(body) : undefined }));
      });
      req.on('error', reject);
      req.end();
    });

  it('shows a tenant only its own workspace', async () => {
    const teamA = pki.withUri('team-a', 'spiffe://meshplane.test/workspace/a');
    const st = await get('/debug/status', teamA);
    expect(st.status).toBe(200);
    expect(Object.keys(st.body).some((k) => k.includes('/b/'))).toBe(false);
    expect(Object.keys(st.body)).toContain('RouteTable/a/root');
    expect((await get('/debug/config/gateway:a/gw', teamA)).status).toBe(200);
    expect((await get('/debug/config/gateway:b/gw', teamA)).status).toBe(404); // like a proxy that does not exist
    const ir = (await get('/debug/ir', teamA)).body;
    expect(ir.gateways.map((g: { ref: string }) => g.ref)).toEqual(['a/gw']);
    expect(ir.routes.every((r: { workspace: string }) => r.workspace === 'a')).toBe(true);
    expect((await get('/debug/pprof/profile?seconds=1', teamA)).status).toBe(403); // the whole process is not a tenant's
  });

  it('resolves a gateway certificate to its gateway\'s workspace, and an admin certificate sees all', async () => {
    expect(Object.keys((await get('/debug/status', pki.client('b', 'gw'))).body).every((k) => !k.includes('/a/'))).toBe(true);
    const all = await get('/debug/status', pki.withUri('ops', 'spiffe://meshplane.test/admin'));
    expect(Object.keys(all.body)).toEqual(expect.arrayContaining(['RouteTable/a/root', 'RouteTable/b/root']));
  });

  it('refuses no certificate, an untrusted one, and one that names nobody; probes stay open', async () => {
    expect((await get('/debug/status')).status).toBe(401);
    expect((await get('/debug/status', pki.stranger())).status).toBe(401);
    expect((await get('/debug/status', pki.withUri('nobody', 'spiffe://meshplane.test/something/else'))).status).toBe(401);
    expect((await get('/healthz')).status).toBe(200);
  });
});

describe('serve', () => {
  it('refuses to bind the admin API beyond loopback without a token or mTLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-admin-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../src/cli/main.ts'), 'serve', '--config-dir', dir, '--admin-address', '0.0.0.0', '--xds-port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/would show every tenant's configuration to the network: set --admin-token-file or admin mTLS/);
  });
});
