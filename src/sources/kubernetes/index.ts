// `meshplane serve` in Kubernetes mode: one source per kubeconfig context
// (a management cluster with the Gloo config, workload clusters with
// Services, EndpointSlices and Pods), leader election, and the status writer.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { LeaseElector } from '../../leader/lease.js';
import { StatusWriter } from '../../sinks/kubernetes-status.js';
import type { RolloutTracker } from '../../rollout/tracker.js';
import type { CoreResult } from '../../ir/types.js';
import type { XdsServer } from '../../xds/server.js';
import type { NamedSource } from '../merge.js';
import { loadKubeConfig } from './client.js';
import { parseContexts, type KubernetesFlags } from './flags.js';
import { ClusterSource } from './source.js';

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

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
  defaults: { clusterName: string; debounceMs: number; maxDelayMs: number; rollout?: RolloutTracker },
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
    new Gauge({
      name: 'meshplane_kube_watches_failing',
      help: 'Watched kinds whose watch is failing and being retried, by cluster (the last objects seen are served meanwhile)',
      labelNames: ['cluster'],
      registers: [registry],
      collect() {
        for (const c of clusters) this.set({ cluster: c.cluster }, c.failing().length);
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
    writer = new StatusWriter({ source: management, log: log.child({ component: 'status' }), isLeader: () => (elector ? elector.isLeader : true), xds, rollout: defaults.rollout, qps: flags.statusQps, burst: flags.statusQps * 2, registry });
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
