// Translation results reused when their inputs did not change, so that one
// Service's endpoint change re-translates the few workspaces that reach it,
// not every sidecar. Keys are the inputs' content; results are returned as the
// same objects, which lets later stages skip re-encoding by identity. Two
// generations bound the memory. Purely a cache: results are identical.
import { createHash } from 'node:crypto';
import type { Backend, FinalRoute, IR } from '../ir/types.js';

export class ContentMemo<T> {
  private current = new Map<string, T>();
  private previous = new Map<string, T>();
  constructor(private readonly limit = 20_000) {}

  get(inputs: unknown, compute: () => T): T {
    const key = createHash('sha256').update(JSON.stringify(inputs)).digest('base64');
    let v = this.current.get(key);
    if (v === undefined) {
      v = this.previous.get(key) ?? compute();
      if (this.current.size >= this.limit) {
        this.previous = this.current;
        this.current = new Map();
      }
      this.current.set(key, v);
    }
    return v;
  }
}

/** Lookups over one IR, built once per IR object. */
export interface IrIndex {
  backends: Map<string, Backend>;
  readonly routes: Map<string, FinalRoute>;
}
const indexes = new WeakMap<IR, IrIndex>();
export function irIndex(ir: IR): IrIndex {
  let i = indexes.get(ir);
  if (!i) {
    let routes: Map<string, FinalRoute> | undefined;
    // Routes by id only for sidecars: a gateway-only IR of 10k routes does not pay for the map on every edit.
    indexes.set(ir, (i = { backends: new Map(ir.backends.map((b) => [b.cluster, b])), get routes() { return (routes ??= new Map(ir.routes.map((r) => [r.id, r]))); } }));
  }
  return i;
}
