#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a runtime dependency), so what runs is
// always the source in this checkout: there is no build output to go stale.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'src/cli/main.ts')).href);
