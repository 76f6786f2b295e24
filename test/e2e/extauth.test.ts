// ExtAuthPolicy glooAuth through a real Envoy and `meshplane ext-auth`:
// meshplane serve writes the config file, the ext-auth server decides.
// apiKeyAuth: keys from Secrets selected by label, metadata to headers;
// opaAuth: Rego modules from ConfigMaps, decided by OPA itself (tools/opa).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type EnvoyHandle } from '../support/envoy.js';
import { startExtAuth, type ExtAuthHandle } from '../support/extauth.js';
import { startExtAuthz, type ExtAuthzServer } from '../support/ext-authz.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

const J = JSON.stringify;
const doc = (apiVersion: string, kind: string, name: string, spec: unknown, ns = 'apps') => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${J(spec)}\n`;
const apiKeySecret = (name: string, key: string, meta: Record<string, string>, labels = { 'api-keyset': 'httpbin-users' }) =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: apps, labels: ${J(labels)}}\ntype: extauth.solo.io/apikey\nstringData: ${J({ 'api-key': key, ...meta })}\n`;
const svc = (name: string, p: number, h2 = false) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J({ ports: [{ name: 'http', port: 80, ...(h2 ? { appProtocol: 'kubernetes.io/h2c' } : {}) }] })}\n---\n` +
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}\naddressType: IPv4\nports: [{name: http, port: ${p}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`;
const configMap = (name: string, data: Record<string, string>) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: apps}\ndata: ${J(data)}\n`;
// Gloo's lab shape (20-gmg26adv-lab11-opa-extauth), in Rego v0 as Gloo's OPA reads it.
const REGO = `package my_package
default my_rule_to_check = false
my_rule_to_check {
  input.http_request.method == "GET"
  startswith(input.http_request.path, "/get")
  input.check_request.attributes.request.http.headers["x-team"] == "blue"
}
`;
// Rego v1, reading the header an earlier apiKeyAuth step set.
const REGO_USERS = `package users
import rego.v1
allow if input.http_request.headers["x-user-id"] in {"alice"}
`;
const table = (name: string, labels: Record<string, string>) =>
  doc('networking.gloo.solo.io/v2', 'RouteTable', name, { hosts: [`${name}.example.com`], virtualGateways: [{ name: 'gw' }], http: [{ name: 'r', labels, forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } }] });

describe('glooAuth through meshplane ext-auth and a real Envoy', () => {
  let dir: string;
  let runtime: string;
  let configFile: string;
  let upstream: Upstream;
  let other: ExtAuthzServer;
  let mp: MeshplaneHandle;
  let ea: ExtAuthHandle;
  let envoy: EnvoyHandle;
  let port: number;
  const get = (host: string, headers: Record<string, string> = {}) => httpRequest(port, { host, path: '/get', headers });
  let base: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-extauth-'));
    runtime = mkdtempSync(join(tmpdir(), 'meshplane-extauth-run-'));
    configFile = join(runtime, 'ext-auth.json');
    upstream = await startUpstream('app');
    other = await startExtAuthz();
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    // The server starts before meshplane has written anything: it waits and answers 503.
    const opaBin = process.env.MESHPLANE_OPA_BIN || execFileSync(join(REPO_ROOT, 'scripts/build-opa.sh'), { encoding: 'utf8', timeout: 900_000 }).trim();
    ea = await startExtAuth(configFile, ['--opa-bin', opaBin]);
    base = [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      svc('app', upstream.port),
      svc('ext-auth', ea.port, true),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'ext-auth', { destinationServer: { ref: { name: 'ext-auth' }, port: { number: 80 } } }),
      apiKeySecret('user-alice', 'alice-key-1', { 'user-id': 'alice', plan: 'gold' }),
      apiKeySecret('user-bob', 'bob-key-1', { 'user-id': 'bob' }),
      apiKeySecret('other-set', 'other-key', { 'user-id': 'eve' }, { 'api-keyset': 'someone-else' }),
      table('keyed', { auth: 'api-key' }),
      table('open', {}),
      table('opa', { auth: 'opa' }),
      table('chain', { auth: 'chain' }),
      table('broken', { auth: 'broken' }),
      table('pass', { auth: 'pass' }),
      // The corpus shape (22-...-graphql-external-ratelimit-extauth): another Authorization server decides.
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'pass', {
        applyToRoutes: [{ route: { labels: { auth: 'pass' } } }],
        config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ passThroughAuth: { grpc: { address: `127.0.0.1:${other.port}` }, config: { tier: 'gold' } } }] } },
      }),
      configMap('my-policy', { 'policy.rego': REGO }),
      configMap('users', { 'users.rego': REGO_USERS }),
      configMap('broken', { 'broken.rego': 'package broken\nallow {' }),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'opa', {
        applyToRoutes: [{ route: { labels: { auth: 'opa' } } }],
        config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ opaAuth: { modules: [{ name: 'my-policy' }], query: 'data.my_package.my_rule_to_check' } }] } },
      }),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'chain', {
        applyToRoutes: [{ route: { labels: { auth: 'chain' } } }],
        config: { server: { name: 'ext-auth' }, glooAuth: { configs: [
          { apiKeyAuth: { headerName: 'x-api-key', k8sSecretApikeyStorage: { labelSelector: { 'api-keyset': 'httpbin-users' } }, headersFromMetadataEntry: { 'x-user-id': { name: 'user-id' } } } },
          { opaAuth: { modules: [{ name: 'users' }], query: 'data.users.allow == true' } },
        ] } },
      }),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'broken', {
        applyToRoutes: [{ route: { labels: { auth: 'broken' } } }],
        config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ opaAuth: { modules: [{ name: 'broken' }], query: 'data.broken.allow' } }] } },
      }),
      // The corpus shape (34-ggu-security-extauth-apikey), with metadata to headers.
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'api-key', {
        applyToRoutes: [{ route: { labels: { auth: 'api-key' } } }],
        config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ apiKeyAuth: { headerName: 'x-api-key', labelSelector: { 'api-keyset': 'httpbin-users' }, headersFromMetadataEntry: { 'x-user-id': { name: 'user-id', required: true }, 'x-plan': { name: 'plan' } } } }] } },
      }),
    ];
    writeFileSync(join(dir, 'all.yaml'), base.join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--ext-auth-config-file', configFile] });
    await ea.loaded();
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('routes through Envoy', async () => ((await get('open.example.com')).status === 200 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await ea?.stop();
    await other?.close();
    await upstream?.close();
    for (const d of [dir, runtime]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('writes the config file for the server only (mode 0600), and logs no key', () => {
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).toContain('ExtAuthPolicy/apps/api-key');
    for (const line of [...mp.logs, ...ea.logs]) expect(line).not.toMatch(/alice-key-1|bob-key-1/);
  });

  it('a valid key gets 200, with its Secret\'s metadata as request headers', async () => {
    const r = await get('keyed.example.com', { 'x-api-key': 'alice-key-1' });
    expect(r.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    expect(seen.headers['x-user-id']).toBe('alice');
    expect(seen.headers['x-plan']).toBe('gold');
    const bob = await get('keyed.example.com', { 'x-api-key': 'bob-key-1', 'x-plan': 'forged' });
    expect(bob.status).toBe(200);
    expect(upstream.seen.at(-1)!.headers['x-user-id']).toBe('bob');
  });

  it('a missing key gets 401', async () => {
    const hits = upstream.hits;
    expect((await get('keyed.example.com')).status).toBe(401);
    expect(upstream.hits).toBe(hits);
  });

  it('a wrong key gets 401, and so does a key of a Secret the selector does not pick', async () => {
    expect((await get('keyed.example.com', { 'x-api-key': 'alice-key-2' })).status).toBe(401);
    expect((await get('keyed.example.com', { 'x-api-key': 'other-key' })).status).toBe(401);
    expect((await get('keyed.example.com', { 'api-key': 'alice-key-1' })).status).toBe(401);
    expect((await get('open.example.com')).status).toBe(200);
  });

  it('opaAuth: OPA allows (200) and denies (403) by the Rego module in the ConfigMap', async () => {
    expect((await get('opa.example.com', { 'x-team': 'blue' })).status).toBe(200);
    expect((await get('opa.example.com', { 'x-team': 'red' })).status).toBe(403);
    expect((await get('opa.example.com')).status).toBe(403);
    expect((await httpRequest(port, { host: 'opa.example.com', path: '/anything', headers: { 'x-team': 'blue' } })).status).toBe(403);
  });

  it('steps run in order: OPA sees the header the API key step set', async () => {
    expect((await get('chain.example.com', { 'x-api-key': 'alice-key-1' })).status).toBe(200);
    // bob's key is valid, but the policy admits alice only; a forged header does not help.
    expect((await get('chain.example.com', { 'x-api-key': 'bob-key-1', 'x-user-id': 'alice' })).status).toBe(403);
    expect((await get('chain.example.com', { 'x-user-id': 'alice' })).status).toBe(401);
  });

  it('a Rego module that does not parse makes its routes fail closed (503) and leaves the others working', async () => {
    expect((await get('broken.example.com')).status).toBe(503);
    expect(ea.logs.some((l) => l.includes('rego_parse_error') && l.includes('ExtAuthPolicy/apps/broken'))).toBe(true);
    expect((await get('opa.example.com', { 'x-team': 'blue' })).status).toBe(200);
  });

  it('passThroughAuth hands the decision to another Authorization server, with its config', async () => {
    const r = await get('pass.example.com', { 'x-allow': 'yes' });
    expect(r.status).toBe(200);
    expect(upstream.seen.at(-1)!.headers['x-ext-authz']).toBe('allowed');
    const denied = await get('pass.example.com');
    expect(denied.status).toBe(403);
    expect(denied.body).toBe('denied by ext auth');
    expect(other.checks.at(-1)!.path).toBe('/get');
  });

  it('picks up a new key Secret and forgets a deleted one, without a restart', async () => {
    const since = ea.logs.length;
    writeFileSync(join(dir, 'all.yaml'), [...base.filter((d) => !d.includes('user-bob')), apiKeySecret('user-carol', 'carol-key-1', { 'user-id': 'carol' })].join('---\n'));
    await ea.loaded(since);
    await waitFor('the new key to work', async () => ((await get('keyed.example.com', { 'x-api-key': 'carol-key-1' })).status === 200 ? true : undefined), 20_000);
    expect((await get('keyed.example.com', { 'x-api-key': 'bob-key-1' })).status).toBe(401);
  });
});

describe('glooAuth with the ext-auth server inside meshplane serve (--ext-auth-port)', () => {
  let dir: string;
  let upstream: Upstream;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let port: number;
  const get = (host: string, headers: Record<string, string> = {}) => httpRequest(port, { host, path: '/get', headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-extauth-embedded-'));
    upstream = await startUpstream('app');
    const [xdsPort, adminPort, extAuthPort] = [await freePort(), await freePort(), await freePort()];
    port = await freePort();
    const opaBin = process.env.MESHPLANE_OPA_BIN || execFileSync(join(REPO_ROOT, 'scripts/build-opa.sh'), { encoding: 'utf8', timeout: 900_000 }).trim();
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      svc('app', upstream.port),
      svc('ext-auth', extAuthPort, true),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'ext-auth', { destinationServer: { ref: { name: 'ext-auth' }, port: { number: 80 } } }),
      apiKeySecret('user-alice', 'alice-key-1', { 'user-id': 'alice' }),
      configMap('my-policy', { 'policy.rego': REGO }),
      table('keyed', { auth: 'api-key' }),
      table('opa', { auth: 'opa' }),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'api-key', { applyToRoutes: [{ route: { labels: { auth: 'api-key' } } }], config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ apiKeyAuth: { headerName: 'x-api-key', labelSelector: { 'api-keyset': 'httpbin-users' } } }] } } }),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'opa', { applyToRoutes: [{ route: { labels: { auth: 'opa' } } }], config: { server: { name: 'ext-auth' }, glooAuth: { configs: [{ opaAuth: { modules: [{ name: 'my-policy' }], query: 'data.my_package.my_rule_to_check' } }] } } }),
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--ext-auth-port', String(extAuthPort), '--ext-auth-address', '127.0.0.1', '--opa-bin', opaBin] });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('the key to work through the embedded server', async () => ((await get('keyed.example.com', { 'x-api-key': 'alice-key-1' })).status === 200 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('valid key 200, missing and wrong key 401; OPA allow 200 and deny 403', async () => {
    expect((await get('keyed.example.com', { 'x-api-key': 'alice-key-1' })).status).toBe(200);
    expect((await get('keyed.example.com')).status).toBe(401);
    expect((await get('keyed.example.com', { 'x-api-key': 'nope' })).status).toBe(401);
    expect((await get('opa.example.com', { 'x-team': 'blue' })).status).toBe(200);
    expect((await get('opa.example.com', { 'x-team': 'red' })).status).toBe(403);
    for (const line of mp.logs) expect(line).not.toContain('alice-key-1');
  });
});
