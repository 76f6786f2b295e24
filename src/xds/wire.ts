// Discovery responses written as bytes. The resources of a response are
// encoded once and shared: a resource's Any (SotW) and Resource (delta)
// entries are cached on it, and a SotW response's whole `resources` field is
// shared by every stream that gets the same set. Per stream only the small
// fields around it (version, type URL, nonce) are written. Protobuf allows
// fields in any order, and these are even in field-number order.
import type { EncodedResource } from './snapshot.js';

const LEN = 2; // wire type: length-delimited
const tag = (field: number) => (field << 3) | LEN;

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

export function writeVarint(buf: Uint8Array, at: number, n: number): number {
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

/** Writes tag and length of a length-delimited field. */
function header(buf: Buffer, at: number, field: number, len: number): number {
  buf[at++] = tag(field);
  return writeVarint(buf, at, len);
}

/**
 * A resource's encoded bytes in their own memory, laid out as one entry of
 * DiscoveryResponse.resources (field 2, an Any { type_url = 1; value = 2 });
 * `value` is a view into it. Long-lived bytes are not carved out of Node's
 * shared 8 KiB pool, where one small survivor keeps a whole slab alive.
 */
export function ownedEntry(typeUrl: string, encoded: Uint8Array): { entry: Buffer; value: Uint8Array } {
  const e = entryFor(typeUrl, encoded.byteLength);
  e.entry.set(encoded, e.at);
  return { entry: e.entry, value: e.value };
}

/** An entry's memory, laid out as ownedEntry's, with `size` bytes of value to be written from `at`. */
export function entryFor(typeUrl: string, size: number): { entry: Buffer; value: Buffer; at: number } {
  const urlLen = Buffer.byteLength(typeUrl);
  const anyLen = fieldSize(urlLen) + fieldSize(size);
  const entry = Buffer.allocUnsafeSlow(fieldSize(anyLen));
  let at = header(entry, 0, 2, anyLen);
  at = header(entry, at, 1, urlLen);
  at += entry.write(typeUrl, at, 'latin1');
  at = header(entry, at, 2, size);
  return { entry, value: entry.subarray(at), at };
}

/** The resource as one entry of DiscoveryResponse.resources. */
export function sotwEntry(r: EncodedResource): Buffer {
  return (r.sotwEntry ??= ownedEntry(r.typeUrl, r.value).entry);
}

/** The resource as one entry of DeltaDiscoveryResponse.resources (field 2): Resource { version = 1; resource = 2 (the Any); name = 3 }. */
export function deltaEntry(r: EncodedResource): Buffer {
  if (r.deltaEntry) return r.deltaEntry;
  const any = sotwEntry(r); // field 2 holding the Any: the same bytes Resource.resource needs
  const nameLen = Buffer.byteLength(r.name);
  const len = fieldSize(Buffer.byteLength(r.version)) + any.byteLength + fieldSize(nameLen);
  const buf = Buffer.allocUnsafeSlow(fieldSize(len));
  let at = header(buf, 0, 2, len);
  at = header(buf, at, 1, Buffer.byteLength(r.version));
  at += buf.write(r.version, at, 'latin1');
  buf.set(any, at);
  at += any.byteLength;
  at = header(buf, at, 3, nameLen);
  buf.write(r.name, at, 'utf8');
  return (r.deltaEntry = buf);
}

/** The shared `resources` block of a SotW response (in its own memory: it lives as long as its snapshot). */
export function sotwBlock(resources: readonly EncodedResource[]): Buffer {
  let size = 0;
  for (const r of resources) size += sotwEntry(r).byteLength;
  const block = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const r of resources) {
    block.set(r.sotwEntry!, at);
    at += r.sotwEntry!.byteLength;
  }
  return block;
}

/**
 * A response whose bytes are assembled only when grpc-js serializes it, into
 * a scratch buffer that grpc-js copies at once into its framed message: one
 * copy of the shared block per push and no buffer allocated for it.
 */
export class WireMessage {
  constructor(
    readonly size: number,
    private readonly fill: (out: Buffer) => void,
  ) {}

  /** The bytes; valid only until the next message is serialized. */
  serialize(): Buffer {
    if (this.size > MAX_SCRATCH) return this.toBuffer();
    if (scratch.byteLength < this.size) scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH, Math.max(this.size, 2 * scratch.byteLength)));
    const out = scratch.subarray(0, this.size);
    this.fill(out);
    return out;
  }

  /** The bytes in a buffer of their own. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    this.fill(out);
    return out;
  }
}
const MAX_SCRATCH = 4 * 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** DiscoveryResponse { version_info = 1; resources = 2 (shared block); type_url = 4; nonce = 5 }. */
export function sotwResponse(version: string, block: Buffer, typeUrl: string, nonce: string): WireMessage {
  const v = Buffer.byteLength(version);
  const u = Buffer.byteLength(typeUrl);
  const n = Buffer.byteLength(nonce);
  return new WireMessage(fieldSize(v) + block.byteLength + fieldSize(u) + fieldSize(n), (out) => {
    let at = header(out, 0, 1, v);
    at += out.write(version, at, 'utf8');
    block.copy(out, at);
    at = header(out, at + block.byteLength, 4, u);
    at += out.write(typeUrl, at, 'utf8');
    at = header(out, at, 5, n);
    out.write(nonce, at, 'utf8');
  });
}

/** DeltaDiscoveryResponse { system_version_info = 1; resources = 2; type_url = 4; nonce = 5; removed_resources = 6 }. */
export function deltaResponse(systemVersion: string, resources: readonly EncodedResource[], typeUrl: string, nonce: string, removed: readonly string[]): WireMessage {
  const head = fields([[1, systemVersion]]).buf;
  const tail = fields([[4, typeUrl], [5, nonce], ...removed.map((n): [number, Part] => [6, n])]).buf;
  let size = head.byteLength + tail.byteLength;
  for (const r of resources) size += deltaEntry(r).byteLength;
  return new WireMessage(size, (out) => {
    let at = head.copy(out, 0);
    for (const r of resources) at += r.deltaEntry!.copy(out, at);
    tail.copy(out, at);
  });
}
