// Issue 10: a save costs what the saved file costs. A scan reads only files
// whose stat changed since they were read (the others cost a stat), keeps the
// resource objects of the rest (the core memoises on identity), and the
// watcher's periodic full scan still reads everything, so an edit that a stat
// hides is caught there.
import { readFileSync, rmSync, statSync, mkdtempSync, utimesSync, writeFileSync, type BigIntStats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState, watchManifestDirectory, type ResourceSet } from '../../../src/sources/file.js';
import type { FileAccess } from '../../../src/sources/file/stat.js';

const rt = (name: string, status = 200) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]}\n`;
const status = (set: ResourceSet, name: string) =>
  (set.resources.find((r) => r.metadata.name === name)!.spec as { http: Array<{ directResponse: { status: number } }> }).http[0].directResponse.status;
const byName = (set: ResourceSet, name: string) => set.resources.find((r) => r.metadata.name === name)!;

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'filesrc-incremental-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const MINUTE_NS = 60_000_000_000n;
/**
 * node:fs, with reads counted (by file name) and file times a minute in the
 * past: a file written by the test is then not "changed just before it was
 * read", whose stat cannot vouch for it. `frozen` files report the change
 * time they had first, as a file system with coarse times might.
 */
function countingFs(frozen: string[] = []) {
  const reads: string[] = [];
  const firstCtime = new Map<string, bigint>();
  const fs: FileAccess = {
    stat: (path) => {
      const st = statSync(path, { bigint: true });
      const name = basename(path);
      if (!firstCtime.has(name)) firstCtime.set(name, st.ctimeNs);
      const ctimeNs = frozen.includes(name) ? firstCtime.get(name)! : st.ctimeNs;
      return Object.assign(st, { mtimeNs: st.mtimeNs - MINUTE_NS, ctimeNs: ctimeNs - MINUTE_NS }) as BigIntStats;
    },
    read: (path) => {
      reads.push(basename(path));
      return readFileSync(path);
    },
  };
  return { fs, reads, take: () => reads.splice(0).sort() };
}

/** Writes a file with a modification time of whole seconds, which utimes can restore exactly. */
function writeOld(file: string, text: string) {
  writeFileSync(file, text);
  const t = Math.floor(Date.now() / 1000) - 120;
  utimesSync(file, t, t);
}

/** Same size, other content, the old modification time: only the change time tells. */
function sneakyEdit(file: string, from: string, to: string) {
  const before = statSync(file);
  const text = readFileSync(file, 'utf8');
  expect(to.length).toBe(from.length);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, before.mtimeMs / 1000, before.mtimeMs / 1000);
  expect(statSync(file).size).toBe(before.size);
  expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
}

describe('a scan after one save', () => {
  it('reads only the saved file, and the other files keep their resource objects', () => {
    const dir = tempDir();
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${i}.yaml`), rt(`r${i}`) + '---\n' + rt(`s${i}`));
    const { fs, take } = countingFs();
    const md = new ManifestDirectory(dir, new SourceState(undefined, false), [], { fs });
    const first = md.scan();
    expect(take()).toHaveLength(20);
    expect(first.resources).toHaveLength(40);

    writeFileSync(join(dir, 'f7.yaml'), rt('r7', 201) + '---\n' + rt('s7'));
    const second = md.scan();
    expect(take()).toEqual(['f7.yaml']);
    expect(status(second, 'r7')).toBe(201);
    for (let i = 0; i < 20; i++) if (i !== 7) expect(byName(second, `r${i}`)).toBe(byName(first, `r${i}`));

    // Nothing changed: nothing read, the same objects.
    const third = md.scan();
    expect(take()).toEqual([]);
    expect(third.resources.every((r, i) => r === second.resources[i])).toBe(true);
  });

  it('reads a file again when it was changed just before it was read: its stat cannot vouch for it yet', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    writeFileSync(join(dir, 'b.yaml'), rt('b'));
    const reads: string[] = [];
    const fs: FileAccess = { stat: (p) => statSync(p, { bigint: true }), read: (p) => (reads.push(basename(p)), readFileSync(p)) };
    const md = new ManifestDirectory(dir, new SourceState(undefined, false), [], { fs });
    const first = md.scan();
    const again = md.scan();
    expect(reads.sort()).toEqual(['a.yaml', 'a.yaml', 'b.yaml', 'b.yaml']);
    // Same content read again: same objects.
    expect(again.resources.every((r, i) => r === first.resources[i])).toBe(true);
  });

  it('a full scan reads every file and finds an edit that kept size, modification time and (here) change time', () => {
    const dir = tempDir();
    writeOld(join(dir, 'a.yaml'), rt('a', 200));
    writeFileSync(join(dir, 'b.yaml'), rt('b', 200));
    const { fs, take } = countingFs(['a.yaml']);
    const md = new ManifestDirectory(dir, new SourceState(undefined, false), [], { fs });
    const first = md.scan();
    take();
    sneakyEdit(join(dir, 'a.yaml'), 'status: 200', 'status: 299');
    expect(status(md.scan(), 'a')).toBe(200); // the stat says unchanged
    expect(take()).toEqual([]);
    const full = md.scan({ full: true });
    expect(take()).toEqual(['a.yaml', 'b.yaml']);
    expect(status(full, 'a')).toBe(299);
    expect(byName(full, 'b')).toBe(byName(first, 'b'));
  });
});

