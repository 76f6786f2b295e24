// Who a proxy is, which config it gets, and whether it may have it.
import type { PeerCertificate } from 'node:tls';
import { gatewayKey, parseSnapshotKey, proxylessKey, sidecarKey } from '../ir/keys.js';

export interface NodeInfo {
  id: string;
  cluster: string;
  /** node.metadata string fields: role, gateway, workspace, namespace, name. */
  metadata: Record<string, string>;
}

interface NodeProto {
  id?: string;
  cluster?: string;
  metadata?: { fields?: Record<string, { stringValue?: string }> };
}

export function nodeInfo(node: NodeProto | undefined): NodeInfo | undefined {
  if (!node) return undefined;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.metadata?.fields ?? {})) if (typeof v?.stringValue === 'string') metadata[k] = v.stringValue;
  return { id: node.id ?? '', cluster: node.cluster ?? '', metadata };
}

/**
 * The snapshot a proxy gets, in its role's namespace of the key space: a
 * proxyless client gets its workspace's; a gateway the VirtualGateway
 * "namespace/name" named by metadata.gateway, else metadata namespace + name,
 * else node.cluster.
 */
export function proxyKey(n: NodeInfo): string | undefined {
  if (n.metadata.role === 'proxyless') return n.metadata.workspace ? proxylessKey(n.metadata.workspace) : undefined;
  // A sidecar names its Pod; labels and service account come from the Pod resource, never from the proxy.
  if (n.metadata.role === 'sidecar') {
    const name = n.metadata.workload || n.metadata.name;
    return n.metadata.namespace && name ? sidecarKey(`${n.metadata.namespace}/${name}`) : undefined;
  }
  if (n.metadata.role !== undefined && n.metadata.role !== 'gateway') return undefined;
  const ref = n.metadata.gateway || (n.metadata.namespace && n.metadata.name ? `${n.metadata.namespace}/${n.metadata.name}` : n.cluster);
  return ref ? gatewayKey(ref) : undefined;
}

export const proxyRole = (n: NodeInfo): string => n.metadata.role ?? 'gateway';

/**
 * Gateways a client certificate may act as, from its URI SANs of the form
 * spiffe://<trust domain>/ns/<namespace>/gateway/<name> (or .../sa/<name>);
 * spiffe://<trust domain>/workspace/<ws> for proxyless clients of a workspace.
 */
export function certificateKeys(cert: PeerCertificate | undefined): string[] {
  const san = cert?.subjectaltname ?? '';
  const keys: string[] = [];
  for (const part of san.split(/,\s*/)) {
    const m = /^URI:spiffe:\/\/[^/]+\/ns\/([^/]+)\/(?:gateway|sa)\/([^/]+)$/.exec(part.trim());
    if (m) keys.push(gatewayKey(`${m[1]}/${m[2]}`));
    const w = /^URI:spiffe:\/\/[^/]+\/workspace\/([^/]+)$/.exec(part.trim());
    if (w) keys.push(proxylessKey(w[1]));
  }
  return keys;
}

export type Authorization = { ok: true } | { ok: false; reason: string };

/** The URI SANs of a certificate. */
export const certificateUris = (cert: PeerCertificate | undefined): string[] =>
  (cert?.subjectaltname ?? '').split(/,\s*/).map((p) => p.trim()).filter((p) => p.startsWith('URI:')).map((p) => p.slice(4));

/**
 * May this stream have the config of `key`? Sidecars: the certificate's SPIFFE
 * ID must be the Pod's (`sidecarIdentity` looks it up in the current config).
 */
export function authorize(key: string, tls: boolean, cert: PeerCertificate | undefined, sidecarIdentity?: (key: string) => string | undefined): Authorization {
  if (!tls) return { ok: true }; // plain-text mode: trusted network, warned at start
  if (!cert || Object.keys(cert).length === 0) return { ok: false, reason: 'a client certificate is required' };
  if (parseSnapshotKey(key)?.role === 'sidecar') {
    const want = sidecarIdentity?.(key);
    const have = certificateUris(cert);
    if (!want) return { ok: false, reason: `no Pod with a sidecar is known for ${key} (yet)` };
    return have.includes(want) ? { ok: true } : { ok: false, reason: `the client certificate is for ${have.join(', ') || 'no SPIFFE ID'}, but ${key} runs as ${want}` };
  }
  const allowed = certificateKeys(cert);
  if (allowed.length === 0) return { ok: false, reason: 'the client certificate names no gateway (want a URI SAN spiffe://<domain>/ns/<namespace>/gateway/<name>)' };
  if (!allowed.includes(key)) return { ok: false, reason: `the client certificate is for ${allowed.join(', ')}, not for ${key}` };
  return { ok: true };
}
