#!/usr/bin/env node
// Runs a TypeScript benchmark compiled ahead by esbuild (bundled, packages
// external) instead of through tsx: tsx keeps function names by wrapping
// every function expression, which the tsc build that `meshplane serve`
// runs does not, and which costs the core 5-10% of its CPU.
//   node scripts/run-compiled.mjs [node flags] bench/core.bench.ts
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const args = process.argv.slice(2);
const entry = args.findIndex((a) => a.endsWith('.ts'));
if (entry < 0) throw new Error('usage: run-compiled.mjs [node flags] <entry.ts> [args]');
const outdir = resolve('node_modules/.cache/meshplane-compiled');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, basename(args[entry]).replace(/\.ts$/, '.mjs'));
await build({ entryPoints: [args[entry]], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning', sourcemap: 'inline' });
const run = spawnSync(process.execPath, ['--enable-source-maps', ...args.slice(0, entry), outfile, ...args.slice(entry + 1)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
