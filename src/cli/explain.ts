// `meshplane explain`: the core's result for a directory, without a server.
import type { CoreResult } from '../ir/types.js';

export interface ExplainOutput {
  routes: Array<Record<string, unknown>>;
  destinations: Array<Record<string, unknown>>;
  /** Mesh mode: per sidecar workload, what it enforces inbound and outbound and why other policies do not apply. */
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
    ...(core.ir.mesh
      ? {
          workloads: core.ir.mesh.workloads.map((w) => ({
            workload: w.ref,
            workspace: w.workspace,
            spiffeId: w.spiffeId,
            inbound: w.inbound.map((i) => ({ port: i.port, tlsMode: i.tlsMode, destinations: i.destinations, policies: i.policies, serviceIsolation: i.isolation !== null })),
            outbound: w.outbound.services.filter((s) => s.policies.length).map((s) => ({ destination: `${s.kind} ${s.namespace}/${s.name}:${s.port}`, policies: s.policies })),
            reachable: w.outbound.services.length,
            routeTables: w.outbound.routes.length,
            policies: w.policies,
            notEnforced: w.notEnforced,
          })),
        }
      : {}),
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
  for (const w of out.workloads ?? []) {
    const refs = (ps: unknown) => (ps as Array<{ kind: string; namespace: string; name: string }>).map((p) => `${p.kind}:${p.namespace}/${p.name}`).join(', ') || '-';
    lines.push(`sidecar ${w.workload} (${w.spiffeId})  reaches ${w.reachable} destination ports`);
    for (const i of w.inbound as Array<Record<string, unknown>>) lines.push(`    inbound :${i.port} ${i.tlsMode}${i.serviceIsolation ? ' isolated' : ''}  policies[${refs(i.policies)}]`);
    for (const o of w.outbound as Array<Record<string, unknown>>) lines.push(`    outbound ${o.destination}  policies[${refs(o.policies)}]`);
    for (const n of w.notEnforced as Array<{ kind: string; namespace: string; name: string; reason: string }>) lines.push(`    not enforced ${n.kind}:${n.namespace}/${n.name}: ${n.reason}`);
  }
  const bad = Object.entries(out.status).filter(([, s]) => s.state !== 'ACCEPTED');
  if (bad.length) {
    lines.push('', 'status:');
    for (const [k, s] of bad) for (const m of s.messages) lines.push(s.state === 'INVALID' ? red(`  ${s.state} ${k}: ${m}`) : `  ${s.state} ${k}: ${m}`);
  }
  return lines.join('\n') + '\n';
}
