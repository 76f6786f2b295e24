// File source: a directory of multi-document YAML manifests, watched
// recursively, emitted as a stream of consistent, debounced resource sets.
// Bad files never throw: they become diagnostics, and whatever was last
// served from them keeps being served.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, watch, writeFileSync, renameSync, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import { Observable } from 'rxjs';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { RejectedResource } from '../core/index.js';
import { resourceKey, validateResource, type Resource } from '../resources/schema.js';

export interface Diagnostic {
  file: string;
  document?: number;
  line?: number;
  resource?: string; // Kind/ns/name when known
  problems: Array<{ path: string; message: string }>;
  /** The last valid version of the resource (or file) is still served. */
  keptPrevious: boolean;
}

export interface ResourceSet {
  resources: Resource[];
  rejected: RejectedResource[];
  diagnostics: Diagnostic[];
}

const isManifest = (f: string): boolean => /\.ya?ml$/i.test(f) && !f.split('/').some((p) => p.startsWith('.'));

export function listManifestFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isManifest(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

interface ParsedFile {
  hash: string;
  resources: Resource[];
  /** What this file contributed last scan, including last-good versions of invalid edits. */
  served?: Resource[];
  diagnostics: Diagnostic[];
  rejectedKeys: Array<{ key: string; messages: string[] }>;
  syntaxError: boolean;
}

/** Parses one file's text into resources and diagnostics. Pure apart from its input. */
export function parseManifestText(text: string, file: string): Omit<ParsedFile, 'hash'> {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const resources: Resource[] = [];
  const diagnostics: Diagnostic[] = [];
  const rejectedKeys: ParsedFile['rejectedKeys'] = [];
  if (!Array.isArray(docs)) return { resources, diagnostics, rejectedKeys, syntaxError: false }; // empty stream
  let syntaxError = false;
  docs.forEach((doc, index) => {
    const line = doc.range ? lineCounter.linePos(doc.range[0]).line : undefined;
    if (doc.errors.length) {
      syntaxError = true;
      diagnostics.push({
        file,
        document: index,
        line: doc.errors[0].linePos?.[0]?.line ?? line,
        problems: doc.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0] })),
        keptPrevious: false,
      });
      rejectedKeys.push({
        key: `file:${file}`,
        messages: doc.errors.map((e) => `${file} document ${index} (line ${e.linePos?.[0]?.line ?? line}): YAML syntax: ${e.message.split('\n')[0]}`),
      });
      return;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document, e.g. a trailing ---
    const result = validateResource(value);
    if (result.ok) {
      resources.push({ ...result.resource, source: { file, document: index } });
      return;
    }
    const key = result.kind && result.name ? `${result.kind}/${result.namespace ?? (result.kind === 'Namespace' ? '' : 'default')}/${result.name}` : undefined;
    diagnostics.push({ file, document: index, line, ...(key ? { resource: key } : {}), problems: result.problems, keptPrevious: false });
    rejectedKeys.push({ key: key ?? `${file}#${index}`, messages: result.problems.map((p) => `${file} document ${index}${line ? ` (line ${line})` : ''}: ${p.path}: ${p.message}`) });
  });
  return { resources, diagnostics, rejectedKeys, syntaxError };
}

/**
 * Remembers when each resource was first seen, so "oldest wins" is stable
 * across restarts for manifests without metadata.creationTimestamp.
 */
export class CreationClock {
  private seen: Record<string, string> = {};
  private dirty = false;
  /** Stamped copies keep their identity across scans, so the core can reuse work. */
  private readonly stamped = new WeakMap<Resource, Resource>();

  constructor(
    private readonly path: string | undefined,
    /** false: only apply recorded times (explain must not invent any). */
    private readonly record = true,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (path && existsSync(path)) {
      try {
        this.seen = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
      } catch {
        this.seen = {}; // a corrupt state file only costs us ordering ties
      }
    }
  }

  stamp(resources: Resource[]): Resource[] {
    const present = new Set<string>();
    const out = resources.map((r) => {
      const key = resourceKey(r);
      present.add(key);
      if (r.metadata.creationTimestamp) return r;
      if (!this.seen[key]) {
        if (!this.record) return r;
        this.seen[key] = this.now().toISOString();
        this.dirty = true;
      }
      const cached = this.stamped.get(r);
      if (cached && cached.metadata.creationTimestamp === this.seen[key]) return cached;
      const copy = { ...r, metadata: { ...r.metadata, creationTimestamp: this.seen[key] } };
      this.stamped.set(r, copy);
      return copy;
    });
    // A deleted resource that comes back is a new resource: forget it.
    if (this.record)
      for (const key of Object.keys(this.seen)) {
      if (!present.has(key)) {
        delete this.seen[key];
        this.dirty = true;
      }
    }
    return out;
  }

  save(): void {
    if (!this.path || !this.dirty || !this.record) return;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.seen, Object.keys(this.seen).sort(), 2));
    renameSync(tmp, this.path);
    this.dirty = false;
  }
}

/** Keeps per-file and per-resource last-good state between scans. */
export class ManifestDirectory {
  private readonly files = new Map<string, ParsedFile>();
  private readonly lastGood = new Map<string, Resource>();

