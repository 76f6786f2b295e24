#!/usr/bin/env node
// meshplane CLI: `serve` runs the control plane; `explain` prints the core's view.
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { startAdminServer } from '../admin/server.js';
import { isLoopback } from '../admin/access.js';
import { computeCore } from '../core/index.js';
import { createLogger } from '../log.js';
import { addIdentityCommand, DEFAULT_TRUST_DOMAIN, lifetime, startMesh } from './mesh.js';
import { logDiagnostics, runPipeline, type PipelineState } from '../pipeline.js';
import { coreSettings, positiveInt } from '../settings.js';
import { DEFAULT_FILE_LIMITS, LIMIT_FLAGS, type FileLimits } from '../sources/file.js';
import { clusterDirs, collect, scanClusterDirs, watchClusterDirs } from './clusters.js';
import { XdsServer } from '../xds/server.js';
import { writeRateLimitConfigs } from '../sinks/ratelimit-files.js';
import { SnapshotCache } from '../xds/snapshot.js';
import { explainTable, explainView } from './explain.js';
import { encodingFindings, formatFindings, validationFindings } from './validate.js';
import { explainPolicies } from '../core/explain.js';
import { stringify as stringifyYaml } from 'yaml';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const limitFlag = (flag: string) => (v: string) => {
  try {
    return positiveInt(v, flag);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** The file source's limits as options (docs/operations.md, "Limits"). */
const withFileLimits = (cmd: Command): Command =>
  cmd
    .option(`${LIMIT_FLAGS.maxFileBytes} <bytes>`, 'larger manifest files are not read', Number, DEFAULT_FILE_LIMITS.maxFileBytes)
    .option(`${LIMIT_FLAGS.maxDepth} <levels>`, 'deepest nesting of YAML mappings and sequences', Number, DEFAULT_FILE_LIMITS.maxDepth)
    .option(`${LIMIT_FLAGS.maxAliasNodes} <nodes>`, 'nodes YAML aliases may add to one file when expanded', Number, DEFAULT_FILE_LIMITS.maxAliasNodes)
    .option(`${LIMIT_FLAGS.maxDocumentNodes} <nodes>`, 'nodes in one YAML document', Number, DEFAULT_FILE_LIMITS.maxDocumentNodes);
const fileLimitsOf = (opts: Record<string, number>): { limits: FileLimits } => ({
  limits: { maxFileBytes: opts.maxFileBytes, maxDepth: opts.maxYamlDepth, maxAliasNodes: opts.maxYamlAliasNodes, maxDocumentNodes: opts.maxYamlDocumentNodes },
});

/** The core's route limits as options (docs/operations.md, "Limits"). */
const withRouteLimits = (cmd: Command): Command =>
  cmd
    .option('--max-routes-per-table <n>', 'Envoy routes one root table may expand to (default 50000)', limitFlag('--max-routes-per-table'))
    .option('--max-routes-per-gateway <n>', 'Envoy routes one gateway may carry (default 100000)', limitFlag('--max-routes-per-gateway'));

const program = new Command('meshplane').description('Envoy xDS control plane with workspaces, delegation and label-attached policies');
addIdentityCommand(program);

withRouteLimits(withFileLimits(program
  .command('serve')))
  .description('watch a directory of manifests and serve Envoy config over ADS')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests (watched recursively); repeat it with --cluster-name for one directory per cluster', collect)
  .option('--xds-address <addr>', 'address for the ADS gRPC server', '0.0.0.0')
  .option('--xds-port <port>', 'port for the ADS gRPC server', port, 18000)
  .option('--admin-address <addr>', 'address for the admin HTTP server', '127.0.0.1')
  .option('--admin-port <port>', 'port for the admin HTTP server (/healthz, /readyz, /debug/*)', port, 9902)
  .option('--admin-token-file <file>', 'bearer token for the debug endpoints (required, or admin mTLS, when --admin-address is not loopback)')
  .option('--admin-tls-cert <file>', 'serve the admin API over HTTPS with this certificate (with --admin-tls-key and --admin-client-ca)')
  .option('--admin-tls-key <file>', 'private key of the admin certificate')
  .option('--admin-client-ca <file>', 'CA of admin client certificates; a certificate naming spiffe://<domain>/workspace/<ws> sees only that workspace')
  .option('--listener-address <addr>', 'address gateway listeners bind to inside Envoy', '0.0.0.0')
  .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true,VirtualDestinationWorkspacePolicyOverride=true')
  .option('--settings <file>', 'YAML with clusterName and featureGates (flags win)')
  .option('--state-file <file>', 'where first-seen times and the last valid version of every resource are kept (default: <config-dir>/.meshplane-state.json)')
  .option('--xds-tls-cert <file>', 'server certificate for the xDS port (enables mTLS with --xds-tls-key and --xds-client-ca)')
  .option('--xds-tls-key <file>', 'private key of the server certificate')
  .option('--xds-client-ca <file>', 'CA that signs proxies\' client certificates')
  .option('--stream-stall-timeout-ms <ms>', 'close an xDS stream whose proxy stops reading for this long', (v) => Number(v), 30_000)
  .option('--max-delay-ms <ms>', 'apply a continuous burst of file changes at least this often', (v) => Number(v), 1000)
  .option('--ratelimit-config-dir <dir>', 'write the rate-limit service config (one YAML per domain) here; point the service at it')
  .option('--debounce-ms <ms>', 'quiet period before a burst of file changes is applied', (v) => Number(v), 150)
  .option('--trust-domain <domain>', 'mesh mode: SPIFFE trust domain of workload identities', DEFAULT_TRUST_DOMAIN)
  .option('--ca-cert <file>', 'mesh mode: root CA certificate that signs workload certificates (with --ca-key)')
  .option('--ca-key <file>', 'mesh mode: private key of --ca-cert')
  .option('--state-dir <dir>', 'where a generated root CA is kept (default: <config-dir>/.meshplane)')
  .option('--workload-cert-ttl <duration>', 'mesh mode: lifetime of workload certificates; renewed at half of it', lifetime, 24 * 3.6e6)
  .option('--rescan-interval-ms <ms>', 'read the whole config directory this often even without file events (0: never)', (v) => Number(v), 10_000)
  .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.LOG_LEVEL ?? 'info')
  .action(async (opts) => {
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = { ...coreSettings({ ...opts, clusterName: opts.clusterName?.[0] }), trustDomain: opts.trustDomain };
    const log = createLogger(opts.logLevel);
    const dir = dirs.map((d) => d.dir).join(', ');
    const cache = new SnapshotCache();
    const state: PipelineState = { generation: 0 };
    const tlsFlags = [opts.xdsTlsCert, opts.xdsTlsKey, opts.xdsClientCa];
    if (tlsFlags.some(Boolean) && !tlsFlags.every(Boolean)) throw new Error('mTLS needs all of --xds-tls-cert, --xds-tls-key and --xds-client-ca');
    const tls = opts.xdsTlsCert ? { cert: opts.xdsTlsCert, key: opts.xdsTlsKey, clientCa: opts.xdsClientCa } : undefined;
    const mesh = await startMesh(opts, dir, state, cache, log);
    const ads = new XdsServer(cache, log, { tls, stallTimeoutMs: opts.streamStallTimeoutMs, sidecarIdentity: mesh.sidecarIdentity });
    const stop = runPipeline(
      watchClusterDirs(
        dirs,
        opts.stateFile,
        {
          debounceMs: opts.debounceMs,
          maxDelayMs: opts.maxDelayMs,
          rescanMs: opts.rescanIntervalMs,
          onError: (err) => log.error({ err: err.message }, 'config directory error'),
          onEvent: (event, path) => log.debug({ event, path }, 'config file event'),
        },
        fileLimitsOf(opts),
        (msg) => log.warn(msg),
      ),
      settings,
      { listenerAddress: opts.listenerAddress },
      cache,
      log,
      state,
      ads.metrics,
      opts.ratelimitConfigDir ? [(core) => writeRateLimitConfigs(resolve(opts.ratelimitConfigDir), core.ir, log)] : [],
      mesh.mesh,
    );
    const xdsPort = await ads.listen(opts.xdsAddress, opts.xdsPort).catch((e: Error) => {
      throw new Error(`cannot serve xDS on ${opts.xdsAddress}:${opts.xdsPort}: ${e.message} (choose another --xds-port)`);
    });
    const adminTls = [opts.adminTlsCert, opts.adminTlsKey, opts.adminClientCa];
    if (adminTls.some(Boolean) && !adminTls.every(Boolean)) throw new Error('admin mTLS needs all of --admin-tls-cert, --admin-tls-key and --admin-client-ca');
    if (!isLoopback(opts.adminAddress) && !opts.adminTokenFile && !opts.adminTlsCert) {
      throw new Error(`the admin API on ${opts.adminAddress} would show every tenant's configuration to the network: set --admin-token-file or admin mTLS (--admin-tls-cert/--admin-tls-key/--admin-client-ca), or bind it to 127.0.0.1`);
    }
    const adminOpts = { ...(opts.adminTokenFile ? { tokenFile: opts.adminTokenFile } : {}), ...(opts.adminTlsCert ? { tls: { cert: opts.adminTlsCert, key: opts.adminTlsKey, clientCa: opts.adminClientCa } } : {}) };
    const admin = await startAdminServer(opts.adminAddress, opts.adminPort, state, ads, adminOpts).catch((e: Error) => {
      throw new Error(`cannot serve the admin API on ${opts.adminAddress}:${opts.adminPort}: ${e.message} (choose another --admin-port)`);
    });
    if (!tls) log.warn({ address: opts.xdsAddress, port: xdsPort }, 'xDS is serving in plain text (no TLS) and any proxy may ask for any gateway\'s config: fine on a trusted host network only; see docs/operations.md to enable mTLS');
    else log.info({ port: xdsPort }, 'xDS requires mTLS: a proxy gets only the gateway its client certificate names');
    log.info({ configDir: dir, xdsPort, adminPort: opts.adminPort }, 'meshplane is serving');
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      stop();
      mesh.certs.stop();
      admin.close();
      await ads.close(3000);
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });

withRouteLimits(withFileLimits(program
  .command('explain')))
  .description('compute routes, destinations, policies and status for a directory once and print them, with the reason for every policy that does not apply')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests; repeat it with --cluster-name for one directory per cluster', collect)
  .option('--output <format>', 'json, yaml or table', 'json')
  .option('--route <table:route>', 'only routes with this link on their chain, e.g. apps/shop:checkout')
  .option('--policy <Kind/ns/name>', 'only what concerns this policy, e.g. RetryTimeoutPolicy/apps/retries')
  .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true')
  .option('--settings <file>', 'YAML with clusterName, featureGates and limits (flags win)')
  .option('--state-file <file>', 'first-seen times and last valid versions written by `serve` (read only here)')
  .action((opts) => {
    if (!['json', 'yaml', 'table'].includes(opts.output)) throw new InvalidArgumentError('--output must be json, yaml or table');
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const log = createLogger('warn');
    // explain never writes the state file: it only reads what `serve` recorded.
    const set = scanClusterDirs(dirs, opts.stateFile, fileLimitsOf(opts), (msg) => log.warn(msg));
    logDiagnostics(set, log);
    const core = computeCore(set.resources, settings, set.rejected);
    const out = explainView(core, explainPolicies(set.resources, settings, core), set.resources, { route: opts.route, policy: opts.policy });
    process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : opts.output === 'yaml' ? stringifyYaml(out) : explainTable(out, process.stdout.isTTY));
  });

withRouteLimits(withFileLimits(program
  .command('validate')))
  .description('run the whole pipeline once (core, translation, Envoy encoding) and report every INVALID and WARNING; exit 1 on INVALID, for CI')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests; repeat it with --cluster-name for one directory per cluster', collect)
  .option('--output <format>', 'text or json', 'text')
  .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true')
  .option('--settings <file>', 'YAML with clusterName, featureGates and limits (flags win)')
  .action((opts) => {
    if (!['text', 'json'].includes(opts.output)) throw new InvalidArgumentError('--output must be text or json');
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const set = scanClusterDirs(dirs, undefined, fileLimitsOf(opts));
    const core = computeCore(set.resources, settings, set.rejected);
    const findings = validationFindings(core, set.resources, encodingFindings(core, { listenerAddress: '0.0.0.0' }));
    const invalid = findings.some((f) => f.state === 'INVALID');
    process.stdout.write(opts.output === 'json' ? JSON.stringify({ valid: !invalid, findings }, null, 2) + '\n' : formatFindings(findings, process.stdout.isTTY));
    process.exitCode = invalid ? 1 : 0;
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`meshplane: ${err.message}\n`);
  process.exit(2);
});
