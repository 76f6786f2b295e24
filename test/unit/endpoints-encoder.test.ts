// The ClusterLoadAssignment encoder writes exactly protobufjs's bytes, for
// random assignments of every shape it knows and for every assignment the
// translator makes (gateways and sidecars of all scenarios, mesh metadata
// included), and hands every other shape back to protobufjs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore } from '../../src/core/index.js';
import { translateAll } from '../../src/translate/index.js';
import { estate as meshEstate } from '../../bench/mesh/estate.js';
import { encodeLoadAssignment, loadAssignmentEntry } from '../../src/xds/endpoints-encoder.js';
import { encodeResource, TYPES, typeUrl } from '../../src/xds/protos.js';
import { ownedEntry } from '../../src/xds/wire.js';
import { loadScenario } from '../support/scenario.js';

const ROOT = join(import.meta.dirname, '../..');
const reference = (cla: Record<string, unknown>) => Buffer.from(encodeResource(TYPES.endpoint, cla));
const expectSame = (cla: Record<string, unknown>) => {
  const fast = encodeLoadAssignment(cla);
  expect(fast, JSON.stringify(cla)).toBeDefined();
  expect(Buffer.from(fast!).equals(reference(cla)), JSON.stringify(cla)).toBe(true);
  // Written in place as a resource entry: the same bytes as the entry made from protobufjs's.
  const inPlace = loadAssignmentEntry(typeUrl('endpoint'), cla)!;
  const made = ownedEntry(typeUrl('endpoint'), reference(cla));
  expect(inPlace.entry.equals(made.entry)).toBe(true);
  expect(Buffer.from(inPlace.value).equals(Buffer.from(made.value))).toBe(true);
};

// Optional keys: present or absent, never undefined (a present undefined falls back).
const opt = <T,>(key: string, arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined }).map((v) => (v === undefined ? {} : { [key]: v }));
const text = fc.string({ unit: fc.constantFrom('a', 'z', '0', '.', '-', ':', '/', 'é', '日', '😀'), maxLength: 140 });
const uint = fc.oneof(fc.constantFrom(0, 1, 127, 128, 16383, 16384, 65535, 2 ** 31, 2 ** 32 - 1), fc.nat());
const weight = opt('value', uint);
const health = fc.constantFrom('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED', 0, 1, 2, 5);
const struct = fc.dictionary(text, fc.record({ stringValue: text }), { maxKeys: 3 }).map((fields) => ({ fields }));
const metadata = fc.oneof(fc.constant({}), fc.dictionary(text, fc.oneof(struct, fc.constant({})), { maxKeys: 3 }).map((filterMetadata) => ({ filterMetadata })));
const socketAddress = fc.tuple(opt('address', text), opt('portValue', uint)).map(([a, p]) => ({ ...a, ...p }));
const endpoint = fc.oneof(fc.constant({}), fc.oneof(fc.constant({}), socketAddress.map((socketAddress) => ({ socketAddress }))).map((address) => ({ address })));
const lbEndpoint = fc
  .tuple(opt('endpoint', endpoint), opt('healthStatus', health), opt('metadata', metadata), opt('loadBalancingWeight', weight))
  .map((parts) => Object.assign({}, ...parts));
const locality = fc.tuple(opt('region', text), opt('zone', text), opt('subZone', text)).map((parts) => Object.assign({}, ...parts));
const localityEndpoints = fc
  .tuple(opt('locality', locality), opt('lbEndpoints', fc.array(lbEndpoint, { maxLength: 5 })), opt('loadBalancingWeight', weight), opt('priority', uint))
  .map((parts) => Object.assign({}, ...parts));
const assignment = fc.tuple(opt('clusterName', text), opt('endpoints', fc.array(localityEndpoints, { maxLength: 4 }))).map(([a, b]) => ({ ...a, ...b }));

describe('ClusterLoadAssignment encoder', () => {
  it('writes protobufjs\'s bytes for random assignments of the shapes it knows', () => {
    fc.assert(fc.property(assignment, (cla) => expectSame(cla)), { numRuns: 2000 });
  });

  it('writes protobufjs\'s bytes for every assignment the translator makes (all scenarios, gateways and sidecars)', () => {
    const dirs = ['examples/basic', ...readdirSync(join(ROOT, 'test/fixtures/scenarios')).sort().map((n) => `test/fixtures/scenarios/${n}`)];
    let count = 0;
    let meshed = 0;
    for (const dir of dirs) {
      for (const resources of translateAll(loadScenario(join(ROOT, dir)).ir, { listenerAddress: '0.0.0.0' }).values()) {
        for (const cla of resources.endpoint) {
          expectSame(cla.body);
          count++;
          if (JSON.stringify(cla.body).includes('filterMetadata')) meshed++;
        }
      }
    }
    // And a mesh of sidecars (bench/mesh's estate).
    for (const resources of translateAll(computeCore(meshEstate({ workspaces: 3, podsPerWorkspace: 3, servicesPerWorkspace: 4 })).ir, { listenerAddress: '0.0.0.0' }).values()) {
      for (const cla of resources.endpoint) {
        expectSame(cla.body);
        count++;
        if (JSON.stringify(cla.body).includes('filterMetadata')) meshed++;
      }
    }
    expect(count).toBeGreaterThan(40);
    expect(meshed).toBeGreaterThan(0); // upstream mTLS marks endpoints with sidecars
  });

  it('hands other shapes back to protobufjs', () => {
    const base = { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } } }] }] };
    const others: Array<Record<string, unknown>> = [
      { ...base, policy: { overprovisioningFactor: { value: 140 } } },
      { ...base, clusterName: undefined },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: -1 } } } }] }] },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 1.5 } } } }] }] },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { hostname: 'h', address: {} } }] }] },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ healthStatus: 'NOT_A_STATUS' }] }] },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ healthStatus: 'constructor' }] }] },
      { clusterName: 'c', endpoints: [{ lbEndpoints: [{ metadata: { filterMetadata: { f: { fields: { n: { numberValue: 1 } } } } } }] }] },
      { clusterName: 'c', endpoints: [{ proximity: { value: 1 } }] },
      { clusterName: 'c', endpoints: {} },
      { clusterName: 7 },
    ];
    for (const cla of others) expect(encodeLoadAssignment(cla), JSON.stringify(cla)).toBeUndefined();
  });
});
