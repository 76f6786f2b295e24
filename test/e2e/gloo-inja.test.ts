// Gloo's injaTemplate through a real Envoy (issue 14, item 6): extractors,
// header templates from headers, extractions, JSON body fields and the
// environment, body templates, response templates, passthrough, and
// mergeExtractorsToBody.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

const J = JSON.stringify;
const TRAFFIC = 'trafficcontrol.policy.gloo.solo.io/v2';
const doc = (apiVersion: string, kind: string, name: string, spec: unknown) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J(spec)}\n`;
const inja = (name: string, config: unknown) => doc(TRAFFIC, 'TransformationPolicy', name, { applyToRoutes: [{ route: { labels: { t: name } } }], config });

describe('injaTemplate through a real Envoy', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let up: Upstream;
  let port: number;
  /** What the upstream received, and what the client got. */
  const send = async (path: string, headers: Record<string, string> = {}, body?: string) => {
    const r = await httpRequest(port, { host: 't.example.com', path, method: body === undefined ? 'GET' : 'POST', headers, body });
    let seen: { headers: Record<string, string>; body: string } | undefined;
    try {
      seen = JSON.parse(r.body);
    } catch {
      seen = undefined;
    }
    return { status: r.status, headers: r.headers, body: r.body, seen };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gloo-inja-'));
    up = await startUpstream('app');
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    const route = (name: string) => ({ name, labels: { t: name }, matchers: [{ uri: { prefix: `/${name}` } }], forwardTo: {} });
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: apps}\nspec: {ports: [{name: http, port: 80}]}\n`,
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: app-1, namespace: apps, labels: {kubernetes.io/service-name: app}}\naddressType: IPv4\nports: [{name: http, port: ${up.port}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
      doc('networking.gloo.solo.io/v2', 'RouteTable', 't', { hosts: ['t.example.com'], virtualGateways: [{ name: 'gw' }], defaultDestination: { ref: { name: 'app' }, port: { number: 80 } }, http: ['extract', 'fields', 'body', 'response', 'passthrough', 'merge'].map(route) }),
      // Gloo's lab 14, verbatim in shape: the organization from the e-mail.
      inja('extract', { phase: { postAuthz: { priority: 2 } }, request: { injaTemplate: { extractors: { organization: { header: 'X-Email', regex: '.*@(.*)$', subgroup: 1 } }, headers: { 'x-organization': { text: '{{ organization }}' } } } } }),
      inja('fields', { request: { injaTemplate: { headers: { 'x-from': { text: 'user {{ header("x-user") }} (100%), tier {{ plan.tier }}' } }, headersToAppend: [{ key: 'x-tags', value: { text: 'seen' } }], headersToRemove: ['x-internal'] } } }),
      inja('body', { request: { injaTemplate: { body: { text: 'hello {{ header("x-user") }}: {{ body() }}' } } } }),
      inja('response', { request: { injaTemplate: { body: { text: 'sent by {{ header("x-user") }}' } } }, response: { injaTemplate: { headers: { 'x-seen': { text: '{{ header("x-upstream") }} for {{ request_header("x-user") }}' } }, body: { text: 'wrapped for {{ request_header("x-user") }}: {{ body() }}' } } } }),
      inja('passthrough', { request: { injaTemplate: { passthrough: {}, headers: { 'x-my-custom-header': { text: 'my-custom-value' }, 'x-env': { text: 'home={{ env("MESHPLANE_INJA_UNSET") }}' } } } } }),
      inja('merge', { request: { injaTemplate: { extractors: { domain: { header: 'x-email', regex: '.*@(.*)$', subgroup: 1 } }, mergeExtractorsToBody: {} } } }),
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('routes through Envoy', async () => ((await send('/passthrough')).status === 200 ? true : undefined), 30_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${J(await mp.get('/debug/status'))}\n${(await envoy.logs()).slice(-3000)}`);
    });
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an extractor (regex, subgroup) from a header feeds a header template', async () => {
    expect((await send('/extract', { 'x-email': 'ann@solo.io' })).seen?.headers['x-organization']).toBe('solo.io');
    // No match (the whole value must match): the result is empty, so no header.
    expect((await send('/extract', { 'x-email': 'not an address' })).seen?.headers['x-organization'] ?? '').toBe('');
  });

  it('header templates read headers and JSON body fields; literal % survives; append and remove', async () => {
    const r = await send('/fields', { 'x-user': 'bob', 'x-internal': 'secret', 'content-type': 'application/json' }, J({ plan: { tier: 'gold' } }));
    expect(r.seen?.headers['x-from']).toBe('user bob (100%), tier gold');
    expect(r.seen?.headers['x-tags']).toBe('seen');
    expect(r.seen?.headers['x-internal']).toBeUndefined();
  });

  it('a body template replaces the request body', async () => {
    const r = await send('/body', { 'x-user': 'bob', 'content-type': 'text/plain' }, 'original');
    expect(r.seen?.body).toBe('hello bob: original');
  });

  it('response templates read response headers, request headers and the response body; request and response bodies in one policy', async () => {
    const r = await send('/response', { 'x-user': 'carol' });
    expect(r.headers['x-seen']).toBe('app for carol');
    expect(r.body.startsWith('wrapped for carol: {')).toBe(true);
    const upstreamSaw = JSON.parse(r.body.slice('wrapped for carol: '.length));
    expect(upstreamSaw.upstream).toBe('app');
    // The same policy's request template ran too (one Lua script serves both directions).
    expect(upstreamSaw.body).toBe('sent by carol');
  });

  it('passthrough sets headers without touching the body', async () => {
    const r = await send('/passthrough', { 'content-type': 'text/plain' }, 'big payload');
    expect(r.seen?.headers['x-my-custom-header']).toBe('my-custom-value');
    // env() is Envoy's %ENVIRONMENT()%: an unset variable still gives a valid header.
    expect(r.seen?.headers['x-env']).toMatch(/^home=/);
    expect(r.seen?.body).toBe('big payload');
  });

  it('mergeExtractorsToBody adds the extractions to the JSON body', async () => {
    const r = await send('/merge', { 'x-email': 'dan@example.org', 'content-type': 'application/json' }, J({ keep: 1 }));
    expect(JSON.parse(r.seen!.body)).toEqual({ keep: 1, domain: 'example.org' });
  });
});
