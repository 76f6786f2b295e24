// ClusterLoadAssignment, the resource that changes most (every Pod that comes
// or goes), encoded straight from the translated object: one pass to check
// the shape and size every message, one to write into a buffer of exactly
// that size. No protobufjs message objects or writer forks, so 5,000 changed
// endpoints cost a fraction of the time and almost no garbage. The bytes are
// exactly protobufjs's (fields in field-number order; a scalar without
// presence left out at its default, "" or 0, as proto3 says; a oneof member,
// message or map entry written whenever the object has it;
// test/unit/endpoints-encoder.test.ts compares them on random
// and translated assignments). Any shape it does not know (a field, a type)
// gives undefined, and the caller encodes with protobufjs.
import { envoyRoot } from './protos.js';
import { entryFor, varintSize, writeVarint } from './wire.js';

type Obj = Record<string, unknown>;

let healthValues: Record<string, number> | undefined;
const health = () => (healthValues ??= envoyRoot().lookupEnum('envoy.config.core.v3.HealthStatus').values);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
/** UTF-8 length: the string's length when it is ASCII, else Buffer.byteLength (which handles lone surrogates as the encoder does). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}
const strField = (s: string) => {
  const n = utf8Length(s);
  return 1 + varintSize(n) + n;
};
const msgField = (n: number) => 1 + varintSize(n) + n;
/** Only these keys, each once (for-in of a plain object); false at the first other. */
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

const CLA_KEYS = new Set(['clusterName', 'endpoints']);
const LLE_KEYS = new Set(['locality', 'lbEndpoints', 'loadBalancingWeight', 'priority']);
const LOCALITY_KEYS = new Set(['region', 'zone', 'subZone']);
const LBE_KEYS = new Set(['endpoint', 'healthStatus', 'metadata', 'loadBalancingWeight']);
const ENDPOINT_KEYS = new Set(['address']);
const ADDRESS_KEYS = new Set(['socketAddress']);
const SOCKET_KEYS = new Set(['address', 'portValue']);
const WEIGHT_KEYS = new Set(['value']);
const METADATA_KEYS = new Set(['filterMetadata']);
const STRUCT_KEYS = new Set(['fields']);
const VALUE_KEYS = new Set(['stringValue']);

/**
 * Sizes of the nested messages in the order they are written (pre-order):
 * the sizing pass pushes a slot before sizing a message's children, so the
 * writing pass reads them in sequence.
 */
type Sizes = number[];

function sizeWeight(w: unknown, sizes: Sizes): number {
  if (!isObj(w) || !onlyKeys(w, WEIGHT_KEYS)) return -1;
  let n = 0;
  if ('value' in w) {
    if (!isUint32(w.value)) return -1;
    if (w.value !== 0) n = 1 + varintSize(w.value);
  }
  sizes.push(n);
  return msgField(n);
}

function sizeStrings(o: unknown, keys: ReadonlySet<string>, order: readonly string[], sizes: Sizes): number {
  if (!isObj(o) || !onlyKeys(o, keys)) return -1;
  let n = 0;
  for (const k of order) {
    if (!(k in o)) continue;
    if (typeof o[k] !== 'string') return -1;
    if (o[k] !== '') n += strField(o[k] as string);
  }
  sizes.push(n);
  return msgField(n);
}
const LOCALITY_ORDER = ['region', 'zone', 'subZone'];
const SOCKET_ORDER = ['address'];

/** Metadata { filter_metadata = 1: map<string, Struct> } with string values only. */
function sizeMetadata(m: unknown, sizes: Sizes): number {
  if (!isObj(m) || !onlyKeys(m, METADATA_KEYS)) return -1;
  const slot = sizes.push(0) - 1;
  let n = 0;
  if ('filterMetadata' in m) {
    const fm = m.filterMetadata;
    if (!isObj(fm)) return -1;
    for (const key of Object.keys(fm)) {
      const st = fm[key];
      if (!isObj(st) || !onlyKeys(st, STRUCT_KEYS)) return -1;
      const entrySlot = sizes.push(0) - 1;
      const structSlot = sizes.push(0) - 1;
      let s = 0;
      if ('fields' in st) {
        const fields = st.fields;
        if (!isObj(fields)) return -1;
        for (const fk of Object.keys(fields)) {
          const v = fields[fk];
          if (!isObj(v) || !onlyKeys(v, VALUE_KEYS) || typeof v.stringValue !== 'string') return -1;
          const valueSize = strField(v.stringValue);
          const e = strField(fk) + msgField(valueSize);
          sizes.push(e, valueSize);
          s += msgField(e);
        }
      }
      sizes[structSlot] = s;
      const e = strField(key) + msgField(s);
      sizes[entrySlot] = e;
      n += msgField(e);
    }
  }
  sizes[slot] = n;
  return msgField(n);
}

