// Which configuration resources each proxy's snapshot is built from: the
// proxies that "should have" a resource, for its ACK counts. Read off the IR
// slice each snapshot is translated from (a gateway with its routes, a
// sidecar's workload, a workspace's proxyless routes), so it follows whatever
// the IR references without a list per field.
import type { Backend, CoreResult, FinalRoute } from '../ir/types.js';
import { gatewayKey, proxylessKey, sidecarKey } from '../ir/keys.js';
import { ownerOfEnvoyResource } from '../translate/names.js';

/** The IR's destination kinds as resource kinds. */
export const DESTINATION_KINDS: Record<string, string> = { SERVICE: 'Service', VIRTUAL_DESTINATION: 'VirtualDestination', EXTERNAL_SERVICE: 'ExternalService' };
/** "Service ns/name:port", as inbound ports name their destinations. */
const DESTINATION_TEXT = /^(Service|VirtualDestination|ExternalService) ([^/\s]+)\/([^:\s]+):\d+$/;

/** IR fields that name resources a proxy does not get: skipped and unenforced policies (explain's). */
const NOT_SERVED = new Set(['skipped', 'notEnforced']);

/** Snapshot key -> the status keys ("Kind/ns/name") of the resources its config is built from. */
export type ProxyDependencies = Map<string, Set<string>>;

const memo = new WeakMap<CoreResult, ProxyDependencies>();

export function proxyDependencies(core: CoreResult): ProxyDependencies {
  const known = memo.get(core);
  if (known) return known;
  const { ir, status } = core;
  const backends = new Map(ir.backends.map((b) => [b.cluster, b]));
  const routes = new Map(ir.routes.map((r) => [r.id, r]));
  const workspaces = new Map<string, string>();
  for (const key of Object.keys(status)) if (key.startsWith('Workspace/')) workspaces.set(key.slice(key.lastIndexOf('/') + 1), key);
  const collect = (roots: unknown[], own: string[]): Set<string> => {
    const found = new Set<string>(own);
    walk(roots, found, backends, routes, workspaces);
    for (const k of found) if (!(k in status)) found.delete(k);
    return found;
  };
  const out: ProxyDependencies = new Map();
  for (const gw of ir.gateways) out.set(gatewayKey(gw.ref), collect([gw], [`VirtualGateway/${gw.ref}`]));
  const proxyless = new Map<string, FinalRoute[]>();
  for (const r of ir.routes) if (r.gateway === null) proxyless.set(r.rootWorkspace, [...(proxyless.get(r.rootWorkspace) ?? []), r]);
  for (const [ws, rs] of proxyless) out.set(proxylessKey(ws), collect(rs, []));
  for (const wl of ir.mesh?.workloads ?? []) out.set(sidecarKey(wl.ref), collect([wl], [`Pod/${wl.ref}`]));
  memo.set(core, out);
  return out;
}

/** Iterative (no recursion on the IR's depth); each object is visited once per proxy. */
function walk(roots: unknown[], found: Set<string>, backends: Map<string, Backend>, routes: Map<string, FinalRoute>, workspaces: Map<string, string>): void {
  const seen = new Set<object>();
  const stack: unknown[] = [...roots];
  const push = (v: unknown) => {
    if (v && typeof v === 'object' && !seen.has(v)) stack.push(v);
  };
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      for (const v of node) {
        if (typeof v === 'string') strings(v, found, routes, workspaces, push);
        else push(v);
      }
      continue;
    }
    const o = node as Record<string, unknown>;
    if (typeof o.kind === 'string' && typeof o.namespace === 'string' && typeof o.name === 'string') found.add(`${DESTINATION_KINDS[o.kind] ?? o.kind}/${o.namespace}/${o.name}`);
    for (const [k, v] of Object.entries(o)) {
      if (NOT_SERVED.has(k)) continue;
      if (typeof v !== 'string') {
        push(v);
        continue;
      }
      if (k === 'table') found.add(`RouteTable/${v}`);
      else if (k === 'cluster' || k === 'clusterName') {
        const owner = ownerOfEnvoyResource('cluster', v);
        if (owner) found.add(owner);
        push(backends.get(v));
      } else if (k === 'certificateSecret' || k === 'validationSecret') {
        const owner = ownerOfEnvoyResource('secret', v);
        if (owner) found.add(owner);
      } else if (k === 'workspace' || k === 'rootWorkspace') {
        const ws = workspaces.get(v);
        if (ws) found.add(ws);
      }
    }
  }
}

/** Strings in lists: destinations ("Service ns/name:port"), workspaces on a chain, sidecar route ids. */
function strings(v: string, found: Set<string>, routes: Map<string, FinalRoute>, workspaces: Map<string, string>, push: (v: unknown) => void): void {
  const m = DESTINATION_TEXT.exec(v);
  if (m) return void found.add(`${m[1]}/${m[2]}/${m[3]}`);
  const ws = workspaces.get(v);
  if (ws) found.add(ws);
  push(routes.get(v));
}

/** The IR, for tests: which proxies a resource reaches. */
export function proxiesOf(core: CoreResult, key: string): string[] {
  return [...proxyDependencies(core)].filter(([, deps]) => deps.has(key)).map(([k]) => k).sort();
}