  constructor(
    readonly dir: string,
    private readonly clock: CreationClock,
    /** File names (not paths) that are not manifests, e.g. test expectations. */
    private readonly exclude: readonly string[] = [],
  ) {}

  scan(): ResourceSet {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new Error(`config directory ${this.dir} does not exist or is not a directory`);
    }
    const current = new Set<string>();
    for (const abs of listManifestFiles(this.dir).filter((f) => !this.exclude.some((e) => f.endsWith(`/${e}`)))) {
      const file = relative(process.cwd(), abs) || abs;
      current.add(file);
      let text: string;
      try {
        text = readFileSync(abs, 'utf8');
      } catch {
        continue; // deleted between listing and reading: next scan settles it
      }
      const hash = createHash('sha256').update(text).digest('hex');
      const prev = this.files.get(file);
      if (prev?.hash === hash) continue;
      const parsed = parseManifestText(text, file);
      if (parsed.syntaxError && prev) {
        // Broken YAML: keep serving what this file gave before.
        const kept = prev.served ?? prev.resources;
        this.files.set(file, { hash, resources: kept, served: kept, diagnostics: parsed.diagnostics.map((d) => ({ ...d, keptPrevious: true })), rejectedKeys: parsed.rejectedKeys, syntaxError: true });
        continue;
      }
      this.files.set(file, { hash, ...parsed });
    }
    for (const f of [...this.files.keys()]) if (!current.has(f)) this.files.delete(f);

    const resources: Resource[] = [];
    const rejected: RejectedResource[] = [];
    const diagnostics: Diagnostic[] = [];
    const validKeys = new Set<string>();
    for (const [, pf] of [...this.files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const r of pf.resources) {
        resources.push(r);
        validKeys.add(resourceKey(r));
      }
    }
    for (const [, pf] of [...this.files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      pf.served = [...pf.resources];
      for (const d of pf.diagnostics) {
        // An invalid edit of a resource that was valid before: serve the old version.
        const old = d.resource && !validKeys.has(d.resource) ? this.lastGood.get(d.resource) : undefined;
        if (old) {
          resources.push(old);
          pf.served.push(old);
          validKeys.add(d.resource!);
        }
        diagnostics.push({ ...d, keptPrevious: d.keptPrevious || !!old });
      }
      for (const rk of pf.rejectedKeys) {
        const kept = (this.lastGood.has(rk.key) && validKeys.has(rk.key)) || (rk.key.startsWith('file:') && pf.resources.length > 0);
        rejected.push({ key: rk.key, messages: rk.messages.map((m) => (kept ? `${m} (the last valid version is still served)` : m)) });
      }
    }
    const stamped = this.clock.stamp(resources);
    for (const r of stamped) this.lastGood.set(resourceKey(r), r);
    this.clock.save();
    return { resources: stamped, rejected, diagnostics };
  }
}

export interface WatchOptions {
  /** Quiet period: a burst is applied once no change came for this long... */
  debounceMs?: number;
  /** ...or once the burst has lasted this long, whichever comes first. */
  maxDelayMs?: number;
  /** Called for errors of the watcher itself (not of manifests). */
  onError?: (err: Error) => void;
}

/**
 * Emits a full resource set at subscription and after every burst of changes
 * under `dir` (recursive), at most once per `debounceMs`. Identical
 * consecutive sets (by content) are not emitted again.
 */
export function watchManifestDirectory(directory: ManifestDirectory, opts: WatchOptions = {}): Observable<ResourceSet> {
  const debounceMs = opts.debounceMs ?? 150;
  const maxDelayMs = opts.maxDelayMs ?? 1000;
  return new Observable<ResourceSet>((subscriber) => {
    let timer: NodeJS.Timeout | undefined;
    let burstStarted: number | undefined;
    let lastDigest = '';
    const emit = () => {
      timer = undefined;
      burstStarted = undefined;
      let set: ResourceSet;
      try {
        set = directory.scan();
      } catch (err) {
        opts.onError?.(err as Error);
        return;
      }
      const digest = createHash('sha256').update(JSON.stringify([set.resources.map((r) => [resourceKey(r), r.spec, r.body, r.metadata]), set.rejected, set.diagnostics])).digest('hex');
      if (digest === lastDigest) return;
      lastDigest = digest;
      subscriber.next(set);
    };
    emit();
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(directory.dir, { recursive: true }, (_event, filename) => {
        // Ignore our own dotfiles (the state file) and files that are not YAML.
        const name = filename ? String(filename) : '';
        if (name && (name.split('/').some((p) => p.startsWith('.')) || (/\.[a-z0-9]+$/i.test(name) && !isManifest(name)))) return;
        const now = Date.now();
        burstStarted ??= now;
        if (timer) clearTimeout(timer);
        timer = setTimeout(emit, Math.max(0, Math.min(debounceMs, burstStarted + maxDelayMs - now)));
      });
      watcher.on('error', (err) => opts.onError?.(err));
    } catch (err) {
      opts.onError?.(err as Error);
    }
    return () => {
      if (timer) clearTimeout(timer);
      watcher?.close();
    };
  });
}
