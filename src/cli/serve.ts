// `meshplane serve`: sources (config directories, Kubernetes) -> pipeline ->
// xDS, plus the admin API, mesh certificates and graceful shutdown.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { isLoopback } from '../admin/access.js';
import { startAdminServer } from '../admin/server.js';
import type { CoreResult } from '../ir/types.js';
import { createLogger } from '../log.js';
import { runPipeline, type PipelineState } from '../pipeline.js';
import { RolloutTracker } from '../rollout/tracker.js';
import { coreSettings } from '../settings.js';
import { writeRateLimitConfigs } from '../sinks/ratelimit-files.js';
import { writeExtAuthConfig } from '../extauth/config-file.js';
import { startEmbeddedExtAuth } from '../extauth/embedded.js';
import { addKubernetesOptions, kubernetesEnabled, type KubernetesFlags } from '../sources/kubernetes/flags.js';
import { mergeSources, type NamedSource } from '../sources/merge.js';
import { XdsServer } from '../xds/server.js';
import { SnapshotCache } from '../xds/snapshot.js';
import { clusterDirs, collect, watchClusterDirs } from './clusters.js';
import { fileLimitsOf, port, withCoreSettings, withFileLimits } from './flags.js';
import { DEFAULT_TRUST_DOMAIN, lifetime, startMesh } from './mesh.js';

