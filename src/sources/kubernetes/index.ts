// `meshplane serve` in Kubernetes mode: one source per kubeconfig context
// (a management cluster with the Gloo config, workload clusters with
// Services, EndpointSlices and Pods), leader election, and the status writer.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { LeaseElector } from '../../leader/lease.js';
import { StatusWriter } from '../../sinks/kubernetes-status.js';
import type { CoreResult } from '../../ir/types.js';
import type { XdsServer } from '../../xds/server.js';
import type { NamedSource } from '../merge.js';
import { loadKubeConfig } from './client.js';
import { ClusterSource } from './source.js';

export interface ContextSpec {
  /** kubeconfig context; undefined: the current one (or in-cluster). */
  context?: string;
  cluster: string;
  management: boolean;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The serve flags of Kubernetes mode. */
export function addKubernetesOptions(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'watch Kubernetes through this kubeconfig (Gloo CRDs, Namespaces, Services, EndpointSlices, Pods)')
    .option('--in-cluster', 'watch the Kubernetes cluster meshplane runs in (its service account)')
    .option('--kube-context <context[=cluster]>', 'a kubeconfig context to watch and its cluster name (repeatable; default: the current context, named by --cluster-name)', collect)
    .option('--management-context <context>', 'the context that holds the Gloo config (default: the first --kube-context); the others are workload clusters')
    .option('--no-leader-elect', 'write status without leader election (a single replica)')
    .option('--leader-election-namespace <ns>', 'namespace of the leader Lease (default: $POD_NAMESPACE, the service account\'s, or default)')
    .option('--leader-election-name <name>', 'name of the leader Lease', 'meshplane')
    .option('--leader-id <id>', 'this replica\'s identity in the Lease (default: hostname plus a random suffix)')
    .option('--lease-duration-ms <ms>', 'how long a leader Lease holds without renewal', int, 15_000)
    .option('--renew-deadline-ms <ms>', 'a leader that cannot renew for this long steps down', int, 10_000)
    .option('--retry-period-ms <ms>', 'how often the Lease is renewed or tried', int, 2_000)
    .option('--status-qps <n>', 'status writes per second at most', int, 50)
    .option('--no-status', 'do not write status to the API server');
}

export interface KubernetesFlags {
  kubeconfig?: string;
  inCluster?: boolean;
  kubeContext?: string[];
  managementContext?: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionName: string;
  leaderId?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  statusQps: number;
  status: boolean;
}

export const kubernetesEnabled = (f: Partial<KubernetesFlags>): boolean => !!(f.kubeconfig || f.inCluster);

/** "--kube-context a=west --kube-context b" -> contexts with cluster names; the management one is named `defaultCluster` unless given. */
export function parseContexts(flags: string[] | undefined, defaultCluster: string, management?: string): ContextSpec[] {
  if (!flags?.length) {
    if (management) throw new Error('--management-context needs --kube-context flags naming the contexts to watch');
    return [{ cluster: defaultCluster, management: true }];
  }
  const specs = flags.map((f) => {
    const [context, cluster] = f.split('=', 2);
    if (!context) throw new Error(`--kube-context "${f}": expected CONTEXT or CONTEXT=CLUSTER`);
    return { context, explicit: cluster };
  });
  const mgmt = management ?? specs[0].context;
  if (!specs.some((s) => s.context === mgmt)) throw new Error(`--management-context ${mgmt} is not one of the --kube-context flags (${specs.map((s) => s.context).join(', ')})`);
  const out = specs.map((s) => ({ context: s.context, management: s.context === mgmt, cluster: s.explicit || (s.context === mgmt ? defaultCluster : s.context) }));
  const names = out.map((s) => s.cluster);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two --kube-context flags name cluster "${dup}"; give each CONTEXT=CLUSTER a distinct name`);
  return out;
}

export interface KubernetesMode {
  clusters: ClusterSource[];
  sources: NamedSource[];
  /** The pipeline sink that feeds the status writer. */
  sink?: (core: CoreResult) => void;
  elector?: LeaseElector;
  stop(): Promise<void>;
}

export function startKubernetes(
  flags: KubernetesFlags,
  defaults: { clusterName: string; debounceMs: number; maxDelayMs: number },
  log: Logger,
  xds: XdsServer | undefined,
  registry: Registry | undefined,
): KubernetesMode {
  const contexts = parseContexts(flags.kubeContext, defaults.clusterName, flags.managementContext);
  const restarts = registry && new Counter({ name: 'meshplane_kube_watch_restarts_total', help: 'Kubernetes watches restarted after an error, by cluster and kind', labelNames: ['cluster', 'kind'], registers: [registry] });
  const clusters = contexts.map((c) => {
    const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, inCluster: flags.inCluster, context: c.context });
    return new ClusterSource({
      cluster: c.cluster,
      kc,
      management: c.management,
      log: log.child({ cluster: c.cluster }),
      debounceMs: defaults.debounceMs,
      maxDelayMs: defaults.maxDelayMs,
      onRestart: (kind) => restarts?.inc({ cluster: c.cluster, kind }),
    });
  });
  if (registry) {
    new Gauge({
      name: 'meshplane_kube_synced',
      help: '1 once the initial list of every watched kind is in, by cluster',
      labelNames: ['cluster'],
      registers: [registry],
      collect() {
        for (const c of clusters) this.set({ cluster: c.cluster }, c.synced() ? 1 : 0);
      },
    });
  }
  const management = clusters.find((c) => c.management)!;
  let elector: LeaseElector | undefined;
  let writer: StatusWriter | undefined;
  if (flags.status) {
    if (flags.leaderElect) {
      const namespace = flags.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? (existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : 'default');
      elector = new LeaseElector({
        http: management.http,
        namespace,
        name: flags.leaderElectionName,
        identity: flags.leaderId ?? `${hostname()}-${randomBytes(3).toString('hex')}`,
        log: log.child({ component: 'leader-election' }),
        leaseDurationMs: flags.leaseDurationMs,
        renewDeadlineMs: flags.renewDeadlineMs,
        retryPeriodMs: flags.retryPeriodMs,
        onChange: (leader) => {
          leaderGauge?.set(leader ? 1 : 0);
          if (leader) writer?.reconcile();
        },
      });
    }
    const leaderGauge = registry && new Gauge({ name: 'meshplane_leader', help: '1 while this replica holds the leader Lease (and writes status)', registers: [registry] });
    leaderGauge?.set(elector ? 0 : 1);
    writer = new StatusWriter({ source: management, log: log.child({ component: 'status' }), isLeader: () => (elector ? elector.isLeader : true), xds, qps: flags.statusQps, burst: flags.statusQps * 2, registry });
  }
  for (const c of clusters) c.start();
  elector?.start();
  log.info({ clusters: contexts.map((c) => ({ cluster: c.cluster, context: c.context ?? '(current)', management: c.management })), leaderElection: !!elector, status: flags.status }, 'watching Kubernetes');
  return {
    clusters,
    sources: clusters.map((c) => ({ name: `cluster ${c.cluster}`, sets: c.sets() })),
    sink: writer && ((core) => writer!.update(core)),
    elector,
    async stop() {
      writer?.close();
      await elector?.stop(true);
      await Promise.all(clusters.map((c) => c.stop()));
    },
  };
}
