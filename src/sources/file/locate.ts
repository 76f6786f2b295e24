// Maps a validation problem's field path ("spec.http[2].matchers[0].uri.prefx")
// to the place in the YAML text that is wrong: the key of an unknown field,
// the value of a wrong one, or the nearest enclosing node for a missing one.
import { isMap, isPair, isScalar, isSeq, type Document } from 'yaml';

type Range = [number, number, number];
const start = (n: unknown): number | undefined => (n as { range?: Range } | null)?.range?.[0];

/**
 * Offset in the text of the node `path` names in `doc`. Keys may contain dots
 * (label keys such as app.kubernetes.io/name), so at each mapping the longest
 * key that fits the rest of the path is taken.
 */
export function locatePath(doc: Document.Parsed, path: string, unknownField: boolean): number | undefined {
  let node: unknown = doc.contents;
  let best = start(node) ?? doc.range[0];
  if (path === '(root)' || path === '') return best;
  let rest = path;
  while (rest.length > 0) {
    if (rest.startsWith('.')) rest = rest.slice(1);
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      if (!isSeq(node)) return best;
      const item = node.items[Number(index[1])];
      if (item === undefined) return best;
      node = item;
      best = start(node) ?? best;
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isMap(node)) return best;
    let found: { pair: unknown; length: number } | undefined;
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const k = String(pair.key.value);
      const fits = rest.startsWith(k) && (rest.length === k.length || rest[k.length] === '.' || rest[k.length] === '[');
      if (fits && (!found || k.length > found.length)) found = { pair, length: k.length };
    }
    if (!found) return best;
    const pair = found.pair as { key: unknown; value: unknown };
    rest = rest.slice(found.length);
    const last = rest.length === 0;
    // An unknown field is its key; a wrong value is the value (or the key when empty).
    if (last) return (unknownField ? start(pair.key) : (start(pair.value) ?? start(pair.key))) ?? best;
    node = pair.value;
    best = start(pair.value) ?? start(pair.key) ?? best;
  }
  return best;
}
