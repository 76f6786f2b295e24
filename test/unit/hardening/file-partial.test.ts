// Issue 9, class 10: partial writes. A changed file is read only once it has
// been still for the quiet period, and a file that shrinks to a subset of its
// resources is applied only when it is still that way a quiet period later
// (docs/semantics.md, "Input"). Time is given to the scans, so no test here
// depends on the machine's speed.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState, watchManifestDirectory, type ResourceSet } from '../../../src/sources/file.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const rt = (name: string, status = 200) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]}\n`;
const names = (set: ResourceSet) => set.resources.map((r) => r.metadata.name).sort();
const QUIET = 1000;

/** Writes `text` with a modification time of `mtime` (epoch ms). */
function write(file: string, text: string, mtime: number) {
  writeFileSync(file, text);
  utimesSync(file, mtime / 1000, mtime / 1000);
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'filesrc-partial-'));
  dirs.push(dir);
  const file = join(dir, 'routes.yaml');
  const md = new ManifestDirectory(dir, new SourceState(undefined, false));
  const full = [rt('a'), rt('b'), rt('c')].join('---\n');
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000; // whole seconds: exact mtimes
  write(file, full, t0 - QUIET);
  expect(names(md.scan({ settleMs: QUIET, now: t0 }))).toEqual(['a', 'b', 'c']);
  return { file, md, full, t0 };
}

describe('partial writes', () => {
  it('a file modified within the quiet period is not read yet; the scan says when to look again', () => {
    const { file, md, full, t0 } = setup();
    const t1 = t0 + 5000;
    write(file, full.replace('status: 200', 'status: 201'), t1);
    expect(md.scan({ settleMs: QUIET, now: t1 + 10 }).resources.map((r) => (r.spec as { http: Array<{ directResponse: { status: number } }> }).http[0].directResponse.status)).toEqual([200, 200, 200]);
    expect(md.recheckAt).toBe(t1 + QUIET);
    const settled = md.scan({ settleMs: QUIET, now: t1 + QUIET });
    expect(settled.resources.map((r) => (r.spec as { http: Array<{ directResponse: { status: number } }> }).http[0].directResponse.status)).toEqual([201, 200, 200]);
    expect(md.recheckAt).toBeUndefined();
  });

  it('a truncated file that still parses (a subset of its resources) is applied only after another quiet period', () => {
    const { file, md, full, t0 } = setup();
    const t1 = t0 + 5000;
    const truncated = full.slice(0, full.indexOf('---', full.indexOf('---') + 3)); // a and b, cut at a document boundary
    write(file, truncated, t1);
    expect(names(md.scan({ settleMs: QUIET, now: t1 + 10 }))).toEqual(['a', 'b', 'c']); // not settled
    expect(names(md.scan({ settleMs: QUIET, now: t1 + QUIET }))).toEqual(['a', 'b', 'c']); // settled, but a shrink
    expect(md.recheckAt).toBe(t1 + 2 * QUIET);
    // The writer finishes: the full content comes back and nothing was ever lost.
    write(file, full, t1 + QUIET + 100);
    expect(names(md.scan({ settleMs: QUIET, now: t1 + 3 * QUIET }))).toEqual(['a', 'b', 'c']);
    expect(md.recheckAt).toBeUndefined();
  });

  it('a real shrink is applied once it stayed for the quiet period', () => {
    const { file, md, t0 } = setup();
    const t1 = t0 + 5000;
    write(file, rt('a'), t1 - QUIET); // e.g. copied in with its old mtime
    expect(names(md.scan({ settleMs: QUIET, now: t1 }))).toEqual(['a', 'b', 'c']);
    expect(names(md.scan({ settleMs: QUIET, now: t1 + QUIET - 1 }))).toEqual(['a', 'b', 'c']);
    expect(names(md.scan({ settleMs: QUIET, now: t1 + QUIET }))).toEqual(['a']);
  });

  it('an edit that only makes a resource invalid is not a shrink, and growth or renames apply at once', () => {
    const { file, md, t0 } = setup();
    const t1 = t0 + 5000;
    write(file, [rt('a'), rt('b').replace('spec: {', 'spec: {hostz: [x], '), rt('c'), rt('d')].join('---\n'), t1 - QUIET);
    const set = md.scan({ settleMs: QUIET, now: t1 });
    expect(names(set)).toEqual(['a', 'b', 'c', 'd']); // b: its last valid version
    expect(set.rejected[0].messages[0]).toContain('the last valid version is still served');
    write(file, [rt('x'), rt('y')].join('---\n'), t1);
    expect(names(md.scan({ settleMs: QUIET, now: t1 + QUIET }))).toEqual(['x', 'y']);
  });

  it('one-off scans (explain) read files as they are', () => {
    const { file, md } = setup();
    write(file, rt('a'), Date.now());
    expect(names(md.scan())).toEqual(['a']);
  });

  it('the watcher applies a shrink after the quiet period, with no further event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'filesrc-partial-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'routes.yaml'), [rt('a'), rt('b')].join('---\n'));
    const sets: ResourceSet[] = [];
    const sub = watchManifestDirectory(new ManifestDirectory(dir, new SourceState(undefined, false)), { debounceMs: 100, rescanMs: 0 }).subscribe((s) => sets.push(s));
    try {
      const until = async (want: string[]) => {
        for (let i = 0; i < 200 && JSON.stringify(sets.length ? names(sets[sets.length - 1]) : []) !== JSON.stringify(want); i++) await new Promise((r) => setTimeout(r, 50));
        expect(names(sets[sets.length - 1])).toEqual(want);
      };
      // The first scan may find the file too fresh to read: it is read a quiet period later.
      await until(['a', 'b']);
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(join(dir, 'routes.yaml'), rt('a'));
      await until(['a']);
    } finally {
      sub.unsubscribe();
    }
  });
});
