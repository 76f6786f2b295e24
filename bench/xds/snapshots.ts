// The bench's synthetic gateway configs, and the file format in which the
// snapshots meshplane builds from them are handed to the go-control-plane peer
// (bench/peer): encoded resource bytes, the same ones meshplane serves.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { EnvoyResources } from '../../src/translate/index.js';
import { typeUrl } from '../../src/xds/protos.js';
import { RESOURCE_TYPES, type Snapshot } from '../../src/xds/snapshot.js';

export const CLUSTERS = 20;

/** Gateway k's config at a generation: 20 EDS clusters with 3 endpoints each, a listener, a route table. Endpoints move every generation. */
export function gatewayResources(k: number, generation: number): EnvoyResources {
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => `svc/ns-${k}/app-${i}:80@ws-${k}`);
  return {
    cluster: clusters.map((name) => ({ name, body: { name, type: 'EDS', connectTimeout: { seconds: 5 }, edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } } })),
    endpoint: clusters.map((name, i) => ({
      name,
      body: { clusterName: name, endpoints: [{ locality: {}, lbEndpoints: [1, 2, 3].map((j) => ({ endpoint: { address: { socketAddress: { address: `10.${k % 250}.${i}.${j}`, portValue: 8000 + generation } } } })) }] },
    })),
    listener: [{ name: `gw-${k}:8080`, body: { name: `gw-${k}:8080`, address: { socketAddress: { address: '0.0.0.0', portValue: 8080 } } } }],
    route: [{ name: `gw-${k}:8080`, body: { name: `gw-${k}:8080`, virtualHosts: [{ name: 'vh', domains: ['*'], routes: clusters.map((c, i) => ({ match: { prefix: `/app-${i}` }, route: { cluster: c } })) }] } }],
    secret: [],
  };
}

/** The snapshot key of gateway k (the bench clients' node.cluster). */
export const benchKey = (k: number) => `gw/${k}`;

/**
 * The estate at a generation. `keep`: what meshplane's translator hands over
 * for an endpoint move (createTranslator keeps the objects of resources whose
 * inputs did not change: the clusters and the route configuration are the
 * previous generation's objects; the endpoints are new, and so is the
 * listener, which it builds again, equal, on every translation). Without it,
 * every body is a new object (the xDS layer compares each with the last).
 */
const kept = new Map<number, Pick<EnvoyResources, 'cluster' | 'route'>>();
export function estate(keys: number, generation: number, keep = false): Array<[string, EnvoyResources]> {
  return Array.from({ length: keys }, (_, k) => {
    const r = gatewayResources(k, generation);
    if (!keep) return [benchKey(k), r];
    let same = kept.get(k);
    if (!same) kept.set(k, (same = { cluster: r.cluster, route: r.route }));
    return [benchKey(k), { ...r, ...same }];
  });
}

/** One digest of every type version of every key: equal digests, equal content. */
export function digest(snapshots: Map<string, Snapshot>): string {
  const h = createHash('sha256');
  for (const key of [...snapshots.keys()].sort()) for (const t of RESOURCE_TYPES) h.update(`${key}\0${t}\0${snapshots.get(key)![t].version}\0`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Writes snapshots for bench/peer: length-prefixed (u32 little endian) fields,
 * "meshplane-snapshots/1", key count, then per key: key, type count, and per
 * type: type URL, version, resource count, and per resource: name, version, bytes.
 */
export function writeSnapshotFile(path: string, snapshots: Map<string, Snapshot>): void {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const blob = (b: Uint8Array | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    u32(buf.length);
    parts.push(buf);
  };
  blob('meshplane-snapshots/1');
  u32(snapshots.size);
  for (const [key, snap] of snapshots) {
    blob(key);
    u32(RESOURCE_TYPES.length);
    for (const t of RESOURCE_TYPES) {
      blob(typeUrl(t));
      blob(snap[t].version);
      u32(snap[t].resources.size);
      for (const r of snap[t].resources.values()) {
        blob(r.name);
        blob(r.version);
        blob(r.value);
      }
    }
  }
  writeFileSync(path, Buffer.concat(parts));
}
