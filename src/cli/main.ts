#!/usr/bin/env node
// meshplane CLI: `serve` runs the control plane; `explain` prints the core's view.
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { startAdminServer } from '../admin/server.js';
import { computeCore } from '../core/index.js';
import { createLogger } from '../log.js';
import { logDiagnostics, runPipeline, type PipelineState } from '../pipeline.js';
import { coreSettings } from '../settings.js';
import { clusterDirs, collect, scanClusterDirs, watchClusterDirs } from './clusters.js';
import { XdsServer } from '../xds/server.js';
import { writeRateLimitConfigs } from '../sinks/ratelimit-files.js';
import { SnapshotCache } from '../xds/snapshot.js';
import { explainTable, explainView } from './explain.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const program = new Command('meshplane').description('Envoy xDS control plane with workspaces, delegation and label-attached policies');

program
  .command('serve')
  .description('watch a directory of manifests and serve Envoy config over ADS')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests (watched recursively); repeat it with --cluster-name for one directory per cluster', collect)
  .option('--xds-address <addr>', 'address for the ADS gRPC server', '0.0.0.0')
  .option('--xds-port <port>', 'port for the ADS gRPC server', port, 18000)
  .option('--admin-address <addr>', 'address for the admin HTTP server', '127.0.0.1')
  .option('--admin-port <port>', 'port for the admin HTTP server (/healthz, /readyz, /debug/*)', port, 9902)
  .option('--listener-address <addr>', 'address gateway listeners bind to inside Envoy', '0.0.0.0')
  .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true,VirtualDestinationWorkspacePolicyOverride=true')
  .option('--settings <file>', 'YAML with clusterName and featureGates (flags win)')
  .option('--state-file <file>', 'where first-seen times are kept (default: <config-dir>/.meshplane-state.json)')
  .option('--xds-tls-cert <file>', 'server certificate for the xDS port (enables mTLS with --xds-tls-key and --xds-client-ca)')
  .option('--xds-tls-key <file>', 'private key of the server certificate')
  .option('--xds-client-ca <file>', 'CA that signs proxies\' client certificates')
  .option('--stream-stall-timeout-ms <ms>', 'close an xDS stream whose proxy stops reading for this long', (v) => Number(v), 30_000)
  .option('--max-delay-ms <ms>', 'apply a continuous burst of file changes at least this often', (v) => Number(v), 1000)
  .option('--ratelimit-config-dir <dir>', 'write the rate-limit service config (one YAML per domain) here; point the service at it')
  .option('--debounce-ms <ms>', 'quiet period before a burst of file changes is applied', (v) => Number(v), 150)
  .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.LOG_LEVEL ?? 'info')
  .action(async (opts) => {
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const log = createLogger(opts.logLevel);
    const dir = dirs.map((d) => d.dir).join(', ');
    const cache = new SnapshotCache();
    const state: PipelineState = { generation: 0 };
    const tlsFlags = [opts.xdsTlsCert, opts.xdsTlsKey, opts.xdsClientCa];
    if (tlsFlags.some(Boolean) && !tlsFlags.every(Boolean)) throw new Error('mTLS needs all of --xds-tls-cert, --xds-tls-key and --xds-client-ca');
    const tls = opts.xdsTlsCert ? { cert: opts.xdsTlsCert, key: opts.xdsTlsKey, clientCa: opts.xdsClientCa } : undefined;
    const ads = new XdsServer(cache, log, { tls, stallTimeoutMs: opts.streamStallTimeoutMs });
    const stop = runPipeline(
      watchClusterDirs(dirs, opts.stateFile, { debounceMs: opts.debounceMs, maxDelayMs: opts.maxDelayMs, onError: (err) => log.error({ err: err.message }, 'config directory error') }),
      settings,
      { listenerAddress: opts.listenerAddress },
      cache,
      log,
      state,
      ads.metrics,
      opts.ratelimitConfigDir ? [(core) => writeRateLimitConfigs(resolve(opts.ratelimitConfigDir), core.ir, log)] : [],
    );
    const xdsPort = await ads.listen(opts.xdsAddress, opts.xdsPort).catch((e: Error) => {
      throw new Error(`cannot serve xDS on ${opts.xdsAddress}:${opts.xdsPort}: ${e.message} (choose another --xds-port)`);
    });
    const admin = await startAdminServer(opts.adminAddress, opts.adminPort, state, ads).catch((e: Error) => {
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
      admin.close();
      await ads.close(3000);
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });

program
  .command('explain')
  .description('compute routes, destinations, policies and status for a directory once and print them')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests; repeat it with --cluster-name for one directory per cluster', collect)
  .option('--output <format>', 'json or table', 'json')
  .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true')
  .option('--settings <file>', 'YAML with clusterName and featureGates (flags win)')
  .option('--state-file <file>', 'first-seen times written by `serve` (read only here)')
  .action((opts) => {
    if (opts.output !== 'json' && opts.output !== 'table') throw new InvalidArgumentError('--output must be json or table');
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const log = createLogger('warn');
    // explain never writes the state file: it only reads what `serve` recorded.
    const set = scanClusterDirs(dirs, opts.stateFile);
    logDiagnostics(set, log);
    const out = explainView(computeCore(set.resources, settings, set.rejected));
    process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : explainTable(out, process.stdout.isTTY));
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`meshplane: ${err.message}\n`);
  process.exit(2);
});
