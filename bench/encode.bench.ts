// Encoding a realistic DiscoveryResponse of 1,000 Clusters (plus a Listener
// set): protobufjs reflection (what meshplane uses) against the
// @grpc/proto-loader serializer. Reports medians over repeated runs.
import { loadSync } from '@grpc/proto-loader';
import { ENVOY_PROTO_FILES, PROTO_INCLUDE_DIRS, encodeResource, lookupType, typeUrl } from '../src/xds/protos.js';
import { cluster } from '../src/translate/clusters.js';
import { listener } from '../src/translate/listeners.js';
import { median, timeRuns } from './stats.js';
import * as grpc from '@grpc/grpc-js';

const N = 1000;
const clusters = Array.from({ length: N }, (_, i) =>
  cluster({ cluster: `svc/ns-${i % 50}/service-${i}:8080@ws-${i % 100}`, kind: 'SERVICE', namespace: `ns-${i % 50}`, name: `service-${i}`, port: 8080, subset: {}, endpoints: [], discovery: i % 10 === 0 ? 'STRICT_DNS' : 'EDS', clientPolicies: [], protocol: i % 3 === 0 ? 'HTTP2' : 'HTTP', host: `service-${i}.ns.svc.cluster.local` }),
);
const listeners = Array.from({ length: 20 }, (_, i) => listener([{ l: { name: `gw/ingress:${8000 + i}`, port: 8000 + i, virtualHosts: [], policies: [] }, filters: [], policies: [] }], { listenerAddress: '0.0.0.0' }));

const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const reflection = () => {
  const resources = clusters.map((c) => ({ type_url: typeUrl('cluster'), value: encodeResource('envoy.config.cluster.v3.Cluster', c.body) }));
  return Res.encode({ versionInfo: 'v1', typeUrl: typeUrl('cluster'), nonce: '1', resources }).finish();
};
const pkg = loadSync(ENVOY_PROTO_FILES, { includeDirs: PROTO_INCLUDE_DIRS, keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
const ads = (grpc.loadPackageDefinition(pkg) as any).envoy.service.discovery.v3.AggregatedDiscoveryService.service.StreamAggregatedResources;
const protoLoader = () =>
  ads.responseSerialize({ versionInfo: 'v1', typeUrl: typeUrl('cluster'), nonce: '1', resources: clusters.map((c) => ({ '@type': typeUrl('cluster'), ...c.body })) });

const size = reflection().length;
const check = protoLoader().length;
if (Math.abs(size - check) > 0) console.log(`note: encodings differ in size (${size} vs ${check} bytes)`);
const runs = 30;
timeRuns(5, reflection); timeRuns(5, protoLoader); // warm up
const a = median(timeRuns(runs, reflection));
const b = median(timeRuns(runs, protoLoader));
const lis = median(timeRuns(runs, () => listeners.forEach((l) => encodeResource('envoy.config.listener.v3.Listener', l.body))));
console.log(JSON.stringify({ clusters: N, bytes: size, runs, medianMs: { protobufjsReflection: +a.toFixed(2), protoLoaderSerializer: +b.toFixed(2), listeners20Reflection: +lis.toFixed(2) }, ratio: +(b / a).toFixed(2) }, null, 2));
