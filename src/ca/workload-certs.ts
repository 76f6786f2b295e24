// Workload certificates, issued on demand and renewed before they expire.
// Each sidecar gets two SDS secrets: "default" (its certificate and key) and
// "ROOTCA" (the trust bundle). Renewal happens at half the lifetime (as
// Istio's agent does), so a proxy always holds a valid certificate while the
// next one is delivered; Envoy swaps SDS certificates without dropping
// connections.
import type { Logger } from 'pino';
import type { NamedResource } from '../translate/types.js';
import { TRUST_BUNDLE_SECRET, WORKLOAD_CERT_SECRET } from '../translate/sidecar.js';
import type { IssuedCertificate, MeshCA } from './ca.js';

export interface WorkloadCertOptions {
  lifetimeMs: number;
  /** Renew when this fraction of the lifetime has passed. */
  renewAt?: number;
  log?: Logger;
  /** Called with the SPIFFE IDs whose certificates were renewed. */
  onRenew?: (ids: string[]) => void;
}

export class WorkloadCertificates {
  private readonly certs = new Map<string, IssuedCertificate>();
  private readonly pending = new Map<string, Promise<IssuedCertificate>>();
  private timer?: NodeJS.Timeout;
  issued = 0;

  private ca?: MeshCA;
  private loading?: Promise<MeshCA>;

  /** `ca` may be a loader: the root is then read or generated when the first sidecar needs a certificate. */
  constructor(
    ca: MeshCA | (() => Promise<MeshCA>),
    private readonly opts: WorkloadCertOptions,
  ) {
    if (typeof ca === 'function') this.load = ca;
    else this.ca = ca;
  }

  private load?: () => Promise<MeshCA>;

  async authority(): Promise<MeshCA> {
    if (this.ca) return this.ca;
    this.loading ??= this.load!().then((ca) => (this.ca = ca));
    return this.loading;
  }

  private due(c: IssuedCertificate, now = Date.now()): boolean {
    const life = c.notAfter.getTime() - c.notBefore.getTime();
    return now >= c.notBefore.getTime() + life * (this.opts.renewAt ?? 0.5);
  }

  private issue(id: string): Promise<IssuedCertificate> {
    let p = this.pending.get(id);
    if (!p) {
      p = this.authority().then((ca) => ca.issue({ uris: [id], lifetimeMs: this.opts.lifetimeMs })).then((c) => {
        this.certs.set(id, c);
        this.pending.delete(id);
        this.issued++;
        this.opts.log?.debug({ spiffeId: id, serial: c.serial, notAfter: c.notAfter.toISOString() }, 'issued a workload certificate');
        return c;
      });
      this.pending.set(id, p);
      p.catch(() => this.pending.delete(id));
    }
    return p;
  }

  /** Makes sure every identity has a current certificate. */
  async ensure(ids: Iterable<string>): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    for (const id of new Set(ids)) {
      const c = this.certs.get(id);
      if (!c || this.due(c)) work.push(this.issue(id));
    }
    await Promise.all(work);
  }

  /** The two SDS secrets of one identity (ensure() it first). */
  private secretsMemo = new Map<string, { serial: string; secrets: NamedResource[] }>();

  secrets(id: string): NamedResource[] {
    const c = this.certs.get(id);
    if (!this.ca) return [];
    const memo = this.secretsMemo.get(id);
    if (c && memo?.serial === c.serial) return memo.secrets; // same objects: the snapshot is reused
    const built = this.buildSecrets(c);
    if (c) this.secretsMemo.set(id, { serial: c.serial, secrets: built });
    return built;
  }

  private buildSecrets(c: IssuedCertificate | undefined): NamedResource[] {
    if (!this.ca) return [];
    const bundle: NamedResource = { name: TRUST_BUNDLE_SECRET, body: { name: TRUST_BUNDLE_SECRET, validationContext: { trustedCa: { inlineString: this.ca.rootPem } } } };
    if (!c) return [bundle];
    return [{ name: WORKLOAD_CERT_SECRET, body: { name: WORKLOAD_CERT_SECRET, tlsCertificate: { certificateChain: { inlineString: c.certPem }, privateKey: { inlineString: c.keyPem } } } }, bundle];
  }

  current(id: string): IssuedCertificate | undefined {
    return this.certs.get(id);
  }

  /** Checks for due renewals a few times per lifetime. */
  start(): void {
    const every = Math.min(60_000, Math.max(200, this.opts.lifetimeMs / 10));
    this.timer = setInterval(() => void this.renewDue(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async renewDue(): Promise<void> {
    const due = [...this.certs.entries()].filter(([id, c]) => this.due(c) && !this.pending.has(id)).map(([id]) => id);
    if (!due.length) return;
    try {
      await Promise.all(due.map((id) => this.issue(id)));
      this.opts.log?.info({ count: due.length }, 'renewed workload certificates');
      this.opts.onRenew?.(due);
    } catch (err) {
      this.opts.log?.error({ err: (err as Error).message }, 'could not renew workload certificates; retrying');
    }
  }
}
