// Final routes -> envoy.config.route.v3 RouteConfiguration, with the policies
// that live on routes and the per-route switches of policy filters.
import type { Backend, FinalRoute, IR, ListenerIR, PolicyIR } from '../ir/types.js';
import { INVALID_ROUTE_RESPONSE } from '../core/routes.js';
import type { HttpMatcher } from '../resources/schema.js';
import { filterUses, type FilterInstance } from './filter-policies.js';
import { attachedPolicies, failsClosed, routeActionFields, routeLevelFields } from './route-policies.js';
import { policyKey } from './attached.js';
import { collectClusters } from './clusters-named.js';
import { sharedEnds } from '../ir/shared-ends.js';
import type { NamedResource } from './types.js';

function stringMatch(value: string | undefined, regex: boolean | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return regex ? { safeRegex: { regex: value } } : { exact: value };
}

export function routeMatch(m: HttpMatcher): Record<string, unknown> {
  const match: Record<string, unknown> = {};
  const u = m.uri;
  if (u?.exact !== undefined) match.path = u.exact;
  else if (u?.regex !== undefined) match.safeRegex = { regex: u.regex };
  else match.prefix = u?.prefix ?? '/';
  if (u?.ignoreCase) match.caseSensitive = { value: false };
  const headers: Array<Record<string, unknown>> = (m.headers ?? []).map((h) => {
    const sm = stringMatch(h.value, h.regex);
    return { name: h.name, ...(sm ? { stringMatch: sm } : { presentMatch: true }), ...(h.invertMatch ? { invertMatch: true } : {}) };
  });
  if (m.method) headers.push({ name: ':method', stringMatch: { exact: m.method } });
  if (headers.length) match.headers = headers;
  if (m.queryParameters?.length) {
    match.queryParameters = m.queryParameters.map((q) => {
      const sm = stringMatch(q.value, q.regex);
      return { name: q.name, ...(sm ? { stringMatch: sm } : { presentMatch: true }) };
    });
  }
  return match;
}

export interface RouteTranslation {
  routes: Array<Record<string, unknown>>;
  filters: FilterInstance[];
}

export function envoyRoutes(r: FinalRoute, ir: IR, backendsByCluster: Map<string, Backend>): RouteTranslation {
  const policies = attachedPolicies(r, ir.policies);
  const filters: FilterInstance[] = [];
  const perFilter: Record<string, unknown> = {};
  let action: Record<string, unknown>;
  const a = r.action;
  if (failsClosed(policies)) {
    action = { directResponse: { status: INVALID_ROUTE_RESPONSE.status, body: { inlineString: INVALID_ROUTE_RESPONSE.body } } };
  } else if (a.type === 'directResponse') {
    action = { directResponse: { status: a.status, ...(a.body !== undefined ? { body: { inlineString: a.body } } : {}) } };
  } else if (a.type === 'redirect') {
    action = {
      redirect: {
        ...(a.hostRedirect ? { hostRedirect: a.hostRedirect } : {}),
        ...(a.pathRedirect ? { pathRedirect: a.pathRedirect } : {}),
        ...(a.httpsRedirect ? { httpsRedirect: true } : {}),
        ...(a.responseCode ? { responseCode: a.responseCode } : {}),
      },
    };
  } else {
    const target =
      a.destinations.length === 1
        ? { cluster: a.destinations[0].cluster }
        : { weightedClusters: { clusters: a.destinations.map((d) => ({ name: d.cluster, weight: { value: d.weight } })) } };
    const backends = a.destinations.map((d) => backendsByCluster.get(d.cluster)).filter((b): b is Backend => !!b);
    action = {
      route: {
        ...target,
        ...(a.pathRewrite !== undefined ? { prefixRewrite: a.pathRewrite } : {}),
        ...(a.hostRewrite ? { hostRewriteLiteral: a.hostRewrite } : {}),
        ...routeActionFields(policies, backends, ir.policies),
      },
    };
  }
  if (!failsClosed(policies)) {
    for (const p of policies) {
      for (const use of filterUses(p, r.id, { table: r.table, route: r.route })) {
        filters.push(use.filter);
        perFilter[use.filter.name] = use.perRoute;
      }
    }
  }
  const extra = { ...routeLevelFields(policies), ...(Object.keys(perFilter).length ? { typedPerFilterConfig: perFilter } : {}) };
  const chain = r.path.map((p) => `${p.table}:${p.route}`).join('>');
  return {
    filters,
    routes: r.matchers.map((m, i) => ({
      name: r.matchers.length > 1 ? `${chain}#${i}` : chain,
      match: routeMatch(m),
      ...action,
      ...extra,
    })),
  };
}

