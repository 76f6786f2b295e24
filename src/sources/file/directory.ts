// A directory of multi-document YAML manifests, scanned into one consistent
// resource set. Bad files never throw and never take away what was served:
// a file that cannot be read keeps serving what it served before (also across
// restarts, through the state file), and an invalid resource keeps its last
// valid version.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RejectedResource } from '../../core/index.js';
import { resourceKey, type Resource } from '../../resources/schema.js';
import { fileLimits, type FileLimits } from './limits.js';
import { fileKey, fileProblem, fileTooLarge, parseManifestText, type Diagnostic, type ParsedManifest } from './manifest.js';
import { fileStat, nodeFiles, trustworthy, type FileAccess, type FileStat } from './stat.js';
import { keyOf, type SourceState } from './state.js';

export interface ResourceSet {
  resources: Resource[];
  rejected: RejectedResource[];
  diagnostics: Diagnostic[];
}

export const isManifest = (name: string): boolean => /\.ya?ml$/i.test(name);

/**
 * Manifest files under `dir`, following symbolic links (a Kubernetes ConfigMap
 * mount is a directory of links into `..data`). Entries whose name starts with
 * a dot (`..data` itself, editors' swap files, the state file) and
 * node_modules are skipped; a link loop is walked once.
 */
export function listManifestFiles(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries;
    try {
      const real = realpathSync(d);
      if (seen.has(real)) continue;
      seen.add(real);
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      if (d === dir) throw new Error(`config directory ${dir} cannot be read`);
      continue; // vanished or unreadable below the root: the next scan settles it
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // a dangling link
        }
      }
      if (isDir) stack.push(p);
      else if (isFile && isManifest(e.name)) out.push(p);
    }
  }
  return out.sort();
}

export interface ScanOptions {
  /**
   * Quiet period (watch mode): a changed file is read only when it has not
   * been modified for this long, and a file that shrinks to a subset of its
   * resources is applied only when the same content is seen again this much
   * later. 0 (one-off scans such as explain): read everything as it is.
   */
  settleMs?: number;
  /** Leave writing the state file to saveState() (the watcher does it after handing on the set). */
  deferSave?: boolean;
  now?: number;
  /**
   * Read and hash every file, also those whose stat says they are unchanged
   * since they were read (the watcher's periodic safety scan).
   */
  full?: boolean;
}

interface FileEntry {
  /** Hash of the content this entry was made from. */
  hash: string;
  parsed: ParsedManifest;
  /** The file's resources: its valid ones, or what it served before when unreadable. */
  served: Resource[];
  /** What the last scan served from it: `served` plus last valid versions of invalid resources. */
  contributed?: Resource[];
  /** A shrunk version waiting for the quiet period. */
  shrink?: { hash: string; since: number };
  /** Stat seen while waiting for a file whose mtime cannot be trusted (in the future). */
  observed?: { size: number; mtimeMs: number; at: number };
  /** Size and times of the file when this entry was read. */
  stat?: { size: number; mtimeMs: number; ctimeMs: number };
  /** The file's stat identity when it can stand for the content read: then an equal stat skips the read. */
  identity?: string;
}

export interface ManifestDirectoryOptions {
  limits?: Partial<FileLimits>;
  /** How files are stat'ed and read (tests count reads). */
  fs?: FileAccess;
  /** Assemble the set from every file at every scan, never only the changed ones (tests compare the two). */
  wholeAssemble?: boolean;
}

/** Keeps per-file and per-resource last-good state between scans. */
export class ManifestDirectory {
  private readonly files = new Map<string, FileEntry>();
  /** Files whose content and stat disagreed, since when. */
  private readonly suspect = new Map<string, number>();
  private readonly limits: FileLimits;
  private readonly fs: FileAccess;
  /** The last scan's set, returned again while no file entry changes. */
  private last: ResourceSet | undefined;
  /** After a scan: when a file that is still settling should be looked at again (epoch ms). */
  recheckAt: number | undefined;
  /** What the last assemble() saw: the file entries, their paths relative to the directory, and how many files serve each key. */
  private assembled?: Assembled;
  private readonly wholeAssemble: boolean;
  /** After a scan: files whose new content waits for the quiet period. */
  waiting: string[] = [];

  constructor(
    readonly dir: string,
    private readonly state: SourceState,
    /** File names (not paths) that are not manifests, e.g. test expectations. */
    private readonly exclude: readonly string[] = [],
    opts: ManifestDirectoryOptions = {},
  ) {
    this.limits = fileLimits(opts.limits);
    this.fs = opts.fs ?? nodeFiles;
    this.wholeAssemble = !!opts.wholeAssemble;
  }

