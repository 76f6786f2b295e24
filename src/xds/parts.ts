// A message encoded from cached encodings of its parts. protobufjs writes a
// message field by field in field-number order, each field independently of
// the others, and a repeated message field as one `tag + length + bytes`
// entry per element. So the same bytes come out of encoding each field on its
// own and concatenating them in field-number order, with the entries of the
// split repeated fields taken from a cache keyed by element object: a
// RouteConfiguration of 10k routes where one route changed encodes one route,
// not 10k (the translator keeps the objects of unchanged routes).
import protobuf from 'protobufjs';
import { varintSize, writeVarint } from './wire.js';

/** How to encode a message's repeated message fields: element by element, cached by object, recursively split. */
export interface SplitPlan {
  [field: string]: { cache?: WeakMap<object, Uint8Array>; split?: SplitPlan };
}

/** Elements of cached fields encoded and taken from the cache, for tests and benchmarks. */
export const splitStats = { encoded: 0, reused: 0, runsReused: 0 };

/**
 * Cached elements are also taken in runs of RUN consecutive elements (found
 * by the run's first element, checked element by element): a 10k-route
 * virtual host where one route changed is ~160 run copies and one rebuilt
 * run, not 10k lookups and copies. Runs start at multiples of RUN from the
 * field's first element. The runs of one encoding are looked up in the
 * previous encoding's of the same resource (`runs.prior`) and kept with the
 * new one (`runs.next`), so they live exactly as long as the encodings that
 * use them.
 */
const RUN = 64;
interface Run { elements: object[]; bytes: Uint8Array }
export type RunIndex = Map<object, Run>;

/** Encodes `obj` as `type` with the plan's fields element by element: the same bytes as type.encode(type.fromObject(obj)). */
export function encodeSplit(type: protobuf.Type, obj: Record<string, unknown>, plan: SplitPlan, runs?: { prior?: RunIndex; next: RunIndex }): Uint8Array {
  const pieces: Uint8Array[] = [];
  const size = collect(type, obj, plan, pieces, runs);
  // One copy of everything, at the end (nested split fields add pieces, not buffers).
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Appends the encoding of `obj` to `pieces`; returns its size. */
function collect(type: protobuf.Type, obj: Record<string, unknown>, plan: SplitPlan, pieces: Uint8Array[], runs: { prior?: RunIndex; next: RunIndex } | undefined): number {
  let size = 0;
  for (const field of byId(type)) {
    if (!Object.prototype.hasOwnProperty.call(obj, field.name)) continue;
    const value = obj[field.name];
    const how = plan[field.name];
    // Anything protobufjs would reject (not an array, an element not an object) goes to it whole, to fail as it does.
    if (how && field.repeated && !field.map && Array.isArray(value) && value.every(isObject) && field.resolve().resolvedType instanceof protobuf.Type) {
      const sub = field.resolvedType as protobuf.Type;
      if (how.split) {
        for (const el of value) {
          const slot = pieces.length;
          pieces.push(EMPTY); // the header, once the element's size is known
          const len = collect(sub, el, how.split, pieces, runs);
          pieces[slot] = header(field.id, len);
          size += pieces[slot].byteLength + len;
        }
      } else if (how.cache) size += cachedElements(field.id, sub, value, how.cache, pieces, runs);
      else for (const el of value) size += push(pieces, lengthDelimited(field.id, sub.encode(sub.fromObject(el)).finish()));
      continue;
    }
    size += push(pieces, type.encode(type.fromObject({ [field.name]: value })).finish());
  }
  return size;
}

/** The entries of a cached repeated field, run by run. */
function cachedElements(id: number, sub: protobuf.Type, value: object[], cache: WeakMap<object, Uint8Array>, pieces: Uint8Array[], runs: { prior?: RunIndex; next: RunIndex } | undefined): number {
  let size = 0;
  for (let i = 0; i < value.length; i += RUN) {
    const n = Math.min(RUN, value.length - i);
    const known = runs?.prior?.get(value[i]) ?? runs?.next.get(value[i]);
    if (known && known.elements.length === n && sameRun(known.elements, value, i)) {
      splitStats.runsReused++;
      runs!.next.set(value[i], known);
      size += push(pieces, known.bytes);
      continue;
    }
    const entries: Uint8Array[] = [];
    let runSize = 0;
    for (let j = i; j < i + n; j++) {
      const el = value[j];
      let entry = cache.get(el);
      if (entry) splitStats.reused++;
      else {
        splitStats.encoded++;
        entry = lengthDelimited(id, sub.encode(sub.fromObject(el)).finish());
        cache.set(el, entry);
      }
      runSize += push(entries, entry);
    }
    const bytes = new Uint8Array(runSize);
    let at = 0;
    for (const e of entries) {
      bytes.set(e, at);
      at += e.byteLength;
    }
    runs?.next.set(value[i], { elements: value.slice(i, i + n), bytes });
    size += push(pieces, bytes);
  }
  return size;
}

function sameRun(elements: object[], value: object[], from: number): boolean {
  for (let k = 0; k < elements.length; k++) if (elements[k] !== value[from + k]) return false;
  return true;
}

const EMPTY = new Uint8Array(0);
const push = (pieces: Uint8Array[], p: Uint8Array): number => (pieces.push(p), p.byteLength);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const sortedFields = new WeakMap<protobuf.Type, protobuf.Field[]>();
/** A type's fields in field-number order, the order protobufjs writes them in. */
function byId(type: protobuf.Type): protobuf.Field[] {
  let fields = sortedFields.get(type);
  if (!fields) sortedFields.set(type, (fields = type.fieldsArray.slice().sort((a, b) => a.id - b.id)));
  return fields;
}

/** The tag (wire type 2) and varint length of a field entry. */
function header(id: number, len: number): Uint8Array {
  const tag = (id << 3) | 2;
  const out = new Uint8Array(varintSize(tag) + varintSize(len));
  writeVarint(out, writeVarint(out, 0, tag), len);
  return out;
}

/** One field entry: tag (wire type 2), varint length, bytes, in memory of its own (it is cached). */
function lengthDelimited(id: number, bytes: Uint8Array): Uint8Array {
  const tag = (id << 3) | 2;
  const out = new Uint8Array(varintSize(tag) + varintSize(bytes.byteLength) + bytes.byteLength);
  const at = writeVarint(out, writeVarint(out, 0, tag), bytes.byteLength);
  out.set(bytes, at);
  return out;
}
