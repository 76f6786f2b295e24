// Reading DiscoveryRequests. Almost all of them are ACKs: a version, a nonce,
// the type and the subscription again, which for EDS is every cluster name
// (20-1,000 strings) on every ACK. An ACK is read here without protobufjs and
// without making those strings: the names stay bytes (`namesKey`) until they
// differ from the last request's, which the ledger tells by comparing bytes.
// Requests with anything else (a node, an error, other fields, non-ASCII
// text) are read by protobufjs as before.
import { varintSize } from './wire.js';

/** What SotwStream reads of a request; resourceNames is decoded on first use. */
export interface AckRequest {
  versionInfo: string;
  typeUrl: string;
  responseNonce: string;
  /** The encoded resource_names entries, as sent (empty: none). */
  namesKey: Buffer;
  readonly resourceNames: string[];
  node?: undefined;
  errorDetail?: undefined;
}

const VERSION = 1;
const NAMES = 3;
const TYPE_URL = 4;
const NONCE = 5;

/** A DiscoveryRequest with only version, names, type URL and nonce, all ASCII; else undefined. */
export function readAck(b: Buffer): AckRequest | undefined {
  let at = 0;
  let versionInfo = '';
  let typeUrl = '';
  let responseNonce = '';
  let namesStart = -1;
  let namesEnd = -1;
  while (at < b.length) {
    const tag = b[at++];
    // Fields 1-15 of wire type 2 (length-delimited) have one-byte tags.
    if ((tag & 7) !== 2 || tag >= 0x80) return undefined;
    const field = tag >> 3;
    const lenAt = at;
    const len = readLength(b, at);
    if (len < 0) return undefined;
    at += varintSize(len);
    const end = at + len;
    if (end > b.length) return undefined;
    for (let i = at; i < end; i++) if (b[i] > 0x7f) return undefined;
    if (field === NAMES) {
      // The names must be one run of entries (encoders write a repeated field together).
      const entryStart = lenAt - 1; // its one-byte tag
      if (namesStart < 0) namesStart = entryStart;
      else if (namesEnd !== entryStart) return undefined;
      namesEnd = end;
    } else if (field === VERSION) versionInfo = b.toString('latin1', at, end);
    else if (field === TYPE_URL) typeUrl = b.toString('latin1', at, end);
    else if (field === NONCE) responseNonce = b.toString('latin1', at, end);
    else return undefined;
    at = end;
  }
  const namesKey = namesStart < 0 ? EMPTY : b.subarray(namesStart, namesEnd);
  let names: string[] | undefined;
  return {
    versionInfo,
    typeUrl,
    responseNonce,
    namesKey,
    get resourceNames() {
      return (names ??= decodeNames(namesKey));
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** A length varint at `at` (at most 5 bytes, within `b`, minimal as encoders write it); -1 if it is not one. */
function readLength(b: Buffer, at: number): number {
  let len = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (at >= b.length) return -1;
    const byte = b[at++];
    len += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return len <= 0xffffffff && varintSize(len) === shift / 7 + 1 ? len : -1;
  }
  return -1;
}

/** The strings of a run of resource_names entries (ASCII, checked when read). */
function decodeNames(key: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < key.length) {
    at++; // tag
    const len = readLength(key, at); // checked when the request was read
    at += varintSize(len);
    out.push(key.toString('latin1', at, at + len));
    at += len;
  }
  return out;
}
