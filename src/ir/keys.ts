// Snapshot keys: which config a proxy gets. Each role has its own namespace of
// the key space ("<role>:<id>"), and ':' cannot occur in a Kubernetes name or a
// workspace name, so keys of different roles can never collide.
export type ProxyRole = 'gateway' | 'proxyless' | 'sidecar';
export const PROXY_ROLES: readonly ProxyRole[] = ['gateway', 'proxyless', 'sidecar'];

/** gateway: "ns/name" of the VirtualGateway; proxyless: workspace; sidecar: "ns/workload". */
export const snapshotKey = (role: ProxyRole, id: string): string => `${role}:${id}`;
export const gatewayKey = (nsName: string): string => snapshotKey('gateway', nsName);
export const proxylessKey = (workspace: string): string => snapshotKey('proxyless', workspace);
export const sidecarKey = (nsName: string): string => snapshotKey('sidecar', nsName);

export function parseSnapshotKey(key: string): { role: ProxyRole; id: string } | undefined {
  const i = key.indexOf(':');
  const role = key.slice(0, i) as ProxyRole;
  return i > 0 && PROXY_ROLES.includes(role) ? { role, id: key.slice(i + 1) } : undefined;
}
