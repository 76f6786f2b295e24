// VirtualGateway listener fields beyond the port number (issue 14, item 2),
// and the Kubernetes Secret (type kubernetes.io/tls) a TLS listener names.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { z } from 'zod';

/** A port by number, or by the name of a port of the gateway workload's Service. */
export const listenerPort = z
  .strictObject({ number: z.number().int().min(1).max(65535).optional(), name: z.string().min(1).optional() })
  .refine((p) => (p.number === undefined) !== (p.name === undefined), { message: 'set one of number or name' });

const tlsVersion = z.enum(['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3']);
const UNSUPPORTED_TLS_MODES: Record<string, string> = {
  PASSTHROUGH: 'TLS passthrough routes encrypted TCP by SNI; meshplane gateway listeners terminate TLS and route HTTP',
  AUTO_PASSTHROUGH: 'AUTO_PASSTHROUGH is Istio\'s east-west gateway mode; meshplane gateway listeners terminate TLS and route HTTP',
};
export const listenerTls = z
  .strictObject({
    mode: z.enum(['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL', 'ISTIO_MUTUAL', 'PASSTHROUGH', 'AUTO_PASSTHROUGH']).default('SIMPLE'),
    /** A Secret in the gateway workload's namespace: tls.crt, tls.key, and ca.crt for MUTUAL (or a "<name>-cacert" Secret). ISTIO_MUTUAL uses the mesh's certificates instead. */
    secretName: z.string().min(1).optional(),
    parameters: z
      .strictObject({
        minimumProtocolVersion: tlsVersion.optional(),
        maximumProtocolVersion: tlsVersion.optional(),
        cipherSuites: z.array(z.string().min(1)).optional(),
        ecdhCurves: z.array(z.string().min(1)).optional(),
      })
      .optional(),
  })
  .superRefine((t, ctx) => {
    const why = UNSUPPORTED_TLS_MODES[t.mode];
    if (why) ctx.addIssue({ code: 'custom', path: ['mode'], message: `UNSUPPORTED: tls.mode ${t.mode}: ${why}` });
    else if (t.mode === 'ISTIO_MUTUAL') {
      if (t.secretName) ctx.addIssue({ code: 'custom', path: ['secretName'], message: 'ISTIO_MUTUAL uses the gateway\'s mesh certificate (issued by meshplane\'s CA); remove secretName, or use mode MUTUAL with it' });
    } else if (!t.secretName) ctx.addIssue({ code: 'custom', path: ['secretName'], message: `required for mode ${t.mode}: the Secret (type kubernetes.io/tls) with the listener's certificate` });
  });
export type ListenerTls = z.infer<typeof listenerTls>;

/** HTTP codecs by Gloo appProtocol. */
export const listenerAppProtocol = z.enum(['HTTP', 'HTTP2', 'HTTPS', 'GRPC', 'TCP', 'TLS']).superRefine((p, ctx) => {
  if (p === 'TCP' || p === 'TLS') ctx.addIssue({ code: 'custom', message: `UNSUPPORTED: appProtocol ${p}: meshplane gateway listeners serve HTTP (set HTTP, HTTP2, HTTPS or GRPC)` });
});

// ---- Kubernetes Secret -----------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The key material of a Secret: never echoed in messages, status or logs. */
export const secretBody = z
  .object({
    type: z.string().default('Opaque'),
    data: z.record(z.string(), z.string().regex(BASE64, 'must be base64 (the value is not shown)')).optional(),
    stringData: z.record(z.string(), z.string()).optional(),
    immutable: z.boolean().optional(),
  })
  .passthrough()
  .superRefine((s, ctx) => {
    if (s.type !== 'kubernetes.io/tls') return;
    const value = (k: string) => s.stringData?.[k] ?? (s.data?.[k] !== undefined ? Buffer.from(s.data[k], 'base64').toString('utf8') : undefined);
    const crt = value('tls.crt');
    const key = value('tls.key');
    if (crt === undefined) return ctx.addIssue({ code: 'custom', path: ['data', 'tls.crt'], message: 'required for type kubernetes.io/tls' });
    if (key === undefined) return ctx.addIssue({ code: 'custom', path: ['data', 'tls.key'], message: 'required for type kubernetes.io/tls' });
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(crt);
    } catch {
      return ctx.addIssue({ code: 'custom', path: ['data', 'tls.crt'], message: 'is not a PEM certificate' });
    }
    try {
      if (!cert.checkPrivateKey(createPrivateKey(key))) ctx.addIssue({ code: 'custom', path: ['data', 'tls.key'], message: 'does not belong to the certificate in tls.crt' });
    } catch {
      ctx.addIssue({ code: 'custom', path: ['data', 'tls.key'], message: 'is not a PEM private key' });
    }
    const ca = value('ca.crt');
    if (ca !== undefined) {
      try {
        new X509Certificate(ca);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['data', 'ca.crt'], message: 'is not a PEM certificate' });
      }
    }
  });
export type SecretBody = z.infer<typeof secretBody>;

/** A Secret value as text (stringData wins over data, as in Kubernetes). */
export function secretValue(s: SecretBody, key: string): string | undefined {
  if (s.stringData?.[key] !== undefined) return s.stringData[key];
  return s.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString('utf8') : undefined;
}
