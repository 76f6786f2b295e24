// Encoded resources are reused when a resource's content did not change: a
// mesh recomputes thousands of identical sidecar resources on every change
// (each workload of a workspace shares its outbound clusters and routes), and
// protobuf encoding is the dominant cost. Lookup by object identity first
// (resources shared within one translation), then by content (across
// translations). Two generations bound the memory.
import { createHash } from 'node:crypto';

export interface EncodedValue {
  value: Uint8Array;
  version: string;
}

const LIMIT = 50_000;

export class EncodeCache {
  private byBody = new WeakMap<object, EncodedValue>();
  private current = new Map<string, EncodedValue>();
  private previous = new Map<string, EncodedValue>();

  get(typeName: string, body: Record<string, unknown>, encode: () => EncodedValue): EncodedValue {
    const known = this.byBody.get(body);
    if (known) return known;
    // A digest of the content keeps the cache small: resources' JSON is large.
    const key = createHash('sha256').update(typeName).update(JSON.stringify(body)).digest('base64');
    let e = this.current.get(key);
    if (!e) {
      e = this.previous.get(key);
      if (!e) {
        const fresh = encode();
        // Own memory: a small encoded buffer is a slice of an 8 KiB pool slab, which it would keep alive.
        e = { value: new Uint8Array(fresh.value), version: fresh.version };
      }
      if (this.current.size >= LIMIT) {
        this.previous = this.current;
        this.current = new Map();
      }
      this.current.set(key, e);
    }
    this.byBody.set(body, e);
    return e;
  }
}

export const sharedEncodeCache = new EncodeCache();
