// mTLS on the xDS port: a proxy gets only the gateway its client certificate
// names. A real Envoy with the right certificate is served; a client claiming
// another tenant's gateway, one without a certificate, and one with a
// certificate from an unknown CA are refused.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { makePki, type Pki } from '../support/certs.js';
import type { EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, waitFor } from '../support/net.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');

/** Opens an ADS stream, sends one request, and resolves with the first response or the error. */
function askFor(port: number, creds: grpc.ChannelCredentials, gateway: string): Promise<{ response?: unknown; error?: grpc.ServiceError }> {
  const Client = grpc.makeGenericClientConstructor({
    Ads: {
      path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', requestStream: true, responseStream: true,
      requestSerialize: (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()), requestDeserialize: (b: Buffer) => Req.decode(b),
      responseSerialize: (m: object) => Buffer.from(Res.encode(m).finish()), responseDeserialize: (b: Buffer) => Res.decode(b),
    },
  }, 'Ads');
  const client = new Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'meshplane', 'grpc.default_authority': 'meshplane' }) as unknown as { Ads(): grpc.ClientDuplexStream<unknown, unknown>; close(): void };
  const call = client.Ads();
  return new Promise((resolve) => {
    const done = (r: { response?: unknown; error?: grpc.ServiceError }) => { call.cancel(); client.close(); resolve(r); };
    call.on('data', (response) => done({ response }));
    call.on('error', (error: grpc.ServiceError) => done({ error }));
    call.write({ node: { id: 'client', cluster: gateway }, typeUrl: typeUrl('listener') });
  });
}

describe('mTLS and node authorization on the xDS port', () => {
  let pki: Pki;
  let dir: string;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let xdsPort: number;
  let listenerA: number;

  beforeAll(async () => {
    pki = makePki();
    dir = mkdtempSync(join(tmpdir(), 'meshplane-mtls-'));
    const [adminPort, lb] = [await freePort(), await freePort()];
    [xdsPort, listenerA] = [await freePort(), await freePort()];
    const gw = (ns: string, port: number) => `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: ${ns}}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`;
    const rt = (ns: string, body: string) => `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: www, namespace: ${ns}}\nspec: {hosts: [www.example.com], virtualGateways: [{name: gw}], http: [{name: r, directResponse: {status: 200, body: ${body}}}]}\n`;
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: tenant-a, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: a}]}]}\n`,
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: tenant-b, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: b}]}]}\n`,
      gw('a', listenerA), gw('b', lb), rt('a', 'tenant-a'), rt('b', 'tenant-b'),
    ].join('---\n'));
    mp = await startMeshplane({
      configDir: dir, xdsPort, adminPort,
      extraArgs: ['--xds-tls-cert', pki.files.serverCert, '--xds-tls-key', pki.files.serverKey, '--xds-client-ca', pki.files.ca],
    });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'a/gw', tls: { ...pki.client('a', 'gw'), ca: pki.ca } });
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    for (const d of [dir, pki?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('serves a real Envoy whose certificate names its gateway', async () => {
    const r = await waitFor('tenant A routes over mTLS', async () => {
      const res = await httpRequest(listenerA, { host: 'www.example.com', path: '/' }).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 30_000);
    expect(r.body).toBe('tenant-a');
  });

  it("refuses tenant A's certificate asking for tenant B's gateway with PERMISSION_DENIED", async () => {
    const a = pki.client('a', 'gw');
    const { response, error } = await askFor(xdsPort, grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(a.key), Buffer.from(a.cert)), 'b/gw');
    expect(response).toBeUndefined();
    expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(error?.details).toContain('not authorized for gateway:b/gw');
    // The same certificate for its own gateway is served.
    const own = await askFor(xdsPort, grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(a.key), Buffer.from(a.cert)), 'a/gw');
    expect(own.error).toBeUndefined();
    expect(own.response).toBeDefined();
  });

  it('refuses a client without a certificate, with an unknown CA, or in plain text', async () => {
    const noCert = await askFor(xdsPort, grpc.credentials.createSsl(Buffer.from(pki.ca)), 'a/gw');
    expect(noCert.response).toBeUndefined();
    expect(noCert.error?.code).toBe(grpc.status.UNAVAILABLE);
    const s = pki.stranger();
    const stranger = await askFor(xdsPort, grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(s.key), Buffer.from(s.cert)), 'a/gw');
    expect(stranger.response).toBeUndefined();
    expect(stranger.error?.code).toBe(grpc.status.UNAVAILABLE);
    const plain = await askFor(xdsPort, grpc.credentials.createInsecure(), 'a/gw');
    expect(plain.response).toBeUndefined();
  });
});
