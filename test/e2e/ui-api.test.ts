// What the /ui page is served: /debug/explain (why, per viewer, computed once
// per configuration), /debug/events (SSE), the static files, and the model
// and layout the page draws (pure, checked here without a browser).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAdminServer } from '../../src/admin/server.js';
import { buildUi } from '../../src/admin/ui/build.js';
import { layoutTree, renderSvg, ROW } from '../../src/admin/ui/graph.js';
import { delegationTree, hostGroups } from '../../src/admin/ui/model.js';
import type { DestinationsExplanation, ExplainPayload, RouteExplanation } from '../../src/admin/ui/payload.js';
import { serveUiFile } from '../../src/admin/ui/static-files.js';
import { computeCore } from '../../src/core/index.js';
import type { PipelineState } from '../../src/pipeline.js';
import { coreSettings } from '../../src/settings.js';
import { CreationClock, ManifestDirectory } from '../../src/sources/file.js';
import { XdsServer } from '../../src/xds/server.js';
import { SnapshotCache } from '../../src/xds/snapshot.js';
import { makePki } from '../support/certs.js';
import { REPO_ROOT } from '../support/envoy.js';
import { forward, gateway, routeTable, service, settings, workspace } from '../support/build.js';

const explainCalls = vi.hoisted(() => ({ n: 0 }));
vi.mock('../../src/core/explain.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/core/explain.js')>();
  return { ...actual, explainPolicies: (...args: Parameters<typeof actual.explainPolicies>) => (explainCalls.n++, actual.explainPolicies(...args)) };
});

const scenario = (name: string): PipelineState => {
  const dir = join(REPO_ROOT, 'test/fixtures/scenarios', name);
  const set = new ManifestDirectory(dir, new CreationClock(join(dir, '.meshplane-state.json'), false)).scan();
  const s = coreSettings({});
  return { core: computeCore(set.resources, s, set.rejected), generation: 1, resources: set.resources, settings: s };
};
const xds = () => new XdsServer(new SnapshotCache(), pino({ level: 'silent' }));
const port = (s: Server) => (s.address() as { port: number }).port;

