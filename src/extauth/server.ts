// meshplane's ext-auth server: Envoy's envoy.service.auth.v3.Authorization
// over gRPC, deciding Gloo's glooAuth steps. Envoy names the policy in the
// context extension meshplane.ext_auth_config (src/translate/filter-policies.ts).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { EXT_AUTH_CONFIG_KEY } from '../ir/ext-auth.js';
import { lookupType } from '../xds/protos.js';
import type { AuthRequest, Decision, HeaderToAdd } from './decision.js';
import type { Engine } from './engine.js';

const CheckRequest = lookupType('envoy.service.auth.v3.CheckRequest');
const CheckResponse = lookupType('envoy.service.auth.v3.CheckResponse');

const GRPC = { OK: 0, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 };

// append_action, not the deprecated append flag: Envoy drops appended headers of a denied response given the old way.
const headerOption = (h: HeaderToAdd) => ({ header: { key: h.key, value: h.value }, appendAction: h.append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD' });

export function checkResponse(d: Decision): Record<string, unknown> {
  if (d.allow) return { status: { code: GRPC.OK }, okResponse: { headers: d.headers.map(headerOption), headersToRemove: d.removeHeaders ?? [] } };
  const code = d.status === 401 ? GRPC.UNAUTHENTICATED : d.status === 503 ? GRPC.UNAVAILABLE : GRPC.PERMISSION_DENIED;
  return { status: { code, message: d.reason }, deniedResponse: { status: { code: d.status }, headers: (d.headers ?? []).map(headerOption), body: d.body ?? '' } };
}

export function authRequest(check: any): AuthRequest {
  const http = check?.attributes?.request?.http ?? {};
  return {
    method: http.method ?? '',
    path: http.path ?? '/',
    host: http.host ?? '',
    scheme: http.scheme || 'http',
    headers: { ...(http.headers ?? {}) },
    checkRequest: check,
    state: {},
  };
}

export interface ExtAuthServer {
  port: number;
  close(): Promise<void>;
}

export async function startExtAuthServer(engine: Engine, address: string, port: number, log: Logger): Promise<ExtAuthServer> {
  const server = new grpc.Server();
  server.addService(
    {
      Check: {
        path: '/envoy.service.auth.v3.Authorization/Check',
        requestStream: false,
        responseStream: false,
        requestDeserialize: (b: Buffer) => CheckRequest.toObject(CheckRequest.decode(b), { defaults: false, longs: String, enums: String }),
        requestSerialize: (m: object) => Buffer.from(CheckRequest.encode(CheckRequest.fromObject(m)).finish()),
        responseSerialize: (m: object) => Buffer.from(CheckResponse.encode(CheckResponse.fromObject(m)).finish()),
        responseDeserialize: (b: Buffer) => CheckResponse.toObject(CheckResponse.decode(b)),
      },
    },
    {
      Check: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const req = authRequest(call.request);
        const policy = call.request?.attributes?.contextExtensions?.[EXT_AUTH_CONFIG_KEY] as string | undefined;
        engine
          .check(policy, req)
          .then((d) => {
            // Path without the query: a query may carry a code or a token.
            const at = { policy, method: req.method, path: req.path.split('?')[0] };
            if (d.allow) log.debug(at, 'ext-auth allowed');
            else log[d.status === 503 ? 'warn' : 'debug']({ ...at, status: d.status, reason: d.reason }, 'ext-auth denied');
            callback(null, checkResponse(d));
          })
          .catch((err: Error) => {
            log.error({ policy, err: err.message }, 'ext-auth check failed');
            callback(null, checkResponse({ allow: false, status: 503, reason: err.message }));
          });
      },
    },
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(new Error(`cannot serve ext-auth on ${address}:${port}: ${e.message} (choose another --port)`)) : resolve(p))),
  );
  return { port: bound, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}
