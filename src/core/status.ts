import type { ResourceStatus, StatusState } from '../ir/types.js';

const rank: Record<StatusState, number> = { ACCEPTED: 0, WARNING: 1, INVALID: 2 };

/**
 * Messages kept per resource. Status must stay O(number of resources): a policy
 * that conflicts on 10,000 routes, or a namespace claimed by 3,000 workspaces,
 * keeps its first messages and a count of the rest.
 */
export const MAX_MESSAGES_PER_RESOURCE = 20;

interface Entry extends ResourceStatus {
  omitted: number;
  /** The book that made the entry and may change it in place; any other book copies it first. */
  owner: number;
  /** toJSON's form of the entry, until the entry changes. */
  json?: ResourceStatus;
}

/** Books a clone may stack on (each a lookup per key); a deeper clone copies the entries. */
const MAX_LAYERS = 3;

// Books tell their own entries from shared ones by this number (an id, not a clock: it never reaches output).
let books = 0;

/** Collects statuses while the core runs; the worst state wins, messages accumulate (bounded). */
export class StatusBook {
  /** This book's own entries; the rest are its base's (a clone is a layer over the book it was made from). */
  private readonly entries = new Map<string, Entry>();
  private base?: StatusBook;
  private depth = 0;
  /** Entries of other books (a base's, a batch's) are shared: copied here before their first change. */
  private readonly id = ++books;
  /** The keys in order, until a key is added. */
  private sorted?: string[];
  /** The sorted keys of the book this one was cloned from, and the keys added since. */
  private inherited?: { sorted: string[]; added: string[] };

  accept(key: string): void {
    if (!this.find(key)) this.create(key);
  }

  /** The key's entry in this layer or the nearest base that has one (at most MAX_LAYERS lookups). */
  private find(key: string): Entry | undefined {
    for (let b: StatusBook | undefined = this; b; b = b.base) {
      const e = b.entries.get(key);
      if (e) return e;
    }
    return undefined;
  }

  private create(key: string): Entry {
    const e = newEntry(this.id);
    this.entries.set(key, e);
    this.sorted = undefined;
    this.inherited?.added.push(key);
    return e;
  }

  private writable(key: string): Entry | undefined {
    const cur = this.find(key);
    if (!cur) return undefined;
    if (cur.owner === this.id) {
      cur.json = undefined;
      return cur;
    }
    const copy: Entry = { state: cur.state, messages: [...cur.messages], omitted: cur.omitted, owner: this.id, ...(cur.counters ? { counters: { ...cur.counters } } : {}) };
    this.entries.set(key, copy);
    return copy;
  }

  warn(key: string, message: string): void {
    this.add(key, 'WARNING', message);
  }

  invalid(key: string, message: string): void {
    this.add(key, 'INVALID', message);
  }

  add(key: string, state: StatusState, message: string): void {
    const cur = this.writable(key) ?? this.create(key);
    if (rank[state] > rank[cur.state]) cur.state = state;
    // At most MAX_MESSAGES_PER_RESOURCE kept: a scan, lengths first (O(1) even for a concatenation V8
    // has not flattened; hashing each message, as a set did, was 5-10% of a computation).
    const len = message.length;
    for (const m of cur.messages) if (m.length === len && m === message) return;
    if (cur.messages.length >= MAX_MESSAGES_PER_RESOURCE) {
      cur.omitted++;
      return;
    }
    cur.messages.push(message);
  }

  count(key: string, counter: string, by = 1): void {
    const cur = this.writable(key) ?? this.create(key);
    const counters = (cur.counters ??= {});
    counters[counter] = (counters[counter] ?? 0) + by;
  }

  /**
   * One key's batch of WARNING messages (in order) and counters. A key with no
   * entry yet takes the batch's entry, built once and shared (copied before a
   * later write), so a batch that did not change costs no copy and keeps its JSON.
   */
  addBatch(key: string, batch: StatusBatch): void {
    const cur = this.find(key);
    // Writing a batch onto an entry that says nothing yet gives the batch's own entry.
    if (cur && !isBlank(cur)) return this.writeBatch(key, batch);
    if (!batch.entry) {
      const b = new StatusBook();
      b.writeBatch(key, batch);
      batch.entry = b.entries.get(key)!;
    }
    this.entries.set(key, batch.entry);
    if (cur) return; // the same keys: the order stands
    this.sorted = undefined;
    this.inherited?.added.push(key);
  }

  protected writeBatch(key: string, batch: StatusBatch): void {
    this.accept(key);
    for (const m of batch.messages) this.add(key, 'WARNING', m);
    if (batch.counters) for (const c in batch.counters) this.count(key, c, batch.counters[c]);
  }

  /**
   * A copy that shares entries until it changes them: a layer over this book
   * (copying thousands of entries per computation was most of a route edit's
   * status cost), flattened once layers stack up. This book must not change afterwards.
   */
  clone(order?: KeyOrderCache): StatusBook {
    const copy = new StatusBook();
    const sorted = this.keys(order);
    if (this.depth + 1 < MAX_LAYERS) {
      copy.base = this;
      copy.depth = this.depth + 1;
    } else for (const k of sorted) copy.entries.set(k, this.find(k)!);
    copy.inherited = { sorted, added: [] };
    return copy;
  }

  merge(other: StatusBook): void {
    for (const k of other.keys()) {
      const v = other.find(k)!;
      this.accept(k);
      for (const m of v.messages) this.add(k, v.state, m);
      if (v.omitted) this.writable(k)!.omitted += v.omitted;
    }
  }

