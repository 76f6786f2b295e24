// Discovery responses written as bytes. The resources of a response are
// encoded once and shared: a resource's Any (SotW) and Resource (delta)
// entries are cached on it, and a SotW response's whole `resources` field is
// shared by every stream that gets the same set. Per stream only the small
// fields around it (version, type URL, nonce) are written. Protobuf allows
// fields in any order, and these are even in field-number order.
import type { EncodedResource } from './snapshot.js';

const LEN = 2; // wire type: length-delimited
const tag = (field: number) => (field << 3) | LEN;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

/** A length-delimited field: tag, length, bytes. */
type Part = Uint8Array | string;
const partLength = (p: Part) => (typeof p === 'string' ? Buffer.byteLength(p) : p.byteLength);
const fieldSize = (len: number) => 1 + varintSize(len) + len;

/** Encodes length-delimited fields (field number, content) into one buffer. */
function fields(list: Array<[number, Part]>, extra = 0): { buf: Buffer; at: number } {
  let size = extra;
  const lengths = list.map(([, p]) => partLength(p));
  for (const len of lengths) size += fieldSize(len);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  list.forEach(([field, p], i) => {
    buf[at++] = tag(field);
    at = writeVarint(buf, at, lengths[i]);
    at += typeof p === 'string' ? buf.write(p, at, 'utf8') : (buf.set(p, at), p.byteLength);
  });
  return { buf, at };
}

/** google.protobuf.Any { type_url = 1; value = 2 }. */
const anyOf = (r: EncodedResource): Buffer => fields([[1, r.typeUrl], [2, r.value]]).buf;

/** The resource as one entry of DiscoveryResponse.resources (field 2, an Any). */
export function sotwEntry(r: EncodedResource): Buffer {
  return (r.sotwEntry ??= fields([[2, anyOf(r)]]).buf);
}

/** The resource as one entry of DeltaDiscoveryResponse.resources (field 2): Resource { version = 1; resource = 2; name = 3 }. */
export function deltaEntry(r: EncodedResource): Buffer {
  return (r.deltaEntry ??= fields([[2, fields([[1, r.version], [2, anyOf(r)], [3, r.name]]).buf]]).buf);
}

/** The shared `resources` block of a SotW response. */
export const sotwBlock = (resources: readonly EncodedResource[]): Buffer => Buffer.concat(resources.map(sotwEntry));

/** DiscoveryResponse { version_info = 1; resources = 2 (shared block); type_url = 4; nonce = 5 }. */
export function sotwResponse(version: string, block: Buffer, typeUrl: string, nonce: string): Buffer {
  const head = fields([[1, version]], 0);
  const tail = fields([[4, typeUrl], [5, nonce]]);
  const out = Buffer.allocUnsafe(head.at + block.length + tail.at);
  head.buf.copy(out, 0, 0, head.at);
  block.copy(out, head.at);
  tail.buf.copy(out, head.at + block.length, 0, tail.at);
  return out;
}

/** DeltaDiscoveryResponse { system_version_info = 1; resources = 2; type_url = 4; nonce = 5; removed_resources = 6 }. */
export function deltaResponse(systemVersion: string, resources: readonly EncodedResource[], typeUrl: string, nonce: string, removed: readonly string[]): Buffer {
  const head = fields([[1, systemVersion]]);
  const tail = fields([[4, typeUrl], [5, nonce], ...removed.map((n): [number, Part] => [6, n])]);
  return Buffer.concat([head.buf, ...resources.map(deltaEntry), tail.buf]);
}
