// `meshplane explain` for mesh mode: per sidecar workload, what it enforces
// inbound and outbound, and the policies that name it but do not apply.
import type { CoreResult } from '../ir/types.js';

export function workloadsView(core: CoreResult): { workloads?: Array<Record<string, unknown>> } {
  if (!core.ir.mesh) return {};
  return {
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
  };
}

export function workloadLines(workloads: Array<Record<string, unknown>> | undefined): string[] {
  const lines: string[] = [];
  const refs = (ps: unknown) => (ps as Array<{ kind: string; namespace: string; name: string }>).map((p) => `${p.kind}:${p.namespace}/${p.name}`).join(', ') || '-';
  for (const w of workloads ?? []) {
    lines.push(`sidecar ${w.workload} (${w.spiffeId})  reaches ${w.reachable} destination ports`);
    for (const i of w.inbound as Array<Record<string, unknown>>) lines.push(`    inbound :${i.port} ${i.tlsMode}${i.serviceIsolation ? ' isolated' : ''}  policies[${refs(i.policies)}]`);
    for (const o of w.outbound as Array<Record<string, unknown>>) lines.push(`    outbound ${o.destination}  policies[${refs(o.policies)}]`);
    for (const n of w.notEnforced as Array<{ kind: string; namespace: string; name: string; reason: string }>) lines.push(`    not enforced ${n.kind}:${n.namespace}/${n.name}: ${n.reason}`);
  }
  return lines;
}
