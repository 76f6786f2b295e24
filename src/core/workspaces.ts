// Namespace -> workspace resolution and import/export visibility (semantics §2).
import type { Resource, SharedKind, SharingRule, WorkspaceR, WorkspaceSettingsR } from '../resources/schema.js';
import { clusterSuffix, resourceKey } from '../resources/schema.js';
import { byAge, compareStr, globMatch, isLiteral, labelsMatch } from './match.js';
import type { StatusBook } from './status.js';

/** A namespace of one cluster; `cluster` undefined is the default cluster. */
export interface NamespaceInfo {
  name: string;
  cluster?: string;
  labels: Record<string, string>;
}

export interface WorkspaceIndex {
  readonly names: readonly string[];
  /** Namespaces are per cluster: `cluster` undefined is the default cluster. */
  workspaceOf(namespace: string, cluster?: string): string | undefined;
  /** The workspace of the namespace a resource lives in (in its cluster). */
  ownerOf(r: { metadata: { namespace: string }; cluster?: string }): string | undefined;
  /** R (of shared kind `kind`, owned by `owner`) is visible in `consumer`. */
  isVisible(kind: Exclude<SharedKind, 'ALL'>, r: Resource, owner: string, consumer: string): boolean;
  /** Why R is not visible, naming the missing export and/or import. */
  explainInvisible(kind: Exclude<SharedKind, 'ALL'>, r: Resource, owner: string, consumer: string): string;
  /** Owner exports `kind` to consumer and consumer imports it from owner, for resource r. */
  exportsTo(owner: string, consumer: string, kind: Exclude<SharedKind, 'ALL'>, r: Resource): boolean;
  importsFrom(consumer: string, owner: string, kind: Exclude<SharedKind, 'ALL'>, r: Resource): boolean;
}

