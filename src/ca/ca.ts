// meshplane's built-in CA: a root that signs workload certificates with SPIFFE
// IDs (spiffe://<trust domain>/ns/<ns>/sa/<sa>). X.509 is @peculiar/x509 on
// Node's WebCrypto (no ASN.1 by hand); the root comes from --ca-cert/--ca-key
// or is generated once and kept in the state directory.
import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs the Reflect metadata polyfill
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
}

export interface IssueRequest {
  uris?: string[];
  dnsNames?: string[];
  ips?: string[];
  lifetimeMs: number;
  commonName?: string;
}

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** Backdating covers small clock differences between meshplane and proxies. */
const SKEW_MS = 60_000;

export class MeshCA {
  private constructor(
    readonly trustDomain: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
    private readonly algorithm: typeof EC | typeof RSA,
    /** Where the root came from, for logs. */
    readonly origin: string,
  ) {}

  get rootPem(): string {
    return this.cert.toString('pem') + '\n';
  }

  get rootNotAfter(): Date {
    return this.cert.notAfter;
  }

  static async generate(trustDomain: string, lifetimeDays = 3650): Promise<MeshCA> {
    const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `O=meshplane, CN=meshplane root CA for ${trustDomain}`,
      notBefore: new Date(now - SKEW_MS),
      notAfter: new Date(now + lifetimeDays * 86_400_000),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new MeshCA(trustDomain, cert, keys.privateKey, EC, 'generated');
  }

  /** A root from PEM files (EC P-256 or RSA keys, PKCS#8, SEC1 or PKCS#1). */
  static async fromPem(trustDomain: string, certPem: string, keyPem: string, origin = 'files'): Promise<MeshCA> {
    const cert = new x509.X509Certificate(certPem);
    const nodeKey = createPrivateKey(keyPem);
    const der = nodeKey.export({ type: 'pkcs8', format: 'der' });
    const isEc = nodeKey.asymmetricKeyType === 'ec';
    if (!isEc && nodeKey.asymmetricKeyType !== 'rsa') throw new Error(`the CA key is ${nodeKey.asymmetricKeyType}; use an EC P-256 or RSA key`);
    if (isEc && nodeKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`the CA key uses curve ${nodeKey.asymmetricKeyDetails?.namedCurve}; use P-256 (prime256v1)`);
    const algorithm = isEc ? EC : RSA;
    const key = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca) throw new Error('the CA certificate is not a CA (basicConstraints CA:TRUE is missing)');
    return new MeshCA(trustDomain, cert, key, algorithm, origin);
  }

  /**
   * --ca-cert/--ca-key when given; else <stateDir>/ca.pem and ca-key.pem,
   * generated on first start and reused after (the key file is mode 0600).
   */
  static async loadOrCreate(opts: { trustDomain: string; certFile?: string; keyFile?: string; stateDir: string }): Promise<MeshCA> {
    if (opts.certFile || opts.keyFile) {
      if (!opts.certFile || !opts.keyFile) throw new Error('give both --ca-cert and --ca-key, or neither (then meshplane generates a root CA in the state directory)');
      return MeshCA.fromPem(opts.trustDomain, readFileSync(opts.certFile, 'utf8'), readFileSync(opts.keyFile, 'utf8'), `${opts.certFile}`);
    }
    const certFile = join(opts.stateDir, 'ca.pem');
    const keyFile = join(opts.stateDir, 'ca-key.pem');
    if (existsSync(certFile) && existsSync(keyFile)) return MeshCA.fromPem(opts.trustDomain, readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), certFile);
    const ca = await MeshCA.generate(opts.trustDomain);
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, pem('PRIVATE KEY', await subtle.exportKey('pkcs8', await ca.exportableKey())), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, ca.rootPem);
    return new MeshCA(opts.trustDomain, ca.cert, ca.key, EC, `${certFile} (generated)`);
  }

  private exportableKey(): CryptoKey {
    if (!this.key.extractable) throw new Error('the CA key was imported without export rights');
    return this.key;
  }

  /** A leaf certificate for TLS client and server use, with a fresh P-256 key. */
  async issue(req: IssueRequest): Promise<IssuedCertificate> {
    const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const notBefore = new Date(now - SKEW_MS);
    const notAfter = new Date(Math.min(now + req.lifetimeMs, this.cert.notAfter.getTime()));
    const names: x509.JsonGeneralName[] = [
      ...(req.uris ?? []).map((value) => ({ type: 'url' as const, value })),
      ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(req.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    if (!names.length) throw new Error('a certificate needs at least one URI, DNS name or IP');
    const sn = serial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: sn,
      subject: req.commonName ? `O=meshplane, CN=${req.commonName}` : 'O=meshplane',
      issuer: this.cert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.key,
      signingAlgorithm: this.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(names, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    const keyPem = pem('PRIVATE KEY', await subtle.exportKey('pkcs8', keys.privateKey));
    return { certPem: cert.toString('pem') + '\n', keyPem, notBefore, notAfter, serial: sn };
  }
}

const serial = (): string => {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString('hex');
};