describe('the state file', () => {
  it('is written as JSON.stringify(state, null, 1) would write it, after edits too (entries are serialised once)', () => {
    const dir = tempDir();
    const state = join(dir, '.meshplane-state.json');
    writeFileSync(join(dir, 'a.yaml'), rt('a') + '---\n' + rt('b'));
    writeFileSync(join(dir, 'c.yaml'), rt('c'));
    const md = new ManifestDirectory(dir, new SourceState(state));
    const same = () => {
      const text = readFileSync(state, 'utf8');
      expect(text).toBe(JSON.stringify(JSON.parse(text), null, 1) + '\n');
      return JSON.parse(text) as { resources: Record<string, { lastGood: { spec: unknown } }>; files: Record<string, string[]> };
    };
    md.scan();
    expect(Object.keys(same().resources)).toEqual(['RouteTable/apps/a', 'RouteTable/apps/b', 'RouteTable/apps/c']);
    writeFileSync(join(dir, 'a.yaml'), rt('a', 201));
    md.scan();
    const after = same();
    expect(Object.keys(after.resources)).toEqual(['RouteTable/apps/a', 'RouteTable/apps/c']);
    expect(JSON.stringify(after.resources['RouteTable/apps/a'].lastGood.spec)).toContain('201');
    expect(after.files).toEqual({ 'a.yaml': ['RouteTable/apps/a'], 'c.yaml': ['RouteTable/apps/c'] });
    rmSync(join(dir, 'a.yaml'));
    rmSync(join(dir, 'c.yaml'));
    md.scan();
    expect(same()).toEqual({ version: 2, resources: {}, files: {} });
  });
});

describe('the watcher', () => {
  it("emits the same objects for files a save did not touch, and nothing for a rescan that finds no change", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    writeFileSync(join(dir, 'b.yaml'), rt('b'));
    const sets: ResourceSet[] = [];
    const sub = watchManifestDirectory(new ManifestDirectory(dir, new SourceState(undefined, false)), { debounceMs: 50, rescanMs: 100 }).subscribe((s) => sets.push(s));
    cleanup.push(() => sub.unsubscribe());
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(ok()).toBe(true);
    };
    await until(() => sets.at(-1)?.resources.length === 2); // the first scan may find the files too fresh to read
    const settled = sets.length;
    await new Promise((r) => setTimeout(r, 500)); // a few rescans, and the watcher is ready
    expect(sets).toHaveLength(settled);
    writeFileSync(join(dir, 'b.yaml'), rt('b', 201));
    await until(() => status(sets.at(-1)!, 'b') === 201);
    expect(byName(sets.at(-1)!, 'a')).toBe(byName(sets[settled - 1], 'a'));
  });

  it('the periodic rescan catches an edit that kept size and modification time, which events and stats miss', async () => {
    const dir = tempDir();
    writeOld(join(dir, 'a.yaml'), rt('a', 200));
    const { fs } = countingFs(['a.yaml']);
    const sets: ResourceSet[] = [];
    const md = new ManifestDirectory(dir, new SourceState(undefined, false), [], { fs });
    const sub = watchManifestDirectory(md, { debounceMs: 50, rescanMs: 400 }).subscribe((s) => sets.push(s));
    cleanup.push(() => sub.unsubscribe());
    await new Promise((r) => setTimeout(r, 300));
    expect(status(sets.at(-1)!, 'a')).toBe(200);
    sneakyEdit(join(dir, 'a.yaml'), 'status: 200', 'status: 299');
    for (let i = 0; i < 100 && status(sets.at(-1)!, 'a') !== 299; i++) await new Promise((r) => setTimeout(r, 50));
    expect(status(sets.at(-1)!, 'a')).toBe(299);
  });
});
