// Benchmark child: N simulated sidecars (grpc-js ADS clients). Each names its
// Pod in node metadata, subscribes to CDS and LDS, then to the EDS, RDS and
// SDS resources its config names, and ACKs every response.
import * as grpc from '@grpc/grpc-js';
import { lookupType, typeUrl } from '../../src/xds/protos.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const port = Number(process.env.PORT);
const N = Number(process.env.CLIENTS ?? 1000);
const PER_CHANNEL = 100;

const Client = grpc.makeGenericClientConstructor({
  Ads: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', requestStream: true, responseStream: true,
    requestSerialize: (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()), requestDeserialize: (b: Buffer) => Req.decode(b),
    responseSerialize: (m: object) => Buffer.from(Res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => Res.decode(b) as unknown as { versionInfo: string; nonce: string; typeUrl: string },
  },
}, 'Ads');

process.on('message', (m: { cmd: string; names?: Record<string, { eds: string[]; rds: string[] }>; workloads?: string[] }) => {
  if (m.cmd === 'exit') process.exit(0);
  if (m.cmd !== 'start') return;
  const names = m.names!;
  const workloads = m.workloads!;
  let ready = 0;
  const channels: Array<{ Ads(): grpc.ClientDuplexStream<object, { versionInfo: string; nonce: string; typeUrl: string }> }> = [];
  for (let c = 0; c < Math.ceil(N / PER_CHANNEL); c++) channels.push(new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc-node.max_session_memory': 64 }) as never);
  for (let i = 0; i < N; i++) {
    const ref = workloads[i % workloads.length];
    const [namespace, name] = ref.split('/');
    const want = names[`sidecar:${ref}`];
    const subscribed: Record<string, string[]> = { [typeUrl('endpoint')]: want.eds, [typeUrl('route')]: want.rds, [typeUrl('secret')]: ['default', 'ROOTCA'] };
    const call = channels[Math.floor(i / PER_CHANNEL)].Ads();
    const seen = new Set<string>();
    call.on('data', (r) => {
      call.write({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: subscribed[r.typeUrl] ?? [] });
      if (!seen.has(r.typeUrl)) {
        seen.add(r.typeUrl);
        if (r.typeUrl === typeUrl('cluster')) call.write({ typeUrl: typeUrl('endpoint'), resourceNames: want.eds });
        if (r.typeUrl === typeUrl('listener')) call.write({ typeUrl: typeUrl('route'), resourceNames: want.rds });
        if (seen.size === 5 && ++ready === N) process.send!({ event: 'ready' });
      }
    });
    call.on('error', (e) => console.error('sidecar', i, e.message));
    call.write({ node: { id: `sidecar-${i}`, cluster: ref, metadata: { fields: { role: { stringValue: 'sidecar' }, namespace: { stringValue: namespace }, name: { stringValue: name } } } }, typeUrl: typeUrl('secret'), resourceNames: ['default', 'ROOTCA'] });
    call.write({ typeUrl: typeUrl('cluster') });
    call.write({ typeUrl: typeUrl('listener') });
  }
});
