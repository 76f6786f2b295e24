// Client-side destination policies that shape the Envoy cluster.
import type { Backend, PolicyIR } from '../ir/types.js';
import type { ActiveHealthCheckConfig, ConnectionConfig, FailoverConfig, LoadBalancerConfig, OutlierDetectionConfig } from '../resources/policy-configs.js';
import { resolvePolicies } from './attached.js';
import { duration } from './types.js';

export const backendPolicies = (b: Backend, byKey: Record<string, PolicyIR>): PolicyIR[] =>
  resolvePolicies(b.clientPolicies, byKey);

export function clusterPolicyFields(policies: PolicyIR[], host: string): { fields: Record<string, unknown>; commonHttp: Record<string, unknown> } {
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
        const h = (p.config as ActiveHealthCheckConfig).healthCheck;
        healthChecks.push({
          timeout: duration(h.timeout),
          interval: duration(h.interval),
          // Without traffic Envoy would check only every 60 s; the policy's interval is meant always.
          noTrafficInterval: duration(h.interval),
          unhealthyThreshold: { value: h.unhealthyThreshold },
          healthyThreshold: { value: h.healthyThreshold },
          httpHealthCheck: {
            path: h.httpHealthCheck.path,
            host: h.httpHealthCheck.host ?? host,
            ...(h.httpHealthCheck.expectedStatuses ? { expectedStatuses: h.httpHealthCheck.expectedStatuses.map((s) => ({ start: s.start, end: s.end })) } : {}),
          },
        });
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
