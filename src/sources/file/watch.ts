// Watches a manifest directory and emits a full resource set at subscription
// and after every burst of changes. Events only say "look again": each scan
// reads the directory as it is, so a missed or odd event (rename-save,
// delete+create, a ConfigMap's `..data` swap) cannot leave a stale view for
// longer than the periodic rescan.
import { statSync, type Stats } from 'node:fs';
import { basename, relative, sep } from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { Observable } from 'rxjs';
import type { Resource } from '../../resources/schema.js';
import { isManifest, type ManifestDirectory, type ResourceSet } from './directory.js';

export interface WatchOptions {
  /** Quiet period: a burst is applied once no change came for this long... */
  debounceMs?: number;
  /** ...or once the burst has lasted this long, whichever comes first. */
  maxDelayMs?: number;
  /** Full rescan this often, reading every file: a safety net for missed events and stats that hide an edit (0: never). */
  rescanMs?: number;
  /** Called for errors of the watcher itself (not of manifests). */
  onError?: (err: Error) => void;
  /** Called for every file event, for debug logs. */
  onEvent?: (event: string, path: string) => void;
}

/**
 * Paths the watcher does not follow: dot entries (editors' swap files, the
 * state file, .git) except Kubernetes' `..data` and `..<timestamp>` entries,
 * node_modules, and files that are not YAML (sed's and editors' temp files).
 */
export function ignoredBy(root: string): (path: string, stats?: Stats) => boolean {
  return (path, stats) => {
    const rel = relative(root, path);
    if (!rel) return false;
    if (rel.split(sep).some((p) => p === 'node_modules' || (p.startsWith('.') && !p.startsWith('..')))) return true;
    return !!stats?.isFile() && !isManifest(basename(path));
  };
}

export function watchManifestDirectory(directory: ManifestDirectory, opts: WatchOptions = {}): Observable<ResourceSet> {
  const debounceMs = opts.debounceMs ?? 150;
  const maxDelayMs = opts.maxDelayMs ?? 1000;
  const rescanMs = opts.rescanMs ?? 10_000;
  const onError = (err: unknown) => opts.onError?.(err instanceof Error ? err : new Error(String(err)));
  return new Observable<ResourceSet>((subscriber) => {
    let debounce: NodeJS.Timeout | undefined;
    let recheck: NodeJS.Timeout | undefined;
    let burstStarted: number | undefined;
    let lastResources: readonly Resource[] | undefined;
    let lastProblems = '';
    let watcher: FSWatcher | undefined;
    let watchedIno: number | undefined;
    let stateProblem: string | undefined;
    let savePending: NodeJS.Immediate | undefined;
    // The state file (first-seen times, last valid versions: megabytes at 10k routes) is written
    // after the set is handed on, so the edit does not wait for it: 10-15 ms of a save's 25 ms.
    const saveState = () => {
      clearImmediate(savePending);
      savePending = undefined;
      directory.saveState();
      if (directory.stateProblem !== stateProblem && (stateProblem = directory.stateProblem)) onError(new Error(stateProblem));
    };

    const emit = (full = false) => {
      clearTimeout(debounce);
      clearTimeout(recheck);
      debounce = recheck = undefined;
      burstStarted = undefined;
      let set: ResourceSet;
      try {
        set = directory.scan({ settleMs: debounceMs, full, deferSave: true });
      } catch (err) {
        onError(err);
        return;
      }
      savePending ??= setImmediate(saveState);
      // A file still being written, or a shrink waiting out the quiet period.
      for (const file of directory.waiting) opts.onEvent?.('waiting for the quiet period', file);
      if (directory.recheckAt !== undefined) recheck = setTimeout(() => emit(), Math.max(10, directory.recheckAt - Date.now() + 5));
      ensureWatcher();
      // Unchanged files yield the same resource objects, so identity says what changed; problems are few.
      const problems = JSON.stringify([set.rejected, set.diagnostics]);
      if (lastResources && sameResources(lastResources, set.resources) && problems === lastProblems) return;
      lastResources = set.resources;
      lastProblems = problems;
      subscriber.next(set);
    };

    const changed = (event: string, path: string) => {
      opts.onEvent?.(event, path);
      const now = Date.now();
      burstStarted ??= now;
      clearTimeout(debounce);
      debounce = setTimeout(() => emit(), Math.max(0, Math.min(debounceMs, burstStarted + maxDelayMs - now)));
    };

    // (Re)starts the watcher when the directory appears or is replaced by another one.
    const ensureWatcher = () => {
      let ino: number;
      try {
        ino = statSync(directory.dir).ino;
      } catch {
        return;
      }
      if (watcher && ino === watchedIno) return;
      void watcher?.close();
      watchedIno = ino;
      const w = chokidarWatch(directory.dir, { ignoreInitial: true, followSymlinks: true, ignored: ignoredBy(directory.dir) });
      w.on('all', (event, path) => changed(event, path));
      w.on('error', onError);
      // Changes made while the watcher was starting up.
      w.on('ready', () => changed('ready', directory.dir));
      watcher = w;
    };

    emit();
    ensureWatcher();
    const rescan = rescanMs > 0 ? setInterval(() => debounce === undefined && emit(true), rescanMs) : undefined;
    rescan?.unref();
    return () => {
      if (savePending) saveState();
      clearTimeout(debounce);
      clearTimeout(recheck);
      clearInterval(rescan);
      void watcher?.close();
    };
  });
}

/** The same objects in the same order. */
export function sameResources(a: readonly Resource[], b: readonly Resource[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
