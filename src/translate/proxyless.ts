// Proxyless gRPC clients (grpc-js-xds, grpc-go, ...) get a workspace's
// sidecar-served route tables (root tables without virtualGateways): one
// API listener per host, named by the host, so `xds:///<host>` resolves.
import type { Backend, FinalRoute, IR } from '../ir/types.js';
import { cluster, clusterLoadAssignment } from './clusters.js';
import { envoyRoutes } from './routes.js';
import { proxylessKey } from '../ir/keys.js';
import { ADS_CONFIG_SOURCE, ANY, type EnvoyResources } from './types.js';


export function translateProxyless(ir: IR, workspace: string): EnvoyResources {
  const backendsByCluster = new Map(ir.backends.map((b) => [b.cluster, b]));
  const byHost = new Map<string, FinalRoute[]>();
  for (const r of ir.routes) {
    if (r.gateway !== null || r.rootWorkspace !== workspace) continue;
    for (const h of r.hosts) byHost.set(h, [...(byHost.get(h) ?? []), r]);
  }
  const out: EnvoyResources = { listener: [], route: [], cluster: [], endpoint: [], secret: [] };
  const used = new Set<string>();
  for (const [host, routes] of [...byHost.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const routeConfigName = `${proxylessKey(workspace)}/${host}`;
    out.listener.push({
      name: host,
      body: {
        name: host,
        apiListener: {
          apiListener: ANY('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
            rds: { configSource: ADS_CONFIG_SOURCE, routeConfigName },
            httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: ANY('envoy.extensions.filters.http.router.v3.Router') }],
          }),
        },
      },
    });
    // Proxyless clients implement routing, not Envoy's HTTP filters: routes only.
    const envoyRouteList = routes.flatMap((r) => envoyRoutes(r, ir, backendsByCluster).routes).map(({ typedPerFilterConfig: _f, ...rest }) => rest);
    for (const r of routes) if (r.action.type === 'forward') for (const d of r.action.destinations) used.add(d.cluster);
    out.route.push({ name: routeConfigName, body: { name: routeConfigName, virtualHosts: [{ name: host, domains: [host], routes: envoyRouteList }] } });
  }
  const backends: Backend[] = ir.backends.filter((b) => used.has(b.cluster));
  out.cluster = backends.map((b) => cluster(b, ir.policies));
  out.endpoint = backends.filter((b) => b.discovery === 'EDS').map((b) => clusterLoadAssignment(b, ir.policies));
  return out;
}

/** Workspaces with sidecar-served route tables. */
export const proxylessWorkspaces = (ir: IR): string[] => [...new Set(ir.routes.filter((r) => r.gateway === null).map((r) => r.rootWorkspace))].sort();
