// Incremental stages (core attachment, translate) reuse what a list shares
// with its previous version: routing hands back unchanged routes as the same
// objects in the same order, so an edit leaves a common prefix and suffix.

/** How many leading and trailing items `next` shares with `prev` (the same objects), not overlapping. */
export function sharedEnds<T>(prev: readonly T[], next: readonly T[]): { head: number; tail: number } {
  const n = next.length;
  const m = prev.length;
  let head = 0;
  while (head < n && head < m && next[head] === prev[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && next[n - 1 - tail] === prev[m - 1 - tail]) tail++;
  return { head, tail };
}