/**
 * Translations of the previous run, for a translator that keeps them
 * (createTranslator): a route's is reused when the route is the same object
 * and so are the policies it reads (the core keeps both when unchanged); a
 * route configuration whose routes all were reused is the same object again.
 */
export interface RouteMemo {
  routes: WeakMap<FinalRoute, { reads: Array<PolicyIR | string | undefined>; t: RouteTranslation }>;
  /** Per host (listener and virtual host), the runs of its last translation by their first translation. */
  runs: Map<string, Map<RouteTranslation, TranslationRun>>;
  /** The hosts translated by the current translateAll, to drop the memo of the others after it. */
  seen?: Set<string>;
  /** The clusters each translation names (what collectClusters finds in its routes). */
  clusters: WeakMap<RouteTranslation, string[]>;
  configs: Map<string, { parts: unknown[]; resource: NamedResource }>;
  /** Each virtual host's routes and their translations, by listener and host, with the IR they were made for. */
  hosts: Map<string, { generation: number; routes: FinalRoute[]; ts: RouteTranslation[] }>;
  /** Gateway clusters and endpoints by backend object and gateway, with the TLS and policies they read. */
  backends: WeakMap<Backend, Map<string, { tls: unknown; reads: PolicyIR[]; cluster: NamedResource; endpoints?: NamedResource }>>;
  /** Per gateway, the last translation's backends by cluster name, with what was made for them. */
  lastBackends: Map<string, Map<string, { backend: Backend; made: { tls: unknown; reads: PolicyIR[]; cluster: NamedResource } }>>;
  /** The IR translated last, its number, and whether its policies and backends are the very objects of the one before. */
  current?: { ir: IR; generation: number; stable: boolean; backends: Map<string, Backend> };
}
export const newRouteMemo = (): RouteMemo => ({ routes: new WeakMap(), runs: new Map(), clusters: new WeakMap(), configs: new Map(), hosts: new Map(), backends: new WeakMap(), lastBackends: new Map() });

/**
 * Whether what a route's translation reads besides the route is the same in
 * two IRs: the policies (as objects), which backends exist, and each one's
 * load-balancer policies (a backend whose endpoints moved is a new object
 * with the same client policies).
 */
function sameReads(a: IR, aBackends: Map<string, Backend>, b: IR, bBackends: Map<string, Backend>): boolean {
  if (a.policies !== b.policies) {
    let n = 0;
    for (const k in b.policies) {
      if (a.policies[k] !== b.policies[k]) return false;
      n++;
    }
    for (const _ in a.policies) n--;
    if (n !== 0) return false;
  }
  if (aBackends.size !== bBackends.size) return false;
  for (const [k, v] of bBackends) {
    const was = aBackends.get(k);
    if (was !== v && (!was || !sameBalancing(was.clientPolicies, v.clientPolicies))) return false;
  }
  return true;
}

/** The same load-balancer policy references, in order (all routeActionFields reads of a backend). */
function sameBalancing(a: Backend['clientPolicies'], b: Backend['clientPolicies']): boolean {
  if (a === b) return true;
  const lb = (refs: Backend['clientPolicies']) => refs.filter((r) => r.kind === 'LoadBalancerPolicy').map(policyKey).join('\0');
  return lb(a) === lb(b);
}

