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
export const splitStats = { encoded: 0, reused: 0 };

/** Encodes `obj` as `type` with the plan's fields element by element: the same bytes as type.encode(type.fromObject(obj)). */
export function encodeSplit(type: protobuf.Type, obj: Record<string, unknown>, plan: SplitPlan): Uint8Array {
  const pieces: Uint8Array[] = [];
  let size = 0;
  for (const field of byId(type)) {
    if (!Object.prototype.hasOwnProperty.call(obj, field.name)) continue;
    const value = obj[field.name];
    const how = plan[field.name];
    // Anything protobufjs would reject (not an array, an element not an object) goes to it whole, to fail as it does.
    if (how && field.repeated && !field.map && Array.isArray(value) && value.every(isObject) && field.resolve().resolvedType instanceof protobuf.Type) {
      const sub = field.resolvedType as protobuf.Type;
      for (const el of value) {
        let entry = how.cache?.get(el);
        if (entry) splitStats.reused++;
        else {
          if (how.cache) splitStats.encoded++;
          entry = lengthDelimited(field.id, how.split ? encodeSplit(sub, el, how.split) : sub.encode(sub.fromObject(el)).finish());
          how.cache?.set(el, entry);
        }
        pieces.push(entry);
        size += entry.byteLength;
      }
      continue;
    }
    const one = type.encode(type.fromObject({ [field.name]: value })).finish();
    pieces.push(one);
    size += one.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const sortedFields = new WeakMap<protobuf.Type, protobuf.Field[]>();
/** A type's fields in field-number order, the order protobufjs writes them in. */
function byId(type: protobuf.Type): protobuf.Field[] {
  let fields = sortedFields.get(type);
  if (!fields) sortedFields.set(type, (fields = type.fieldsArray.slice().sort((a, b) => a.id - b.id)));
  return fields;
}

/** One field entry: tag (wire type 2), varint length, bytes, in memory of its own (it is cached). */
function lengthDelimited(id: number, bytes: Uint8Array): Uint8Array {
  const tag = (id << 3) | 2;
  const out = new Uint8Array(varintSize(tag) + varintSize(bytes.byteLength) + bytes.byteLength);
  const at = writeVarint(out, writeVarint(out, 0, tag), bytes.byteLength);
  out.set(bytes, at);
  return out;
}
