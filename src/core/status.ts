import type { ResourceStatus, StatusState } from '../ir/types.js';

const rank: Record<StatusState, number> = { ACCEPTED: 0, WARNING: 1, INVALID: 2 };

/**
 * Messages kept per resource. Status must stay O(number of resources): a policy
 * that conflicts on 10,000 routes, or a namespace claimed by 3,000 workspaces,
 * keeps its first messages and a count of the rest.
 */
export const MAX_MESSAGES_PER_RESOURCE = 20;

interface Entry extends ResourceStatus {
  seen: Set<string>;
  omitted: number;
}

/** Collects statuses while the core runs; the worst state wins, messages accumulate (bounded). */
export class StatusBook {
  private readonly entries = new Map<string, Entry>();
  /** Entries shared with the book this one was cloned from: copied before their first change. */
  private shared?: Set<string>;

  accept(key: string): void {
    if (!this.entries.has(key)) this.entries.set(key, newEntry());
  }

  private writable(key: string): Entry | undefined {
    const cur = this.entries.get(key);
    if (!cur || !this.shared?.delete(key)) return cur;
    const copy: Entry = { state: cur.state, messages: [...cur.messages], seen: new Set(cur.seen), omitted: cur.omitted, ...(cur.counters ? { counters: { ...cur.counters } } : {}) };
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
    let cur = this.writable(key);
    if (!cur) this.entries.set(key, (cur = newEntry()));
    if (rank[state] > rank[cur.state]) cur.state = state;
    if (cur.seen.has(message)) return;
    if (cur.messages.length >= MAX_MESSAGES_PER_RESOURCE) {
      cur.omitted++;
      return;
    }
    cur.seen.add(message);
    cur.messages.push(message);
  }

  count(key: string, counter: string, by = 1): void {
    let cur = this.writable(key);
    if (!cur) this.entries.set(key, (cur = newEntry()));
    const counters = (cur.counters ??= {});
    counters[counter] = (counters[counter] ?? 0) + by;
  }

  /** A copy that shares entries until it changes them; this book must not change afterwards. */
  clone(): StatusBook {
    const copy = new StatusBook();
    for (const [k, v] of this.entries) copy.entries.set(k, v);
    copy.shared = new Set(this.entries.keys());
    return copy;
  }

  merge(other: StatusBook): void {
    for (const [k, v] of other.entries) {
      this.accept(k);
      for (const m of v.messages) this.add(k, v.state, m);
      if (v.omitted) this.writable(k)!.omitted += v.omitted;
    }
  }

  get(key: string): ResourceStatus | undefined {
    return this.entries.get(key);
  }

  /** Sorted by key so output is deterministic. */
  toJSON(): Record<string, ResourceStatus> {
    const out: Record<string, ResourceStatus> = {};
    for (const k of [...this.entries.keys()].sort()) {
      const s = this.entries.get(k)!;
      const messages = [...s.messages].sort();
      if (s.omitted) messages.push(`... and ${s.omitted} more message${s.omitted === 1 ? '' : 's'} (only the first ${MAX_MESSAGES_PER_RESOURCE} are kept)`);
      out[k] = { state: s.state, messages, ...(s.counters ? { counters: sortKeys(s.counters) } : {}) };
    }
    return out;
  }
}

const newEntry = (): Entry => ({ state: 'ACCEPTED', messages: [], seen: new Set(), omitted: 0 });

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
