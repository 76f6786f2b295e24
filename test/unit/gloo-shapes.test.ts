// Gloo v2 shapes (issue 14): what they become in Envoy and in the rate-limit
// service's config, from the gloo-shapes scenario fixture.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandRateLimits, SET_RULE_KEY } from '../../src/core/rate-limit-sets.js';
import { validateResource } from '../../src/resources/schema.js';
import { translateAll, type EnvoyResources } from '../../src/translate/index.js';
import { rateLimitServiceConfigs } from '../../src/translate/ratelimit-config.js';
import { loadScenario } from '../support/scenario.js';

const core = loadScenario(join(import.meta.dirname, '../fixtures/scenarios/gloo-shapes'));
const out = translateAll(core.ir, { listenerAddress: '0.0.0.0' });
const gw = out.get('gateway:apps/gw')!;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const routes = (res: EnvoyResources): Any[] => (res.route[0].body.virtualHosts as Any[]).flatMap((v) => v.routes);
const httpFilters = (res: EnvoyResources): Any[] => (res.listener[0].body.filterChains as Any[])[0].filters[0].typedConfig.httpFilters;

describe('Gloo set-style rate limits', () => {
  it('become one ordered descriptor per rule, whatever order the setActions come in', () => {
    const limited = routes(gw).find((r) => r.name === 'apps/shop:http[1]');
    const actions = limited.route.rateLimits.map((rl: Any) => rl.actions);
    expect(actions).toEqual([
      [{ genericKey: { descriptorKey: SET_RULE_KEY, descriptorValue: 'apps.plans.0' } }, { requestHeaders: { headerName: 'x-user', descriptorKey: 'userId' } }, { requestHeaders: { headerName: 'x-plan', descriptorKey: 'plan' } }],
      [{ genericKey: { descriptorKey: SET_RULE_KEY, descriptorValue: 'apps.plans.1' } }, { requestHeaders: { headerName: 'x-user', descriptorKey: 'userId' } }, { requestHeaders: { headerName: 'x-plan', descriptorKey: 'plan' } }],
    ]);
  });

  it('write the matching tree for the reference service', () => {
    const cfg = rateLimitServiceConfigs(core.ir).get('meshplane')!;
    expect(cfg.descriptors).toContainEqual({
      key: SET_RULE_KEY,
      value: 'apps.plans.0',
      descriptors: [{ key: 'userId', descriptors: [{ key: 'plan', value: 'bronze', rate_limit: { unit: 'minute', requests_per_unit: 1 } }] }],
    });
  });

  it('refuse a less specific rule that Gloo would skip, unless it says alwaysApply', () => {
    const rule = (keys: string[], alwaysApply?: boolean) => ({ simpleDescriptors: keys.map((key) => ({ key })), rateLimit: { unit: 'MINUTE' as const, requestsPerUnit: 1 }, ...(alwaysApply ? { alwaysApply } : {}) });
    const entries = [{ setActions: [{ genericKey: { descriptorValue: 'x', descriptorKey: 'a' } }, { remoteAddress: {} }] }];
    expect(expandRateLimits('r', [], [rule(['a']), rule(['a', 'remote_address'])], entries).errors.join()).toContain('UNSUPPORTED: raw.setDescriptors[0] is less specific than raw.setDescriptors[1]');
    const both = expandRateLimits('r', [], [rule(['a'], true), rule(['a', 'remote_address'])], entries);
    expect(both.errors).toEqual([]);
    expect(both.actions).toHaveLength(2);
  });

  it('keep ordered actions and the dynamic-metadata limit override as Envoy has them', () => {
    const limit = { dynamicMetadata: { metadataKey: { key: 'envoy.filters.http.ext_authz', path: [{ key: 'rateLimit' }] } } };
    const x = expandRateLimits('r', [], [], [{ actions: [{ genericKey: { descriptorValue: 'c' } }], limit }]);
    expect(x.actions).toEqual([{ actions: [{ genericKey: { descriptorValue: 'c' } }], limit }]);
  });
});

describe('JWTPolicy claims, scopes and token sources', () => {
  it('read the token from the named header, fetch the JWKS early and keep the payload for the claims check', () => {
    const jwt = httpFilters(gw).find((f) => f.name === 'envoy.filters.http.jwt_authn.preAuthz');
    const provider = jwt.typedConfig.providers['apps.jwt.idp'];
    expect(provider.fromHeaders).toEqual([{ name: 'jwt' }]);
    expect(provider.remoteJwks.asyncFetch).toEqual({});
    expect(provider.payloadInMetadata).toBe('meshplane_jwt_payload');
    expect(provider.normalizePayloadInMetadata).toEqual({ spaceDelimitedClaims: ['scope'] });
    expect(provider.claimToHeaders).toEqual([{ headerName: 'x-email', claimName: 'email' }]);
  });

  it('check claims (globs) and scopes with RBAC right after jwt_authn, on the selected route only', () => {
    const names = httpFilters(gw).map((f) => f.name);
    expect(names.indexOf('envoy.filters.http.rbac.jwt_claims.preAuthz')).toBe(names.indexOf('envoy.filters.http.jwt_authn.preAuthz') + 1);
    const r = routes(gw).find((x) => x.name === 'apps/shop:http[0]');
    const ids = r.typedPerFilterConfig['envoy.filters.http.rbac.jwt_claims.preAuthz'].rbac.rules.policies['apps.jwt'].principals[0].andIds.ids;
    const email = ids[0].orIds.ids.map((i: Any) => i.metadata.value);
    expect(email).toContainEqual({ stringMatch: { suffix: '@example.com' } });
    expect(email).toContainEqual({ listMatch: { oneOf: { stringMatch: { exact: 'admin' } } } });
    expect(ids[1].metadata).toEqual({ filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'meshplane_jwt_payload' }, { key: 'scope' }], value: { listMatch: { oneOf: { stringMatch: { exact: 'read' } } } } });
    expect(routes(gw).find((x) => x.name === 'apps/shop:explicit').typedPerFilterConfig).toBeUndefined();
  });
});

