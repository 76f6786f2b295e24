// Deploying meshplane: the Helm chart lints, renders, and passes the API
// server's own schema check (kubectl apply --dry-run=server); the container
// image, built locally from compiled JavaScript, runs against the API server
// with the chart's ServiceAccount and routes a real Envoy.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRules, leaseRules } from '../../src/sources/kubernetes/rbac.js';
import { REPO_ROOT, startEnvoy, type EnvoyHandle } from '../support/envoy.js';
import { startKubeMeshplane } from '../support/kube-meshplane.js';
import { installCrds, kubeBinDir, startKubeApi, type KubeApi } from '../support/kube.js';
import { hostAddress, type HostAddress } from '../support/kube-net.js';
import { freePort, httpGet, startUpstream, waitFor, type Upstream } from '../support/net.js';

const CHART = join(REPO_ROOT, 'deploy/helm/meshplane');
const NS = 'meshplane-system';
const helm = (...args: string[]) => {
  try {
    return execFileSync(join(kubeBinDir(), 'helm-v3.22.0'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`helm ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
};
type Obj = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: any };
const docs = (yaml: string): Obj[] => parseAllDocuments(yaml).map((d) => d.toJS() as Obj).filter(Boolean);

let kube: KubeApi;
beforeAll(async () => {
  kube = await startKubeApi('kube-deploy');
  await installCrds(kube);
  kube.kubectl(['create', 'namespace', NS]);
});
afterAll(async () => kube?.stop());

describe('the Helm chart', () => {
  it('lints', () => {
    expect(helm('lint', '--strict', CHART)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders what the issue asks for: replicas, probes, Prometheus, xDS and admin ports, exact RBAC, the CRDs', () => {
    const out = docs(helm('template', 'mp', CHART, '-n', NS, '--include-crds'));
    const by = (kind: string) => out.filter((o) => o.kind === kind);
    const dep = by('Deployment')[0];
    expect(dep.spec.replicas).toBe(2);
    const c = dep.spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }); // V8 stays under the memory limit
    expect(c.args).toEqual(expect.arrayContaining(['serve', '--in-cluster', '--leader-id=$(POD_NAME)', '--leader-election-namespace=$(POD_NAMESPACE)']));
    expect(dep.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9902', 'prometheus.io/path': '/metrics' });
    const svc = by('Service')[0];
    expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['grpc-xds', 18000], ['http-admin', 9902]]);
    expect(by('ServiceAccount')).toHaveLength(1);
    expect(by('ClusterRole')[0].rules).toEqual(clusterRules());
    expect(by('Role')[0].rules).toEqual(leaseRules());
    const crds = by('CustomResourceDefinition').map((o) => o.metadata.name).sort();
    const dir = join(REPO_ROOT, 'deploy/crds');
    const shipped = readdirSync(dir).flatMap((f) => docs(readFileSync(join(dir, f), 'utf8'))).map((o) => o.metadata.name).sort();
    expect(crds).toEqual(shipped);
  });

  it('passes the API server\'s schema check (kubectl apply --dry-run=server), also with workload clusters', () => {
    for (const values of [[], ['--set', 'workloadClusters.kubeconfigSecret=workloads', '--set', 'workloadClusters.contexts={kind-west=west,kind-east=east}', '--set', 'replicaCount=3']]) {
      const rendered = helm('template', 'mp', CHART, '-n', NS, ...values);
      const out = kube.kubectl(['apply', '--dry-run=server', '-n', NS, '-f', '-'], rendered);
      expect(out).toMatch(/deployment.apps\/mp-meshplane created \(server dry run\)/);
      expect(out).toMatch(/clusterrole.rbac.authorization.k8s.io\/mp-meshplane created \(server dry run\)/);
    }
    const multi = docs(helm('template', 'mp', CHART, '-n', NS, '--set', 'workloadClusters.kubeconfigSecret=workloads', '--set', 'workloadClusters.contexts={kind-west=west}'));
    expect(multi.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['--kubeconfig=/etc/meshplane/workload-clusters/kubeconfig', '--kube-context=in-cluster', '--kube-context=kind-west=west']),
    );
  });

  it('refuses workload clusters without their kubeconfig Secret, saying which value is missing', () => {
    expect(() => helm('template', 'mp', CHART, '--set', 'workloadClusters.contexts={west}')).toThrow(/workloadClusters.kubeconfigSecret/);
  });
});

describe('the Kubernetes example (README: run in Kubernetes)', () => {
  it('applies, its gateway bootstrap is valid Envoy config, and meshplane accepts and serves it', async () => {
    const example = readFileSync(join(REPO_ROOT, 'deploy/examples/kubernetes.yaml'), 'utf8');
    kube.kubectl(['apply', '-f', '-'], example);
    for (const f of ['workspace.yaml', 'gateway.yaml', 'routes.yaml']) kube.kubectl(['apply', '-f', join(REPO_ROOT, 'examples/basic', f)]);
    // What the EndpointSlice controller would write for the echo pod (no controllers run here).
    kube.kubectl(['apply', '-f', '-'], `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-abcde, namespace: web, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints: [{addresses: [198.18.0.10], conditions: {ready: true}}]
`);
    const bootstrap = docs(example).find((o) => o.kind === 'ConfigMap')!.data['envoy.yaml'];
    const envoyBin = process.env.ENVOY_BIN ?? execFileSync(join(REPO_ROOT, 'scripts/install-envoy.sh'), { encoding: 'utf8' }).trim();
    expect(execFileSync(envoyBin, ['--mode', 'validate', '--config-yaml', bootstrap, '--service-node', 'ingress-1'], { encoding: 'utf8' })).toMatch(/configuration .* OK/);
    const mp = await startKubeMeshplane({ kubeconfig: kube.kubeconfig, args: ['--no-leader-elect'] });
    try {
      const state = async (path: string) => (await kube.api('GET', path)).body.status?.state;
      await waitFor('the example accepted', async () =>
        (await state('/apis/networking.gloo.solo.io/v2/namespaces/web/routetables/www')) === 'ACCEPTED' &&
        (await state('/apis/networking.gloo.solo.io/v2/namespaces/gateways/virtualgateways/ingress')) === 'ACCEPTED' &&
        (await state('/apis/admin.gloo.solo.io/v2/namespaces/gloo-mesh/workspaces/web-team')) === 'ACCEPTED'
          ? true
          : undefined, 30_000);
      const cfg = JSON.stringify(await mp.get('/debug/config/gateways/ingress'));
      expect(cfg).toContain('www.example.com');
      expect(cfg).toContain('198.18.0.10');
    } finally {
      await mp.stop();
    }
  });
});

describe('the container image', () => {
  let net: HostAddress;
  let up: Upstream;
  let envoy: EnvoyHandle | undefined;
  let container: { stop(o?: { timeout?: number }): Promise<unknown>; logs(): Promise<NodeJS.ReadableStream> } | undefined;

  afterAll(async () => {
    await envoy?.stop();
    await container?.stop({ timeout: 2000 });
    await net?.close();
    await up?.close();
  });

  it('is built locally from dist/ and serves xDS from the API server with the chart\'s ServiceAccount', async () => {
    if (!process.env.DOCKER_HOST) throw new Error('the image test needs a Docker engine: set DOCKER_HOST (scripts/docker-up.sh); npm test starts one when it can');
    const image = execFileSync(join(REPO_ROOT, 'scripts/build-meshplane-image.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    expect(image).toBe(`meshplane:${JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version}`);
    // The image runs compiled JavaScript: no TypeScript, no tsx.
    const inspect = JSON.parse(execFileSync('docker', ['image', 'inspect', image], { encoding: 'utf8' }))[0].Config;
    expect(inspect.Entrypoint).toEqual(['/usr/local/bin/node', '/app/dist/cli/main.js']);
    expect(inspect.User).toBe('10001:10001');

    [net, up] = await Promise.all([hostAddress(), startUpstream('web')]);
    const port = (await net.forward(up.port)).port;
    const listenerPort = await freePort();
    kube.kubectl(['apply', '-f', '-'], helm('template', 'mp', CHART, '-n', NS, '-s', 'templates/rbac.yaml', '-s', 'templates/serviceaccount.yaml'));
    const token = kube.kubectl(['create', 'token', 'mp-meshplane', '-n', NS]).trim();
    const kubeconfig = readFileSync(kube.tokenKubeconfig(token, 'image', true), 'utf8');
    kube.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: web, namespace: web}
spec: {workloadClusters: [{name: '*', namespaces: [{name: web}]}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: ingress, namespace: web}
spec: {listeners: [{port: {number: ${listenerPort}}, http: {}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: web, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [${net.ip}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: web, namespace: web}
spec:
  hosts: [web.example.com]
  virtualGateways: [{name: ingress}]
  http: [{name: all, forwardTo: {destinations: [{ref: {name: web}, port: {number: 80}}]}}]
`);
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    const { GenericContainer, Wait } = await import('testcontainers');
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withCopyContentToContainer([{ content: kubeconfig, target: '/etc/meshplane/kubeconfig', mode: 0o444 }])
      .withCommand(['serve', '--kubeconfig', '/etc/meshplane/kubeconfig', '--xds-address', '127.0.0.1', '--xds-port', String(xdsPort), '--admin-port', String(adminPort), '--listener-address', '127.0.0.1', '--leader-election-namespace', NS, '--leader-election-name', 'mp-meshplane'])
      .withWaitStrategy(Wait.forLogMessage(/meshplane is serving/))
      .withStartupTimeout(60_000)
      .start();
    await waitFor('the container\'s /readyz', async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), 60_000);
    envoy = await startEnvoy({ xdsPort, gateway: 'web/ingress' });
    await waitFor('traffic through Envoy configured by the container', async () => {
      const r = await httpGet(listenerPort, 'web.example.com', '/');
      return r.status === 200 && JSON.parse(r.body).upstream === 'web' ? true : undefined;
    }, 30_000);
    // It is the leader of its Lease and writes status, with the chart's RBAC only.
    await waitFor('status written by the container', async () => ((await kube.api('GET', '/apis/networking.gloo.solo.io/v2/namespaces/web/routetables/web')).body.status?.state === 'ACCEPTED' ? true : undefined), 30_000);
  }, 300_000); // the first run compiles dist/ and imports the image
});
