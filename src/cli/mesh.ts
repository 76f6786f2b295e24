// Mesh mode in the CLI: the CA and workload certificates for `serve`, and
// `meshplane identity`, which issues bootstrap and server certificates.
import { InvalidArgumentError, type Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { MeshCA } from '../ca/ca.js';
import { WorkloadCertificates } from '../ca/workload-certs.js';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from '../core/workloads.js';
import { MeshServing, sidecarIdentities } from '../mesh-serving.js';
import type { PipelineState } from '../pipeline.js';
import type { SnapshotCache } from '../xds/snapshot.js';

export { DEFAULT_TRUST_DOMAIN };

/** "30s", "12h", "7d" -> milliseconds. */
export const lifetime = (v: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v);
  if (!m) throw new InvalidArgumentError('must be a duration such as 30s, 12h, 7d');
  return Number(m[1]) * { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
};

export interface MeshOptions {
  trustDomain: string;
  caCert?: string;
  caKey?: string;
  stateDir?: string;
  workloadCertTtl: number;
}

/** The CA (loaded or generated when the first sidecar needs it) and the serving state for `serve`. */
export async function startMesh(opts: MeshOptions, configDir: string, state: PipelineState, cache: SnapshotCache, log: Logger) {
  const stateDir = resolve(opts.stateDir ?? join(configDir, '.meshplane'));
  const loadCa = () =>
    MeshCA.loadOrCreate({ trustDomain: opts.trustDomain, certFile: opts.caCert, keyFile: opts.caKey, stateDir }).then((ca) => {
      log.info({ root: ca.origin, trustDomain: ca.trustDomain, notAfter: ca.rootNotAfter.toISOString() }, 'mesh CA ready');
      return ca;
    });
  let mesh: MeshServing | undefined;
  const certs = new WorkloadCertificates(loadCa, { lifetimeMs: opts.workloadCertTtl, log, onRenew: (ids) => mesh?.republish(ids) });
  mesh = new MeshServing(cache, log, certs);
  if (opts.caCert || opts.caKey) await certs.authority(); // bad CA files fail the start, not the first sidecar
  certs.start();
  return { mesh, certs, sidecarIdentity: (key: string) => sidecarIdentities(state.core).get(key) };
}

export function addIdentityCommand(program: Command): void {
  program
    .command('identity')
    .description('issue a certificate from the mesh CA: a sidecar\'s bootstrap identity for mTLS on the xDS port, or (--server) the xDS server\'s')
    .option('--namespace <ns>', 'the workload\'s namespace')
    .option('--service-account <sa>', 'the workload\'s service account', 'default')
    .option('--server', 'issue the xDS server certificate instead (with --dns / --ip)')
    .option('--dns <names>', 'comma-separated DNS names for --server', 'meshplane,localhost')
    .option('--ip <addresses>', 'comma-separated IP addresses for --server', '127.0.0.1')
    .requiredOption('--out-dir <dir>', 'writes cert.pem, key.pem (mode 0600) and ca.pem here')
    .option('--config-dir <dir>', 'used to find the default state directory (<config-dir>/.meshplane)', '.')
    .option('--state-dir <dir>', 'where serve keeps its generated root CA')
    .option('--ca-cert <file>', 'root CA certificate (with --ca-key) instead of the state directory\'s')
    .option('--ca-key <file>', 'private key of --ca-cert')
    .option('--trust-domain <domain>', 'SPIFFE trust domain', DEFAULT_TRUST_DOMAIN)
    .option('--ttl <duration>', 'lifetime of the certificate', lifetime, 24 * 3.6e6)
    .action(async (opts) => {
      const stateDir = resolve(opts.stateDir ?? join(resolve(opts.configDir), '.meshplane'));
      const ca = await MeshCA.loadOrCreate({ trustDomain: opts.trustDomain, certFile: opts.caCert, keyFile: opts.caKey, stateDir });
      let issued;
      if (opts.server) {
        issued = await ca.issue({ dnsNames: String(opts.dns).split(',').filter(Boolean), ips: String(opts.ip).split(',').filter(Boolean), lifetimeMs: opts.ttl, commonName: 'meshplane' });
      } else {
        if (!opts.namespace) throw new InvalidArgumentError('--namespace is required (or --server)');
        issued = await ca.issue({ uris: [spiffeId(opts.trustDomain, opts.namespace, opts.serviceAccount)], lifetimeMs: opts.ttl });
      }
      const out = resolve(opts.outDir);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'cert.pem'), issued.certPem);
      writeFileSync(join(out, 'key.pem'), issued.keyPem, { mode: 0o600 });
      writeFileSync(join(out, 'ca.pem'), ca.rootPem);
      process.stdout.write(`wrote ${out}/cert.pem, key.pem, ca.pem (${opts.server ? 'xDS server' : spiffeId(opts.trustDomain, opts.namespace, opts.serviceAccount)}, valid until ${issued.notAfter.toISOString()}; root ${ca.origin})\n`);
    });
}