function sizeLbEndpoint(e: unknown, sizes: Sizes): number {
  if (!isObj(e) || !onlyKeys(e, LBE_KEYS)) return -1;
  const slot = sizes.push(0) - 1;
  let n = 0;
  if ('endpoint' in e) {
    const ep = e.endpoint;
    if (!isObj(ep) || !onlyKeys(ep, ENDPOINT_KEYS)) return -1;
    const epSlot = sizes.push(0) - 1;
    let epSize = 0;
    if ('address' in ep) {
      const a = ep.address;
      if (!isObj(a) || !onlyKeys(a, ADDRESS_KEYS)) return -1;
      const aSlot = sizes.push(0) - 1;
      let aSize = 0;
      if ('socketAddress' in a) {
        const sa = a.socketAddress;
        if (!isObj(sa) || !onlyKeys(sa, SOCKET_KEYS)) return -1;
        let s = 0;
        if ('address' in sa) {
          if (typeof sa.address !== 'string') return -1;
          if (sa.address !== '') s += strField(sa.address);
        }
        if ('portValue' in sa) {
          if (!isUint32(sa.portValue)) return -1;
          s += 1 + varintSize(sa.portValue);
        }
        sizes.push(s);
        aSize = msgField(s);
      }
      sizes[aSlot] = aSize;
      epSize = msgField(aSize);
    }
    sizes[epSlot] = epSize;
    n += msgField(epSize);
  }
  if ('healthStatus' in e) {
    const h = e.healthStatus;
    const v = typeof h === 'string' ? health()[h] : h;
    if (!isUint32(v)) return -1;
    if (v !== 0) n += 1 + varintSize(v);
  }
  if ('metadata' in e) {
    const m = sizeMetadata(e.metadata, sizes);
    if (m < 0) return -1;
    n += m;
  }
  if ('loadBalancingWeight' in e) {
    const w = sizeWeight(e.loadBalancingWeight, sizes);
    if (w < 0) return -1;
    n += w;
  }
  sizes[slot] = n;
  return msgField(n);
}

function sizeLocalityEndpoints(l: unknown, sizes: Sizes): number {
  if (!isObj(l) || !onlyKeys(l, LLE_KEYS)) return -1;
  const slot = sizes.push(0) - 1;
  let n = 0;
  if ('locality' in l) {
    const s = sizeStrings(l.locality, LOCALITY_KEYS, LOCALITY_ORDER, sizes);
    if (s < 0) return -1;
    n += s;
  }
  if ('lbEndpoints' in l) {
    if (!Array.isArray(l.lbEndpoints)) return -1;
    for (const e of l.lbEndpoints) {
      const s = sizeLbEndpoint(e, sizes);
      if (s < 0) return -1;
      n += s;
    }
  }
  if ('loadBalancingWeight' in l) {
    const w = sizeWeight(l.loadBalancingWeight, sizes);
    if (w < 0) return -1;
    n += w;
  }
  if ('priority' in l) {
    if (!isUint32(l.priority)) return -1;
    if (l.priority !== 0) n += 1 + varintSize(l.priority);
  }
  sizes[slot] = n;
  return msgField(n);
}

/** The ClusterLoadAssignment's bytes, or undefined for a shape this encoder does not know. */
export function encodeLoadAssignment(cla: Obj): Uint8Array | undefined {
  const sized = sizeLoadAssignment(cla);
  if (!sized) return undefined;
  const buf = Buffer.allocUnsafe(sized.n);
  writeLoadAssignment(new Writer(buf, 0, sized.sizes), cla, sized.n);
  return buf;
}

/** The ClusterLoadAssignment as a resource entry of its own (wire.ts ownedEntry's layout), written in place. */
export function loadAssignmentEntry(typeUrl: string, cla: Obj): { entry: Buffer; value: Uint8Array } | undefined {
  const sized = sizeLoadAssignment(cla);
  if (!sized) return undefined;
  const e = entryFor(typeUrl, sized.n);
  writeLoadAssignment(new Writer(e.entry, e.at, sized.sizes), cla, sized.n);
  return { entry: e.entry, value: e.value };
}