  get(key: string): ResourceStatus | undefined {
    return this.find(key);
  }

  /** The keys in order; an inherited order is merged with the keys added since, not sorted again. */
  private keys(cache?: KeyOrderCache): string[] {
    if (this.sorted) return this.sorted;
    if (!this.inherited) return (this.sorted = [...this.entries.keys()].sort());
    const a = this.inherited.sorted;
    const added = this.inherited.added;
    // The same keys added to the same inherited order as last time: the same merged order
    // (compared by content: the books are new each computation, their keys mostly the same strings).
    const last = cache?.order;
    if (last && sameKeys(last.base, a) && sameKeys(last.added, added)) return (this.sorted = last.keys);
    const b = added.slice().sort();
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++]);
    if (cache) cache.order = { base: a, added: added.slice(), keys: out };
    return (this.sorted = out);
  }

  /**
   * Sorted by key so output is deterministic. Unchanged entries keep their
   * JSON objects; with a cache, so does an entry equal to the one the cache
   * saw under its key (the book must not change afterwards).
   */
  toJSON(cache?: StatusJSONCache): Record<string, ResourceStatus> {
    const keys = this.keys(cache);
    const values: ResourceStatus[] = new Array(keys.length);
    const last = cache?.output;
    let same = !!last && last.keys.length === keys.length;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const s = this.find(k)!;
      if (s.json === undefined && cache) {
        const before = cache.entries.get(k);
        if (before?.json && sameEntry(before, s)) s.json = before.json;
        else cache.entries.set(k, s);
      }
      const json = (s.json ??= entryJSON(s));
      values[i] = json;
      if (same && (last!.values[i] !== json || last!.keys[i] !== k)) same = false;
    }
    // Nothing changed (a route edit often changes no status): the last object again (status is never written to).
    if (same) return last!.out;
    const out: Record<string, ResourceStatus> = {};
    for (let i = 0; i < keys.length; i++) out[keys[i]] = values[i];
    if (cache) {
      cache.output = { keys, values, out };
      // Keys of resources gone long ago are dropped now and then.
      if (cache.entries.size > 2 * keys.length + 1000) cache.entries = new Map(keys.map((k) => [k, this.find(k)!]));
    }
    return out;
  }
}

/** A book's last merged key order, and what it was merged from, for the next computation's book. */
export interface KeyOrderCache {
  order?: { base: string[]; added: string[]; keys: string[] };
}

const sameKeys = (a: readonly string[], b: readonly string[]): boolean => {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** The entries the last toJSON calls made JSON of, by key, for the next book to reuse. */
export interface StatusJSONCache extends KeyOrderCache {
  entries: Map<string, Entry>;
  /** The last output, with its keys and values in order. */
  output?: { keys: string[]; values: ResourceStatus[]; out: Record<string, ResourceStatus> };
}
export const newStatusJSONCache = (): StatusJSONCache => ({ entries: new Map() });

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.state !== b.state || a.omitted !== b.omitted || a.messages.length !== b.messages.length) return false;
  for (let i = 0; i < a.messages.length; i++) if (a.messages[i] !== b.messages[i]) return false;
  if (!a.counters || !b.counters) return a.counters === b.counters;
  let n = 0;
  for (const k in b.counters) {
    if (a.counters[k] !== b.counters[k]) return false;
    n++;
  }
  for (const _ in a.counters) n--;
  return n === 0;
}

function entryJSON(s: Entry): ResourceStatus {
  const messages = [...s.messages].sort();
  if (s.omitted) messages.push(`... and ${s.omitted} more message${s.omitted === 1 ? '' : 's'} (only the first ${MAX_MESSAGES_PER_RESOURCE} are kept)`);
  return { state: s.state, messages, ...(s.counters ? { counters: sortKeys(s.counters) } : {}) };
}

const newEntry = (owner: number): Entry => ({ state: 'ACCEPTED', messages: [], omitted: 0, owner });
/** An entry as accept() makes it: nothing written yet. */
const isBlank = (e: Entry): boolean => e.state === 'ACCEPTED' && e.messages.length === 0 && e.omitted === 0 && e.counters === undefined;

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Writes to one key that StatusBook.addBatch applies together. */
export interface StatusBatch {
  messages: string[];
  counters?: Record<string, number>;
  /** The entry the batch makes of a key that had none (built on first use). */
  entry?: Entry;
}

/** One write to a StatusBook, as RecordingStatus keeps it. */
export type StatusOp = ['add', string, StatusState, string] | ['count', string, string, number] | ['accept', string];

/**
 * A StatusBook that also keeps the writes made to it, so a memoised stage can
 * replay them into the next computation's book in their original order.
 */
export class RecordingStatus extends StatusBook {
  readonly ops: StatusOp[] = [];
  override accept(key: string): void {
    this.ops.push(['accept', key]);
    super.accept(key);
  }
  override add(key: string, state: StatusState, message: string): void {
    this.ops.push(['add', key, state, message]);
    super.add(key, state, message);
  }
  override count(key: string, counter: string, by = 1): void {
    this.ops.push(['count', key, counter, by]);
    super.count(key, counter, by);
  }
  override addBatch(key: string, batch: StatusBatch): void {
    this.writeBatch(key, batch);
  }
}

export function replayStatus(book: StatusBook, ops: readonly StatusOp[]): void {
  for (const op of ops) {
    if (op[0] === 'add') book.add(op[1], op[2], op[3]);
    else if (op[0] === 'count') book.count(op[1], op[2], op[3]);
    else book.accept(op[1]);
  }
}
