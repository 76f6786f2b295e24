// Benchmark child: N simulated Envoy-like ADS clients (grpc-js), each
// subscribing CDS, EDS (its clusters), LDS and RDS, and ACKing every response.
// The same program drives meshplane and the go-control-plane peer.
import * as grpc from '@grpc/grpc-js';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { benchKey, CLUSTERS } from './snapshots.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const port = Number(process.env.PORT);
const N = Number(process.env.CLIENTS ?? 1000);
const KEYS = Number(process.env.KEYS ?? 250);
const PER_CHANNEL = 100;

type Response = { versionInfo: string; nonce: string; typeUrl: string };
const Client = grpc.makeGenericClientConstructor({
  Ads: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', requestStream: true, responseStream: true,
    requestSerialize: (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()), requestDeserialize: (b: Buffer) => Req.decode(b),
    responseSerialize: (m: object) => Buffer.from(Res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => Res.decode(b) as unknown as Response,
  },
}, 'Ads');

let ready = 0;
let errors = 0;
let ended = 0;
const channels: Array<{ Ads(): grpc.ClientDuplexStream<object, Response> }> = [];
for (let c = 0; c < Math.ceil(N / PER_CHANNEL); c++) channels.push(new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc-node.max_session_memory': 64 }) as never);
for (let i = 0; i < N; i++) {
  const k = i % KEYS;
  const call = channels[Math.floor(i / PER_CHANNEL)].Ads();
  const seen = new Set<string>();
  call.on('data', (r: Response) => {
    call.write({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names(r.typeUrl, k) });
    if (!seen.has(r.typeUrl)) {
      seen.add(r.typeUrl);
      if (r.typeUrl === typeUrl('cluster')) call.write({ typeUrl: typeUrl('endpoint'), resourceNames: names(typeUrl('endpoint'), k) });
      if (r.typeUrl === typeUrl('listener')) call.write({ typeUrl: typeUrl('route'), resourceNames: names(typeUrl('route'), k) });
      if (seen.size === 4 && ++ready === N) process.send!({ event: 'ready' });
    }
  });
  call.on('error', (e) => {
    if (errors++ < 5) console.error('client', i, e.message);
  });
  call.on('end', () => ended++);
  call.write({ node: { id: `bench-${i}`, cluster: benchKey(k) }, typeUrl: typeUrl('cluster') });
  call.write({ typeUrl: typeUrl('listener') });
}

function names(url: string, k: number): string[] {
  if (url === typeUrl('endpoint')) return Array.from({ length: CLUSTERS }, (_, i) => `svc/ns-${k}/app-${i}:80@ws-${k}`);
  if (url === typeUrl('route')) return [`gw-${k}:8080`];
  return [];
}
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'report') process.send!({ event: 'report', errors, ended });
  if (m.cmd === 'exit') process.exit(0);
});
// Gone with the benchmark that started it.
process.on('disconnect', () => process.exit(0));
