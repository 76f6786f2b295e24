// The core half of the fuzz test (issue 9): random estates through core,
// translate and Envoy encoding. No exception escapes, every case finishes under
// a bound, memory stays under a bound. FUZZ_RUNS raises the case count
// (`npm run fuzz`); CI runs the default.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore, createCore } from '../../../src/core/index.js';
import { translateAll } from '../../../src/translate/index.js';
import { buildSnapshot } from '../../../src/xds/snapshot.js';
import { estateArbitrary, validResources } from '../../support/fuzz-core.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const CASE_BOUND_MS = 10_000; // a bound against blow-ups (exponential, backtracking), not a performance target
const HEAP_BOUND = 1.5 * 1024 ** 3;

describe('core fuzz', () => {
  it(`computes, translates and encodes ${RUNS} random estates without an exception, each under a time and memory bound`, () => {
    let slowest = { ms: 0, note: '' };
    let peakHeap = 0;
    const memo = createCore(); // the memoised core must agree with a fresh one on every input
    fc.assert(
      fc.property(estateArbitrary, ({ docs, note }) => {
        const started = performance.now();
        const resources = validResources(docs);
        const core = computeCore(resources);
        expect(JSON.stringify(memo(resources))).toBe(JSON.stringify(core));
        for (const [, envoy] of translateAll(core.ir, { listenerAddress: '127.0.0.1' })) buildSnapshot(envoy);
        const ms = performance.now() - started;
        if (ms > slowest.ms) slowest = { ms, note };
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        expect(ms, note).toBeLessThan(CASE_BOUND_MS);
        expect(peakHeap).toBeLessThan(HEAP_BOUND);
      }),
      { numRuns: RUNS },
    );
    console.log(`core fuzz: ${RUNS} cases, slowest ${Math.round(slowest.ms)} ms (${slowest.note}), peak heap ${Math.round(peakHeap / 2 ** 20)} MiB`);
  }, 600_000);
});
