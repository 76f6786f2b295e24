#!/usr/bin/env node
// meshplane CLI: `serve` runs the control plane; `explain` prints the core's view.
import { Command, InvalidArgumentError } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { startAdminServer } from '../admin/server.js';
import { computeCore } from '../core/index.js';
import { createLogger } from '../log.js';
import { logDiagnostics, runPipeline, type PipelineState } from '../pipeline.js';
import { coreSettings } from '../settings.js';
import { CreationClock, ManifestDirectory, watchManifestDirectory } from '../sources/file.js';
import { addKubernetesOptions, kubernetesEnabled, type KubernetesFlags } from '../sources/kubernetes/flags.js';
import { mergeSources, type NamedSource } from '../sources/merge.js';
import { XdsServer } from '../xds/server.js';
import { writeRateLimitConfigs } from '../sinks/ratelimit-files.js';
import { SnapshotCache } from '../xds/snapshot.js';
import { explainTable, explainView } from './explain.js';
import type { CoreResult } from '../ir/types.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const program = new Command('meshplane').description('Envoy xDS control plane with workspaces, delegation and label-attached policies');

const serve = program
  .command('serve')
  .description('watch a directory of manifests and/or Kubernetes and serve Envoy config over ADS')
  .option('--config-dir <dir>', 'directory of YAML manifests (watched recursively)')
  .option('--xds-address <addr>', 'address for the ADS gRPC server', '0.0.0.0')
  .option('--xds-port <port>', 'port for the ADS gRPC server', port, 18000)
  .option('--admin-address <addr>', 'address for the admin HTTP server', '127.0.0.1')
  .option('--admin-port <port>', 'port for the admin HTTP server (/healthz, /readyz, /debug/*)', port, 9902)
  .option('--listener-address <addr>', 'address gateway listeners bind to inside Envoy', '0.0.0.0')
  .option('--cluster-name <name>', 'name of this cluster, matched by workloadClusters[].name (default cluster-1)')
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
  .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.LOG_LEVEL ?? 'info');
addKubernetesOptions(serve)
  .action(async (opts) => {
    const settings = coreSettings(opts);
    const log = createLogger(opts.logLevel);
    const kubeMode = kubernetesEnabled(opts);
    if (!opts.configDir && !kubeMode) throw new Error('serve needs --config-dir DIR, --kubeconfig FILE or --in-cluster');
    const dir = opts.configDir ? resolve(opts.configDir) : undefined;
    if (dir && (!existsSync(dir) || !statSync(dir).isDirectory())) throw new Error(`config directory ${dir} does not exist or is not a directory`);
    const directory = dir && new ManifestDirectory(dir, new CreationClock(opts.stateFile ?? resolve(dir, '.meshplane-state.json')));
    const cache = new SnapshotCache();
    const state: PipelineState = { generation: 0 };
    const tlsFlags = [opts.xdsTlsCert, opts.xdsTlsKey, opts.xdsClientCa];
    if (tlsFlags.some(Boolean) && !tlsFlags.every(Boolean)) throw new Error('mTLS needs all of --xds-tls-cert, --xds-tls-key and --xds-client-ca');
    const tls = opts.xdsTlsCert ? { cert: opts.xdsTlsCert, key: opts.xdsTlsKey, clientCa: opts.xdsClientCa } : undefined;
    const ads = new XdsServer(cache, log, { tls, stallTimeoutMs: opts.streamStallTimeoutMs });
    const sources: NamedSource[] = [];
    if (directory) {
      sources.push({ name: `files in ${dir}`, sets: watchManifestDirectory(directory, { debounceMs: opts.debounceMs, maxDelayMs: opts.maxDelayMs, onError: (err) => log.error({ err: err.message }, 'config directory error') }) });
    }
    // Loaded only in Kubernetes mode: the client is slow to import.
    const kube = kubeMode ? (await import('../sources/kubernetes/index.js')).startKubernetes(opts as KubernetesFlags, { clusterName: settings.clusterName, debounceMs: opts.debounceMs, maxDelayMs: opts.maxDelayMs }, log, ads, ads.metrics.registry) : undefined;
    if (kube) sources.push(...kube.sources);
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
        ...(kube?.sink ? [kube.sink] : []),
      ],
    );
    const xdsPort = await ads.listen(opts.xdsAddress, opts.xdsPort).catch((e: Error) => {
      throw new Error(`cannot serve xDS on ${opts.xdsAddress}:${opts.xdsPort}: ${e.message} (choose another --xds-port)`);
    });
    const admin = await startAdminServer(opts.adminAddress, opts.adminPort, state, ads).catch((e: Error) => {
      throw new Error(`cannot serve the admin API on ${opts.adminAddress}:${opts.adminPort}: ${e.message} (choose another --admin-port)`);
    });
    if (!tls) log.warn({ address: opts.xdsAddress, port: xdsPort }, 'xDS is serving in plain text (no TLS) and any proxy may ask for any gateway\'s config: fine on a trusted host network only; see docs/operations.md to enable mTLS');
    else log.info({ port: xdsPort }, 'xDS requires mTLS: a proxy gets only the gateway its client certificate names');
    log.info({ configDir: dir, kubernetes: kube?.clusters.map((c) => c.cluster), xdsPort, adminPort: opts.adminPort }, 'meshplane is serving');
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      stop();
      await kube?.stop();
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
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests')
  .option('--output <format>', 'json or table', 'json')
  .option('--cluster-name <name>', 'name of this cluster, matched by workloadClusters[].name (default cluster-1)')
  .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true')
  .option('--settings <file>', 'YAML with clusterName and featureGates (flags win)')
  .option('--state-file <file>', 'first-seen times written by `serve` (read only here)')
  .action((opts) => {
    if (opts.output !== 'json' && opts.output !== 'table') throw new InvalidArgumentError('--output must be json or table');
    const settings = coreSettings(opts);
    const dir = resolve(opts.configDir);
    const log = createLogger('warn');
    // explain never writes the state file: it only reads what `serve` recorded.
    const clock = new CreationClock(opts.stateFile ?? resolve(dir, '.meshplane-state.json'), false);
    const set = new ManifestDirectory(dir, clock).scan();
    logDiagnostics(set, log);
    const out = explainView(computeCore(set.resources, settings, set.rejected));
    process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : explainTable(out, process.stdout.isTTY));
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`meshplane: ${err.message}\n`);
  process.exit(2);
});
