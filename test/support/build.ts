// Builders for resources in code, for property and scale tests.
import type { Resource } from '../../src/resources/schema.js';
import { validateResource } from '../../src/resources/schema.js';

export function res(doc: Record<string, unknown>): Resource {
  const r = validateResource(doc);
  if (!r.ok) throw new Error(`bad test resource: ${JSON.stringify(r.problems)}`);
  return r.resource;
}

export const workspace = (name: string, namespaces: string[]) =>
  res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name, namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: '*', namespaces: namespaces.map((n) => ({ name: n })) }] } });

export const settings = (ws: string, ns: string, spec: Record<string, unknown> = {}) =>
  res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: ws, namespace: ns }, spec });

export const gateway = (ns: string, port = 8080) =>
  res({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'gw', namespace: ns }, spec: { listeners: [{ port: { number: port }, http: {} }] } });

export const service = (ns: string, name: string) => [
  res({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } }),
  res({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${name}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4', ports: [{ name: 'http', port: 9000 }], endpoints: [{ addresses: ['127.0.0.1'] }] }),
];

export const routeTable = (ns: string, name: string, http: unknown[], extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) =>
  res({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name, namespace: ns, labels }, spec: { ...extra, http } });

export const policy = (kind: string, group: string, ns: string, name: string, spec: Record<string, unknown>, creationTimestamp?: string) =>
  res({ apiVersion: group, kind, metadata: { name, namespace: ns, ...(creationTimestamp ? { creationTimestamp } : {}) }, spec });

export const forward = (name: string, svc: string, labels?: Record<string, string>, ns?: string) => ({
  name,
  ...(labels ? { labels } : {}),
  matchers: [{ uri: { prefix: `/${name}` } }],
  forwardTo: { destinations: [{ ref: { name: svc, ...(ns ? { namespace: ns } : {}) }, port: { number: 80 } }] },
});
