// How a sidecar proves who it is before it holds a mesh certificate: with
// mTLS on the xDS port, a bootstrap certificate from `meshplane identity`
// (signed by the mesh CA) names its service account, and meshplane serves a
// Pod's config only to the certificate of that Pod's service account.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/envoy.js';
import { startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, waitFor } from '../support/net.js';
import { createMeshNetwork, netnsSupport, type MeshNetwork, type Netns } from '../support/netns.js';
import { startWorkload, type Workload } from '../support/sidecar.js';

const identity = (stateDir: string, out: string, ...args: string[]) =>
  execFileSync(process.execPath, [join(REPO_ROOT, 'bin/meshplane.js'), 'identity', '--state-dir', stateDir, '--out-dir', out, ...args], { encoding: 'utf8' });

const manifests = (ips: Record<string, string>) => [
  `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: shop, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: shop}]}]}`,
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}`,
  ...['web', 'cart'].flatMap((app) => [
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${app}-1, namespace: shop, labels: {app: ${app}}}\nspec: {serviceAccountName: ${app}}`,
    `apiVersion: v1\nkind: Service\nmetadata: {name: ${app}, namespace: shop}\nspec: {selector: {app: ${app}}, clusterIP: 10.96.1.${app === 'web' ? 1 : 2}, ports: [{port: 8080}]}`,
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${app}-1, namespace: shop, labels: {kubernetes.io/service-name: ${app}}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints: [{addresses: [${ips[app]}], targetRef: {kind: Pod, name: ${app}-1, namespace: shop}}]`,
  ]),
].join('\n---\n') + '\n';

describe('sidecar identity on an mTLS xDS port', () => {
  let net: MeshNetwork;
  let mp: MeshplaneHandle;
  let dir: string;
  let spaces: Record<'web' | 'cart' | 'impostor', Netns>;
  const running: Workload[] = [];
  let xdsPort: number;

  beforeAll(async () => {
    const why = netnsSupport();
    if (why) throw new Error(why);
    net = createMeshNetwork('meshid');
    spaces = { web: net.add('web'), cart: net.add('cart'), impostor: net.add('imp') };
    dir = mkdtempSync(join(tmpdir(), 'mesh-identity-'));
    const state = join(dir, 'state');
    writeFileSync(join(dir, 'mesh.yaml'), manifests({ web: spaces.web.ip, cart: spaces.cart.ip }));
    identity(state, join(dir, 'server'), '--server', '--dns', 'meshplane', '--ip', net.hostIp);
    identity(state, join(dir, 'web'), '--namespace', 'shop', '--service-account', 'web');
    identity(state, join(dir, 'cart'), '--namespace', 'shop', '--service-account', 'cart');
    xdsPort = await freePort();
    mp = await startMeshplane({
      configDir: dir,
      xdsPort,
      adminPort: await freePort(),
      extraArgs: ['--xds-address', net.hostIp, '--state-dir', state, '--xds-tls-cert', join(dir, 'server/cert.pem'), '--xds-tls-key', join(dir, 'server/key.pem'), '--xds-client-ca', join(state, 'ca.pem')],
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(running.map((w) => w.stop()));
    await mp?.stop();
    net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tls = (who: string) => ({ cert: join(dir, who, 'cert.pem'), key: join(dir, who, 'key.pem'), ca: join(dir, who, 'ca.pem') });

  it('serves each sidecar that presents its own service account\'s certificate, and they talk over mesh mTLS', async () => {
    for (const app of ['web', 'cart'] as const) running.push(await startWorkload(spaces[app], { namespace: 'shop', pod: `${app}-1`, port: 8080, xdsAddress: net.hostIp, xdsPort, tls: tls(app) }));
    const r = await waitFor('web -> cart', async () => {
      const x = await running[0].call({ addr: '10.96.1.2', port: 8080, host: 'cart.shop.svc.cluster.local', path: '/items' });
      return x.status === 200 ? x : undefined;
    });
    expect(JSON.parse(r.body).headers['x-forwarded-client-cert']).toContain('URI=spiffe://cluster.local/ns/shop/sa/web');
  });

  it('refuses a sidecar that asks for another Pod\'s config with its own certificate', async () => {
    // The impostor has cart's bootstrap certificate but claims to be web-1.
    await expect(startWorkload(spaces.impostor, { namespace: 'shop', pod: 'web-1', port: 8080, xdsAddress: net.hostIp, xdsPort, tls: tls('cart'), readyTimeoutMs: 6000 })).rejects.toThrow(/timed out/);
    const refusal = mp.logs.find((l) => l.includes('refused an xDS stream') && l.includes('sidecar:shop/web-1'));
    expect(refusal).toContain('spiffe://cluster.local/ns/shop/sa/cart');
    const proxies = (await mp.get('/debug/proxies')) as Array<{ nodeId: string; key: string }>;
    expect(proxies.map((p) => p.key).sort()).toEqual(['sidecar:shop/cart-1', 'sidecar:shop/web-1']);
  });
});
