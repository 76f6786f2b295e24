import type { ResourceStatus, StatusState } from '../ir/types.js';

const rank: Record<StatusState, number> = { ACCEPTED: 0, WARNING: 1, INVALID: 2 };

/** Collects statuses while the core runs; the worst state wins, messages accumulate. */
export class StatusBook {
  private readonly entries = new Map<string, ResourceStatus>();

  accept(key: string): void {
    if (!this.entries.has(key)) this.entries.set(key, { state: 'ACCEPTED', messages: [] });
  }

  warn(key: string, message: string): void {
    this.add(key, 'WARNING', message);
  }

  invalid(key: string, message: string): void {
    this.add(key, 'INVALID', message);
  }

  add(key: string, state: StatusState, message: string): void {
    const cur = this.entries.get(key) ?? { state: 'ACCEPTED', messages: [] };
    if (rank[state] > rank[cur.state]) cur.state = state;
    if (!cur.messages.includes(message)) cur.messages.push(message);
    this.entries.set(key, cur);
  }

  count(key: string, counter: string, by = 1): void {
    let cur = this.entries.get(key);
    if (!cur) this.entries.set(key, (cur = { state: 'ACCEPTED', messages: [] }));
    const counters = (cur.counters ??= {});
    counters[counter] = (counters[counter] ?? 0) + by;
  }

  clone(): StatusBook {
    const copy = new StatusBook();
    for (const [k, v] of this.entries) copy.entries.set(k, { state: v.state, messages: [...v.messages], ...(v.counters ? { counters: { ...v.counters } } : {}) });
    return copy;
  }

  merge(other: StatusBook): void {
    for (const [k, v] of other.entries) {
      this.accept(k);
      for (const m of v.messages) this.add(k, v.state, m);
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
      out[k] = { state: s.state, messages: [...s.messages].sort(), ...(s.counters ? { counters: sortKeys(s.counters) } : {}) };
    }
    return out;
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