function writeLoadAssignment(w: Writer, cla: Obj, n: number): void {
  const start = w.at;
  if (cla.clusterName) w.string(1, cla.clusterName as string);
  if ('endpoints' in cla) for (const l of cla.endpoints as Obj[]) writeLocalityEndpoints(w, l);
  if (w.at - start !== n) throw new Error(`ClusterLoadAssignment encoder: wrote ${w.at - start} of ${n} bytes`);
}

/** The sizes of the assignment being encoded (one at a time: encoding is synchronous), reused. */
const scratch: Sizes = [];

function sizeLoadAssignment(cla: Obj): { n: number; sizes: Sizes } | undefined {
  if (!onlyKeys(cla, CLA_KEYS)) return undefined;
  const sizes = scratch;
  sizes.length = 0;
  let n = 0;
  if ('clusterName' in cla) {
    if (typeof cla.clusterName !== 'string') return undefined;
    if (cla.clusterName !== '') n += strField(cla.clusterName);
  }
  if ('endpoints' in cla) {
    if (!Array.isArray(cla.endpoints)) return undefined;
    for (const l of cla.endpoints) {
      const s = sizeLocalityEndpoints(l, sizes);
      if (s < 0) return undefined;
      n += s;
    }
  }
  return { n, sizes };
}

/** Writes what the sizing pass checked; reads nested sizes in the order they were pushed. */
class Writer {
  private next = 0;
  constructor(
    readonly buf: Buffer,
    public at: number,
    private readonly sizes: Sizes,
  ) {}

  private tag(field: number, wire: number): void {
    this.buf[this.at++] = (field << 3) | wire;
  }
  uint(field: number, v: number): void {
    this.tag(field, 0);
    this.at = writeVarint(this.buf, this.at, v);
  }
  string(field: number, s: string): void {
    this.tag(field, 2);
    const n = utf8Length(s);
    this.at = writeVarint(this.buf, this.at, n);
    if (n === s.length) {
      // ASCII (addresses, names): a loop is cheaper than a call into the buffer for short strings
      for (let i = 0; i < n; i++) this.buf[this.at++] = s.charCodeAt(i);
    } else this.at += this.buf.write(s, this.at, 'utf8');
  }
  /** Starts a nested message: its tag and the length the sizing pass found. */
  message(field: number): void {
    this.tag(field, 2);
    this.at = writeVarint(this.buf, this.at, this.sizes[this.next++]);
  }
}

function writeWeight(w: Writer, field: number, o: Obj): void {
  w.message(field);
  if (o.value) w.uint(1, o.value as number);
}

function writeLocalityEndpoints(w: Writer, l: Obj): void {
  w.message(2);
  if ('locality' in l) {
    const loc = l.locality as Obj;
    w.message(1);
    for (let i = 0; i < LOCALITY_ORDER.length; i++) if (loc[LOCALITY_ORDER[i]]) w.string(i + 1, loc[LOCALITY_ORDER[i]] as string);
  }
  if ('lbEndpoints' in l) for (const e of l.lbEndpoints as Obj[]) writeLbEndpoint(w, e);
  if ('loadBalancingWeight' in l) writeWeight(w, 3, l.loadBalancingWeight as Obj);
  if (l.priority) w.uint(5, l.priority as number);
}

function writeLbEndpoint(w: Writer, e: Obj): void {
  w.message(2);
  if ('endpoint' in e) {
    const ep = e.endpoint as Obj;
    w.message(1);
    if ('address' in ep) {
      const a = ep.address as Obj;
      w.message(1);
      if ('socketAddress' in a) {
        const sa = a.socketAddress as Obj;
        w.message(1);
        if (sa.address) w.string(2, sa.address as string);
        if ('portValue' in sa) w.uint(3, sa.portValue as number);
      }
    }
  }
  const status = 'healthStatus' in e ? (typeof e.healthStatus === 'string' ? health()[e.healthStatus] : (e.healthStatus as number)) : 0;
  if (status) w.uint(2, status);
  if ('metadata' in e) {
    const m = e.metadata as Obj;
    w.message(3);
    if ('filterMetadata' in m) {
      const fm = m.filterMetadata as Record<string, Obj>;
      for (const key of Object.keys(fm)) {
        w.message(1); // map entry
        w.string(1, key);
        w.message(2); // Struct
        const fields = (fm[key].fields ?? {}) as Record<string, Obj>;
        if ('fields' in fm[key]) {
          for (const fk of Object.keys(fields)) {
            w.message(1); // map entry
            w.string(1, fk);
            w.message(2); // Value
            w.string(3, fields[fk].stringValue as string);
          }
        }
      }
    }
  }
  if ('loadBalancingWeight' in e) writeWeight(w, 4, e.loadBalancingWeight as Obj);
}