export function indexWorkspaces(
  workspaces: WorkspaceR[],
  settings: WorkspaceSettingsR[],
  namespaces: readonly NamespaceInfo[],
  clusterName: string,
  status: StatusBook,
): WorkspaceIndex {
  const ordered = [...workspaces].sort(byAge);
  const byName = new Map(ordered.map((w) => [w.metadata.name, w]));
  const nsOwner = new Map<string, string>();
  const nsKey = (name: string, cluster: string | undefined) => `${name}${clusterSuffix(cluster)}`;

  // Which workspaces can claim a namespace: by its name when a selector names it literally, all the
  // others (globs, label-only selectors) always. Positions in `ordered`, ascending: 1,000 workspaces
  // and 1,000 namespaces made a million selector checks per computation.
  const byLiteral = new Map<string, number[]>();
  const anyName: number[] = [];
  ordered.forEach((ws, i) => {
    let wild = false;
    for (const wc of ws.spec.workloadClusters) {
      for (const n of wc.namespaces) {
        if (!isLiteral(n.name)) wild = true;
        else {
          const list = byLiteral.get(n.name);
          if (!list) byLiteral.set(n.name, [i]);
          else if (list[list.length - 1] !== i) list.push(i);
        }
      }
    }
    if (wild) anyName.push(i);
  });
  const candidates = (ns: string): WorkspaceR[] => {
    const a = byLiteral.get(ns) ?? [];
    const out: WorkspaceR[] = [];
    for (let i = 0, j = 0; i < a.length || j < anyName.length; ) {
      const next = j >= anyName.length || (i < a.length && a[i] < anyName[j]) ? a[i++] : anyName[j++];
      if (out[out.length - 1] !== ordered[next]) out.push(ordered[next]);
    }
    return out;
  };

  for (const info of [...namespaces].sort((a, b) => compareStr(nsKey(a.name, a.cluster), nsKey(b.name, b.cluster)))) {
    const { name: ns, labels } = info;
    const claimants = candidates(ns).filter((ws) =>
      ws.spec.workloadClusters.some(
        (wc) =>
          globMatch(wc.name, info.cluster ?? clusterName) &&
          wc.namespaces.some((n) => (n.name === undefined || globMatch(n.name, ns)) && labelsMatch(n.labels, labels)),
      ),
    );
    if (claimants.length === 0) continue;
    nsOwner.set(nsKey(ns, info.cluster), claimants[0].metadata.name);
    if (claimants.length > 1) {
      // Name a bounded number of claimants: N workspaces on one namespace must not make N^2 text.
      const shown = claimants.slice(0, 5).map((c) => c.metadata.name);
      const more = claimants.length - shown.length;
      const names = `${shown.join(', ')}${more ? ` and ${more} more` : ''}`;
      for (const c of claimants) {
        status.invalid(
          resourceKey(c),
          `namespace "${ns}"${info.cluster ? ` of cluster "${info.cluster}"` : ''} is selected by ${claimants.length} workspaces (${names}); the oldest, "${shown[0]}", keeps it. Narrow workloadClusters so each namespace has one workspace`,
        );
      }
    }
  }
  for (const ws of ordered) status.accept(resourceKey(ws));

  // One WorkspaceSettings per workspace: the oldest one in the workspace's namespaces wins.
  const settingsOf = new Map<string, WorkspaceSettingsR>();
  for (const s of [...settings].sort(byAge)) {
    const ws = nsOwner.get(nsKey(s.metadata.namespace, s.cluster));
    if (!ws) continue; // reported with the other unowned resources
    const prev = settingsOf.get(ws);
    if (prev) {
      status.warn(resourceKey(s), `workspace "${ws}" already has WorkspaceSettings ${prev.metadata.namespace}/${prev.metadata.name} (older); this one is ignored`);
      continue;
    }
    settingsOf.set(ws, s);
    status.accept(resourceKey(s));
  }

  const wsMatches = (rule: SharingRule, wsName: string): boolean => {
    const ws = byName.get(wsName);
    return rule.workspaces.some((w) => (w.name === undefined || globMatch(w.name, wsName)) && labelsMatch(w.selector, ws?.metadata.labels ?? {}));
  };
  const resourceMatches = (rule: SharingRule, kind: SharedKind, r: Resource): boolean =>
    (rule.resources ?? [{ kind: 'ALL' as const }]).some(
      (f) =>
        (f.kind === 'ALL' || f.kind === kind) &&
        (f.name === undefined || globMatch(f.name, r.metadata.name)) &&
        (f.namespace === undefined || globMatch(f.namespace, r.metadata.namespace)) &&
        labelsMatch(f.labels, r.metadata.labels),
    );

  const exportsTo: WorkspaceIndex['exportsTo'] = (owner, consumer, kind, r) =>
    (settingsOf.get(owner)?.spec.exportTo ?? []).some((rule) => wsMatches(rule, consumer) && resourceMatches(rule, kind, r));
  const importsFrom: WorkspaceIndex['importsFrom'] = (consumer, owner, kind, r) =>
    (settingsOf.get(consumer)?.spec.importFrom ?? []).some((rule) => wsMatches(rule, owner) && resourceMatches(rule, kind, r));

  return {
    names: ordered.map((w) => w.metadata.name),
    workspaceOf: (ns, cluster) => nsOwner.get(nsKey(ns, cluster)),
    ownerOf: (r) => nsOwner.get(nsKey(r.metadata.namespace, r.cluster)),
    exportsTo,
    importsFrom,
    isVisible: (kind, r, owner, consumer) => owner === consumer || (exportsTo(owner, consumer, kind, r) && importsFrom(consumer, owner, kind, r)),
    explainInvisible: (kind, r, owner, consumer) => {
      const missing: string[] = [];
      if (!exportsTo(owner, consumer, kind, r)) missing.push(`workspace "${owner}" does not export ${kind} ${r.metadata.namespace}/${r.metadata.name} to "${consumer}"`);
      if (!importsFrom(consumer, owner, kind, r)) missing.push(`workspace "${consumer}" does not import ${kind} ${r.metadata.namespace}/${r.metadata.name} from "${owner}"`);
      return missing.join(' and ');
    },
  };
}
