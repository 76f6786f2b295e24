// What /debug/explain answers: the data the /ui page draws. Types only, shared
// by the server (src/admin/ui/explain-endpoint.ts) and the page (app.ts). The
// tree needs only a summary per route; a route's reasons come when it is
// selected, so a page for thousands of routes stays small.
import type { PolicyRef, ProxyRollout, RouteAction, SkippedPolicy } from '../../ir/types.js';

export interface UiLink {
  /** ns/name of the route table. */
  table: string;
  route: string;
  /** The workspace that owns the table's namespace. */
  workspace?: string;
}

export interface UiForward {
  cluster: string;
  weight: number;
  kind?: string;
  namespace?: string;
  name?: string;
  port?: number;
}

/** A route as the tree draws it; the rest comes with RouteExplanation when it is selected. */
export interface UiRouteSummary {
  id: string;
  gateway: string | null;
  hosts: string[];
  table: string;
  route: string;
  workspace: string;
  path: UiLink[];
  valid: boolean;
  denied?: string;
  /** How many policies apply, and how many could have but are skipped. */
  applied: number;
  skipped: number;
}

export interface UiRoute extends Omit<UiRouteSummary, 'applied' | 'skipped'> {
  rootWorkspace: string;
  labels: Record<string, string>;
  /** Label key -> "table ns/name" or "route ns/name:route": who set the effective value. */
  labelSources: Record<string, string>;
  errors: string[];
  applied: PolicyRef[];
  skipped: SkippedPolicy[];
  action: { type: 'forward'; destinations: UiForward[] } | Exclude<RouteAction, { type: 'forward' }>;
}

export interface UiDestination {
  kind: string;
  namespace: string;
  name: string;
  owner: string;
  consumer: string;
  clientPolicies: PolicyRef[];
  serverPolicies: PolicyRef[];
  skipped: SkippedPolicy[];
}

export interface UiGateway {
  ref: string;
  workspace: string;
  listeners: Array<{ name: string; port: number; hosts: string[] }>;
}

/** /debug/explain: every route of the viewer's, summarised, per gateway. */
export interface ExplainPayload {
  generation: number;
  gateways: UiGateway[];
  routes: UiRouteSummary[];
}

/** /debug/explain/route/<id>: one route in full, with the destinations it forwards to as its workspace uses them. */
export interface RouteExplanation {
  generation: number;
  route: UiRoute;
  destinations: UiDestination[];
  /** ACK counts of the route's tables, policies and destinations ("Kind/ns/name"), when served. */
  proxies?: Record<string, ProxyRollout>;
}

/** /debug/explain/destinations: every destination per consuming workspace, with its policies and skipped ones. */
export interface DestinationsExplanation {
  generation: number;
  destinations: UiDestination[];
}

/** One event on /debug/events. */
export type UiEvent = { type: 'config'; generation: number } | { type: 'proxies' };
