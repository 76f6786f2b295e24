// Who may read the admin API, and what they see. On loopback (the default)
// everyone on the host is trusted, as with Envoy's admin port. Bound anywhere
// else, the debug endpoints and the UI need a bearer token or a client
// certificate; a certificate that names a workspace (or one of its gateways)
// sees only that workspace's part of every view.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FinalRoute, IR, ResourceStatus } from '../ir/types.js';
import { parseSnapshotKey } from '../ir/keys.js';

export interface AdminAccess {
  /** Bearer token that sees everything. */
  token?: string;
  /** Client certificates are verified by the TLS server; their URI SANs say who they are. */
  mtls?: boolean;
}

/** What one caller may see: everything, or the workspaces named by its certificate. */
export type Viewer = { all: true } | { all: false; workspaces: ReadonlySet<string>; who: string };

export const isLoopback = (address: string): boolean => address === 'localhost' || address === '::1' || /^127\./.test(address);

/** Paths anyone may read: probes and Prometheus (no tenant configuration in them). */
export const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The viewer of a request, or a reason to refuse it. `ir` resolves a gateway
 * certificate to its gateway's workspace.
 */
export function viewerOf(req: IncomingMessage, access: AdminAccess | undefined, ir: IR | undefined): Viewer | { refused: string } {
  if (!access || (!access.token && !access.mtls)) return { all: true };
  const auth = req.headers.authorization;
  if (access.token && typeof auth === 'string' && auth.startsWith('Bearer ')) {
    const given = Buffer.from(auth.slice(7).trim());
    const want = Buffer.from(access.token);
    if (given.length === want.length && timingSafeEqual(given, want)) return { all: true };
    return { refused: 'the bearer token is not valid' };
  }
  if (access.mtls) {
    const socket = req.socket as TLSSocket;
    const cert = socket.authorized ? socket.getPeerCertificate?.() : undefined;
    if (cert && Object.keys(cert).length) {
      const uris = (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
      if (uris.some((u) => /^spiffe:\/\/[^/]+\/admin$/.test(u))) return { all: true };
      const workspaces = new Set<string>();
      for (const u of uris) {
        const w = /^spiffe:\/\/[^/]+\/workspace\/([^/]+)$/.exec(u);
        if (w) workspaces.add(w[1]);
        const g = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/gateway\/([^/]+)$/.exec(u);
        const owner = g && ir?.gateways.find((x) => x.ref === `${g[1]}/${g[2]}`)?.workspace;
        if (owner) workspaces.add(owner);
      }
      if (workspaces.size) return { all: false, workspaces, who: uris.join(', ') };
      return { refused: 'the client certificate names no workspace (want a URI SAN spiffe://<domain>/workspace/<name>, .../ns/<ns>/gateway/<name>, or .../admin)' };
    }
  }
  return { refused: access.token ? 'send Authorization: Bearer <token> (the token in --admin-token-file)' + (access.mtls ? ' or a client certificate' : '') : 'a client certificate is required' };
}

const sees = (v: Viewer, workspace: string | undefined): boolean => v.all || (workspace !== undefined && v.workspaces.has(workspace));

/** Statuses of resources in the viewer's namespaces. */
export function scopeStatus(v: Viewer, status: Record<string, ResourceStatus>, ir: IR | undefined): Record<string, ResourceStatus> {
  if (v.all) return status;
  const out: Record<string, ResourceStatus> = {};
  for (const [key, s] of Object.entries(status)) {
    // Kind/ns/name, with "@cluster" at the end outside the default cluster.
    const [, ns, rest = ''] = key.split('/');
    const at = rest.indexOf('@');
    if (sees(v, ir?.namespaces[`${ns}${at >= 0 ? rest.slice(at) : ''}`])) out[key] = s;
  }
  return out;
}

/** The workspace a snapshot key's proxy belongs to. */
export function workspaceOfKey(key: string, ir: IR | undefined): string | undefined {
  const k = parseSnapshotKey(key);
  if (!k || !ir) return undefined;
  if (k.role === 'proxyless') return k.id;
  if (k.role === 'gateway') return ir.gateways.find((g) => g.ref === k.id)?.workspace;
  return ir.namespaces[k.id.split('/')[0]];
}

export const seesKey = (v: Viewer, key: string, ir: IR | undefined): boolean => v.all || sees(v, workspaceOfKey(key, ir));

/** The IR restricted to what a tenant owns: its gateways, the routes its tables define or root, its destinations and policies. */
export function scopeIr(v: Viewer, ir: IR): IR {
  if (v.all) return ir;
  const mine = (r: FinalRoute) => v.workspaces.has(r.workspace) || v.workspaces.has(r.rootWorkspace);
  const routes = ir.routes.filter(mine);
  const clusters = new Set(routes.flatMap((r) => (r.action.type === 'forward' ? r.action.destinations.map((d) => d.cluster) : [])));
  return {
    ...ir,
    gateways: ir.gateways.filter((g) => v.workspaces.has(g.workspace)),
    routes,
    destinations: ir.destinations.filter((d) => v.workspaces.has(d.owner) || v.workspaces.has(d.consumer)),
    backends: ir.backends.filter((b) => clusters.has(b.cluster)),
    policies: Object.fromEntries(Object.entries(ir.policies).filter(([, p]) => v.workspaces.has(p.workspace))),
    namespaces: Object.fromEntries(Object.entries(ir.namespaces).filter(([, w]) => v.workspaces.has(w))),
  };
}
