// Gloo's passThroughAuth.grpc: the request goes on to another
// envoy.service.auth.v3.Authorization server, which decides. Its `config`
// travels in metadata_context filter_metadata["solo.auth.passthrough.config"]
// as Gloo sends it; headers it adds are kept for the next steps and Envoy.
import * as grpc from '@grpc/grpc-js';
import type { PassThroughStepIR } from '../ir/ext-auth.js';
import { protoStruct } from '../translate/values.js';
import { lookupType } from '../xds/protos.js';
import type { Revealed } from './config-file.js';
import { allow, deny, type AuthRequest, type Decision, type HeaderToAdd } from './decision.js';
import type { CompiledStep } from './engine.js';

const CheckRequest = lookupType('envoy.service.auth.v3.CheckRequest');
const CheckResponse = lookupType('envoy.service.auth.v3.CheckResponse');
const CONFIG_KEY = 'solo.auth.passthrough.config';

const Client = grpc.makeGenericClientConstructor(
  {
    Check: {
      path: '/envoy.service.auth.v3.Authorization/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: object) => Buffer.from(CheckRequest.encode(CheckRequest.fromObject(m)).finish()),
      requestDeserialize: (b: Buffer) => CheckRequest.decode(b),
      responseSerialize: (m: object) => Buffer.from(CheckResponse.encode(CheckResponse.fromObject(m)).finish()),
      responseDeserialize: (b: Buffer) => CheckResponse.toObject(CheckResponse.decode(b), { enums: Number, defaults: false }),
    },
  },
  'Authorization',
);

const headersOf = (hs: any[] | undefined): HeaderToAdd[] =>
  (hs ?? []).filter((h) => h?.header?.key).map((h) => ({ key: h.header.key, value: h.header.value ?? '', append: h.appendAction === 0 || h.append?.value === true }));

export function passThroughStep(step: Revealed<PassThroughStepIR>): CompiledStep & { close(): void } {
  const client = new Client(step.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  return {
    close: () => client.close(),
    check: (req: AuthRequest) =>
      new Promise<Decision>((resolve) => {
        const cr = structuredClone(req.checkRequest) as any;
        cr.attributes ??= {};
        const http = (((cr.attributes.request ??= {}).http ??= {}));
        http.headers = { ...req.headers }; // as earlier steps left them
        if (step.config) ((cr.attributes.metadataContext ??= {}).filterMetadata ??= {})[CONFIG_KEY] = protoStruct(step.config);
        client.Check(cr, { deadline: Date.now() + step.timeoutMs }, (err: grpc.ServiceError | null, res: any) => {
          if (err) {
            if (step.failureModeAllow) return resolve(allow());
            return resolve(deny(503, `pass-through auth server ${step.address} failed: ${err.details || err.message}`));
          }
          if ((res?.status?.code ?? 0) === 0) return resolve(allow(headersOf(res?.okResponse?.headers), res?.okResponse?.headersToRemove ?? []));
          const d = res?.deniedResponse;
          resolve(deny(Number(d?.status?.code) || 403, `pass-through auth server ${step.address} denied the request`, { headers: headersOf(d?.headers), ...(d?.body ? { body: d.body } : {}) }));
        });
      }),
  };
}
