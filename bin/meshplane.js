#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm run build`; `npm ci` builds it through
// the prepare script). The package's `bin` points at dist/cli/main.js directly;
// this launcher is for a checkout: when src/ was edited after the last build it
// runs the TypeScript through tsx (a dev dependency) so what runs is never stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/cli/main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const src = join(root, 'src');
const stale = !existsSync(built) || (existsSync(src) && newestSource(src) > statSync(built).mtimeMs);
if (!stale) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(`meshplane: ${existsSync(built) ? 'dist/ is older than src/' : 'dist/ is missing'}; run \`npm run build\`\n`);
    process.exit(2);
  }
  register();
  await import(pathToFileURL(join(src, 'cli/main.ts')).href);
}
