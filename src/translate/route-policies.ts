// Policies that become fields of the Envoy route itself.
import type { Backend, FinalRoute, PolicyIR } from '../ir/types.js';
import type { HeaderManipulationConfig, LoadBalancerConfig, MirrorConfig, RateLimitConfig, RetryTimeoutConfig } from '../resources/policy-configs.js';
import { policyKey, resolvePolicies } from './attached.js';
import { rateLimitStage } from './filter-policies.js';
import { duration } from './types.js';
import { fractionalPercent } from './values.js';
import type { ExpandedRateLimits } from '../core/rate-limit-sets.js';
import type { RateLimitAction } from '../resources/rate-limit-configs.js';

const headerOptions = (h: Record<string, string>, action: string) =>
  Object.entries(h).map(([key, value]) => ({ header: { key, value }, appendAction: action }));

/** Fields on the route (any action). */
export function routeLevelFields(policies: PolicyIR[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of policies) {
    if (p.kind === 'HeaderManipulationPolicy') {
      const c = p.config as HeaderManipulationConfig;
      if (c.appendRequestHeaders) out.requestHeadersToAdd = headerOptions(c.appendRequestHeaders, 'APPEND_IF_EXISTS_OR_ADD');
      if (c.removeRequestHeaders) out.requestHeadersToRemove = c.removeRequestHeaders;
      if (c.appendResponseHeaders) out.responseHeadersToAdd = headerOptions(c.appendResponseHeaders, 'APPEND_IF_EXISTS_OR_ADD');
      if (c.removeResponseHeaders) out.responseHeadersToRemove = c.removeResponseHeaders;
    }
  }
  return out;
}

/** Fields of RouteAction (forwarding routes only). */
export function routeActionFields(policies: PolicyIR[], backends: Backend[], policiesByKey: Record<string, PolicyIR>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rateLimits: unknown[] = [];
  for (const p of policies) {
    switch (p.kind) {
      case 'RetryTimeoutPolicy': {
        const c = p.config as RetryTimeoutConfig;
        if (c.requestTimeout) out.timeout = duration(c.requestTimeout);
        if (c.retries) {
          out.retryPolicy = {
            retryOn: c.retries.retryOn ?? '5xx,reset,connect-failure',
            numRetries: { value: c.retries.attempts },
            ...(c.retries.perTryTimeout ? { perTryTimeout: duration(c.retries.perTryTimeout) } : {}),
            ...(c.retries.retryBackOff ? { retryBackOff: { baseInterval: duration(c.retries.retryBackOff) } } : {}),
          };
        }
        break;
      }
      case 'MirrorPolicy': {
        const c = p.config as MirrorConfig;
        if (p.clusters.mirror) {
          out.requestMirrorPolicies = [{ cluster: p.clusters.mirror, runtimeFraction: { defaultValue: fractionalPercent(c.percentage) } }];
        }
        break;
      }
      case 'RateLimitPolicy': {
        const c = p.config as RateLimitConfig;
        if (c.serverSettings && p.rateLimit) {
          for (const rl of p.rateLimit.actions as ExpandedRateLimits['actions']) {
            rateLimits.push({
              stage: { value: rateLimitStage(p.phase) }, // a UInt32Value here, a plain uint32 on the filter
              actions: rl.actions.map(envoyRateLimitAction),
              ...(rl.limit ? { limit: rl.limit } : {}),
            });
          }
        }
        break;
      }
    }
  }
  if (rateLimits.length) out.rateLimits = rateLimits;
  // Consistent hashing needs the route to say what to hash.
  const hashPolicy: unknown[] = [];
  for (const b of backends) {
    for (const ref of b.clientPolicies) {
      if (ref.kind !== 'LoadBalancerPolicy') continue;
      const ch = (policiesByKey[policyKey(ref)]?.config as LoadBalancerConfig | undefined)?.consistentHash;
      if (!ch) continue;
      if (ch.httpHeaderName) hashPolicy.push({ header: { headerName: ch.httpHeaderName } });
      else if (ch.httpCookie) hashPolicy.push({ cookie: { name: ch.httpCookie.name, ...(ch.httpCookie.ttl ? { ttl: duration(ch.httpCookie.ttl) } : {}), ...(ch.httpCookie.path ? { path: ch.httpCookie.path } : {}) } });
      else if (ch.useSourceIp) hashPolicy.push({ connectionProperties: { sourceIp: true } });
      else if (ch.httpQueryParameterName) hashPolicy.push({ queryParameter: { name: ch.httpQueryParameterName } });
    }
  }
  if (hashPolicy.length) out.hashPolicy = hashPolicy;
  return out;
}

/** Security policies whose references did not resolve: the route fails closed. */
export const failsClosed = (policies: PolicyIR[]): boolean =>
  policies.some((p) => (p.kind === 'ExtAuthPolicy' || p.kind === 'JWTPolicy' || p.kind === 'RateLimitPolicy') && p.errors.length > 0);

export const attachedPolicies = (r: FinalRoute, byKey: Record<string, PolicyIR>): PolicyIR[] =>
  resolvePolicies(r.policies, byKey);

/** A Gloo rate-limit action is Envoy's RateLimit.Action; header matchers move to string_match. */
export function envoyRateLimitAction(a: RateLimitAction): Record<string, unknown> {
  if (!a.headerValueMatch) return a as Record<string, unknown>;
  const { headers, expectMatch, ...rest } = a.headerValueMatch;
  return {
    headerValueMatch: {
      ...rest,
      ...(expectMatch !== undefined ? { expectMatch: { value: expectMatch } } : {}),
      headers: headers.map((h) => ({
        name: h.name,
        ...(h.exactMatch !== undefined ? { stringMatch: { exact: h.exactMatch } } : {}),
        ...(h.prefixMatch !== undefined ? { stringMatch: { prefix: h.prefixMatch } } : {}),
        ...(h.suffixMatch !== undefined ? { stringMatch: { suffix: h.suffixMatch } } : {}),
        ...(h.regexMatch !== undefined ? { stringMatch: { safeRegex: { regex: h.regexMatch } } } : {}),
        ...(h.presentMatch !== undefined || [h.exactMatch, h.prefixMatch, h.suffixMatch, h.regexMatch].every((x) => x === undefined) ? { presentMatch: h.presentMatch ?? true } : {}),
        ...(h.invertMatch ? { invertMatch: true } : {}),
      })),
    },
  };
}
