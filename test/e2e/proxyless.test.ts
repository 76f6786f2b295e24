// A second, independent xDS client: proxyless gRPC (@grpc/grpc-js-xds) with an
// xDS bootstrap pointing at meshplane, resolving `xds:///greeter.apps.svc`
// through LDS, RDS, CDS and EDS, and routing by header.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, waitFor } from '../support/net.js';

const identity = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const HELLO = { path: '/test.Greeter/Hello', requestStream: false, responseStream: false, ...identity };

async function startGreeter(name: string): Promise<{ port: number; server: grpc.Server }> {
  const port = await freePort();
  const server = new grpc.Server();
  server.addService({ Hello: HELLO } as grpc.ServiceDefinition, {
    Hello: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`hello ${call.request.toString()} from ${name}`)),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return { port, server };
}

describe('proxyless gRPC client (grpc-js-xds) resolving through meshplane', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  const servers: grpc.Server[] = [];
  let client: grpc.Client & { Hello(req: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-proxyless-'));
    const [v1, v2] = [await startGreeter('v1'), await startGreeter('v2')];
    servers.push(v1.server, v2.server);
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    const svc = (name: string, port: number) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: {ports: [{name: grpc, port: 80, appProtocol: kubernetes.io/h2c}]}\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}\naddressType: IPv4\nports: [{name: grpc, port: ${port}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`;
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      svc('greeter-v1', v1.port),
      svc('greeter-v2', v2.port),
      // No virtualGateways: served to the workspace's sidecars and proxyless clients.
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: greeter, namespace: apps}\nspec: ${JSON.stringify({
        hosts: ['greeter.apps.svc'],
        http: [
          { name: 'canary', matchers: [{ headers: [{ name: 'x-version', value: 'v2' }] }], forwardTo: { destinations: [{ ref: { name: 'greeter-v2' }, port: { number: 80 } }] } },
          { name: 'default', forwardTo: { destinations: [{ ref: { name: 'greeter-v1' }, port: { number: 80 } }] } },
        ],
      })}\n`,
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'proxyless-client-1', locality: { zone: 'local' }, metadata: { role: 'proxyless', workspace: 'team' } },
    });
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
    const Client = grpc.makeGenericClientConstructor({ Hello: HELLO } as grpc.ServiceDefinition, 'Greeter');
    client = new Client('xds:///greeter.apps.svc', grpc.credentials.createInsecure()) as unknown as typeof client;
  });

  afterAll(async () => {
    client?.close();
    for (const s of servers) s.forceShutdown();
    await mp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const hello = (who: string, md = new grpc.Metadata()) =>
    new Promise<string>((resolve, reject) =>
      (client as any).Hello(Buffer.from(who), md, { deadline: Date.now() + 3000 }, (e: grpc.ServiceError | null, r?: Buffer) => (e ? reject(e) : resolve(r!.toString()))),
    );

  it('resolves the service and calls it', async () => {
    const answer = await waitFor('the xDS resolution', () => hello('ann').catch(() => undefined), 20_000);
    expect(answer).toBe('hello ann from v1');
  });

  it('routes by header as the route table says', async () => {
    const md = new grpc.Metadata();
    md.set('x-version', 'v2');
    expect(await hello('bob', md)).toBe('hello bob from v2');
    expect(await hello('cid')).toBe('hello cid from v1');
  });

  it('shows the proxyless client among the proxies, with everything ACKed', async () => {
    const proxies = (await mp.get('/debug/proxies')) as Array<{ nodeId: string; key: string; role: string; types: Record<string, { acked?: string }> }>;
    const p = proxies.find((x) => x.nodeId === 'proxyless-client-1')!;
    expect(p.key).toBe('proxyless:team');
    expect(p.role).toBe('proxyless');
    for (const t of ['listener', 'route', 'cluster', 'endpoint']) expect(p.types[t]?.acked, t).toBeTruthy();
  });
});
