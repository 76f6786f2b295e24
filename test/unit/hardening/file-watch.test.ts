// Issue 9, class 8: the watcher sees every way files get saved: rename-save
// (sed -i, mv, editors' atomic save), delete+create, editor swap files,
// symlinked directories (Kubernetes ConfigMap mounts with `..data`) and
// directories created after start. The periodic rescan is off in these tests
// unless said otherwise, so the events alone must do it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState, watchManifestDirectory, type ResourceSet, type WatchOptions } from '../../../src/sources/file.js';

const rt = (name: string, status = 200) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]}\n`;

const canon = (o: Record<string, number>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** name -> direct response status, for every route table served. */
const served = (set: ResourceSet): Record<string, number> =>
  Object.fromEntries(
    set.resources.map((r) => [r.metadata.name, (r.spec as { http: Array<{ directResponse: { status: number } }> }).http[0].directResponse.status]),
  );

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'filesrc-watch-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Watches `dir` and waits for the served set to satisfy a condition. */
function watch(dir: string, opts: WatchOptions = {}) {
  const sets: ResourceSet[] = [];
  const errors: Error[] = [];
  let notify = () => {};
  const sub: Subscription = watchManifestDirectory(new ManifestDirectory(dir, new SourceState(undefined, false)), {
    debounceMs: 50,
    rescanMs: 0,
    onError: (e) => errors.push(e),
    ...opts,
  }).subscribe((s) => {
    sets.push(s);
    notify();
  });
  cleanup.push(() => sub.unsubscribe());
  const latest = () => served(sets[sets.length - 1]);
  return {
    sets,
    errors,
    latest,
    /** Resolves once the latest set serves exactly `want`. */
    until: (want: Record<string, number>, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (sets.length && canon(latest()) === canon(want)) {
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(want)}; serving ${JSON.stringify(sets.length ? latest() : null)}; errors: ${errors.map((e) => e.message).join('; ')}`)), timeoutMs);
        notify = check;
        check();
      }),
  };
}

