// Seed 05: an ExternalService that repeats an address already used in its own
// workspace, or in a workspace it shares external services with, is not translated.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { OriginationIR, SecretIR } from '../ir/types.js';
import { SecretMaterial } from '../ir/types.js';
import { CLIENTSIDE_TLS_FIELDS } from '../resources/egress.js';
import { secretValue } from '../resources/gateway-listeners.js';
import type { ExternalServiceR, SecretR } from '../resources/schema.js';
import { clusterSuffix, nsName, resourceKey } from '../resources/schema.js';
import { byAge } from './match.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export function checkExternalServiceOverlap(all: ExternalServiceR[], ws: WorkspaceIndex, status: StatusBook): ExternalServiceR[] {
  const accepted: Array<{ es: ExternalServiceR; workspace: string; addresses: Set<string> }> = [];
  for (const es of [...all].sort(byAge)) {
    const workspace = ws.ownerOf(es)!;
    const addresses = new Set([...es.spec.hosts, ...es.spec.addresses].map((a) => a.toLowerCase()));
    const clash = accepted.find(
      (o) =>
        [...addresses].some((a) => o.addresses.has(a)) &&
        (o.workspace === workspace ||
          ws.isVisible('EXTERNAL_SERVICE', o.es, o.workspace, workspace) ||
          ws.isVisible('EXTERNAL_SERVICE', es, workspace, o.workspace)),
    );
    if (clash) {
      const shared = [...addresses].filter((a) => clash.addresses.has(a));
      status.invalid(
        resourceKey(es),
        `address ${shared.join(', ')} is already used by ExternalService ${nsName(clash.es)} (older) in workspace "${clash.workspace}"${clash.workspace === workspace ? '' : ', which shares external services with this one'}; this ExternalService is not translated`,
      );
      continue;
    }
    accepted.push({ es, workspace, addresses });
  }
  return accepted.map((a) => a.es);
}

// ---- TLS origination (issue 13) --------------------------------------------

/** Key of one ExternalService port in the catalog's origination map. */
export const externalPortKey = (es: ExternalServiceR, port: number): string => `${nsName(es)}:${port}`;

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)$/;

/** Whether the proxy originates TLS on this port: HTTPS and TLS ports, and any port with clientsideTls. */
export const originatesTls = (p: ExternalServiceR['spec']['ports'][number]): boolean => p.protocol === 'HTTPS' || p.protocol === 'TLS' || p.clientsideTls !== undefined;

/**
 * What TLS each port originates: SNI (clientsideTls.sni, else the first host
 * that is a name), the names the server certificate must carry, the CA (a
 * credentialName Secret's ca.crt, else the system trust bundle) and an
 * optional client certificate (its tls.crt and tls.key), served over SDS.
 * An ExternalService whose Secret does not exist yet is not translated until
 * it does (a warning); one with an unusable Secret is INVALID.
 */
export function resolveExternalTls(
  services: ExternalServiceR[],
  secrets: ReadonlyMap<string, SecretR>,
  status: StatusBook,
): { accepted: ExternalServiceR[]; origination: Map<string, OriginationIR>; secrets: Record<string, SecretIR> } {
  const origination = new Map<string, OriginationIR>();
  const sds: Record<string, SecretIR> = {};
  const accepted: ExternalServiceR[] = [];
  for (const es of services) {
    const key = resourceKey(es);
    let ok = true;
    const found: Array<[string, OriginationIR]> = [];
    es.spec.ports.forEach((p, i) => {
      const where = `spec.ports[${i}].clientsideTls`;
      const tls = p.clientsideTls ?? {};
      const unknown = Object.keys(tls).filter((k) => !CLIENTSIDE_TLS_FIELDS.has(k));
      if (unknown.length) status.add(key, 'ACCEPTED', `${where}.${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not applied (meshplane maps sni, subjectAltNames, credentialName and insecureSkipVerify)`);
      if (!originatesTls(p)) return;
      const sni = tls.sni ?? es.spec.hosts.find((h) => !h.includes('*') && !IP_LITERAL.test(h));
      const o: OriginationIR = { ...(sni ? { sni } : {}), subjectAltNames: tls.insecureSkipVerify ? [] : (tls.subjectAltNames ?? es.spec.subjectAltNames ?? (sni ? [sni] : [])), ...(tls.insecureSkipVerify ? { insecureSkipVerify: true } : {}) };
      if (tls.credentialName) {
        const ref = `${es.metadata.namespace}/${tls.credentialName}${clusterSuffix(es.cluster)}`;
        const secret = secrets.get(ref);
        if (!secret) {
          status.warn(key, `${where}.credentialName: waiting for Secret ${ref} (ca.crt to verify the server, and/or tls.crt and tls.key for a client certificate); this ExternalService is not translated until it exists`);
          ok = false;
          return;
        }
        const ca = secretValue(secret.body, 'ca.crt');
        const crt = secretValue(secret.body, 'tls.crt');
        const pkey = secretValue(secret.body, 'tls.key');
        const problem = credentialProblem(ca, crt, pkey);
        if (problem) {
          status.invalid(key, `${where}.credentialName: Secret ${ref} ${problem}; this ExternalService is not translated`);
          ok = false;
          return;
        }
        if (ca !== undefined && !tls.insecureSkipVerify) {
          o.caSecret = `ca/${nsName(secret)}`;
          sds[o.caSecret] ??= { source: resourceKey(secret), trustedCa: new SecretMaterial(ca) };
        }
        if (crt !== undefined && pkey !== undefined) {
          o.clientCertSecret = `tls/${nsName(secret)}`;
          sds[o.clientCertSecret] ??= { source: resourceKey(secret), certificateChain: new SecretMaterial(crt), privateKey: new SecretMaterial(pkey) };
        }
      }
      found.push([externalPortKey(es, p.number), o]);
    });
    if (!ok) continue;
    for (const [k, o] of found) origination.set(k, o);
    accepted.push(es);
  }
  return { accepted, origination, secrets: sds };
}

/** Why a credential Secret cannot be used (never quoting its content). */
function credentialProblem(ca: string | undefined, crt: string | undefined, key: string | undefined): string | undefined {
  if (ca === undefined && crt === undefined) return 'has neither ca.crt nor tls.crt';
  if ((crt === undefined) !== (key === undefined)) return crt === undefined ? 'has tls.key without tls.crt' : 'has tls.crt without tls.key';
  try {
    if (ca !== undefined) new X509Certificate(ca);
  } catch {
    return 'key ca.crt is not a PEM certificate';
  }
  if (crt !== undefined && key !== undefined) {
    try {
      if (!new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) return 'key tls.key does not belong to the certificate in tls.crt';
    } catch {
      return 'keys tls.crt and tls.key are not a PEM certificate and private key';
    }
  }
  return undefined;
}