/** The memo's view of this IR: a new IR gets the next number and is compared with the last. */
function generationOf(ir: IR, backendsByCluster: Map<string, Backend>, memo: RouteMemo): { generation: number; stable: boolean } {
  const cur = memo.current;
  if (cur?.ir === ir) return cur;
  const next = { ir, generation: (cur?.generation ?? 0) + 1, stable: cur ? sameReads(cur.ir, cur.backends, ir, backendsByCluster) : false, backends: backendsByCluster };
  memo.current = next;
  return next;
}

/**
 * A virtual host's route translations. While the IR's policies and backends
 * are the objects of the last IR, the routes it shares with the last
 * translation of this host (a prefix and a suffix of the same objects) keep
 * their translations without checking what each reads; the others go through
 * memoRoutes.
 */
function hostTranslations(key: string, routes: FinalRoute[], ir: IR, backendsByCluster: Map<string, Backend>, memo: RouteMemo | undefined): RouteTranslation[] {
  if (!memo) return routes.map((r) => envoyRoutes(r, ir, backendsByCluster));
  const { generation, stable } = generationOf(ir, backendsByCluster, memo);
  const last = memo.hosts.get(key);
  const n = routes.length;
  const ts: RouteTranslation[] = new Array(n);
  const reusable = stable && last !== undefined && last.generation >= generation - 1;
  const { head, tail } = reusable ? sharedEnds(last.routes, routes) : { head: 0, tail: 0 };
  const m = reusable ? last.routes.length : 0;
  for (let i = 0; i < head; i++) ts[i] = last!.ts[i];
  for (let i = n - tail; i < n; i++) ts[i] = last!.ts[m - (n - i)];
  for (let i = head; i < n - tail; i++) ts[i] = memoRoutes(routes[i], ir, backendsByCluster, memo);
  memo.hosts.set(key, { generation, routes, ts });
  return ts;
}

/**
 * The policies envoyRoutes reads for a route, in order: its own, and per
 * destination whether it has a backend and that backend's load-balancer
 * policies. Compared with `against` as it goes, so a route whose reads are
 * unchanged allocates nothing; returns the reads only when they differ.
 */
function policiesRead(r: FinalRoute, ir: IR, backendsByCluster: Map<string, Backend>, against?: ReadonlyArray<PolicyIR | string | undefined>): Array<PolicyIR | string | undefined> | undefined {
  let reads: Array<PolicyIR | string | undefined> | undefined = against ? undefined : [];
  let i = 0;
  const read = (x: PolicyIR | string | undefined) => {
    if (!reads) {
      if (i < against!.length && against![i] === x) return void i++;
      reads = against!.slice(0, i);
    }
    reads.push(x);
    i++;
  };
  for (const ref of r.policies) read(ir.policies[policyKey(ref)]);
  if (r.action.type === 'forward') {
    for (const d of r.action.destinations) {
      const b = backendsByCluster.get(d.cluster);
      read(b ? 'backend' : 'none'); // routeActionFields reads a backend's load-balancer policies only
      for (const ref of b?.clientPolicies ?? []) if (ref.kind === 'LoadBalancerPolicy') read(ir.policies[policyKey(ref)]);
    }
  }
  if (!reads && i !== against!.length) reads = against!.slice(0, i);
  return reads;
}

function memoRoutes(r: FinalRoute, ir: IR, backendsByCluster: Map<string, Backend>, memo: RouteMemo | undefined): RouteTranslation {
  if (!memo) return envoyRoutes(r, ir, backendsByCluster);
  const prev = memo.routes.get(r);
  const reads = policiesRead(r, ir, backendsByCluster, prev?.reads);
  if (prev && !reads) return prev.t;
  const t = envoyRoutes(r, ir, backendsByCluster);
  memo.routes.set(r, { reads: reads!, t });
  return t;
}

