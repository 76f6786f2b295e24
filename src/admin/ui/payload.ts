// What /debug/explain answers: the data the /ui page draws. Types only, shared
// by the server (src/admin/ui/explain-endpoint.ts) and the page (app.ts).
import type { PolicyRef, ResourceStatus, RouteAction, SkippedPolicy } from '../../ir/types.js';

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

export interface UiRoute {
  id: string;
  gateway: string | null;
  hosts: string[];
  table: string;
  route: string;
  workspace: string;
  rootWorkspace: string;
  path: UiLink[];
  labels: Record<string, string>;
  /** Label key -> "table ns/name" or "route ns/name:route": who set the effective value. */
  labelSources: Record<string, string>;
  valid: boolean;
  errors: string[];
  applied: PolicyRef[];
  skipped: SkippedPolicy[];
  action: { type: 'forward'; destinations: UiForward[] } | Exclude<RouteAction, { type: 'forward' }>;
  denied?: string;
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

export interface ExplainPayload {
  generation: number;
  gateways: UiGateway[];
  routes: UiRoute[];
  destinations: UiDestination[];
  status: Record<string, ResourceStatus>;
}

/** One event on /debug/events. */
export type UiEvent = { type: 'config'; generation: number } | { type: 'proxies' };
