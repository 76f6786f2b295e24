#!/usr/bin/env node
// Runs a TypeScript benchmark compiled ahead (scripts/compile-ts.mjs).
//   node scripts/run-compiled.mjs [node flags] bench/core.bench.ts [args]
import { spawnSync } from 'node:child_process';
import { compile } from './compile-ts.mjs';

const args = process.argv.slice(2);
const entry = args.findIndex((a) => a.endsWith('.ts'));
if (entry < 0) throw new Error('usage: run-compiled.mjs [node flags] <entry.ts> [args]');
const outfile = await compile(args[entry]);
const run = spawnSync(process.execPath, ['--enable-source-maps', ...args.slice(0, entry), outfile, ...args.slice(entry + 1)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
