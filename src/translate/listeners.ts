// Gateway listeners -> envoy.config.listener.v3 Listener with an HTTP
// connection manager that takes its routes from RDS over ADS.
import type { ListenerIR, PolicyIR } from '../ir/types.js';
import { accessLogs } from './access-log.js';
import type { FilterInstance } from './filter-policies.js';
import { httpFilterChain } from './filters.js';
import { ADS_CONFIG_SOURCE, ANY, type NamedResource, type TranslateOptions } from './types.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export function listener(l: ListenerIR, opts: TranslateOptions, filters: FilterInstance[] = [], policies: PolicyIR[] = []): NamedResource {
  const logs = accessLogs(policies);
  return {
    name: l.name,
    body: {
      name: l.name,
      address: { socketAddress: { address: opts.listenerAddress, portValue: l.port } },
      filterChains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typedConfig: ANY(HCM, {
                statPrefix: l.name.replace(/[^a-zA-Z0-9_]/g, '_'),
                // Host headers carry the port; virtual hosts are matched on the name alone.
                stripAnyHostPort: true,
                rds: { configSource: ADS_CONFIG_SOURCE, routeConfigName: l.name },
                httpFilters: httpFilterChain(filters),
                ...(logs.length ? { accessLog: logs } : {}),
              }),
            },
          ],
        },
      ],
    },
  };
}
