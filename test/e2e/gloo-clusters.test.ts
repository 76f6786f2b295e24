// `meshplane serve` with one directory per cluster (issue 14, item 8): the
// management cluster's config routes, through a real Envoy, to a Service that
// only the workload cluster's directory defines; edits there are followed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

describe('serve with a directory per cluster', () => {
  let root: string;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let a: Upstream;
  let b: Upstream;
  let port: number;
  const workloadFile = () => join(root, 'workload-1', 'apps.yaml');
  const writeWorkload = (upstreamPort: number) =>
    writeFileSync(workloadFile(), [
      'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: apps}\nspec: {ports: [{name: http, port: 80}]}\n',
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: apps, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports: [{name: http, port: ${upstreamPort}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
    ].join('---\n'));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gloo-clusters-'));
    for (const d of ['mgmt', 'workload-1']) mkdirSync(join(root, d));
    [a, b] = [await startUpstream('a'), await startUpstream('b')];
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    writeFileSync(join(root, 'mgmt', 'config.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: mgmt, namespaces: [{name: config}]}, {name: workload-1, namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: config}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      'apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: web, namespace: config}\nspec: {hosts: [web.example.com], virtualGateways: [{name: gw}], http: [{forwardTo: {destinations: [{ref: {name: web, namespace: apps, cluster: workload-1}, port: {number: 80}}]}}]}\n',
    ].join('---\n'));
    writeWorkload(a.port);
    mp = await startMeshplane({ configDir: join(root, 'mgmt'), xdsPort, adminPort, extraArgs: ['--cluster-name', 'mgmt', '--config-dir', join(root, 'workload-1'), '--cluster-name', 'workload-1'] });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'config/gw' });
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await a?.close();
    await b?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('routes to the workload cluster\'s Service and follows edits of its directory', async () => {
    const upstream = async () => {
      const r = await httpRequest(port, { host: 'web.example.com', path: '/' });
      return r.status === 200 ? r.headers['x-upstream'] : undefined;
    };
    expect(await waitFor('Envoy to route to the workload cluster', upstream, 30_000)).toBe('a');
    writeWorkload(b.port);
    expect(await waitFor('the edit in the workload directory', async () => ((await upstream()) === 'b' ? 'b' : undefined), 15_000)).toBe('b');
    const status = (await mp.get('/debug/status')) as Record<string, { state: string }>;
    expect(status['Service/apps/web@workload-1']?.state).toBe('ACCEPTED');
  });
});
