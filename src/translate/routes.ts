// Final routes -> envoy.config.route.v3 RouteConfiguration.
import type { FinalRoute, ListenerIR } from '../ir/types.js';
import type { HttpMatcher } from '../resources/schema.js';
import type { NamedResource } from './types.js';

function stringMatch(value: string | undefined, regex: boolean | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return regex ? { safeRegex: { regex: value } } : { exact: value };
}

export function routeMatch(m: HttpMatcher): Record<string, unknown> {
  const match: Record<string, unknown> = {};
  const u = m.uri;
  if (u?.exact !== undefined) match.path = u.exact;
  else if (u?.regex !== undefined) match.safeRegex = { regex: u.regex };
  else match.prefix = u?.prefix ?? '/';
  if (u?.ignoreCase) match.caseSensitive = { value: false };
  const headers: Array<Record<string, unknown>> = (m.headers ?? []).map((h) => {
    const sm = stringMatch(h.value, h.regex);
    return { name: h.name, ...(sm ? { stringMatch: sm } : { presentMatch: true }), ...(h.invertMatch ? { invertMatch: true } : {}) };
  });
  if (m.method) headers.push({ name: ':method', stringMatch: { exact: m.method } });
  if (headers.length) match.headers = headers;
  if (m.queryParameters?.length) {
    match.queryParameters = m.queryParameters.map((q) => {
      const sm = stringMatch(q.value, q.regex);
      return { name: q.name, ...(sm ? { stringMatch: sm } : { presentMatch: true }) };
    });
  }
  return match;
}

function routeAction(r: FinalRoute): Record<string, unknown> {
  const a = r.action;
  if (a.type === 'directResponse') return { directResponse: { status: a.status, ...(a.body !== undefined ? { body: { inlineString: a.body } } : {}) } };
  if (a.type === 'redirect') {
    return {
      redirect: {
        ...(a.hostRedirect ? { hostRedirect: a.hostRedirect } : {}),
        ...(a.pathRedirect ? { pathRedirect: a.pathRedirect } : {}),
        ...(a.httpsRedirect ? { httpsRedirect: true } : {}),
        ...(a.responseCode ? { responseCode: a.responseCode } : {}),
      },
    };
  }
  const target =
    a.destinations.length === 1
      ? { cluster: a.destinations[0].cluster }
      : { weightedClusters: { clusters: a.destinations.map((d) => ({ name: d.cluster, weight: { value: d.weight } })) } };
  return {
    route: {
      ...target,
      ...(a.pathRewrite !== undefined ? { prefixRewrite: a.pathRewrite } : {}),
      ...(a.hostRewrite ? { hostRewriteLiteral: a.hostRewrite } : {}),
    },
  };
}

export function envoyRoutes(r: FinalRoute): Array<Record<string, unknown>> {
  const action = routeAction(r);
  const chain = r.path.map((p) => `${p.table}:${p.route}`).join('>');
  return r.matchers.map((m, i) => ({
    name: r.matchers.length > 1 ? `${chain}#${i}` : chain,
    match: routeMatch(m),
    ...action,
  }));
}

export function routeConfiguration(listener: ListenerIR): NamedResource {
  return {
    name: listener.name,
    body: {
      name: listener.name,
      virtualHosts: listener.virtualHosts.map((vh) => ({
        name: vh.name,
        domains: vh.domains,
        routes: vh.routes.flatMap(envoyRoutes),
      })),
    },
  };
}
