// Policies become Envoy behaviour: every policy kind proven by real requests
// through a real Envoy configured by meshplane.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startExtAuthz, type ExtAuthzServer } from '../support/ext-authz.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type HttpResult, type Upstream } from '../support/net.js';

const RES = 'resilience.policy.gloo.solo.io/v2';
const TRAFFIC = 'trafficcontrol.policy.gloo.solo.io/v2';
const SEC = 'security.policy.gloo.solo.io/v2';
const OBS = 'observability.policy.gloo.solo.io/v2';
const J = JSON.stringify;

const doc = (apiVersion: string, kind: string, name: string, spec: unknown, extra: Record<string, unknown> = {}) =>
  `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: ${J({ name, namespace: 'apps', ...extra })}\nspec: ${J(spec)}\n`;
const routePolicy = (apiVersion: string, kind: string, name: string, labels: Record<string, string>, config: unknown, ts?: string) =>
  doc(apiVersion, kind, name, { applyToRoutes: [{ route: { labels } }], config }, ts ? { creationTimestamp: ts } : {});
const destPolicy = (apiVersion: string, kind: string, name: string, service: string, config: unknown) =>
  doc(apiVersion, kind, name, { applyToDestinations: [{ kind: 'SERVICE', selector: { name: service, namespace: 'apps' } }], config });