/** Consecutive translations of a virtual host, taken together: their routes, filters and the clusters they name. */
interface TranslationRun {
  ts: RouteTranslation[];
  routes: Array<Record<string, unknown>>;
  filters: FilterInstance[];
  clusters: string[];
}
/** Runs start at multiples of RUN from a host's first route. */
const RUN = 64;

/**
 * The run of translations starting at `from`: the host's last translation's
 * run with the same first translation, while it holds the same ones. Runs are
 * kept per host for its next translation only, so they live as long as it.
 */
function translationRun(ts: RouteTranslation[], from: number, memo: RouteMemo, prior: Map<RouteTranslation, TranslationRun> | undefined, next: Map<RouteTranslation, TranslationRun>): TranslationRun {
  const n = Math.min(RUN, ts.length - from);
  const known = prior?.get(ts[from]) ?? next.get(ts[from]);
  if (known && known.ts.length === n) {
    let k = 1;
    while (k < n && known.ts[k] === ts[from + k]) k++;
    if (k === n) {
      next.set(ts[from], known);
      return known;
    }
  }
  const run: TranslationRun = { ts: ts.slice(from, from + n), routes: [], filters: [], clusters: [] };
  const names = new Set<string>();
  for (const t of run.ts) {
    for (const f of t.filters) run.filters.push(f);
    for (const r of t.routes) run.routes.push(r);
    let named = memo.clusters.get(t);
    if (!named) {
      const found = new Set<string>();
      collectClusters(t.routes, found);
      memo.clusters.set(t, (named = [...found]));
    }
    for (const n of named) names.add(n);
  }
  run.clusters = [...names];
  next.set(ts[from], run);
  return run;
}

export function routeConfiguration(listener: ListenerIR, ir: IR, backendsByCluster: Map<string, Backend>, memo?: RouteMemo): { resource: NamedResource; filters: FilterInstance[]; clusters?: Set<string> } {
  const filters: FilterInstance[] = [];
  const clusters = memo ? new Set<string>() : undefined;
  const parts: unknown[] = [listener.httpsRedirect ?? false];
  const virtualHosts = listener.virtualHosts.map((vh) => {
    parts.push(vh.name, vh.domains.join(','));
    const routes: Array<Record<string, unknown>> = [];
    const hostKey = `${listener.name}\0${vh.name}`;
    const ts = hostTranslations(hostKey, vh.routes, ir, backendsByCluster, memo);
    if (memo) {
      // Run by run: a 10k-route host where one route changed walks ~160 runs, not 10k translations.
      const prior = memo.runs.get(hostKey);
      const next = new Map<RouteTranslation, TranslationRun>();
      memo.runs.set(hostKey, next);
      memo.seen?.add(hostKey);
      for (let i = 0; i < ts.length; i += RUN) {
        const run = translationRun(ts, i, memo, prior, next);
        parts.push(run);
        for (const f of run.filters) filters.push(f);
        for (const n of run.clusters) clusters!.add(n);
        for (const r of run.routes) routes.push(r);
      }
    } else {
      for (const t of ts) {
        for (const f of t.filters) filters.push(f);
        for (const r of t.routes) routes.push(r);
      }
    }
    return {
      name: vh.name,
      domains: vh.domains,
      // httpsRedirect: Envoy answers every request with a 301 to https.
      ...(listener.httpsRedirect ? { requireTls: 'ALL' } : {}),
      routes,
    };
  });
  const prev = memo?.configs.get(listener.name);
  if (prev && prev.parts.length === parts.length && prev.parts.every((p, i) => p === parts[i])) return { resource: prev.resource, filters, clusters };
  const resource = { name: listener.name, body: { name: listener.name, virtualHosts } };
  memo?.configs.set(listener.name, { parts, resource });
  return { resource, filters, clusters };
}
