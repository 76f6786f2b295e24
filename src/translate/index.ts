// IR -> Envoy resources, one set per gateway (keyed by the gateway's ns/name).
import type { GatewayIR, IR } from '../ir/types.js';
import { cluster, clusterLoadAssignment } from './clusters.js';
import { listener } from './listeners.js';
import { routeConfiguration } from './routes.js';
import type { EnvoyResources, TranslateOptions } from './types.js';

export type { EnvoyResources, NamedResource, TranslateOptions } from './types.js';

export function translateGateway(ir: IR, gw: GatewayIR, opts: TranslateOptions): EnvoyResources {
  const used = new Set<string>();
  for (const l of gw.listeners) {
    for (const vh of l.virtualHosts) {
      for (const r of vh.routes) if (r.action.type === 'forward') for (const d of r.action.destinations) used.add(d.cluster);
    }
  }
  const backends = ir.backends.filter((b) => used.has(b.cluster));
  return {
    listener: gw.listeners.map((l) => listener(l, opts)),
    route: gw.listeners.map(routeConfiguration),
    cluster: backends.map(cluster),
    endpoint: backends.filter((b) => b.discovery === 'EDS').map(clusterLoadAssignment),
  };
}

export function translateAll(ir: IR, opts: TranslateOptions): Map<string, EnvoyResources> {
  return new Map(ir.gateways.map((gw) => [gw.ref, translateGateway(ir, gw, opts)]));
}