function service(name: string, endpoints: Array<{ port: number; zone?: string; ready?: boolean }>, appProtocol?: string): string {
  const svc = `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J({ ports: [{ name: 'http', port: 80, ...(appProtocol ? { appProtocol } : {}) }] })}\n`;
  // One slice per endpoint: endpoints of one Service may listen on different ports here.
  const slices = endpoints.map(
    (e, i) =>
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: ${J({ name: `${name}-${i}`, namespace: 'apps', labels: { 'kubernetes.io/service-name': name } })}\naddressType: IPv4\nports: [{name: http, port: ${e.port}}]\nendpoints: ${J([{ addresses: ['127.0.0.1'], conditions: { ready: e.ready ?? true }, ...(e.zone ? { zone: e.zone } : {}) }])}\n`,
  );
  return [svc, ...slices].join('---\n');
}

function table(name: string, host: string, routes: Array<{ name: string; labels?: Record<string, string>; to?: string; prefix?: string }>): string {
  return doc('networking.gloo.solo.io/v2', 'RouteTable', name, {
    hosts: [host],
    virtualGateways: [{ name: 'ingress', namespace: 'apps' }],
    http: routes.map((r) => ({
      name: r.name,
      ...(r.labels ? { labels: r.labels } : {}),
      matchers: [{ uri: { prefix: r.prefix ?? '/' } }],
      forwardTo: { destinations: [{ ref: { name: r.to ?? 'main' }, port: { number: 80 } }] },
    })),
  });
}

describe('policies through a real Envoy', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let authz: ExtAuthzServer;
  let port: number; // default listener
  let prePort: number; // listener with a preAuthz JWT
  const up: Record<string, Upstream> = {};
  let tokens: Record<string, string>;

  const req = (host: string, path = '/', opts: { method?: string; headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<HttpResult> =>
    httpRequest(opts.port ?? port, { host, path, method: opts.method, headers: opts.headers, body: opts.body });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-policies-'));
    for (const n of ['main', 'jwks', 'shadow', 'p1', 'p2', 'o1', 'o2', 'h1', 'h2', 'r1', 'r2', 'za', 'zb', 'cb']) up[n] = await startUpstream(n);
    authz = await startExtAuthz();
    const [xdsPort, adminPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    [port, prePort] = [await freePort(), await freePort()];

    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const sign = (claims: Record<string, unknown>, exp: string | number) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://issuer.test').setIssuedAt().setExpirationTime(exp).sign(privateKey);
    tokens = {
      valid: await sign({ sub: 'alice', aud: 'meshplane' }, '1h'),
      expired: await sign({ sub: 'alice', aud: 'meshplane' }, Math.floor(Date.now() / 1000) - 3600),
      wrongAudience: await sign({ sub: 'alice', aud: 'someone-else' }, '1h'),
    };
    up.jwks.fixed.set('/.well-known/jwks.json', { contentType: 'application/json', body: J({ keys: [jwk] }) });
    const jwtConfig = (phase?: string) => ({
      ...(phase ? { phase: { [phase]: {} } } : {}),
      providers: { test: { issuer: 'https://issuer.test', audiences: ['meshplane'], local: { inline: J({ keys: [jwk] }) }, claimsToHeaders: [{ claim: 'sub', header: 'x-sub' }] } },
    });

    const yaml = [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      doc('networking.gloo.solo.io/v2', 'VirtualGateway', 'ingress', {
        workloads: [{ selector: { labels: { app: 'ingress' } } }],
        listeners: [
          { port: { number: port }, http: {}, allowedRouteTables: [{ host: '*.example.com' }] },
          { port: { number: prePort }, http: {}, allowedRouteTables: [{ host: '*.example.org' }] },
        ],
      }),
      service('main', [{ port: up.main.port }]),
      service('shadow', [{ port: up.shadow.port }]),
      service('jwks', [{ port: up.jwks.port }]),
      service('pair', [{ port: up.p1.port }, { port: up.p2.port }]),
      service('outlier', [{ port: up.o1.port }, { port: up.o2.port }]),
      service('health', [{ port: up.h1.port }, { port: up.h2.port }]),
      service('ring', [{ port: up.r1.port }, { port: up.r2.port }]),
      service('zoned', [{ port: up.za.port, zone: 'zone-a' }, { port: up.zb.port, zone: 'zone-b' }]),
      service('cb', [{ port: up.cb.port }]),
      service('auth', [{ port: authz.port }], 'kubernetes.io/h2c'),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'authz', { destinationServer: { ref: { name: 'auth' }, port: { number: 80 } }, requestTimeout: '2s' }),
      service('dead-auth', [{ port: deadPort }], 'kubernetes.io/h2c'),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'dead-open', { destinationServer: { ref: { name: 'dead-auth' }, port: { number: 80 } }, requestTimeout: '300ms', failureModeAllow: true }),
      doc('admin.gloo.solo.io/v2', 'ExtAuthServer', 'dead-closed', { destinationServer: { ref: { name: 'dead-auth' }, port: { number: 80 } }, requestTimeout: '300ms', failureModeAllow: false }),
      table('fail-open', 'fail-open.example.com', [{ name: 'f', labels: { authz: 'fail-open' } }]),
      table('fail-closed', 'fail-closed.example.com', [{ name: 'f', labels: { authz: 'fail-closed' } }]),
      routePolicy(SEC, 'ExtAuthPolicy', 'fail-open', { authz: 'fail-open' }, { server: { name: 'dead-open' } }),
      routePolicy(SEC, 'ExtAuthPolicy', 'fail-closed', { authz: 'fail-closed' }, { server: { name: 'dead-closed' } }),
      table('retry', 'retry.example.com', [{ name: 'with-retries', labels: { p: 'retry' }, prefix: '/flaky/retried' }, { name: 'without', prefix: '/' }]),
      table('timeout', 'timeout.example.com', [{ name: 'slow', labels: { p: 'timeout' } }]),
      table('conflict', 'conflict.example.com', [{ name: 'both', labels: { p: 'conflict' } }]),
      table('fault', 'fault.example.com', [{ name: 'abort', labels: { p: 'abort' }, prefix: '/abort' }, { name: 'delay', labels: { p: 'delay' }, prefix: '/delay' }, { name: 'plain', prefix: '/' }]),
      table('headers', 'headers.example.com', [{ name: 'h', labels: { p: 'headers' } }]),
      table('cors', 'cors.example.com', [{ name: 'c', labels: { p: 'cors' } }]),
      table('csrf', 'csrf.example.com', [{ name: 'c', labels: { p: 'csrf' } }]),
      table('mirror', 'mirror.example.com', [{ name: 'm', labels: { p: 'mirror' } }]),
      table('authz', 'authz.example.com', [{ name: 'a', labels: { authz: 'on' } }]),
      table('jwt', 'jwt.example.com', [{ name: 'j', labels: { jwt: 'on' } }]),
      table('jwt-remote', 'remote-jwks.example.com', [{ name: 'j', labels: { jwt: 'remote' } }]),
      table('both', 'both.example.com', [{ name: 'b', labels: { authz: 'on', jwt: 'on' } }]),
      table('both-pre', 'both.example.org', [{ name: 'b', labels: { authz: 'on', jwtpre: 'on' } }]),
      table('transform', 'transform.example.com', [{ name: 't', labels: { p: 'transform' } }]),
      table('local-rl', 'limited.example.com', [{ name: 'l', labels: { p: 'local-rl' } }]),
      table('open', 'open.example.com', [{ name: 'o' }]),
      table('lb', 'lb.example.com', [{ name: 'pair', to: 'pair', prefix: '/pair' }, { name: 'outlier', to: 'outlier', prefix: '/outlier' }, { name: 'health', to: 'health', prefix: '/health-check' }, { name: 'ring', to: 'ring', prefix: '/ring' }, { name: 'zoned', to: 'zoned', prefix: '/zoned' }, { name: 'cb', to: 'cb', prefix: '/cb' }]),
      routePolicy(RES, 'RetryTimeoutPolicy', 'retry', { p: 'retry' }, { retries: { attempts: 3, retryOn: '5xx' } }),
      routePolicy(RES, 'RetryTimeoutPolicy', 'timeout', { p: 'timeout' }, { requestTimeout: '500ms' }),
      routePolicy(RES, 'RetryTimeoutPolicy', 'conflict-old', { p: 'conflict' }, { requestTimeout: '3s' }, '2024-01-01T00:00:00Z'),
      routePolicy(RES, 'RetryTimeoutPolicy', 'conflict-new', { p: 'conflict' }, { requestTimeout: '9s' }, '2024-02-01T00:00:00Z'),
      routePolicy(RES, 'FaultInjectionPolicy', 'abort', { p: 'abort' }, { abort: { httpStatus: 418, percentage: 100 } }),
      routePolicy(RES, 'FaultInjectionPolicy', 'delay', { p: 'delay' }, { delay: { fixedDelay: '1s', percentage: 100 } }),
      routePolicy(TRAFFIC, 'HeaderManipulationPolicy', 'headers', { p: 'headers' }, { appendRequestHeaders: { 'x-added': 'yes' }, removeRequestHeaders: ['x-remove-me'], appendResponseHeaders: { 'x-resp-added': 'yes' }, removeResponseHeaders: ['x-upstream'] }),
      routePolicy(SEC, 'CORSPolicy', 'cors', { p: 'cors' }, { allowOrigins: [{ exact: 'https://app.example.com' }], allowMethods: ['GET', 'POST'], maxAge: '1h' }),
      routePolicy(SEC, 'CSRFPolicy', 'csrf', { p: 'csrf' }, { filterEnabled: true }),
      routePolicy(TRAFFIC, 'MirrorPolicy', 'mirror', { p: 'mirror' }, { destination: { ref: { name: 'shadow' }, port: { number: 80 } }, percentage: 100 }),
      routePolicy(SEC, 'ExtAuthPolicy', 'authz', { authz: 'on' }, { server: { name: 'authz' } }),
      routePolicy(SEC, 'JWTPolicy', 'jwt', { jwt: 'on' }, jwtConfig()),
      routePolicy(SEC, 'JWTPolicy', 'jwt-pre', { jwtpre: 'on' }, jwtConfig('preAuthz')),
      routePolicy(SEC, 'JWTPolicy', 'jwt-remote', { jwt: 'remote' }, {
        providers: { idp: { issuer: 'https://issuer.test', audiences: ['meshplane'], remote: { url: 'http://jwks.apps.svc.cluster.local/.well-known/jwks.json', destinationRef: { ref: { name: 'jwks' }, port: { number: 80 } }, cacheDuration: '5m' } } },
      }),
      routePolicy(TRAFFIC, 'TransformationPolicy', 'transform', { p: 'transform' }, { request: { setHeaders: { 'x-greeting': 'hello %REQ(x-user)%' }, jsonBody: { template: { name: 'rewritten', user: '%REQ(x-user)%' }, action: 'MERGE' } } }),
      routePolicy(TRAFFIC, 'RateLimitPolicy', 'local-rl', { p: 'local-rl' }, { local: { tokenBucket: { maxTokens: 2, fillInterval: '60s' } } }),
      doc(SEC, 'DLPPolicy', 'dlp', { applyToRoutes: [{ route: { labels: { p: 'headers' } } }], config: { actions: [] } }),
      doc(SEC, 'WAFPolicy', 'waf', { applyToRoutes: [{ route: { labels: { p: 'headers' } } }], config: {} }),
      destPolicy(TRAFFIC, 'LoadBalancerPolicy', 'least', 'pair', { simple: 'LEAST_REQUEST' }),
      destPolicy(RES, 'OutlierDetectionPolicy', 'outlier', 'outlier', { consecutiveErrors: 2, interval: '1s', baseEjectionTime: '60s', maxEjectionPercent: 50 }),
      destPolicy(RES, 'ActiveHealthCheckPolicy', 'health', 'health', { healthCheck: { interval: '1s', timeout: '500ms', unhealthyThreshold: 1, healthyThreshold: 1, httpHealthCheck: { path: '/health' } } }),
      destPolicy(TRAFFIC, 'LoadBalancerPolicy', 'ring', 'ring', { consistentHash: { httpHeaderName: 'x-user' } }),
      destPolicy(RES, 'FailoverPolicy', 'failover', 'zoned', { localityMappings: [{ from: { zone: 'zone-a' }, to: [{ zone: 'zone-b' }] }] }),
      destPolicy(RES, 'ConnectionPolicy', 'cb', 'cb', { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRetries: 0 } }),
      doc(OBS, 'AccessLogPolicy', 'errors-only', { applyToWorkloads: [{ selector: { labels: { app: 'ingress' } } }], config: { format: 'MPLOG %RESPONSE_CODE% %REQ(:AUTHORITY)%%REQ(:PATH)%', filter: { statusCodeMatcher: { comparison: 'GE', value: 400 } } } }),
    ].join('---\n');
    writeFileSync(join(dir, 'all.yaml'), yaml);
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/ingress' });
    await waitFor('routes through Envoy', async () => ((await req('open.example.com')).status === 200 ? true : undefined), 30_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}\nproxies: ${J(await mp.get('/debug/proxies'))}\nEnvoy: ${(await envoy.logs()).slice(-3000)}`);
    });
    await waitFor('the preAuthz listener', async () => ((await req('both.example.org', '/', { port: prePort })).status !== 0 ? true : undefined), 10_000).catch(() => undefined);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await Promise.all(Object.values(up).map((u) => u.close()));
    await authz?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the config: no policy is INVALID except the unsupported ones', async () => {
    const status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
    const invalid = Object.entries(status).filter(([, s]) => s.state === 'INVALID').map(([k]) => k).sort();
    expect(invalid).toEqual(['DLPPolicy/apps/dlp', 'WAFPolicy/apps/waf']);
    expect(status['DLPPolicy/apps/dlp'].messages[0]).toMatch(/^UNSUPPORTED: DLPPolicy is not translated: upstream Envoy has no data-loss-prevention filter/);
    expect(status['WAFPolicy/apps/waf'].messages[0]).toMatch(/^UNSUPPORTED: WAFPolicy/);
  });

  it('retries: an upstream that fails twice then succeeds gives 200 with retries, 503 without', async () => {
    expect((await req('retry.example.com', '/flaky/retried-1?fail=2')).status).toBe(200);
    expect((await req('retry.example.com', '/flaky/without-1?fail=2')).status).toBe(503);
  });

  it('timeouts: a slow upstream past requestTimeout gives 504', async () => {
    const started = Date.now();
    const r = await req('timeout.example.com', '/slow?ms=3000');
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('conflicts: the oldest RetryTimeoutPolicy is what Envoy runs; the other is warned', async () => {
    const dump = (await envoy.configDump()) as { configs: Array<Record<string, any>> };
    const routes = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump')!.dynamic_route_configs;
    const all = routes.flatMap((rc: any) => rc.route_config.virtual_hosts.flatMap((vh: any) => vh.routes));
    const route = all.find((r: any) => r.name === 'apps/conflict:both');
    expect(route.route.timeout).toBe('3s');
    const status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
    expect(status['RetryTimeoutPolicy/apps/conflict-new'].state).toBe('WARNING');
    expect(status['RetryTimeoutPolicy/apps/conflict-new'].messages.join()).toContain('conflicts with apps/conflict-old (older) already applied to route apps/conflict/both');
  });

  it('fault injection: abort and delay, only on the routes selected', async () => {
    expect((await req('fault.example.com', '/abort')).status).toBe(418);
    const t = Date.now();
    expect((await req('fault.example.com', '/delay')).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
    const t2 = Date.now();
    expect((await req('fault.example.com', '/plain')).status).toBe(200);
    expect(Date.now() - t2).toBeLessThan(900);
  });

  it('header manipulation: request and response headers added and removed', async () => {
    const r = await req('headers.example.com', '/', { headers: { 'x-remove-me': 'gone', 'x-keep': 'kept' } });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body).headers;
    expect(seen['x-added']).toBe('yes');
    expect(seen['x-remove-me']).toBeUndefined();
    expect(seen['x-keep']).toBe('kept');
    expect(r.headers['x-resp-added']).toBe('yes');
    expect(r.headers['x-upstream']).toBeUndefined();
    // A route without the policy is untouched.
    const open = await req('open.example.com', '/', { headers: { 'x-remove-me': 'still-here' } });
    expect(JSON.parse(open.body).headers['x-remove-me']).toBe('still-here');
    expect(open.headers['x-upstream']).toBe('main');
  });

  it('CORS: a preflight from an allowed origin is answered; others get no allow-origin', async () => {
    const pre = await req('cors.example.com', '/', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(200);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(pre.headers['access-control-allow-methods']).toBe('GET,POST');
    expect(pre.headers['access-control-max-age']).toBe('3600');
    const other = await req('cors.example.com', '/', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CSRF: a cross-origin POST is rejected, a same-origin one passes', async () => {
    const evil = await req('csrf.example.com', '/', { method: 'POST', headers: { origin: 'http://evil.example.com' }, body: 'x' });
    expect(evil.status).toBe(403);
    const same = await req('csrf.example.com', '/', { method: 'POST', headers: { origin: 'http://csrf.example.com' }, body: 'x' });
    expect(same.status).toBe(200);
    // Not selected: no CSRF filter on this route.
    expect((await req('open.example.com', '/', { method: 'POST', headers: { origin: 'http://evil.example.com' }, body: 'x' })).status).toBe(200);
  });

  it('mirroring: the shadow upstream receives a copy', async () => {
    const before = up.shadow.hits;
    const r = await req('mirror.example.com', '/mirrored');
    expect(JSON.parse(r.body).upstream).toBe('main');
    await waitFor('the mirrored request', () => (up.shadow.hits > before ? true : undefined), 5000);
    expect(up.shadow.seen.at(-1)!.path).toBe('/mirrored');
  });

  it('ext auth: allowed and denied; a denied request never reaches the upstream; the server knows the route', async () => {
    const ok = await req('authz.example.com', '/a', { headers: { 'x-allow': 'yes' } });
    expect(ok.status, `${ok.body} ${J(authz.checks.at(-1))}`).toBe(200);
    expect(JSON.parse(ok.body).headers['x-ext-authz']).toBe('allowed');
    expect(authz.checks.at(-1)!.context['meshplane.route']).toBe('apps/authz/a');
    const hits = up.main.hits;
    const denied = await req('authz.example.com', '/a');
    expect(denied.status).toBe(403);
    expect(denied.body).toBe('denied by ext auth');
    expect(up.main.hits).toBe(hits);
    // Not selected: no ext auth.
    const checks = authz.checks.length;
    expect((await req('open.example.com', '/')).status).toBe(200);
    expect(authz.checks.length).toBe(checks);
  });

  it('ext auth: failureModeAllow decides what happens when the server cannot be reached', async () => {
    expect((await req('fail-open.example.com')).status).toBe(200);
    expect((await req('fail-closed.example.com')).status).toBe(403);
  });

  it('JWT: missing, expired and wrong-audience tokens are refused; a valid one passes with its claim as a header', async () => {
    expect((await req('jwt.example.com')).status).toBe(401);
    expect((await req('jwt.example.com', '/', { headers: { authorization: `Bearer ${tokens.expired}` } })).status).toBe(401);
    expect((await req('jwt.example.com', '/', { headers: { authorization: `Bearer ${tokens.wrongAudience}` } })).status).toBe(403);
    const ok = await req('jwt.example.com', '/', { headers: { authorization: `Bearer ${tokens.valid}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).headers['x-sub']).toBe('alice');
  });

  it('JWT with a remote JWKS fetched through a cluster', async () => {
    expect((await req('remote-jwks.example.com')).status).toBe(401);
    const ok = await waitFor('the remote JWKS to be fetched', async () => {
      const r = await req('remote-jwks.example.com', '/', { headers: { authorization: `Bearer ${tokens.valid}` } });
      return r.status === 200 ? r : undefined;
    }, 10_000);
    expect(JSON.parse(ok.body).upstream).toBe('main');
    expect((await req('remote-jwks.example.com', '/', { headers: { authorization: `Bearer ${tokens.expired}` } })).status).toBe(401);
  });

  it('order: by default ext auth runs first and JWT is not evaluated for a request it rejected', async () => {
    const checks = authz.checks.length;
    const r = await req('both.example.com', '/', { headers: { authorization: `Bearer ${tokens.expired}` } });
    expect(r.status).toBe(403);
    expect(r.headers['x-denied-by']).toBe('ext-authz');
    expect(authz.checks.length).toBe(checks + 1);
    const allowed = await req('both.example.com', '/', { headers: { 'x-allow': 'yes', authorization: `Bearer ${tokens.valid}` } });
    expect(allowed.status).toBe(200);
  });

  it('order: a preAuthz JWT runs before ext auth, so a bad token never reaches the auth server', async () => {
    const checks = authz.checks.length;
    const r = await req('both.example.org', '/', { port: prePort, headers: { 'x-allow': 'yes', authorization: `Bearer ${tokens.expired}` } });
    expect(r.status).toBe(401);
    expect(authz.checks.length).toBe(checks);
    const ok = await req('both.example.org', '/', { port: prePort, headers: { 'x-allow': 'yes', authorization: `Bearer ${tokens.valid}` } });
    expect(ok.status).toBe(200);
    expect(authz.checks.length).toBe(checks + 1);
  });

  it('config dump: the HTTP filters are in the documented order, default and preAuthz', async () => {
    const dump = (await envoy.configDump()) as { configs: Array<Record<string, any>> };
    const listeners = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump')!.dynamic_listeners;
    const filtersOf = (p: number) => {
      const l = listeners.find((x: any) => x.active_state.listener.address.socket_address.port_value === p).active_state.listener;
      return l.filter_chains[0].filters[0].typed_config.http_filters.map((f: any) => f.name);
    };
    expect(filtersOf(port)).toEqual([
      'envoy.filters.http.cors',
      'envoy.filters.http.csrf',
      'envoy.filters.http.fault',
      'envoy.filters.http.ext_authz.apps.authz',
      'envoy.filters.http.ext_authz.apps.dead-closed',
      'envoy.filters.http.ext_authz.apps.dead-open',
      'envoy.filters.http.jwt_authn.postAuthz',
      'envoy.filters.http.transform.postAuthz',
      'envoy.filters.http.local_ratelimit.postAuthz',
      'envoy.filters.http.router',
    ]);
    expect(filtersOf(prePort)).toEqual(['envoy.filters.http.jwt_authn.preAuthz', 'envoy.filters.http.ext_authz.apps.authz', 'envoy.filters.http.router']);
  });

  it('transformation: a header built from the request and a JSON body field rewritten', async () => {
    const r = await req('transform.example.com', '/t', { method: 'POST', headers: { 'x-user': 'bob', 'content-type': 'application/json' }, body: J({ name: 'original', keep: 1 }) });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen.headers['x-greeting']).toBe('hello bob');
    expect(JSON.parse(seen.body)).toEqual({ name: 'rewritten', user: 'bob', keep: 1 });
  });

  it('local rate limit: the third request in the window gets 429', async () => {
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await req('limited.example.com')).status);
    expect(codes).toEqual([200, 200, 429]);
    expect((await req('open.example.com')).status).toBe(200);
  });

  it('least request: traffic spreads over both endpoints; Envoy runs LEAST_REQUEST', async () => {
    for (let i = 0; i < 20; i++) await req('lb.example.com', '/pair');
    expect(up.p1.hits).toBeGreaterThan(0);
    expect(up.p2.hits).toBeGreaterThan(0);
    const dump = (await envoy.configDump()) as { configs: Array<Record<string, any>> };
    const clusters = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump')!.dynamic_active_clusters;
    expect(clusters.find((c: any) => c.cluster.name.startsWith('svc/apps/pair:')).cluster.lb_policy).toBe('LEAST_REQUEST');
  });

  it('ring hash: one header value always reaches the same endpoint; many values spread', async () => {
    const target = async (user: string) => JSON.parse((await req('lb.example.com', '/ring', { headers: { 'x-user': user } })).body).upstream;
    const first = await target('carol');
    for (let i = 0; i < 10; i++) expect(await target('carol')).toBe(first);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await target(`user-${i}`));
    expect(seen).toEqual(new Set(['r1', 'r2']));
  });

  it('outlier detection: a failing endpoint is ejected', async () => {
    up.o1.failWith = 500;
    for (let i = 0; i < 12; i++) await req('lb.example.com', '/outlier');
    // The ejection is decided on Envoy's main thread and reaches the workers' load balancers after a
    // post: on a loaded machine a request can still pick the host in between. Wait for the gauge.
    await waitFor('outlier ejection active', async () => {
      const stats = await envoy.stats('outlier_detection\\.ejections_active');
      const active = Object.entries(stats).find(([name]) => /svc.apps.outlier[:_]/.test(name));
      if (active && active[1] === 1) return true;
      await req('lb.example.com', '/outlier');
      return undefined;
    }, 10_000);
    const results = [];
    for (let i = 0; i < 10; i++) results.push((await req('lb.example.com', '/outlier')).status);
    expect(results).toEqual(Array(10).fill(200));
  });

  it('active health checks: a dead endpoint is taken out', async () => {
    up.h1.healthy = false;
    await new Promise((r) => setTimeout(r, 3000));
    const h1 = up.h1.hits;
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await req('lb.example.com', '/health-check')).status);
    expect(statuses).toEqual(Array(10).fill(200));
    expect(up.h1.hits).toBe(h1);
    expect(up.h2.hits).toBeGreaterThanOrEqual(10);
  });

  it('failover: zone-a first, zone-b only as the next priority', async () => {
    for (let i = 0; i < 10; i++) expect(JSON.parse((await req('lb.example.com', '/zoned')).body).upstream).toBe('za');
    expect(up.zb.hits).toBe(0);
  });

  it('connection policy: a circuit breaker of one connection sheds concurrent requests', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => req('lb.example.com', '/cb/slow?ms=800')));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThanOrEqual(1);
    expect(results.find((r) => r.status === 503)!.headers['x-envoy-overloaded']).toBe('true');
  });

  it('access log: errors are logged with the policy format, successes are filtered out', async () => {
    await req('fault.example.com', '/abort');
    await req('open.example.com', '/logged-ok');
    await waitFor('the access log line', async () => ((await envoy.logs()).includes('MPLOG 418 fault.example.com/abort') ? true : undefined), 5000);
    expect(await envoy.logs()).not.toContain('/logged-ok');
  });
});
