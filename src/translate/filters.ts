// The one place that owns the HTTP filter order (semantics §8):
//   cors, csrf, fault, [preAuthz: jwt, transform, ratelimit], ext_authz,
//   [postAuthz: jwt, transform, ratelimit], router
// Policy filters are added by the policy translators; a filter appears only
// when a route on the listener needs it.
import type { ListenerIR } from '../ir/types.js';
import { ANY } from './types.js';

export const FILTER_ORDER = ['cors', 'csrf', 'fault', 'preAuthz', 'ext_authz', 'postAuthz', 'router'] as const;

export function httpFilterChain(_l: ListenerIR): Array<Record<string, unknown>> {
  return [{ name: 'envoy.filters.http.router', typedConfig: ANY('envoy.extensions.filters.http.router.v3.Router') }];
}
