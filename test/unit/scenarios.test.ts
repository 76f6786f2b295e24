// Every fixture directory under test/fixtures/scenarios is a scenario from the
// seeds: manifests in, expected routes, labels, policies and status out.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { checkScenario, hasExpected } from '../support/scenario.js';

const ROOT = join(import.meta.dirname, '../fixtures/scenarios');
const dirs = readdirSync(ROOT).filter((d) => hasExpected(join(ROOT, d))).sort();

describe('seed scenarios', () => {
  for (const d of dirs) it(d, () => void checkScenario(join(ROOT, d)));
});
