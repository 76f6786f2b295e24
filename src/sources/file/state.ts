// The file source's state file: when each resource was first seen (so "oldest
// wins" is stable across restarts for manifests without
// metadata.creationTimestamp) and the last valid version of every resource
// served (so a restart serves exactly what was served before, even when a file
// is broken by then).
//
// Version 2, written by this code:
//   { "version": 2,
//     "resources": { "<Kind>/<ns>/<name>": { "firstSeen": "<RFC 3339>", "lastGood": <resource> } },
//     "files": { "<path relative to the config directory>": ["<Kind>/<ns>/<name>", ...] } }
// Version 1 (no "version" key) was { "<Kind>/<ns>/<name>": "<RFC 3339>" }: it
// is read, and rewritten as version 2 on the next change.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resourceKey, validateResource, type Resource } from '../../resources/schema.js';

export const STATE_VERSION = 2;

const keyCache = new WeakMap<Resource, string>();
/** resourceKey, once per resource object: every scan looks up every resource's key several times. */
export function keyOf(r: Resource): string {
  let k = keyCache.get(r);
  if (k === undefined) keyCache.set(r, (k = resourceKey(r)));
  return k;
}

interface Entry {
  firstSeen?: string;
  lastGood?: Resource;
}

export class SourceState {
  private readonly entries = new Map<string, Entry>();
  /** Which resources each file served, for a file that is unreadable after a restart. */
  private readonly files = new Map<string, string[]>();
  private dirty = false;
  private writable: boolean;
  /** Each entry as written at the last save, reused while the entry keeps its values. */
  private readonly texts = new Map<string, { firstSeen?: string; lastGood?: Resource; bytes: Buffer }>();
  /** Stamped copies keep their identity across scans, so the core can reuse work. */
  private readonly stamped = new WeakMap<Resource, Resource>();
  /** Why (part of) the state file was not used, for a log line. */
  readonly loadProblem?: string;
  /** Why the last save failed (cleared by the next good one). */
  saveProblem?: string;

  constructor(
    private readonly path: string | undefined,
    /** false: only apply what is recorded (explain must not invent or write anything). */
    private readonly record = true,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.writable = record && !!path;
    if (!path || !existsSync(path)) return;
    try {
      this.loadProblem = this.load(JSON.parse(readFileSync(path, 'utf8')));
    } catch (err) {
      // A corrupt state file costs ordering ties and last-good versions, nothing else.
      this.loadProblem = `state file ${path} is not readable JSON (${(err as Error).message}); starting without it`;
    }
  }

  private load(data: unknown): string | undefined {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return `state file ${this.path} is not a JSON object; starting without it`;
    const obj = data as Record<string, unknown>;
    if (!('version' in obj)) {
      for (const [key, t] of Object.entries(obj)) if (typeof t === 'string') this.entries.set(key, { firstSeen: t });
      this.dirty = this.entries.size > 0; // upgrade to version 2
      return undefined;
    }
    if (obj.version !== STATE_VERSION) {
      this.writable = false; // never overwrite a newer meshplane's state
      return `state file ${this.path} has version ${JSON.stringify(obj.version)}, this meshplane reads version ${STATE_VERSION}; it is not used and not overwritten`;
    }
    let dropped = 0;
    for (const [key, e] of Object.entries((obj.resources ?? {}) as Record<string, Entry>)) {
      const entry: Entry = {};
      if (typeof e?.firstSeen === 'string') entry.firstSeen = e.firstSeen;
      if (e?.lastGood) {
        const r = revalidate(e.lastGood);
        if (r && resourceKey(r) === key) entry.lastGood = r;
        else dropped++;
      }
      this.entries.set(key, entry);
    }
    for (const [file, keys] of Object.entries((obj.files ?? {}) as Record<string, unknown>)) {
      if (Array.isArray(keys)) this.files.set(file, keys.filter((k): k is string => typeof k === 'string'));
    }
    return dropped ? `state file ${this.path}: ${dropped} last valid versions no longer validate and were dropped` : undefined;
  }

  /** Sets metadata.creationTimestamp to the first-seen time where the manifest has none. */
  stamp(resources: Resource[]): Resource[] {
    const present = new Set<string>();
    const out = resources.map((r) => {
      present.add(keyOf(r));
      return this.stampOne(r);
    });
    // A deleted resource that comes back is a new resource: forget it.
    if (this.record) {
      for (const [key, entry] of this.entries) {
        if (present.has(key) || !entry.firstSeen) continue;
        delete entry.firstSeen;
        if (!entry.lastGood) this.entries.delete(key);
        this.dirty = true;
      }
    }
    return out;
  }

  /** One resource stamped (stamp() without forgetting the absent: see forget()). */
  stampOne(r: Resource): Resource {
    if (r.metadata.creationTimestamp) return r;
    const key = keyOf(r);
    let entry = this.entries.get(key);
    if (!entry?.firstSeen) {
      if (!this.record) return r;
      entry ??= {};
      entry.firstSeen = this.now().toISOString();
      this.entries.set(key, entry);
      this.dirty = true;
    }
    const cached = this.stamped.get(r);
    if (cached && cached.metadata.creationTimestamp === entry.firstSeen) return cached;
    const copy = { ...r, metadata: { ...r.metadata, creationTimestamp: entry.firstSeen } };
    this.stamped.set(r, copy);
    return copy;
  }

