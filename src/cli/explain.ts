// `meshplane explain`: the core's result for a directory, without a server:
// every route with its chain, effective labels (and who set each), the policies
// that apply and every policy that could have applied but did not, and why.
import type { CoreResult, FinalRoute } from '../ir/types.js';
import { destinationKey, labelProvenance, type PolicyExplanation } from '../core/explain.js';
import type { Resource, RouteTableR } from '../resources/schema.js';
import { nsName } from '../resources/schema.js';
import { workloadLines, workloadsView } from './explain-mesh.js';

export interface ExplainOutput {
  routes: Array<Record<string, unknown>>;
  destinations: Array<Record<string, unknown>>;
  /** Mesh mode: per sidecar workload (explain-mesh.ts). */
  workloads?: Array<Record<string, unknown>>;
  status: CoreResult['status'];
}

export interface ExplainFilter {
  /** `ns/table:route`: routes with that link on their delegation chain. */
  route?: string;
  /** `Kind/ns/name`: only what concerns that policy. */
  policy?: string;
}

const policyKey = (p: { kind: string; namespace: string; name: string }) => `${p.kind}/${p.namespace}/${p.name}`;

export function explainView(core: CoreResult, why?: PolicyExplanation, resources: readonly Resource[] = [], filter: ExplainFilter = {}): ExplainOutput {
  const tables = new Map(resources.filter((r) => r.kind === 'RouteTable').map((t) => [nsName(t), t as RouteTableR]));
  const onRoute = (r: FinalRoute) => !filter.route || r.path.some((l) => `${l.table}:${l.route}` === filter.route);
  const aboutPolicy = (v: { policies: Array<{ kind: string; namespace: string; name: string }>; skipped: Array<{ kind: string; namespace: string; name: string }> }) =>
    !filter.policy || [...v.policies, ...v.skipped].some((p) => policyKey(p) === filter.policy);
  const narrow = <T extends { kind: string; namespace: string; name: string }>(xs: T[]) => (filter.policy ? xs.filter((p) => policyKey(p) === filter.policy) : xs);
  const routes = core.ir.routes.filter(onRoute).map((r) => {
    const v = why?.routes.get(r.id) ?? { applied: r.policies, skipped: r.skipped };
    const sources = labelProvenance(r, tables);
    return {
      gateway: r.gateway,
      hosts: r.hosts,
      table: r.table,
      route: r.route,
      path: r.path,
      workspace: r.workspace,
      labels: sortKeys(r.labels),
      ...(sources.size ? { labelSources: sortKeys(Object.fromEntries([...sources].filter(([k]) => k in r.labels))) } : {}),
      valid: r.valid,
      errors: r.errors,
      policies: narrow(v.applied),
      skipped: narrow(v.skipped),
      ...(r.workloadSelector ? { workloadSelector: r.workloadSelector } : {}),
      ...(r.denied ? { denied: r.denied } : {}),
    };
  });
  const destinations = core.ir.destinations.map((d) => {
    const v = why?.destinations.get(destinationKey(d));
    return { ...d, clientPolicies: narrow(d.clientPolicies), serverPolicies: narrow(d.serverPolicies), skipped: narrow(v?.skipped ?? []) };
  });
  return {
    routes: routes.filter((r) => aboutPolicy(r)),
    destinations: filter.route ? [] : destinations.filter((d) => !filter.policy || aboutPolicy({ policies: [...d.clientPolicies, ...d.serverPolicies], skipped: d.skipped })),
    ...(filter.route || filter.policy ? {} : workloadsView(core)),
    status: filter.policy ? Object.fromEntries(Object.entries(core.status).filter(([k]) => k === filter.policy)) : filter.route ? {} : core.status,
  };
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

export function explainTable(out: ExplainOutput, color: boolean): string {
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const lines: string[] = [];
  const ref = (p: { kind: string; namespace: string; name: string }) => `${p.kind}:${p.namespace}/${p.name}`;
  for (const r of out.routes) {
    const chain = (r.path as Array<{ table: string; route: string }>).map((p) => `${p.table}:${p.route}`).join(' > ');
    const sources = (r.labelSources ?? {}) as Record<string, string>;
    const labels = Object.entries(r.labels as Record<string, string>).map(([k, v]) => `${k}=${v}${sources[k] ? dim(` (${sources[k]})`) : ''}`).join(', ') || '-';
    const pols = (r.policies as Array<{ kind: string; namespace: string; name: string }>).map(ref).join(', ') || '-';
    lines.push(`${r.gateway ?? '(sidecar)'}  ${(r.hosts as string[]).join(',')}  ${chain}`);
    lines.push(`    labels: ${labels}`);
    lines.push(`    applied: ${pols}`);
    for (const e of r.errors as string[]) lines.push(red(`    error: ${e}`));
    if (r.denied) lines.push(red(`    denied: 403 by the feature gate ${r.denied as string} (labelled gateway.gloo.solo.io/require_auth: "true", and no ExtAuthPolicy or JWTPolicy applies)`));
    for (const s of r.skipped as Array<{ kind: string; namespace: string; name: string; reason: string; message: string }>) lines.push(`    skipped ${ref(s)} [${s.reason}]: ${s.message}`);
  }
  for (const d of out.destinations) {
    const skipped = d.skipped as Array<{ kind: string; namespace: string; name: string; reason: string; message: string }>;
    const client = (d.clientPolicies as Array<{ kind: string; namespace: string; name: string }>).map(ref);
    const server = (d.serverPolicies as Array<{ kind: string; namespace: string; name: string }>).map(ref);
    if (!client.length && !server.length && !skipped.length) continue;
    lines.push(`${d.kind} ${d.namespace}/${d.name} (owner ${d.owner}, used from ${d.consumer})  client[${client.join(', ') || '-'}]  server[${server.join(', ') || '-'}]`);
    for (const s of skipped) lines.push(`    skipped ${ref(s)} [${s.reason}]: ${s.message}`);
  }
  lines.push(...workloadLines(out.workloads));
  const bad = Object.entries(out.status).filter(([, s]) => s.state !== 'ACCEPTED');
  if (bad.length) {
    lines.push('', 'status:');
    for (const [k, s] of bad) for (const m of s.messages) lines.push(s.state === 'INVALID' ? red(`  ${s.state} ${k}: ${m}`) : `  ${s.state} ${k}: ${m}`);
  }
  return lines.join('\n') + '\n';
}