describe('/debug/explain and /debug/events', () => {
  let server: Server;
  const state = scenario('delegated-4-workspace-boundaries');
  beforeAll(async () => {
    server = await startAdminServer('127.0.0.1', 0, state, xds());
  });
  afterAll(() => server.close());
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${port(server)}${path}`)).json();

  it('summarises every route for the tree, and explains one route in full on request', async () => {
    const p = (await get('/debug/explain')) as ExplainPayload;
    expect(p.generation).toBe(1);
    expect(p.gateways).toEqual([{ ref: 'parent/gw', workspace: 'parent-ws', listeners: [expect.objectContaining({ port: 8080, hosts: ['www.example.com'] })] }]);
    const b = p.routes.find((r) => r.route === 'route-b')!;
    expect(b).toMatchObject({ table: 'parent/parent', workspace: 'parent-ws', valid: true, applied: 1, skipped: 1 });
    const a = p.routes.find((r) => r.table === 'child/child')!;
    expect(a.path).toEqual([{ table: 'parent/parent', route: 'route-a', workspace: 'parent-ws' }, { table: 'child/child', route: 'route-a', workspace: 'child-ws' }]);

    const e = (await get(`/debug/explain/route/${encodeURIComponent(b.id)}`)) as RouteExplanation;
    expect(e.route.labelSources).toEqual({ val: 'table parent/parent' });
    expect(e.route.applied.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual(['RetryTimeoutPolicy parent/policy-1']);
    expect(e.route.skipped).toEqual([expect.objectContaining({ kind: 'FaultInjectionPolicy', namespace: 'child', name: 'policy-2', reason: 'workspace-not-on-chain' })]);
    expect(e.route.action).toEqual({ type: 'forward', destinations: [expect.objectContaining({ kind: 'SERVICE', namespace: 'parent', name: 'parent-svc', port: 80 })] });
    expect(e.destinations.map((d) => `${d.kind} ${d.namespace}/${d.name}@${d.consumer}`)).toEqual(['SERVICE parent/parent-svc@parent-ws']);
    expect((await fetch(`http://127.0.0.1:${port(server)}/debug/explain/route/nope`)).status).toBe(404);

    const d = (await get('/debug/explain/destinations')) as DestinationsExplanation;
    expect(d.destinations.map((x) => `${x.kind} ${x.namespace}/${x.name}@${x.consumer}`)).toEqual(expect.arrayContaining(['SERVICE parent/parent-svc@parent-ws', 'SERVICE child/child-svc@parent-ws']));
  });

  it('computes why once per configuration, however many times it is asked', async () => {
    const before = explainCalls.n;
    await get('/debug/explain');
    await get('/debug/explain');
    expect(explainCalls.n - before).toBeLessThanOrEqual(1);
    const again = explainCalls.n;
    const next = scenario('delegated-4-workspace-boundaries');
    state.core = next.core;
    state.generation = 2;
    expect(((await get('/debug/explain')) as ExplainPayload).generation).toBe(2);
    await get('/debug/explain');
    expect(explainCalls.n - again).toBe(1);
  });

  it('streams an event when the configuration changes', async () => {
    const ctl = new AbortController();
    const r = await fetch(`http://127.0.0.1:${port(server)}/debug/events`, { signal: ctl.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) text += (await reader.read()).value ?? '';
    };
    await until(/event: config\ndata: \{"type":"config","generation":2\}/);
    state.generation = 3;
    await until(/event: config\ndata: \{"type":"config","generation":3\}/);
    ctl.abort();
  });

  it('serves the page and its files, nothing outside them, and says when the UI is not built', async () => {
    await buildUi();
    const page = await fetch(`http://127.0.0.1:${port(server)}/ui`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/ui/app.js');
    expect((await fetch(`http://127.0.0.1:${port(server)}/ui/app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`http://127.0.0.1:${port(server)}/ui/%2e%2e%2f%2e%2e%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port(server)}/ui/..%2Fbuild.ts`)).status).toBe(404);
    const empty = mkdtempSync(join(tmpdir(), 'mp-ui-empty-'));
    const bare = createServer((req, res) => serveUiFile(req.url!, res, empty));
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const r = await fetch(`http://127.0.0.1:${port(bare)}/ui/`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/The UI is not built .* run `npm run build:ui`/);
    bare.close();
    rmSync(empty, { recursive: true, force: true });
  });
});

describe('the UI behind a bearer token and client certificates', () => {
  const pki = makePki();
  let tokenServer: Server;
  let tlsServer: Server;
  const state = scenario('delegated-4-workspace-boundaries');
  const dir = mkdtempSync(join(tmpdir(), 'mp-ui-token-'));
  beforeAll(async () => {
    writeFileSync(join(dir, 'token'), 'ui-token\n');
    tokenServer = await startAdminServer('127.0.0.1', 0, state, xds(), { tokenFile: join(dir, 'token') });
    tlsServer = await startAdminServer('127.0.0.1', 0, state, xds(), { tls: { cert: pki.files.serverCert, key: pki.files.serverKey, clientCa: pki.files.ca } });
  });
  afterAll(() => {
    tokenServer.close();
    tlsServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page (it holds no configuration) but not its data without the token', async () => {
    const base = `http://127.0.0.1:${port(tokenServer)}`;
    expect((await fetch(`${base}/ui/`)).status).toBe(200);
    expect((await fetch(`${base}/debug/explain`)).status).toBe(401);
    expect((await fetch(`${base}/debug/events`)).status).toBe(401);
    const ok = await fetch(`${base}/debug/explain`, { headers: { authorization: 'Bearer ui-token' } });
    expect(((await ok.json()) as ExplainPayload).routes).toHaveLength(2);
  });

  it('shows a tenant\'s certificate only the routes of its workspace, as /debug/ir does', async () => {
    const get = (path: string, client?: { cert: string; key: string }) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: port(tlsServer), path, ca: pki.ca, servername: 'localhost', ...(client ?? {}) }, (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: body.startsWith('{') || body.startsWith('[') || body.startsWith('null') ? JSON.parse(body) : body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect((await get('/debug/explain')).status).toBe(401);
    const child = (await get('/debug/explain', pki.withUri('child-team', 'spiffe://meshplane.test/workspace/child-ws'))).body as ExplainPayload;
    expect(child.routes.map((r) => `${r.table}:${r.route}`)).toEqual(['child/child:route-a']);
    expect(child.gateways).toEqual([]);
    const parentRoute = (await get('/debug/explain', pki.withUri('parent-team', 'spiffe://meshplane.test/workspace/parent-ws'))).body.routes.find((r: { route: string }) => r.route === 'route-b');
    // Another tenant's route is answered like one that does not exist.
    expect((await get(`/debug/explain/route/${encodeURIComponent(parentRoute.id)}`, pki.withUri('child-team', 'spiffe://meshplane.test/workspace/child-ws'))).status).toBe(404);
    const parent = (await get('/debug/explain', pki.withUri('parent-team', 'spiffe://meshplane.test/workspace/parent-ws'))).body as ExplainPayload;
    expect(parent.routes.map((r) => `${r.table}:${r.route}`).sort()).toEqual(['child/child:route-a', 'parent/parent:route-b']);
    expect((await get('/ui/')).status).toBe(200);
  });
});

describe('the page\'s model and layout', () => {
  // Three teams: a root table delegating to two children, one child delegating again (to its own team).
  const resources = [
    workspace('gw', ['gw']), workspace('a', ['a']), workspace('b', ['b']),
    settings('gw', 'gw', { exportTo: [{ workspaces: [{ name: '*' }], resources: [{ kind: 'ROUTE_TABLE' }] }], importFrom: [{ workspaces: [{ name: '*' }] }] }),
    settings('a', 'a', { importFrom: [{ workspaces: [{ name: 'gw' }] }], exportTo: [{ workspaces: [{ name: '*' }] }] }),
    settings('b', 'b', { importFrom: [{ workspaces: [{ name: 'gw' }] }], exportTo: [{ workspaces: [{ name: '*' }] }] }),
    gateway('gw'), ...service('a', 'svc'), ...service('b', 'svc'),
    routeTable('gw', 'root', [
      { name: 'to-a', matchers: [{ uri: { prefix: '/' } }], delegate: { routeTables: [{ name: 'a', namespace: 'a' }] } },
      { name: 'to-b', matchers: [{ uri: { prefix: '/' } }], delegate: { routeTables: [{ name: 'b', namespace: 'b' }] } },
    ], { hosts: ['shop.example.com', 'api.example.com'], virtualGateways: [{ name: 'gw', namespace: 'gw' }] }),
    routeTable('a', 'a', Array.from({ length: 5 }, (_, i) => forward(`a${i}`, 'svc'))),
    routeTable('b', 'b', [forward('b0', 'svc'), { name: 'deeper', matchers: [{ uri: { prefix: '/' } }], delegate: { routeTables: [{ name: 'b2', namespace: 'b' }] } }]),
    routeTable('b', 'b2', [forward('b2-0', 'svc'), forward('b2-1', 'svc')]),
  ];
  const core = computeCore(resources);
  const payload: ExplainPayload = {
    generation: 1, gateways: [],
    routes: core.ir.routes.map((r) => ({ ...r, path: r.path.map((l) => ({ ...l, workspace: core.ir.namespaces[l.table.split('/')[0]] })), applied: r.policies.length, skipped: r.skipped.length })),
  };

  it('groups routes per gateway and host, and builds each host\'s delegation tree', () => {
    expect(core.ir.routes.every((r) => r.valid)).toBe(true);
    const groups = hostGroups(payload);
    expect(groups.map((g) => [g.key, g.routes.length])).toEqual([['gw/gw|api.example.com', 8], ['gw/gw|shop.example.com', 8]]);
    const t = delegationTree(groups[1]);
    expect(t.children.map((c) => [c.label, c.kind, c.workspace, c.leaves])).toEqual([['gw/root:to-a', 'link', 'gw', 5], ['gw/root:to-b', 'link', 'gw', 3]]);
    const toB = t.children[1];
    expect(toB.children.map((c) => [c.label, c.kind, c.workspace])).toEqual([['b/b:b0', 'route', 'b'], ['b/b:deeper', 'link', 'b']]);
    expect(toB.children[1].children.map((c) => c.label)).toEqual(['b/b2:b2-0', 'b/b2:b2-1']);
  });

  it('lays the tree out in one lane per workspace, one column per depth inside a lane, without overlaps', () => {
    const l = layoutTree(delegationTree(hostGroups(payload)[0]));
    expect(l.lanes.map((x) => x.workspace)).toEqual(['gateway', 'gw', 'a', 'b']);
    const laneOf = new Map(l.lanes.map((x) => [x.workspace, x]));
    const seen = new Set<string>();
    for (const n of l.nodes) {
      const lane = laneOf.get(n.node.kind === 'host' ? 'gateway' : n.node.workspace)!;
      expect(n.x).toBeGreaterThanOrEqual(lane.x);
      expect(n.x).toBeLessThan(lane.x + lane.width);
      expect(seen.has(`${n.x},${n.y}`)).toBe(false);
      seen.add(`${n.x},${n.y}`);
      if (n.parent) expect(n.parent.x).not.toBe(n.x);
    }
    // b's lane has two columns: b/b at depth 2 and b/b2 at depth 3.
    expect(new Set(l.nodes.filter((n) => n.node.workspace === 'b').map((n) => n.x)).size).toBe(2);
    expect(l.height).toBeGreaterThan(0);
  });

  it('draws only the rows in the window it is given (the page draws what is on screen)', () => {
    const l = layoutTree(delegationTree(hostGroups(payload)[0]));
    const count = (svg: string) => (svg.match(/<g class="node /g) ?? []).length;
    expect(count(renderSvg(l))).toBe(l.nodes.length);
    const few = count(renderSvg(l, undefined, { top: 0, bottom: 2 * ROW }));
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThan(l.nodes.length);
  });
});
