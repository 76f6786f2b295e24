// The core's inputs between computations (issue 10 item 3): resources that
// did not change are kept as the objects the memos saw last time, so the
// memos compare by identity. Purely caches: results are identical.
import type { PolicyIR } from '../ir/types.js';
import type { Resource } from '../resources/schema.js';
import { policySourceOf } from './policy-references.js';
import { resourceKey } from '../resources/schema.js';
import { compareStr } from './match.js';
import { StatusBook } from './status.js';

export const srcOf = (r: Resource): string => (r.source ? `${r.source.file}#${r.source.document}` : '');

/** dedupe(), reusing the last order when only resources under the same keys (and sources) were replaced. */
export class Dedupe {
  private last?: { input: readonly Resource[]; resources: Resource[]; pre: StatusBook };
  of(input: readonly Resource[], keys: ResourceInterner): { resources: Resource[]; pre: StatusBook } {
    const last = this.last;
    if (last && last.input.length === input.length) {
      let swap: Map<Resource, Resource> | undefined;
      let same = true;
      for (let i = 0; i < input.length && same; i++) {
        const a = last.input[i];
        const b = input[i];
        if (a === b) continue;
        if (keys.keyOf(a) !== keys.keyOf(b)) same = false;
        else (swap ??= new Map()).set(a, b);
      }
      if (same) {
        const resources = swap ? last.resources.map((r) => swap!.get(r) ?? r) : last.resources;
        this.last = { input, resources, pre: last.pre };
        return { resources, pre: last.pre };
      }
    }
    const pre = new StatusBook();
    const resources = dedupe(input, pre);
    this.last = { input, resources, pre };
    return { resources, pre };
  }
}

/**
 * Sources re-parse a whole file for an edit of one document in it: a resource
 * equal to the one given last time under the same key is replaced by that
 * object, so the memos see only what really changed. Costs one comparison per
 * resource that is a new object.
 */
export class ResourceInterner {
  private last = new Map<string, Resource>();
  private keys = new WeakMap<Resource, string>();
  /** Kind/namespace/name[@cluster] and the source location: what dedupe sorts by. */
  keyOf(r: Resource): string {
    let key = this.keys.get(r);
    if (key === undefined) this.keys.set(r, (key = `${resourceKey(r)}\0${srcOf(r)}`));
    return key;
  }
  private lastIn: readonly Resource[] = [];
  private lastOut: readonly Resource[] = [];
  of(input: readonly Resource[]): readonly Resource[] {
    const out = this.update(input) ?? this.rebuild(input);
    this.lastIn = input;
    this.lastOut = out;
    return out;
  }

  /** The same number of resources: only those at positions that changed are looked at. */
  private update(input: readonly Resource[]): readonly Resource[] | undefined {
    if (input.length !== this.lastIn.length) return undefined;
    let out: Resource[] | undefined;
    for (let i = 0; i < input.length; i++) {
      const r = input[i];
      if (r === this.lastIn[i]) continue;
      const key = this.keyOf(r);
      if (key !== this.keyOf(this.lastIn[i])) return undefined;
      const before = this.lastOut[i];
      const use = before === r || JSON.stringify(before) !== JSON.stringify(r) ? r : before;
      this.last.set(key, use);
      if (use !== before) (out ??= this.lastOut.slice())[i] = use;
    }
    return out ?? this.lastOut;
  }

  private rebuild(input: readonly Resource[]): readonly Resource[] {
    const next = new Map<string, Resource>();
    let out: Resource[] | undefined;
    for (let i = 0; i < input.length; i++) {
      const r = input[i];
      const key = this.keyOf(r);
      const before = this.last.get(key);
      const use = before === undefined || before === r || JSON.stringify(before) !== JSON.stringify(r) ? r : before;
      if (use !== r) (out ??= input.slice())[i] = use;
      next.set(key, use);
    }
    this.last = next;
    return out ?? input;
  }
}

export interface KeptPolicies {
  byKey: Record<string, PolicyIR>;
  json: WeakMap<PolicyIR, string>;
}

/**
 * A policy whose IR did not change stays the same object, so translation can
 * tell by identity: an IR made again from the same resource over the same
 * world, or equal as JSON to the last one.
 */
export function keepUnchanged(policies: Record<string, PolicyIR>, kept: KeptPolicies, sameWorld: boolean): void {
  const json = (p: PolicyIR) => {
    let j = kept.json.get(p);
    if (j === undefined) kept.json.set(p, (j = JSON.stringify(p)));
    return j;
  };
  for (const k in policies) {
    const p = policies[k];
    const before = kept.byKey[k];
    if (!before || before === p) continue;
    if ((sameWorld && policySourceOf(p) !== undefined && policySourceOf(p) === policySourceOf(before)) || json(before) === json(p)) policies[k] = before;
  }
  kept.byKey = policies;
}

/** Deterministic order and one resource per key. */
function dedupe(input: readonly Resource[], status: StatusBook): Resource[] {
  const keyed = input.map((r) => ({ r, key: resourceKey(r) }));
  keyed.sort((a, b) => compareStr(a.key, b.key) || compareStr(srcOf(a.r), srcOf(b.r)));
  const resources: Resource[] = [];
  let prevKey = '';
  for (const { r, key } of keyed) {
    const prev = resources[resources.length - 1];
    const dup = prev !== undefined && key === prevKey;
    prevKey = key;
    if (dup) {
      status.warn(resourceKey(r), `defined twice (${srcOf(prev)} and ${srcOf(r)}); the first is used`);
      continue;
    }
    resources.push(r);
  }
  return resources;
}