export function addServeCommand(program: Command): void {
  const serve = withCoreSettings(withFileLimits(program.command('serve')))
    .description('watch directories of manifests and/or Kubernetes and serve Envoy config over ADS')
    .option('--config-dir <dir>', 'directory of YAML manifests (watched recursively); repeat it with --cluster-name for one directory per cluster', collect)
    .option('--xds-address <addr>', 'address for the ADS gRPC server', '0.0.0.0')
    .option('--xds-port <port>', 'port for the ADS gRPC server', port, 18000)
    .option('--admin-address <addr>', 'address for the admin HTTP server', '127.0.0.1')
    .option('--admin-port <port>', 'port for the admin HTTP server (/healthz, /readyz, /metrics, /debug/*, /ui)', port, 9902)
    .option('--admin-token-file <file>', 'bearer token for the debug endpoints (required, or admin mTLS, when --admin-address is not loopback)')
    .option('--admin-tls-cert <file>', 'serve the admin API over HTTPS with this certificate (with --admin-tls-key and --admin-client-ca)')
    .option('--admin-tls-key <file>', 'private key of the admin certificate')
    .option('--admin-client-ca <file>', 'CA of admin client certificates; a certificate naming spiffe://<domain>/workspace/<ws> sees only that workspace')
    .option('--listener-address <addr>', 'address gateway listeners bind to inside Envoy', '0.0.0.0')
    .option('--state-file <file>', 'where first-seen times and the last valid version of every resource are kept (default: <config-dir>/.meshplane-state.json)')
    .option('--xds-tls-cert <file>', 'server certificate for the xDS port (enables mTLS with --xds-tls-key and --xds-client-ca)')
    .option('--xds-tls-key <file>', 'private key of the server certificate')
    .option('--xds-client-ca <file>', "CA that signs proxies' client certificates")
    .option('--stream-stall-timeout-ms <ms>', 'close an xDS stream whose proxy reads nothing for this long while data waits', (v) => Number(v), 30_000)
    .option('--max-delay-ms <ms>', 'apply a continuous burst of changes at least this often', (v) => Number(v), 1000)
    .option('--ratelimit-config-dir <dir>', 'write the rate-limit service config (one YAML per domain) here; point the service at it')
    .option('--ext-auth-config-file <file>', 'write the ExtAuthPolicy glooAuth configs (with their keys: mode 0600) here for `meshplane ext-auth --config-file`')
    .option('--ext-auth-port <port>', 'also serve meshplane ext-auth (ExtAuthPolicy glooAuth) on this port, inside serve', port)
    .option('--ext-auth-address <addr>', 'address for --ext-auth-port', '0.0.0.0')
    .option('--opa-bin <file>', 'with --ext-auth-port: the Rego evaluator for opaAuth (scripts/build-opa.sh)', process.env.MESHPLANE_OPA_BIN)
    .option('--session-secret-file <file>', 'with --ext-auth-port: secret sealing OIDC login state (see meshplane ext-auth)')
    .option('--debounce-ms <ms>', 'quiet period before a burst of changes is applied', (v) => Number(v), 150)
    .option('--rescan-interval-ms <ms>', 'read the whole config directory this often even without file events (0: never)', (v) => Number(v), 10_000)
    .option('--trust-domain <domain>', 'mesh mode: SPIFFE trust domain of workload identities', DEFAULT_TRUST_DOMAIN)
    .option('--outbound-traffic-policy <mode>', 'mesh mode: ALLOW_ANY (unknown hosts pass through) or REGISTRY_ONLY (refused); WorkspaceSettings options.outboundTrafficPolicy wins', outboundPolicy, 'ALLOW_ANY')
    .option('--ca-cert <file>', 'mesh mode: root CA certificate that signs workload certificates (with --ca-key)')
    .option('--ca-key <file>', 'mesh mode: private key of --ca-cert')
    .option('--state-dir <dir>', 'where a generated root CA is kept (default: <first config-dir>/.meshplane, else ./.meshplane)')
    .option('--workload-cert-ttl <duration>', 'mesh mode: lifetime of workload certificates; renewed at half of it', lifetime, 24 * 3.6e6)
    .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.LOG_LEVEL ?? 'info');
  addKubernetesOptions(serve).action(async (opts) => {
    const settings = { ...coreSettings({ ...opts, clusterName: opts.clusterName?.[0] }), trustDomain: opts.trustDomain, outboundTrafficPolicy: opts.outboundTrafficPolicy };
    const log = createLogger(opts.logLevel);
    const kubeMode = kubernetesEnabled(opts);
    if (!opts.configDir?.length && !kubeMode) throw new Error('serve needs --config-dir DIR, --kubeconfig FILE or --in-cluster');
    const dirs = opts.configDir?.length ? clusterDirs(opts.configDir, opts.clusterName) : [];
    const configDir = dirs.map((d) => d.dir).join(', ') || undefined;
    const tlsFlags = [opts.xdsTlsCert, opts.xdsTlsKey, opts.xdsClientCa];
    if (tlsFlags.some(Boolean) && !tlsFlags.every(Boolean)) throw new Error('mTLS needs all of --xds-tls-cert, --xds-tls-key and --xds-client-ca');
    const adminTls = [opts.adminTlsCert, opts.adminTlsKey, opts.adminClientCa];
    if (adminTls.some(Boolean) && !adminTls.every(Boolean)) throw new Error('admin mTLS needs all of --admin-tls-cert, --admin-tls-key and --admin-client-ca');
    if (!isLoopback(opts.adminAddress) && !opts.adminTokenFile && !opts.adminTlsCert) {
      throw new Error(`the admin API on ${opts.adminAddress} would show every tenant's configuration to the network: set --admin-token-file or admin mTLS (--admin-tls-cert/--admin-tls-key/--admin-client-ca), or bind it to 127.0.0.1`);
    }
    const tls = opts.xdsTlsCert ? { cert: opts.xdsTlsCert, key: opts.xdsTlsKey, clientCa: opts.xdsClientCa } : undefined;
    const cache = new SnapshotCache();
    const state: PipelineState = { generation: 0, rollout: new RolloutTracker(settings.clusterName) };
    const mesh = await startMesh(opts, dirs[0]?.dir ?? resolve('.'), state, cache, log);
    const ads = new XdsServer(cache, log, { tls, stallTimeoutMs: opts.streamStallTimeoutMs, sidecarIdentity: mesh.sidecarIdentity });

    const sources: NamedSource[] = [];
    if (dirs.length) {
      const watch = {
        debounceMs: opts.debounceMs,
        maxDelayMs: opts.maxDelayMs,
        rescanMs: opts.rescanIntervalMs,
        onError: (err: Error) => log.error({ err: err.message }, 'config directory error'),
        onEvent: (event: string, path: string) => log.debug({ event, path }, 'config file event'),
      };
      sources.push({ name: `files in ${configDir}`, sets: watchClusterDirs(dirs, opts.stateFile, watch, fileLimitsOf(opts), (msg) => log.warn(msg)) });
    }
    // Loaded only in Kubernetes mode: the client is slow to import.
    const kube = kubeMode
      ? (await import('../sources/kubernetes/index.js')).startKubernetes(opts as KubernetesFlags, { clusterName: settings.clusterName, debounceMs: opts.debounceMs, maxDelayMs: opts.maxDelayMs, rollout: state.rollout }, log, ads, ads.metrics.registry)
      : undefined;
    if (kube) sources.push(...kube.sources);
    const extAuth = opts.extAuthPort !== undefined ? await startEmbeddedExtAuth({ address: opts.extAuthAddress, port: opts.extAuthPort, opaBin: opts.opaBin, sessionSecretFile: opts.sessionSecretFile }, log) : undefined;
    const stop = runPipeline(
      mergeSources(sources, settings.clusterName),
      settings,
      { listenerAddress: opts.listenerAddress },
      cache,
      log,
      state,
      ads.metrics,
      [
        ...(opts.ratelimitConfigDir ? [(core: CoreResult) => writeRateLimitConfigs(resolve(opts.ratelimitConfigDir), core.ir, log)] : []),
        ...(opts.extAuthConfigFile ? [(core: CoreResult) => writeExtAuthConfig(resolve(opts.extAuthConfigFile), core.ir, log)] : []),
        ...(extAuth ? [extAuth.sink] : []),
        ...(kube?.sink ? [kube.sink] : []),
      ],
      mesh.mesh,
    );
    const xdsPort = await ads.listen(opts.xdsAddress, opts.xdsPort).catch((e: Error) => {
      throw new Error(`cannot serve xDS on ${opts.xdsAddress}:${opts.xdsPort}: ${e.message} (choose another --xds-port)`);
    });
    const adminOpts = { ...(opts.adminTokenFile ? { tokenFile: opts.adminTokenFile } : {}), ...(opts.adminTlsCert ? { tls: { cert: opts.adminTlsCert, key: opts.adminTlsKey, clientCa: opts.adminClientCa } } : {}) };
    const admin = await startAdminServer(opts.adminAddress, opts.adminPort, state, ads, adminOpts).catch((e: Error) => {
      throw new Error(`cannot serve the admin API on ${opts.adminAddress}:${opts.adminPort}: ${e.message} (choose another --admin-port)`);
    });
    if (!tls) log.warn({ address: opts.xdsAddress, port: xdsPort }, "xDS is serving in plain text (no TLS) and any proxy may ask for any gateway's config: fine on a trusted host network only; see docs/operations.md to enable mTLS");
    else log.info({ port: xdsPort }, 'xDS requires mTLS: a proxy gets only the gateway its client certificate names');
    log.info({ configDir, kubernetes: kube?.clusters.map((c) => c.cluster), xdsPort, adminPort: opts.adminPort }, 'meshplane is serving');
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      stop();
      mesh.certs.stop();
      await kube?.stop();
      await extAuth?.stop();
      admin.close();
      await ads.close(3000);
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });
}

function outboundPolicy(v: string): 'ALLOW_ANY' | 'REGISTRY_ONLY' {
  if (v !== 'ALLOW_ANY' && v !== 'REGISTRY_ONLY') throw new Error(`--outbound-traffic-policy must be ALLOW_ANY or REGISTRY_ONLY, got ${JSON.stringify(v)}`);
  return v;
}