describe('ActiveHealthCheckPolicy', () => {
  const webCluster = (res: EnvoyResources) => res.cluster.find((c) => c.name.startsWith('svc/apps/web:80'))!.body as Any;
  it('passes Envoy HealthCheck fields through', () => {
    expect(webCluster(gw).healthChecks).toEqual([
      expect.objectContaining({ timeout: { seconds: 2, nanos: 0 }, noTrafficInterval: { seconds: 30, nanos: 0 }, alwaysLogHealthCheckFailures: true, httpHealthCheck: { path: '/healthz', host: 'web.apps.svc.cluster.local' } }),
    ]);
  });
  it('runs only on the gateways config.virtualGateways names', () => {
    expect(webCluster(out.get('gateway:apps/other-gw')!).healthChecks).toBeUndefined();
  });
});

describe('RouteTable and kind shapes', () => {
  it('an unnamed route is named by position, and forwardTo without destinations uses defaultDestination', () => {
    const r = core.ir.routes.find((x) => x.route === 'http[0]' && x.gateway === 'apps/gw')!;
    expect(r.action.type === 'forward' && r.action.destinations.map((d) => d.cluster)).toEqual(['svc/apps/web:80@team']);
  });
  it('forwardTo without destinations and without a defaultDestination is an error with its path', () => {
    const v = validateResource({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 't' }, spec: { http: [{ forwardTo: {} }] } });
    expect(v.ok ? [] : v.problems).toEqual([{ path: 'spec.http[0].forwardTo.destinations', message: "required, or set the table's defaultDestination" }]);
  });
  it('RateLimitClientConfig is read under both apiVersions', () => {
    for (const apiVersion of ['trafficcontrol.policy.gloo.solo.io/v2', 'admin.gloo.solo.io/v2']) {
      expect(validateResource({ apiVersion, kind: 'RateLimitClientConfig', metadata: { name: 'c' }, spec: { raw: { rateLimits: [{ actions: [{ remoteAddress: {} }] }] } } }).ok).toBe(true);
    }
  });
});

describe('VirtualGateway listeners in Envoy', () => {
  const vg = loadScenario(join(import.meta.dirname, '../fixtures/scenarios/gloo-virtual-gateway'));
  const edge = translateAll(vg.ir, { listenerAddress: '0.0.0.0' }).get('gateway:ops/edge')!;
  it('a port by name binds where the gateway listens; appProtocol HTTP2 sets the codec', () => {
    expect(edge.listener.map((l) => l.name).sort()).toEqual(['ops/edge:80', 'ops/edge:8081']);
    const h2 = edge.listener.find((l) => l.name === 'ops/edge:8081')!.body as Any;
    expect(h2.filterChains[0].filters[0].typedConfig.codecType).toBe('HTTP2');
  });
  it('Secret problems never echo the Secret\'s values', () => {
    const text = JSON.stringify(vg.status);
    expect(text).toContain('Secret/ops/broken');
    expect(text).not.toContain('bm90IGEgY2VydA');
    expect(text).not.toContain('not-a-certificate');
  });
});

describe('injaTemplate in Envoy', () => {
  const t = loadScenario(join(import.meta.dirname, '../fixtures/scenarios/gloo-inja'));
  const res = translateAll(t.ir, { listenerAddress: '0.0.0.0' }).get('gateway:apps/gw')!;
  const perRoute = (route: string) => routes(res).find((r) => r.name === `apps/t:${route}`).typedPerFilterConfig;
  it('maps functions onto substitution commands, escaping literal %', () => {
    const cfg = perRoute('extract');
    const headers = cfg['envoy.filters.http.transform_headers.postAuthz'].mutations.requestMutations;
    expect(headers).toContainEqual({ append: { header: { key: 'x-organization', value: '%DYNAMIC_METADATA(meshplane.inja.apps.organization:organization)%' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' } });
    expect(headers).toContainEqual({ remove: 'x-internal' });
    // A JSON body field sends the header to the transform filter.
    const json = cfg['envoy.filters.http.transform.postAuthz'].requestTransformation;
    expect(json.headersMutations[0].append.header.value).toBe('user %REQ(x-user)% at 100%% on %ENVIRONMENT(HOSTNAME)%, plan %REQUEST_BODY(plan:tier)%');
    expect(json.bodyTransformation.action).toBe('MERGE');
    const rule = cfg['envoy.filters.http.header_to_metadata.postAuthz'].requestRules[0];
    expect(rule.onHeaderPresent.regexValueRewrite).toEqual({ pattern: { regex: '^(.*@(.*)$)$|^[\\s\\S]*$' }, substitution: '\\2' });
  });
  it('body templates become Lua that keeps request headers for the response', () => {
    const lua = perRoute('body')['envoy.filters.http.transform_lua_body.postAuthz'].sourceCode.inlineString as string;
    // One envoy_on_request renders the request body and keeps x-user for the response template.
    expect(lua.match(/function envoy_on_request/g)).toHaveLength(1);
    expect(lua).toContain('dynamicMetadata():set("meshplane.inja.apps.body.request_headers", "x-user"');
    expect(lua).toContain('table.concat({"hello ", (h:headers():get("x-user") or ""), ": ", original})');
    expect(lua).toContain('(saved["x-user"] or "")');
  });
});