  /**
   * Resources no file serves any more, as stamp() and then remember() treat
   * them: a first-seen time is forgotten (while recording), and so is the last
   * valid version. For a scan that knows which keys went (see ManifestDirectory).
   */
  forget(keys: Iterable<string>): void {
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      if (this.record && entry.firstSeen) {
        delete entry.firstSeen;
        if (!entry.lastGood) this.entries.delete(key);
        this.dirty = true;
      }
      if (entry.lastGood) {
        delete entry.lastGood;
        if (!entry.firstSeen) this.entries.delete(key);
        this.dirty = true;
      }
    }
  }

  /**
   * One file's share of remember(). With `present` (the keys earlier files
   * served), a duplicate key is skipped: the first one is what is served.
   */
  rememberFile(file: string, resources: readonly Resource[], present?: Set<string>): void {
    const keys: string[] = [];
    for (const r of resources) {
      const key = keyOf(r);
      keys.push(key);
      if (present) {
        if (present.has(key)) continue;
        present.add(key);
      }
      const entry = this.entries.get(key) ?? {};
      if (entry.lastGood !== r) {
        entry.lastGood = r;
        this.entries.set(key, entry);
        this.dirty = true;
      }
    }
    const before = this.files.get(file);
    if (!before || before.length !== keys.length || before.some((k, i) => k !== keys[i])) {
      this.files.set(file, keys);
      this.dirty = true;
    }
  }

  /** A file gone: remember() without it. */
  forgetFile(file: string): void {
    if (this.files.delete(file)) this.dirty = true;
  }

  lastGood(key: string): Resource | undefined {
    return this.entries.get(key)?.lastGood;
  }

  /** What a file (path relative to the config directory) served when last recorded. */
  servedBy(file: string): Resource[] | undefined {
    const keys = this.files.get(file);
    if (!keys) return undefined;
    return keys.map((k) => this.entries.get(k)?.lastGood).filter((r): r is Resource => !!r);
  }

  /** Records what every file serves now; resources no longer served are forgotten. */
  remember(byFile: ReadonlyMap<string, readonly Resource[]>): void {
    const present = new Set<string>();
    for (const [file, resources] of byFile) this.rememberFile(file, resources, present);
    for (const file of [...this.files.keys()]) {
      if (!byFile.has(file)) {
        this.files.delete(file);
        this.dirty = true;
      }
    }
    for (const [key, entry] of this.entries) {
      if (present.has(key) || !entry.lastGood) continue;
      delete entry.lastGood;
      if (!entry.firstSeen) this.entries.delete(key);
      this.dirty = true;
    }
  }

  /**
   * The file's content: JSON.stringify(data, null, 1) of version, resources
   * and files, with each resource entry serialised only when it changed (a
   * save after one edit must not serialise the whole estate again). Kept as
   * bytes: joining megabytes of strings on the JS heap costs more than copying.
   */
  private bytes(): Buffer {
    const keys = [...this.entries.keys()].sort();
    const parts: Buffer[] = [Buffer.from(`{\n "version": ${STATE_VERSION},\n "resources": ${keys.length ? '{\n' : '{}'}`)];
    for (const [i, key] of keys.entries()) {
      const e = this.entries.get(key)!;
      let t = this.texts.get(key);
      if (!t || t.firstSeen !== e.firstSeen || t.lastGood !== e.lastGood) {
        t = { firstSeen: e.firstSeen, lastGood: e.lastGood, bytes: Buffer.from(`  ${JSON.stringify(key)}: ${nest(JSON.stringify(e, null, 1), 2)}`) };
        this.texts.set(key, t);
      }
      parts.push(t.bytes, i < keys.length - 1 ? COMMA : EOL);
    }
    if (this.texts.size > this.entries.size) for (const key of [...this.texts.keys()]) if (!this.entries.has(key)) this.texts.delete(key);
    const files = nest(JSON.stringify(Object.fromEntries([...this.files.keys()].sort().map((f) => [f, this.files.get(f)])), null, 1), 1);
    parts.push(Buffer.from(`${keys.length ? ' }' : ''},\n "files": ${files}\n}\n`));
    return Buffer.concat(parts);
  }

  save(): void {
    if (!this.path || !this.dirty || !this.writable) return;
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, this.bytes());
      renameSync(tmp, this.path);
      this.dirty = false;
      this.saveProblem = undefined;
    } catch (err) {
      // E.g. a read-only ConfigMap mount: serving goes on, only restarts lose.
      this.saveProblem = `cannot write the state file ${this.path} (${(err as Error).message}): first-seen times and last valid versions will not survive a restart; point --state-file at a writable path`;
    }
  }
}

const COMMA = Buffer.from(',\n');
const EOL = Buffer.from('\n');

/** Indents JSON text that starts at the end of a line indented `by` spaces. */
const nest = (json: string, by: number): string => json.replace(/\n/g, `\n${' '.repeat(by)}`);

/** A stored resource goes through the same validation as a manifest. */
function revalidate(stored: Resource): Resource | undefined {
  if (stored === null || typeof stored !== 'object') return undefined;
  const { apiVersion, kind, metadata, spec, body, source, cluster } = stored;
  const raw = { apiVersion, kind, metadata, ...(body ?? {}), ...(spec !== undefined && !body ? { spec } : {}) };
  const result = validateResource(raw, metadata?.namespace || 'default');
  if (!result.ok) return undefined;
  return { ...result.resource, ...(source ? { source } : {}), ...(cluster !== undefined ? { cluster } : {}) };
}

/** The name this class had when it only kept creation times. */
export { SourceState as CreationClock };
