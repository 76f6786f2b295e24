// A scripted xDS client for protocol tests: send requests, await responses
// one at a time, or assert that nothing arrives.
import * as grpc from '@grpc/grpc-js';
import { lookupType } from '../../src/xds/protos.js';

export interface ScriptedStream<R> {
  call: grpc.ClientDuplexStream<unknown, R>;
  send(m: Record<string, unknown>): void;
  next(timeoutMs?: number): Promise<R>;
  nothingWithin(ms: number): Promise<boolean>;
}

/** Opens one bidi stream on `path`; protocol 'sotw' or 'delta' picks the message types. */
export function scriptedStream<R>(port: number, path: string, protocol: 'sotw' | 'delta'): ScriptedStream<R> {
  const prefix = protocol === 'sotw' ? '' : 'Delta';
  const Req = lookupType(`envoy.service.discovery.v3.${prefix}DiscoveryRequest`);
  const Res = lookupType(`envoy.service.discovery.v3.${prefix}DiscoveryResponse`);
  const Client = grpc.makeGenericClientConstructor({
    Open: {
      path, requestStream: true, responseStream: true,
      requestSerialize: (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
      requestDeserialize: (b: Buffer) => Req.decode(b),
      responseSerialize: (m: object) => Buffer.from(Res.encode(m).finish()),
      responseDeserialize: (b: Buffer) => Res.toObject(Res.decode(b), { defaults: true }) as R,
    },
  }, 'Scripted');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as { Open(): grpc.ClientDuplexStream<unknown, R> };
  const call = client.Open();
  const queue: R[] = [];
  let waiters: Array<(r: R) => void> = [];
  call.on('data', (r: R) => {
    const w = waiters.shift();
    if (w) w(r);
    else queue.push(r);
  });
  call.on('error', () => {});
  const next = (timeoutMs = 2000): Promise<R> => {
    const q = queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const waiter = (r: R) => {
        clearTimeout(t);
        resolve(r);
      };
      // A waiter that timed out must not swallow the next response.
      const t = setTimeout(() => {
        waiters = waiters.filter((x) => x !== waiter);
        reject(new Error('no response'));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
  return {
    call,
    send: (m) => call.write(m),
    next,
    nothingWithin: async (ms) => {
      try {
        await next(ms);
        return false;
      } catch {
        return true;
      }
    },
  };
}
