// Issue 9, the source half of the fuzz test: fixtures mutated as YAML text
// and fed to the file source. No exception escapes, every run finishes within
// a bound, memory stays within a bound, and a bad file only affects itself.
// CI runs FUZZ_RUNS (default 200) cases; `npm run fuzz` runs many more.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { resourceKey } from '../../../src/resources/schema.js';
import { ManifestDirectory, SourceState, parseManifestText } from '../../../src/sources/file.js';
import { fuzzCase, loadFixtures, writeCase } from '../../support/fuzz.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Bounds, not performance targets: a run past them is a freeze or a leak. */
const MAX_CASE_MS = 20_000;
const MAX_RSS = 1.5 * 1024 ** 3;

const root = mkdtempSync(join(tmpdir(), 'filesrc-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fuzz: the file source never breaks on mutated fixtures', () => {
  it(`${RUNS} cases: no exception, bounded time and memory, other files unaffected, last valid content kept`, () => {
    const fixtures = new Map(loadFixtures().map((f) => [f.name, f]));
    const stats = { cases: 0, slowestMs: 0, slowest: '', peakRss: 0, fileErrors: 0, limits: {} as Record<string, number> };
    fc.assert(
      fc.property(fuzzCase(), (c) => {
        const dir = join(root, 'case');
        const fixture = fixtures.get(c.fixture)!;
        writeCase(dir, fixture.files);
        const md = new ManifestDirectory(dir, new SourceState(undefined, false));
        const before = md.scan();
        writeCase(dir, c.files);
        const started = performance.now();
        const after = md.scan();
        for (const name of c.mutated) parseManifestText(c.files[name], name);
        const ms = performance.now() - started;
        const rss = process.memoryUsage().rss;
        stats.cases++;
        if (ms > stats.slowestMs) Object.assign(stats, { slowestMs: ms, slowest: c.describe });
        stats.peakRss = Math.max(stats.peakRss, rss);
        expect(ms, c.describe).toBeLessThan(MAX_CASE_MS);
        expect(rss, c.describe).toBeLessThan(MAX_RSS);

        // Files that were not mutated serve all they served before.
        const servedFrom = (set: typeof before, file: string) => new Set(set.resources.filter((r) => r.source?.file.endsWith(`/${file}`)).map(resourceKey));
        for (const file of Object.keys(c.files).filter((f) => !c.mutated.includes(f))) {
          expect([...servedFrom(after, file)].sort(), `${c.describe}: ${file}`).toEqual([...servedFrom(before, file)].sort());
        }
        // A mutated file that cannot be read keeps what it served.
        for (const file of c.mutated) {
          const fileStatus = after.rejected.find((r) => r.key.endsWith(`/${file}`) && r.key.startsWith('file:'));
          if (!fileStatus) continue;
          stats.fileErrors++;
          const keys = new Set(after.resources.map(resourceKey));
          for (const k of servedFrom(before, file)) expect(keys.has(k), `${c.describe}: ${k} from ${file}`).toBe(true);
        }
        // Every problem is reported with something to act on.
        for (const r of after.rejected) expect(r.messages.length, r.key).toBeGreaterThan(0);
        for (const flag of new Set(after.rejected.flatMap((r) => r.messages.join().match(/--max-[a-z-]+/g) ?? []))) stats.limits[flag] = (stats.limits[flag] ?? 0) + 1;
      }),
      { numRuns: RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
    console.log(`fuzz-source: ${stats.cases} cases, 0 crashes, ${stats.fileErrors} unreadable files kept their content, slowest ${Math.round(stats.slowestMs)} ms (${stats.slowest.slice(0, 200)}), peak RSS ${Math.round(stats.peakRss / 1024 / 1024)} MiB; cases that hit a limit: ${JSON.stringify(stats.limits)}`);
  }, Math.max(60_000, RUNS * 2_000));
});
