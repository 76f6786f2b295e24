// IR -> Envoy: a golden file for the bundled example, and every gateway of every
// scenario fixture encoded with the strict field check (no silently dropped fields).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { translateAll } from '../../src/translate/index.js';
import { duration } from '../../src/translate/types.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';
import { loadScenario } from '../support/scenario.js';

const ROOT = join(import.meta.dirname, '../..');
const opts = { listenerAddress: '0.0.0.0' };

describe('translate', () => {
  it('matches the golden Envoy config for examples/basic', () => {
    const core = loadScenario(join(ROOT, 'examples/basic'));
    const out = Object.fromEntries(translateAll(core.ir, opts));
    const file = join(ROOT, 'test/fixtures/golden/examples-basic.json');
    const text = JSON.stringify(out, null, 2) + '\n';
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  const scenarios = readdirSync(join(ROOT, 'test/fixtures/scenarios')).sort();
  it.each(scenarios)('encodes every resource of %s with known fields only', (name) => {
    const core = loadScenario(join(ROOT, 'test/fixtures/scenarios', name));
    for (const [, resources] of translateAll(core.ir, opts)) {
      const snap = buildSnapshot(resources, true);
      expect(snap.listener.resources.size).toBe(resources.listener.length);
    }
  });

  it('translates invalid routes to a 500 without internal names', () => {
    const core = loadScenario(join(ROOT, 'test/fixtures/scenarios/import-export-not-shared'));
    const gw = translateAll(core.ir, opts).get('gateway:target/gw')!;
    const vhost = (gw.route[0].body.virtualHosts as Array<{ routes: Array<Record<string, any>> }>)[0];
    const bad = vhost.routes.find((r) => String(r.name).includes('to-app'))!;
    expect(bad.directResponse.status).toBe(500);
    expect(bad.directResponse.body.inlineString).not.toMatch(/source|app|target/);
  });

  it('parses durations', () => {
    expect(duration('1.5s')).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(duration('250ms')).toEqual({ seconds: 0, nanos: 250_000_000 });
    expect(duration('2m')).toEqual({ seconds: 120, nanos: 0 });
  });
});
