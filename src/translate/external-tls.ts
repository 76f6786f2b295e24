// TLS a proxy originates to an external endpoint (issue 13): SNI, the CA it
// verifies the server with (an SDS secret from the ExternalService's
// credentialName, else the system trust bundle), the names the server's
// certificate must carry, and an optional client certificate.
import type { Backend, OriginationIR, SecretIR } from '../ir/types.js';
import { ADS_CONFIG_SOURCE, ANY, type NamedResource } from './types.js';

/** Where Debian, Ubuntu, Alpine and the Envoy images keep the system CA bundle (Istio's default too). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const sds = (name: string) => ({ name, sdsConfig: ADS_CONFIG_SOURCE });
const isIp = (a: string) => /^[\d.:]+$/.test(a) || a.includes(':');

/** The UpstreamTlsContext for a backend that originates TLS, or undefined. */
export function originationSocket(b: Backend): Record<string, unknown> | undefined {
  if (!b.originate && b.protocol !== 'HTTPS') return undefined;
  // A backend that says HTTPS without origination settings: SNI from a named endpoint, as before issue 13.
  const o: OriginationIR = b.originate ?? { subjectAltNames: [], insecureSkipVerify: true, ...snifor(b) };
  const sans = o.subjectAltNames.map((n) => ({ sanType: 'DNS', matcher: { exact: n } }));
  const validation = o.insecureSkipVerify
    ? undefined
    : o.caSecret
      ? { combinedValidationContext: { defaultValidationContext: sans.length ? { matchTypedSubjectAltNames: sans } : {}, validationContextSdsSecretConfig: sds(o.caSecret) } }
      : { validationContext: { trustedCa: { filename: SYSTEM_CA_BUNDLE }, ...(sans.length ? { matchTypedSubjectAltNames: sans } : {}) } };
  const common = {
    ...(o.clientCertSecret ? { tlsCertificateSdsSecretConfigs: [sds(o.clientCertSecret)] } : {}),
    ...(validation ?? {}),
    ...(b.protocol === 'HTTP2' ? { alpnProtocols: ['h2'] } : {}),
  };
  return {
    name: 'envoy.transport_sockets.tls',
    typedConfig: ANY('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { ...(o.sni ? { sni: o.sni } : {}), ...(Object.keys(common).length ? { commonTlsContext: common } : {}) }),
  };
}

function snifor(b: Backend): { sni?: string } {
  const sni = b.endpoints.find((e) => !isIp(e.address))?.address;
  return sni ? { sni } : {};
}

/** SDS secrets (CA, client certificate) the backends' TLS names, from the IR's secrets. */
export function originationSecrets(backends: Backend[], secrets: Record<string, SecretIR> = {}): NamedResource[] {
  const names = new Set<string>();
  for (const b of backends) {
    if (b.originate?.caSecret) names.add(b.originate.caSecret);
    if (b.originate?.clientCertSecret) names.add(b.originate.clientCertSecret);
  }
  return [...names].sort().flatMap((name) => {
    const s = secrets[name];
    if (!s) return [];
    const body = s.trustedCa
      ? { name, validationContext: { trustedCa: { inlineString: s.trustedCa.pem } } }
      : { name, tlsCertificate: { certificateChain: { inlineString: s.certificateChain!.pem }, privateKey: { inlineString: s.privateKey!.pem } } };
    return [{ name, body }];
  });
}