  /** Why the state file could not be written at the last scan, if it could not. */
  get stateProblem(): string | undefined {
    return this.state.saveProblem;
  }

  scan(opts: ScanOptions = {}): ResourceSet {
    const now = opts.now ?? Date.now();
    const settleMs = opts.settleMs ?? 0;
    this.recheckAt = undefined;
    this.waiting = [];
    const wake = (at: number) => (this.recheckAt = Math.min(this.recheckAt ?? Infinity, at));
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new Error(`config directory ${this.dir} does not exist or is not a directory`);
    }
    const readStart = Date.now(); // before every stat: see trustworthy()
    let changed = false;
    const set = (file: string, entry: FileEntry) => {
      this.files.set(file, entry);
      changed = true;
    };
    const current = new Map<string, string>(); // display path -> path relative to the config directory
    for (const abs of listManifestFiles(this.dir).filter((f) => !this.exclude.some((e) => f.endsWith(`/${e}`)))) {
      const fromCwd = relative(process.cwd(), abs);
      const file = fromCwd && !fromCwd.startsWith('..') ? fromCwd : abs;
      const rel = relative(this.dir, abs);
      let st: FileStat;
      try {
        st = fileStat(this.fs.stat(abs));
      } catch {
        continue; // deleted between listing and reading: the next scan settles it
      }
      if (!st.isFile) continue;
      current.set(file, rel);
      const prev = this.files.get(file);
      const same = () => {
        delete prev!.shrink;
        delete prev!.observed;
      };
      // Not touched since it was read: its entry, and so its resource objects, stand.
      if (!opts.full && prev?.identity === st.identity) {
        same();
        continue;
      }
      const read = this.read(abs, file, st);
      if (!read) continue;
      const { hash } = read;
      const identity = read.text !== undefined && read.bytes === st.size && trustworthy(st, readStart) ? st.identity : undefined;
      if (prev?.hash === hash) {
        same();
        prev.identity = identity;
        continue;
      }
      if (settleMs > 0 && read.text !== undefined && (this.inconsistent(file, prev, st, read.bytes!, now, settleMs, wake) || this.unsettled(prev, st, now, settleMs, wake))) {
        // Still being written: keep what it served (in this run, or before a restart).
        this.waiting.push(file);
        if (!prev) set(file, { hash: '', parsed: EMPTY, served: this.state.servedBy(rel) ?? [] });
        continue;
      }
      // Documents the save did not change keep their results and resource objects.
      const parsed = read.parsed ?? parseManifestText(read.text!, file, this.limits, prev?.parsed.documents);
      const stat = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
      const before = prev ? (prev.contributed ?? prev.served) : this.state.servedBy(rel);
      if (parsed.fileError && before) {
        set(file, { hash, parsed: kept(parsed), served: before, stat, identity });
        continue;
      }
      if (settleMs > 0 && prev && shrinks(before ?? [], parsed)) {
        if (prev.shrink?.hash !== hash) prev.shrink = { hash, since: now };
        if (now - prev.shrink.since < settleMs) {
          wake(prev.shrink.since + settleMs);
          this.waiting.push(file);
          continue; // maybe a truncated write: wait for it to stay this way
        }
      }
      set(file, { hash, parsed, served: parsed.resources, stat, identity });
    }
    for (const f of [...this.files.keys()]) if (!current.has(f)) changed = this.files.delete(f) || changed;
    for (const f of [...this.suspect.keys()]) if (!current.has(f)) this.suspect.delete(f);
    if (!changed && this.last) {
      // The same entries make the same set (and state); a state file that could not be written is tried again.
      if (!opts.deferSave) this.state.save();
      return this.last;
    }
    this.last = this.assemble(current);
    if (!opts.deferSave) this.state.save();
    return this.last;
  }

  /** Writes the state file if it changed (after a scan with deferSave). */
  saveState(): void {
    this.state.save();
  }

  /** The file's content hash and text, or the problem that stops it being read. */
  private read(abs: string, file: string, st: FileStat): { hash: string; text?: string; bytes?: number; parsed?: ParsedManifest } | undefined {
    if (st.size > this.limits.maxFileBytes) return { hash: `too large:${st.size}`, parsed: fileTooLarge(file, st.size, this.limits) };
    let bytes: Buffer;
    try {
      bytes = this.fs.read(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined; // deleted since the listing: the next scan settles it
      return { hash: `unreadable:${code}`, parsed: fileProblem(file, `cannot read the file: ${(err as Error).message}`) };
    }
    // Grew after the stat: checked again on the bytes read.
    if (bytes.length > this.limits.maxFileBytes) return { hash: `too large:${bytes.length}`, parsed: fileTooLarge(file, bytes.length, this.limits) };
    return { hash: createHash('sha256').update(bytes).digest('hex'), text: bytes.toString('utf8'), bytes: bytes.length };
  }

  /**
   * The bytes read disagree with the file's stat: a different size than
   * stat says, or a new size with the modification and change times of the
   * version read before (no write does that). Read again later.
   */
  private inconsistent(file: string, prev: FileEntry | undefined, st: FileStat, bytes: number, now: number, settleMs: number, wake: (at: number) => void): boolean {
    const s = prev?.stat;
    const odd = bytes !== st.size || (!!s && s.size !== st.size && s.mtimeMs === st.mtimeMs && s.ctimeMs === st.ctimeMs);
    if (!odd) {
      this.suspect.delete(file);
      return false;
    }
    // A file system whose sizes are always off (some FUSE mounts) is read after a while anyway.
    const since = this.suspect.get(file) ?? now;
    this.suspect.set(file, since);
    if (now - since >= 10 * settleMs) return false;
    wake(now + settleMs);
    return true;
  }

  /**
   * A file modified less than a quiet period ago may still be being written.
   * When its mtime is in the future (clock skew), size and mtime must stay
   * the same for a quiet period instead.
   */
  private unsettled(prev: FileEntry | undefined, st: FileStat, now: number, settleMs: number, wake: (at: number) => void): boolean {
    const age = now - st.mtimeMs;
    if (age >= settleMs) return false;
    if (age >= 0) {
      wake(st.mtimeMs + settleMs);
      return true;
    }
    if (!prev) return false; // nothing served yet to keep
    const o = prev.observed;
    if (o && o.size === st.size && o.mtimeMs === st.mtimeMs) {
      if (now - o.at >= settleMs) return false;
    } else {
      prev.observed = { size: st.size, mtimeMs: st.mtimeMs, at: now };
    }
    wake(prev.observed!.at + settleMs);
    return true;
  }

  private assemble(current: Map<string, string>): ResourceSet {
    const files = [...this.files.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const quick = this.assembled && !this.wholeAssemble && this.assembleChanged(files, current, this.assembled);
    if (quick) return quick;
    const validKeys = new Set<string>();
    for (const [, entry] of files) for (const r of entry.served) validKeys.add(keyOf(r));
    const rejected: RejectedResource[] = [];
    const diagnostics: Diagnostic[] = [];
    const contributions: Array<{ rel: string; entry: FileEntry; resources: Resource[] }> = [];
    for (const [file, entry] of files) {
      const resources = [...entry.served];
      const keptKeys = new Set<string>();
      for (const d of entry.parsed.diagnostics) {
        // An invalid edit of a resource that was valid before: serve the old version.
        const old = d.resource && !validKeys.has(d.resource) ? this.state.lastGood(d.resource) : undefined;
        if (old) {
          resources.push(old);
          validKeys.add(d.resource!);
          keptKeys.add(d.resource!);
        }
        diagnostics.push({ ...d, keptPrevious: d.keptPrevious || (!!d.resource && keptKeys.has(d.resource)) });
      }
      for (const rk of entry.parsed.rejectedKeys) rejected.push(rejection(file, entry, rk, keptKeys));
      contributions.push({ rel: current.get(file)!, entry, resources });
    }
    const stamped = this.state.stamp(contributions.flatMap((c) => c.resources));
    const byFile = new Map<string, Resource[]>();
    let i = 0;
    for (const c of contributions) {
      c.entry.contributed = stamped.slice(i, (i += c.resources.length));
      byFile.set(c.rel, c.entry.contributed);
    }
    this.state.remember(byFile);
    this.assembled = { entries: new Map(files), rel: new Map(current), keyFiles: countKeys(files) };
    return { resources: stamped, rejected, diagnostics };
  }

  /**
   * assemble() for the files that changed since the last one (a save touches
   * one file of hundreds): only their resources are stamped and remembered,
   * and only keys they no longer serve are forgotten. Undefined, and the whole
   * set is assembled, when the shortcut cannot give the same result: a
   * resource whose last valid version stands in for an invalid edit, or a key
   * served twice (the first file's wins), or many files changed.
   */
  private assembleChanged(files: Array<[string, FileEntry]>, current: Map<string, string>, last: Assembled): ResourceSet | undefined {
    const changed: Array<[string, FileEntry | undefined]> = [];
    for (const [file, entry] of files) {
      if (entry.parsed.diagnostics.some((d) => d.resource)) return undefined;
      if (last.entries.get(file) !== entry || last.rel.get(file) !== current.get(file)) changed.push([file, entry]);
    }
    for (const file of last.entries.keys()) if (!this.files.has(file)) changed.push([file, undefined]);
    if (changed.length === 0 || changed.length > Math.max(4, files.length / 4)) return undefined;
    // Every key the changed files served or serve must be theirs alone, once.
    const gone = new Set<string>();
    for (const [file] of changed) for (const r of last.entries.get(file)?.contributed ?? []) {
      const k = keyOf(r);
      if (last.keyFiles.get(k) !== 1 || gone.has(k)) return undefined;
      gone.add(k);
    }
    const added = new Set<string>();
    for (const [, entry] of changed) for (const r of entry?.served ?? []) {
      const k = keyOf(r);
      if (added.has(k) || (last.keyFiles.has(k) && !gone.has(k))) return undefined;
      added.add(k);
    }
    for (const k of gone) if (!added.has(k)) last.keyFiles.delete(k);
    for (const k of added) last.keyFiles.set(k, 1);
    this.state.forget([...gone].filter((k) => !added.has(k)));
    for (const [file, entry] of changed) {
      const rel = current.get(file) ?? last.rel.get(file)!;
      if (!entry) {
        this.state.forgetFile(rel);
        last.entries.delete(file);
        last.rel.delete(file);
        continue;
      }
      const before = last.rel.get(file);
      if (before !== undefined && before !== rel) this.state.forgetFile(before);
      entry.contributed = entry.served.map((r) => this.state.stampOne(r));
      this.state.rememberFile(rel, entry.contributed);
      last.entries.set(file, entry);
      last.rel.set(file, rel);
    }
    const rejected: RejectedResource[] = [];
    const diagnostics: Diagnostic[] = [];
    const resources: Resource[] = [];
    for (const [file, entry] of files) {
      for (const d of entry.parsed.diagnostics) diagnostics.push({ ...d, keptPrevious: d.keptPrevious || false });
      for (const rk of entry.parsed.rejectedKeys) rejected.push(rejection(file, entry, rk, NONE_KEPT));
      for (const r of entry.contributed!) resources.push(r);
    }
    return { resources, rejected, diagnostics };
  }
}

const NONE_KEPT: ReadonlySet<string> = new Set();

/** A file's rejected resource as the set reports it: says so when its last valid version (or the file's) is still served. */
function rejection(file: string, entry: FileEntry, rk: RejectedResource, keptKeys: ReadonlySet<string>): RejectedResource {
  const keptFile = rk.key === fileKey(file) && entry.parsed.fileError && entry.served.length > 0;
  const suffix = keptFile || keptKeys.has(rk.key) ? ' (the last valid version is still served)' : '';
  return { key: rk.key, messages: rk.messages.map((m) => m + suffix) };
}

interface Assembled {
  entries: Map<string, FileEntry>;
  rel: Map<string, string>;
  keyFiles: Map<string, number>;
}

/** How many times each key is contributed, over all files. */
function countKeys(files: ReadonlyArray<[string, FileEntry]>): Map<string, number> {
  const n = new Map<string, number>();
  for (const [, entry] of files) for (const r of entry.contributed ?? []) n.set(keyOf(r), (n.get(keyOf(r)) ?? 0) + 1);
  return n;
}

const EMPTY: ParsedManifest = { resources: [], diagnostics: [], rejectedKeys: [], fileError: false };

/** The entry of a file that is unreadable now and keeps what it served. */
function kept(parsed: ParsedManifest): ParsedManifest {
  return { ...parsed, diagnostics: parsed.diagnostics.map((d) => ({ ...d, keptPrevious: true })) };
}

/**
 * Fewer resources, all of which were there before: maybe a write cut short.
 * An invalid resource still counts as there (its last valid version stays).
 */
function shrinks(before: readonly Resource[], after: ParsedManifest): boolean {
  const now = new Set([...after.resources.map(resourceKey), ...after.diagnostics.flatMap((d) => (d.resource ? [d.resource] : []))]);
  if (now.size >= before.length) return false;
  const keys = new Set(before.map(resourceKey));
  return [...now].every((k) => keys.has(k));
}
