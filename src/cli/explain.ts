// `meshplane explain`: the core's result for a directory, without a server.
import type { CoreResult } from '../ir/types.js';
import { workloadLines, workloadsView } from './explain-mesh.js';

export interface ExplainOutput {
  routes: Array<Record<string, unknown>>;
  destinations: Array<Record<string, unknown>>;
  /** Mesh mode: per sidecar workload (explain-mesh.ts). */
  workloads?: Array<Record<string, unknown>>;
  status: CoreResult['status'];
}

export function explainView(core: CoreResult): ExplainOutput {
  return {
    routes: core.ir.routes.map((r) => ({
      gateway: r.gateway,
      hosts: r.hosts,
      table: r.table,
      route: r.route,
      path: r.path,
      workspace: r.workspace,
      labels: sortKeys(r.labels),
      valid: r.valid,
      errors: r.errors,
      policies: r.policies,
      skipped: r.skipped,
      ...(r.workloadSelector ? { workloadSelector: r.workloadSelector } : {}),
      ...(r.denied ? { denied: r.denied } : {}),
    })),
    destinations: core.ir.destinations.map((d) => ({ ...d })),
    ...workloadsView(core),
    status: core.status,
  };
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

export function explainTable(out: ExplainOutput, color: boolean): string {
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const lines: string[] = [];
  for (const r of out.routes) {
    const chain = (r.path as Array<{ table: string; route: string }>).map((p) => `${p.table}:${p.route}`).join(' > ');
    const labels = Object.entries(r.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',') || '-';
    const pols = (r.policies as Array<{ kind: string; namespace: string; name: string }>).map((p) => `${p.kind}:${p.namespace}/${p.name}`).join(', ') || '-';
    lines.push(`${r.gateway ?? '(sidecar)'}  ${(r.hosts as string[]).join(',')}  ${chain}  labels[${labels}]  policies[${pols}]`);
    for (const e of r.errors as string[]) lines.push(red(`    error: ${e}`));
    for (const s of r.skipped as Array<{ reason: string }>) lines.push(`    skipped: ${s.reason}`);
  }
  lines.push(...workloadLines(out.workloads));
  const bad = Object.entries(out.status).filter(([, s]) => s.state !== 'ACCEPTED');
  if (bad.length) {
    lines.push('', 'status:');
    for (const [k, s] of bad) for (const m of s.messages) lines.push(s.state === 'INVALID' ? red(`  ${s.state} ${k}: ${m}`) : `  ${s.state} ${k}: ${m}`);
  }
  return lines.join('\n') + '\n';
}
