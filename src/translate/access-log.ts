// AccessLogPolicy -> access logs on the gateway's HTTP connection manager.
import type { PolicyIR } from '../ir/types.js';
import type { AccessLogConfig } from '../resources/policy-configs.js';
import { ANY } from './types.js';

export function accessLogs(policies: PolicyIR[]): Array<Record<string, unknown>> {
  return policies
    .filter((p) => p.kind === 'AccessLogPolicy')
    .map((p) => {
      const c = p.config as AccessLogConfig;
      const filters: unknown[] = [];
      if (c.filter?.statusCodeMatcher) {
        filters.push({ statusCodeFilter: { comparison: { op: c.filter.statusCodeMatcher.comparison, value: { defaultValue: c.filter.statusCodeMatcher.value, runtimeKey: 'meshplane_access_log_status' } } } });
      }
      if (c.filter?.headerMatcher) {
        const h = c.filter.headerMatcher;
        filters.push({ headerFilter: { header: { name: h.name, ...(h.value !== undefined ? { stringMatch: { exact: h.value } } : { presentMatch: true }) } } });
      }
      return {
        name: 'envoy.access_loggers.stdout',
        ...(filters.length === 1 ? { filter: filters[0] } : filters.length > 1 ? { filter: { andFilter: { filters } } } : {}),
        typedConfig: ANY('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', {
          ...(c.format ? { logFormat: { textFormatSource: { inlineString: c.format.endsWith('\n') ? c.format : c.format + '\n' } } } : {}),
        }),
      };
    });
}
