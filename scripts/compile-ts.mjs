// Bundles a TypeScript entry with esbuild (packages external) into
// dist/compiled/<name>.mjs, two levels under the checkout as src/<stage>/<file>
// is, so paths the code finds from its own location (src/xds/protos.ts:
// ../../proto) still hold. Benchmarks run what `meshplane serve` runs, compiled,
// not through tsx (whose kept function names cost the core 5-10% of its CPU).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function compile(entry) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const outdir = join(root, 'dist/compiled');
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, basename(entry).replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning', sourcemap: 'inline' });
  return outfile;
}
