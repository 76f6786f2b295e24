// Client-side destination policies that shape the Envoy cluster.
import type { Backend, PolicyIR } from '../ir/types.js';
import type { ActiveHealthCheckConfig, ConnectionConfig, FailoverConfig, LoadBalancerConfig, OutlierDetectionConfig } from '../resources/policy-configs.js';
import { resolvePolicies } from './attached.js';
import { duration } from './types.js';

export const backendPolicies = (b: Backend, byKey: Record<string, PolicyIR>): PolicyIR[] =>
  resolvePolicies(b.clientPolicies, byKey);

/** `gateway` (ns/name) is the proxy the cluster is for, when it is a gateway. */
export function clusterPolicyFields(policies: PolicyIR[], host: string, gateway?: string): { fields: Record<string, unknown>; commonHttp: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  const commonHttp: Record<string, unknown> = {};
  const healthChecks: unknown[] = [];
  for (const p of policies) {
    switch (p.kind) {
      case 'OutlierDetectionPolicy': {
        const c = p.config as OutlierDetectionConfig;
        fields.outlierDetection = {
          consecutive5xx: { value: c.consecutiveErrors },
          consecutiveGatewayFailure: { value: c.consecutiveErrors },
          interval: duration(c.interval),
          baseEjectionTime: duration(c.baseEjectionTime),
          maxEjectionPercent: { value: c.maxEjectionPercent },
        };
        break;
      }
      case 'ConnectionPolicy': {
        const c = p.config as ConnectionConfig;
        const thresholds: Record<string, unknown> = {};
        if (c.tcp?.maxConnections) thresholds.maxConnections = { value: c.tcp.maxConnections };
        if (c.http?.http1MaxPendingRequests) thresholds.maxPendingRequests = { value: c.http.http1MaxPendingRequests };
        if (c.http?.http2MaxRequests) thresholds.maxRequests = { value: c.http.http2MaxRequests };
        if (c.http?.maxRetries !== undefined) thresholds.maxRetries = { value: c.http.maxRetries };
        if (Object.keys(thresholds).length) fields.circuitBreakers = { thresholds: [thresholds] };
        if (c.tcp?.connectTimeout) fields.connectTimeout = duration(c.tcp.connectTimeout);
        const ka = c.tcp?.tcpKeepalive;
        if (ka) {
          fields.upstreamConnectionOptions = {
            tcpKeepalive: {
              ...(ka.probes !== undefined ? { keepaliveProbes: { value: ka.probes } } : {}),
              ...(ka.time ? { keepaliveTime: { value: duration(ka.time).seconds } } : {}),
              ...(ka.interval ? { keepaliveInterval: { value: duration(ka.interval).seconds } } : {}),
            },
          };
        }
        if (c.http?.idleTimeout) commonHttp.idleTimeout = duration(c.http.idleTimeout);
        if (c.http?.maxRequestsPerConnection) commonHttp.maxRequestsPerConnection = { value: c.http.maxRequestsPerConnection };
        break;
      }
      case 'LoadBalancerPolicy': {
        const c = p.config as LoadBalancerConfig;
        if (c.simple) fields.lbPolicy = c.simple;
        if (c.consistentHash) {
          fields.lbPolicy = 'RING_HASH';
          if (c.consistentHash.minimumRingSize) fields.ringHashLbConfig = { minimumRingSize: { value: c.consistentHash.minimumRingSize } };
        }
        break;
      }
      case 'ActiveHealthCheckPolicy': {
        const cfg = p.config as ActiveHealthCheckConfig;
        // config.virtualGateways limits the check to those gateways' proxies.
        if (cfg.virtualGateways?.length && !cfg.virtualGateways.some((g) => `${g.namespace ?? p.namespace}/${g.name}` === gateway)) break;
        healthChecks.push(envoyHealthCheck(cfg.healthCheck, host));
        break;
      }
    }
  }
  if (healthChecks.length) fields.healthChecks = healthChecks;
  return { fields, commonHttp };
}

/**
 * FailoverPolicy: endpoints are grouped by zone into priorities: a mapping's
 * `from` zone first, then its `to` zones in order, then the rest. Envoy moves
 * traffic to the next priority when one becomes unhealthy.
 */
export function endpointPriority(policies: PolicyIR[]): ((zone: string | undefined) => number) | undefined {
  const failover = policies.find((p) => p.kind === 'FailoverPolicy');
  if (!failover) return undefined;
  const order: string[] = [];
  for (const m of (failover.config as FailoverConfig).localityMappings) {
    for (const loc of [m.from, ...m.to]) if (loc.zone && !order.includes(loc.zone)) order.push(loc.zone);
  }
  return (zone) => {
    const i = zone ? order.indexOf(zone) : -1;
    return i === -1 ? order.length : i;
  };
}

const durationIf = (d: string | undefined) => (d ? duration(d) : undefined);

/** ActiveHealthCheckPolicy's healthCheck is Envoy's core.v3.HealthCheck. */
function envoyHealthCheck(h: ActiveHealthCheckConfig['healthCheck'], host: string): Record<string, unknown> {
  const optional: Record<string, unknown> = {
    initialJitter: durationIf(h.initialJitter),
    intervalJitter: durationIf(h.intervalJitter),
    intervalJitterPercent: h.intervalJitterPercent,
    reuseConnection: h.reuseConnection === undefined ? undefined : { value: h.reuseConnection },
    noTrafficHealthyInterval: durationIf(h.noTrafficHealthyInterval),
    unhealthyInterval: durationIf(h.unhealthyInterval),
    unhealthyEdgeInterval: durationIf(h.unhealthyEdgeInterval),
    healthyEdgeInterval: durationIf(h.healthyEdgeInterval),
    alwaysLogHealthCheckFailures: h.alwaysLogHealthCheckFailures,
    alwaysLogHealthCheckSuccess: h.alwaysLogHealthCheckSuccess,
  };
  const http = h.httpHealthCheck;
  return {
    timeout: duration(h.timeout),
    interval: duration(h.interval),
    // Without traffic Envoy would check only every 60 s; the policy's interval is meant always.
    noTrafficInterval: duration(h.noTrafficInterval ?? h.interval),
    unhealthyThreshold: { value: h.unhealthyThreshold },
    healthyThreshold: { value: h.healthyThreshold },
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    ...(http
      ? {
          httpHealthCheck: {
            path: http.path,
            host: http.host ?? host,
            ...(http.expectedStatuses ? { expectedStatuses: http.expectedStatuses.map((s) => ({ start: s.start, end: s.end })) } : {}),
            ...(http.retriableStatuses ? { retriableStatuses: http.retriableStatuses.map((s) => ({ start: s.start, end: s.end })) } : {}),
            ...(http.requestHeadersToRemove ? { requestHeadersToRemove: http.requestHeadersToRemove } : {}),
            ...(http.codecClientType ? { codecClientType: http.codecClientType } : {}),
          },
        }
      : {}),
    ...(h.tcpHealthCheck ? { tcpHealthCheck: h.tcpHealthCheck } : {}),
    ...(h.grpcHealthCheck ? { grpcHealthCheck: h.grpcHealthCheck } : {}),
  };
}
