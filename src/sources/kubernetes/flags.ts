// The serve flags of Kubernetes mode, kept apart from the client so the file-only
// path never loads @kubernetes/client-node.
import type { Command } from 'commander';

export interface ContextSpec {
  /** kubeconfig context; undefined: the current one (or in-cluster). */
  context?: string;
  cluster: string;
  management: boolean;
}

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
    .option('--kube-context <context[=cluster]>', 'a kubeconfig context to watch and its cluster name (repeatable; "in-cluster" is the pod\'s service account; default: the current context, named by --cluster-name)', collect)
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

