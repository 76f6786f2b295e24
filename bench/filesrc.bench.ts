// `npm run bench:filesrc`: what the file source costs for
// one saved file at the bench:e2e estate (10,000 routes, one file per
// workspace): the directory scan that follows the save, the state file serve
// writes after it (off the edit's path since the watcher hands the set on
// first), and the watcher's "did anything change" check.
// CPU_PROF=<file> writes a CPU profile of the scans after a save.
//   ROUTES=10000 RUNS=21 npm run bench:filesrc
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resourceKey } from '../src/resources/schema.js';
import { ManifestDirectory, SourceState, type ResourceSet } from '../src/sources/file.js';
import { sameResources } from '../src/sources/file/watch.js';
import { estateDocs, workspacesFor, type Doc } from './estate.js';
import { median } from './stats.js';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 21);
const WS = workspacesFor(ROUTES);

const dir = mkdtempSync(join(tmpdir(), 'perf-filesrc-bench-'));
const files = new Map<string, Doc[]>();
for (const d of estateDocs({ workspaces: WS })) {
  const f = `${d.metadata.namespace ?? 'cluster'}.yaml`;
  files.set(f, [...(files.get(f) ?? []), d]);
}
const save = (file: string) => writeFileSync(join(dir, file), files.get(file)!.map((d) => stringify(d)).join('---\n'));
for (const file of files.keys()) save(file);

/** The watcher's change check before issue 10, the peer: a digest of the whole set. */
const wholeSetDigest = (set: ResourceSet) =>
  createHash('sha256').update(JSON.stringify([set.resources.map((r) => [resourceKey(r), r.spec, r.body, r.metadata]), set.rejected, set.diagnostics])).digest('hex');

const time = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

try {
  const md = new ManifestDirectory(dir, new SourceState(join(dir, '.meshplane-state.json')));
  let set = md.scan();
  const scanMs: number[] = [];
  const checkMs: number[] = [];
  const digestMs: number[] = [];
  const saveMs: number[] = [];
  const session = new Session();
  if (process.env.CPU_PROF) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  for (let i = 0; i < RUNS; i++) {
    const list = files.get(`ws-${1 + (i % (WS - 1 || 1))}.yaml`)!;
    const t = list.find((d) => d.kind === 'RouteTable' && d.metadata.name === 'gc-3')! as Doc & { spec: { http: Array<Record<string, unknown>> } };
    t.spec.http[0] = { ...t.spec.http[0], matchers: [{ uri: { prefix: `/edited/${i}` } }] };
    save(`ws-${1 + (i % (WS - 1 || 1))}.yaml`);
    // As the watcher scans once the quiet period has passed.
    if (process.env.CPU_PROF) await session.post('Profiler.start');
    // As the watcher does: the scan, the set handed on, then the state file written.
    scanMs.push(time(() => (set = md.scan({ settleMs: 20, now: Date.now() + 1000, deferSave: true }))));
    saveMs.push(time(() => md.saveState()));
    if (process.env.CPU_PROF) writeFileSync(`${process.env.CPU_PROF}.${i}`, JSON.stringify((await session.post('Profiler.stop')).profile));
    // The watcher's check now: resource identity against the last set, and the (few) problems.
    const last = set;
    checkMs.push(time(() => sameResources(last.resources, set.resources) && JSON.stringify([set.rejected, set.diagnostics])));
    digestMs.push(time(() => wholeSetDigest(set)));
  }
  const fullMs = Array.from({ length: 5 }, () => time(() => md.scan({ settleMs: 20, now: Date.now() + 1000 })));
  console.log(JSON.stringify({ routes: ROUTES, files: files.size, resources: set.resources.length, runs: RUNS, scanAfterOneSaveMs: median(scanMs), stateFileWriteMs: median(saveMs), changeCheckMs: median(checkMs), wholeSetDigestMs: median(digestMs), scanNothingChangedMs: median(fullMs) }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
