// A real gRPC ext_authz server (envoy.service.auth.v3.Authorization) for tests:
// allows requests carrying `x-allow: yes`, denies the rest with 403.
import * as grpc from '@grpc/grpc-js';
import { lookupType } from '../../src/xds/protos.js';
import { freePort } from './net.js';

const CheckRequest = lookupType('envoy.service.auth.v3.CheckRequest');
const CheckResponse = lookupType('envoy.service.auth.v3.CheckResponse');

export interface ExtAuthzServer {
  port: number;
  checks: Array<{ path: string; headers: Record<string, string>; context: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startExtAuthz(): Promise<ExtAuthzServer> {
  const port = await freePort();
  const server = new grpc.Server();
  const checks: ExtAuthzServer['checks'] = [];
  server.addService(
    {
      Check: {
        path: '/envoy.service.auth.v3.Authorization/Check',
        requestStream: false,
        responseStream: false,
        requestDeserialize: (b: Buffer) => CheckRequest.toObject(CheckRequest.decode(b), { defaults: true }),
        requestSerialize: (m: object) => Buffer.from(CheckRequest.encode(m).finish()),
        responseSerialize: (m: object) => Buffer.from(CheckResponse.encode(CheckResponse.fromObject(m)).finish()),
        responseDeserialize: (b: Buffer) => CheckResponse.decode(b),
      },
    },
    {
      Check: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const http = call.request.attributes?.request?.http ?? {};
        const headers = http.headers ?? {};
        checks.push({ path: http.path, headers, context: call.request.attributes?.contextExtensions ?? {} });
        if (headers['x-allow'] === 'yes') {
          callback(null, { status: { code: 0 }, okResponse: { headers: [{ header: { key: 'x-ext-authz', value: 'allowed' } }] } });
        } else {
          callback(null, {
            status: { code: 7 },
            deniedResponse: { status: { code: 'Forbidden' }, body: 'denied by ext auth', headers: [{ header: { key: 'x-denied-by', value: 'ext-authz' } }] },
          });
        }
      },
    },
  );
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return { port, checks, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}
