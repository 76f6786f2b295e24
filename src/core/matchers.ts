// Merging a delegating route's matchers with a child route's (semantics §3):
// the merged route matches only when both hold.
import type { HttpMatcher } from '../resources/schema.js';

type Uri = NonNullable<HttpMatcher['uri']>;

const startsWith = (s: string, prefix: string, ignoreCase: boolean | undefined): boolean =>
  ignoreCase ? s.toLowerCase().startsWith(prefix.toLowerCase()) : s.startsWith(prefix);

function mergeUri(parent: Uri | undefined, child: Uri | undefined): { uri?: Uri; error?: string } {
  if (!child) return { uri: parent };
  if (!parent) return { uri: child };
  if (parent.prefix !== undefined) {
    const p = parent.prefix;
    if (child.prefix !== undefined) {
      return startsWith(child.prefix, p, parent.ignoreCase)
        ? { uri: child }
        : { error: `child prefix "${child.prefix}" is outside the parent prefix "${p}"` };
    }
    if (child.exact !== undefined) {
      return startsWith(child.exact, p, parent.ignoreCase)
        ? { uri: child }
        : { error: `child path "${child.exact}" is outside the parent prefix "${p}"` };
    }
    if (child.regex !== undefined) {
      const literal = child.regex.replace(/^\^/, '');
      // RE2 cannot intersect two patterns, so the child's regex must itself pin the prefix.
      return startsWith(literal, p, parent.ignoreCase)
        ? { uri: child }
        : { error: `child regex "${child.regex}" must start with the parent prefix "${p}"` };
    }
    return { uri: parent };
  }
  if (parent.exact !== undefined) {
    if (child.exact !== undefined) return child.exact === parent.exact ? { uri: child } : { error: `child path "${child.exact}" differs from the parent's exact path "${parent.exact}"` };
    if (child.prefix !== undefined) return startsWith(parent.exact, child.prefix, child.ignoreCase) ? { uri: parent } : { error: `child prefix "${child.prefix}" can never match the parent's exact path "${parent.exact}"` };
    return { error: `child regex cannot be combined with the parent's exact path "${parent.exact}"` };
  }
  // parent regex
  if (child.regex === parent.regex) return { uri: child };
  return { error: `a child uri matcher cannot be combined with the parent's regex "${parent.regex}"` };
}

export function mergeMatcher(parent: HttpMatcher, child: HttpMatcher): { matcher?: HttpMatcher; error?: string } {
  const uri = mergeUri(parent.uri, child.uri);
  if (uri.error) return { error: uri.error };
  if (parent.method && child.method && parent.method !== child.method) {
    return { error: `child method ${child.method} differs from the parent's ${parent.method}` };
  }
  const m: HttpMatcher = {};
  if (uri.uri) m.uri = uri.uri;
  const headers = [...(parent.headers ?? []), ...(child.headers ?? [])];
  if (headers.length) m.headers = headers;
  const query = [...(parent.queryParameters ?? []), ...(child.queryParameters ?? [])];
  if (query.length) m.queryParameters = query;
  const method = child.method ?? parent.method;
  if (method) m.method = method;
  return { matcher: m };
}

/**
 * Every combination of a parent alternative and a child alternative. A pair
 * that can never match is dropped; if none is left the child route is invalid.
 */
export function mergeMatchers(parent: HttpMatcher[], child: HttpMatcher[] | undefined): { matchers: HttpMatcher[]; errors: string[] } {
  const kids = child && child.length ? child : [{}];
  const out: HttpMatcher[] = [];
  const errors: string[] = [];
  for (const p of parent) {
    for (const c of kids) {
      const r = mergeMatcher(p, c);
      if (r.matcher) out.push(r.matcher);
      else errors.push(r.error!);
    }
  }
  return { matchers: out, errors: out.length ? [] : errors };
}

/** exact > regex > prefix > none, longer paths first (ROUTE_SPECIFICITY). */
export function specificity(matchers: HttpMatcher[]): [number, number] {
  let best: [number, number] = [0, 0];
  for (const m of matchers) {
    const u = m.uri;
    const score: [number, number] = !u
      ? [0, 0]
      : u.exact !== undefined
        ? [3, u.exact.length]
        : u.regex !== undefined
          ? [2, u.regex.length]
          : [1, (u.prefix ?? '').length];
    if (score[0] > best[0] || (score[0] === best[0] && score[1] > best[1])) best = score;
  }
  return best;
}
