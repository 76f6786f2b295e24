// ExtAuthPolicy glooAuth oauth2.oidcAuthorizationCode through a real Envoy,
// `meshplane ext-auth` and a real OpenID provider (npm oidc-provider) on
// loopback: the redirect to the provider, the code exchange, the session
// cookie, claims to headers, OPA on the id token, failOnRedirect and logout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type EnvoyHandle } from '../support/envoy.js';
import { startExtAuth, type ExtAuthHandle } from '../support/extauth.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, startUpstream, waitFor, type Upstream } from '../support/net.js';
import { Browser, startOidcProvider, type OidcProviderHandle } from '../support/oidc.js';

const J = JSON.stringify;
const doc = (apiVersion: string, kind: string, name: string, spec: unknown) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J(spec)}\n`;
const svc = (name: string, p: number, h2 = false) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J({ ports: [{ name: 'http', port: 80, ...(h2 ? { appProtocol: 'kubernetes.io/h2c' } : {}) }] })}\n---\n` +
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}\naddressType: IPv4\nports: [{name: http, port: ${p}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`;
const table = (host: string, labels: Record<string, string>) =>
  doc('networking.gloo.solo.io/v2', 'RouteTable', host.split('.')[0]!, { hosts: [host], virtualGateways: [{ name: 'gw' }], http: [{ name: 'r', labels, forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } }] });
const SECRET = 'meshplane-test-client-secret';
// Corpus 06 (oauth plus OPA): the Rego reads the id token the OIDC step put in input.state.jwt.
const REGO = `package test
default allow = false
allow {
  [_, payload, _] := io.jwt.decode(input.state.jwt)
  endswith(payload.email, "@example.com")
  payload.sub == "alice"
}
`;

describe('OIDC authorization code through meshplane ext-auth, a real provider and a real Envoy', () => {
  let dir: string;
  let runtime: string;
  let upstream: Upstream;
  let oidc: OidcProviderHandle;
  let mp: MeshplaneHandle;
  let ea: ExtAuthHandle;
  let envoy: EnvoyHandle;
  let port: number;
  const app = (host: string, path = '/get') => `http://${host}.example.com:${port}${path}`;
  const browser = (login = 'alice') => new Browser((u) => (u.hostname.endsWith('.example.com') ? port : Number(u.port)), login);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-extauth-oidc-'));
    runtime = mkdtempSync(join(tmpdir(), 'meshplane-extauth-oidc-run-'));
    const configFile = join(runtime, 'ext-auth.json');
    upstream = await startUpstream('app');
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    const callback = (host: string) => `http://${host}.example.com:${port}/oauth-gloo-callback`;
    oidc = await startOidcProvider([{ clientId: 'meshplane-app', clientSecret: SECRET, redirectUris: ['login', 'strict', 'opa'].map(callback) }]);
    const opaBin = process.env.MESHPLANE_OPA_BIN || execFileSync(join(REPO_ROOT, 'scripts/build-opa.sh'), { encoding: 'utf8', timeout: 900_000 }).trim();
    writeFileSync(join(runtime, 'session-secret'), 'a shared secret for the replicas\n');
    ea = await startExtAuth(configFile, ['--opa-bin', opaBin, '--session-secret-file', join(runtime, 'session-secret')]);
    const oidcConfig = (host: string) => ({
      appUrl: `http://${host}.example.com:${port}`,
      callbackPath: '/oauth-gloo-callback',
      logoutPath: '/logout',
      clientId: 'meshplane-app',
      clientSecretRef: { name: 'oauth', namespace: 'apps' },
      issuerUrl: `${oidc.issuer}/`,
      scopes: ['email'],
      session: { failOnFetchFailure: true, cookieOptions: { notSecure: true, sameSite: 'LaxMode' } },
      headers: { idTokenHeader: 'jwt' },
      identityToken: { claimsToHeaders: [{ claim: 'email', header: 'x-email' }] },
    });
    const policy = (name: string, labels: Record<string, string>, glooAuth: unknown) =>
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', name, { applyToRoutes: [{ route: { labels } }], config: { server: { name: 'ext-auth' }, glooAuth } });
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      svc('app', upstream.port),
      svc('ext-auth', ea.port, true),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'ext-auth', { destinationServer: { ref: { name: 'ext-auth' }, port: { number: 80 } } }),
      // Gloo's OAuth client Secret (type extauth.solo.io/oauth, entry client-secret).
      `apiVersion: v1\nkind: Secret\nmetadata: {name: oauth, namespace: apps}\ntype: extauth.solo.io/oauth\ndata: {client-secret: ${Buffer.from(SECRET).toString('base64')}}\n`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: allow-alice, namespace: apps}\ndata: ${J({ 'policy.rego': REGO })}\n`,
      table('login.example.com', { auth: 'oidc' }),
      table('strict.example.com', { auth: 'strict' }),
      table('opa.example.com', { auth: 'opa' }),
      policy('oidc', { auth: 'oidc' }, { configs: [{ oauth2: { oidcAuthorizationCode: oidcConfig('login') } }] }),
      policy('strict', { auth: 'strict' }, { failOnRedirect: true, configs: [{ oauth2: { oidcAuthorizationCode: oidcConfig('strict') } }] }),
      policy('opa', { auth: 'opa' }, { configs: [{ oauth2: { oidcAuthorizationCode: oidcConfig('opa') } }, { opaAuth: { modules: [{ name: 'allow-alice' }], query: 'data.test.allow == true' } }] }),
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--ext-auth-config-file', configFile] });
    await ea.loaded();
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('the gateway to answer', async () => ((await browser().send(app('login'))).status === 302 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await ea?.stop();
    await oidc?.close();
    await upstream?.close();
    for (const d of [dir, runtime]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('redirects a request without a session to the provider, with state, nonce and PKCE', async () => {
    const hits = upstream.hits;
    const r = await browser().send(app('login'));
    expect(r.status).toBe(302);
    const to = new URL(String(r.headers.location));
    expect(`${to.origin}/`).toBe(`${oidc.issuer}/`);
    expect(to.searchParams.get('client_id')).toBe('meshplane-app');
    expect(to.searchParams.get('redirect_uri')).toBe(app('login', '/oauth-gloo-callback'));
    expect(to.searchParams.get('response_type')).toBe('code');
    expect(to.searchParams.get('scope')).toBe('openid email');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    for (const p of ['state', 'nonce', 'code_challenge']) expect(to.searchParams.get(p)).toBeTruthy();
    expect(upstream.hits).toBe(hits);
  });

  it('logs in at the provider, exchanges the code, and lands on the page asked for with a session', async () => {
    const b = browser();
    const r = await b.visit(app('login', '/get?x=1')).catch((e) => {
      throw new Error(`${(e as Error).message}\n${ea.logs.slice(-30).join('\n')}\n${J([...b.jar])}`);
    });
    expect(r.status).toBe(200);
    expect(new URL(r.url).pathname + new URL(r.url).search).toBe('/get?x=1');
    expect(b.visited.some((u) => u.startsWith(app('login', '/oauth-gloo-callback?')))).toBe(true);
    const seen = upstream.seen.at(-1)!;
    expect(seen.headers['x-email']).toBe('alice@example.com');
    expect(String(seen.headers.jwt).split('.')).toHaveLength(3);
    expect(b.cookies('login.example.com').has('id_token')).toBe(true);
    // The session holds: no more trips to the provider.
    const before = b.visited.length;
    expect((await b.visit(app('login', '/again'))).status).toBe(200);
    expect(b.visited.length).toBe(before + 1);
    for (const line of ea.logs) expect(line).not.toContain(SECRET);
  });

  it('refuses a tampered id token and a callback with forged state', async () => {
    const b = browser();
    await b.visit(app('login'));
    const jar = b.cookies('login.example.com');
    const [h, p, s] = jar.get('id_token')!.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    jar.set('id_token', [h, Buffer.from(J({ ...claims, sub: 'mallory' })).toString('base64url'), s].join('.'));
    expect((await b.send(app('login'))).status).toBe(302);
    expect((await b.send(app('login', '/oauth-gloo-callback?code=abc&state=forged'))).status).toBe(401);
  });

  it('failOnRedirect answers 401 instead of redirecting', async () => {
    expect((await browser().send(app('strict'))).status).toBe(401);
  });

  it('OPA after OIDC decides on the id token (input.state.jwt)', async () => {
    expect((await browser('alice').visit(app('opa'))).status).toBe(200);
    expect((await browser('bob').visit(app('opa'))).status).toBe(403);
  });

  it('logout clears the session', async () => {
    const b = browser();
    expect((await b.visit(app('login'))).status).toBe(200);
    const out = await b.send(app('login', '/logout'));
    expect(out.status).toBe(302);
    expect(b.cookies('login.example.com').has('id_token')).toBe(false);
    expect((await b.send(app('login'))).status).toBe(302);
  });
});