/** Lets chokidar finish its initial crawl so that later changes are events. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('file watcher', () => {
  it('keeps seeing edits after rename-saves (mv over the file, sed -i), many times over', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.yaml');
    writeFileSync(file, rt('a', 200));
    const w = watch(dir);
    await w.until({ a: 200 });
    await settle();
    for (let i = 1; i <= 3; i++) {
      writeFileSync(join(dir, 'a.yaml.tmp'), rt('a', 200 + i));
      renameSync(join(dir, 'a.yaml.tmp'), file); // an editor's atomic save
      await w.until({ a: 200 + i });
      execFileSync('sed', ['-i', `s/status: ${200 + i}/status: ${300 + i}/`, file]);
      await w.until({ a: 300 + i });
      writeFileSync(file, rt('a', 400 + i)); // and a plain write after both
      await w.until({ a: 400 + i });
    }
  });

  it('sees delete + create, and an editor that swaps in a new file with swap and backup files around', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.yaml');
    writeFileSync(file, rt('a', 200));
    const w = watch(dir);
    await w.until({ a: 200 });
    await settle();
    unlinkSync(file);
    await w.until({});
    writeFileSync(file, rt('a', 201));
    await w.until({ a: 201 });
    // vim with backupcopy=no: swap file, rename to backup, write anew, remove backup
    writeFileSync(join(dir, '.a.yaml.swp'), 'swap');
    writeFileSync(join(dir, '4913'), '');
    unlinkSync(join(dir, '4913'));
    renameSync(file, join(dir, 'a.yaml~'));
    writeFileSync(file, rt('a', 202));
    unlinkSync(join(dir, 'a.yaml~'));
    unlinkSync(join(dir, '.a.yaml.swp'));
    // emacs lock and autosave files
    writeFileSync(join(dir, '#a.yaml#'), rt('emacs', 1));
    await w.until({ a: 202 });
    writeFileSync(file, rt('a', 203));
    await w.until({ a: 203 });
    expect(w.sets.every((s) => s.rejected.length === 0)).toBe(true);
  });

  it('follows a Kubernetes ConfigMap mount: files are links into ..data, which is swapped atomically', async () => {
    const dir = tempDir();
    // kubelet's AtomicWriter layout
    mkdirSync(join(dir, '..2024_01_01'));
    writeFileSync(join(dir, '..2024_01_01', 'routes.yaml'), rt('a', 200));
    symlinkSync('..2024_01_01', join(dir, '..data'));
    symlinkSync('..data/routes.yaml', join(dir, 'routes.yaml'));
    const w = watch(dir);
    await w.until({ a: 200 });
    await settle();
    for (const [i, ts] of ['..2024_01_02', '..2024_01_03'].entries()) {
      mkdirSync(join(dir, ts));
      writeFileSync(join(dir, ts, 'routes.yaml'), rt('a', 201 + i) + '---\n' + rt('b', 201 + i));
      symlinkSync(ts, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await w.until({ a: 201 + i, b: 201 + i });
    }
    symlinkSync('..data/other.yaml', join(dir, 'other.yaml')); // a new key in the ConfigMap
    mkdirSync(join(dir, '..2024_01_04'));
    writeFileSync(join(dir, '..2024_01_04', 'routes.yaml'), rt('a', 210));
    writeFileSync(join(dir, '..2024_01_04', 'other.yaml'), rt('c', 210));
    symlinkSync('..2024_01_04', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await w.until({ a: 210, c: 210 });
  });

  it('follows a symlinked subdirectory and directories created after start', async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'team.yaml'), rt('team', 200));
    symlinkSync(elsewhere, join(dir, 'team'));
    const w = watch(dir);
    await w.until({ team: 200 });
    await settle();
    writeFileSync(join(elsewhere, 'team.yaml'), rt('team', 201));
    await w.until({ team: 201 });
    mkdirSync(join(dir, 'new', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'new', 'deeper', 'n.yaml'), rt('n', 200));
    await w.until({ n: 200, team: 201 });
    writeFileSync(join(dir, 'new', 'deeper', 'n.yaml'), rt('n', 201));
    await w.until({ n: 201, team: 201 });
  });

  it('picks the directory up again when it is removed and created anew', async () => {
    const parent = tempDir();
    const dir = join(parent, 'conf');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), rt('a', 200));
    const w = watch(dir, { rescanMs: 200 });
    await w.until({ a: 200 });
    await settle();
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), rt('a', 201));
    await w.until({ a: 201 });
    await settle();
    writeFileSync(join(dir, 'a.yaml'), rt('a', 202));
    await w.until({ a: 202 });
  });

  it('the periodic rescan finds changes when no event comes (events blinded: polling every 10 minutes)', async () => {
    const saved = { poll: process.env.CHOKIDAR_USEPOLLING, interval: process.env.CHOKIDAR_INTERVAL };
    process.env.CHOKIDAR_USEPOLLING = '1';
    process.env.CHOKIDAR_INTERVAL = '600000';
    cleanup.push(() => {
      for (const [k, v] of [['CHOKIDAR_USEPOLLING', saved.poll], ['CHOKIDAR_INTERVAL', saved.interval]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    const blind = tempDir();
    writeFileSync(join(blind, 'a.yaml'), rt('a', 200));
    const control = watch(blind, { rescanMs: 0 });
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), rt('a', 200));
    const w = watch(dir, { rescanMs: 300 });
    await Promise.all([control.until({ a: 200 }), w.until({ a: 200 })]);
    await settle();
    writeFileSync(join(blind, 'a.yaml'), rt('a', 201));
    writeFileSync(join(dir, 'a.yaml'), rt('a', 201));
    await w.until({ a: 201 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(control.latest()).toEqual({ a: 200 }); // without the rescan, this change is never seen
  });
});
