// Responses written as bytes (src/xds/wire.ts) are exactly what protobufjs
// encodes for the same DiscoveryResponse / DeltaDiscoveryResponse.
import { describe, expect, it } from 'vitest';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';
import { deltaResponse, sotwBlock, sotwResponse } from '../../src/xds/wire.js';

const snap = buildSnapshot({
  cluster: Array.from({ length: 30 }, (_, i) => {
    const name = `wire/${'x'.repeat(i * 7)}-${i}`; // names and bodies of many lengths (varints of 1 and 2 bytes)
    return { name, body: { name, type: 'STATIC', connectTimeout: { seconds: i + 1 }, loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: Array.from({ length: i }, (_, j) => ({ endpoint: { address: { socketAddress: { address: `10.0.${i}.${j}`, portValue: 8000 + j } } } })) }] } } };
  }),
  endpoint: [], listener: [], route: [], secret: [],
});
const resources = [...snap.cluster.resources.values()];

describe('wire encoding', () => {
  it('writes a SotW response byte for byte as protobufjs does', () => {
    const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
    const ours = sotwResponse('v1', sotwBlock(resources), typeUrl('cluster'), 'nonce-123').toBuffer();
    const theirs = Res.encode({ versionInfo: 'v1', typeUrl: typeUrl('cluster'), nonce: 'nonce-123', resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.value })) }).finish();
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    expect(Buffer.from(sotwResponse('v2', sotwBlock([]), typeUrl('cluster'), '7').serialize()).equals(Buffer.from(Res.encode({ versionInfo: 'v2', typeUrl: typeUrl('cluster'), nonce: '7' }).finish()))).toBe(true);
  });

  it('writes a delta response byte for byte as protobufjs does, removals included', () => {
    const Res = lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    const removed = ['gone-1', 'gone/2'];
    const ours = deltaResponse('sys', resources, typeUrl('cluster'), '42', removed).serialize();
    const theirs = Res.encode({ systemVersionInfo: 'sys', typeUrl: typeUrl('cluster'), nonce: '42', removedResources: removed, resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.value } })) }).finish();
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
  });
});
