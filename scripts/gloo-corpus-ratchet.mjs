#!/usr/bin/env node
// The Gloo corpus ratchet: runs the external compatibility suite (check.mjs of
// ../shared/gloo-corpus, not part of this repo) against this checkout and
// fails when fewer examples are ACCEPTED than scripts/gloo-corpus-count.json
// records, or when any example crashes meshplane. Progress lands by raising
// the recorded count in the same commit that makes more examples pass.
//
//   node scripts/gloo-corpus-ratchet.mjs [--corpus DIR]
//
// The corpus is found at --corpus, $GLOO_CORPUS, or the first
// <ancestor>/shared/gloo-corpus above this checkout.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flagAt = args.indexOf('--corpus');

function findCorpus() {
  if (flagAt >= 0) return resolve(args[flagAt + 1] ?? '');
  if (process.env.GLOO_CORPUS) return resolve(process.env.GLOO_CORPUS);
  for (let d = dirname(repo); ; d = dirname(d)) {
    const c = join(d, 'shared', 'gloo-corpus');
    if (existsSync(join(c, 'check.mjs'))) return c;
    if (dirname(d) === d) return undefined;
  }
}

const corpus = findCorpus();
if (!corpus || !existsSync(join(corpus, 'check.mjs'))) {
  console.error(`gloo corpus: check.mjs not found (looked at ${corpus ?? 'every <ancestor>/shared/gloo-corpus'}); set GLOO_CORPUS to the corpus directory`);
  process.exit(1);
}
const recorded = JSON.parse(readFileSync(join(repo, 'scripts/gloo-corpus-count.json'), 'utf8'));
console.log(`gloo corpus: ${corpus} (recorded: at least ${recorded.accepted} accepted, no crash)`);
const run = spawnSync(process.execPath, [join(corpus, 'check.mjs'), '--meshplane', repo], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
process.stdout.write(run.stdout ?? '');
const last = (run.stdout ?? '').trim().split('\n').pop() ?? '';
const m = /^(\d+) accepted, (\d+) partial, (\d+) rejected, (\d+) crash$/.exec(last);
if (run.status !== 0 || !m) {
  console.error(`gloo corpus: check.mjs did not finish (exit ${run.status ?? run.signal}); last line: ${last}`);
  process.exit(1);
}
const [accepted, , , crash] = m.slice(1).map(Number);
if (crash > 0) {
  console.error(`gloo corpus: FAILED: ${crash} example(s) crash meshplane explain (see CRASH lines above)`);
  process.exit(1);
}
if (accepted < recorded.accepted) {
  console.error(`gloo corpus: FAILED: ${accepted} accepted, fewer than the ${recorded.accepted} recorded in scripts/gloo-corpus-count.json; run node ${join(corpus, 'check.mjs')} --verbose to see what regressed`);
  process.exit(1);
}
if (accepted > recorded.accepted) console.log(`gloo corpus: ${accepted} accepted, more than the ${recorded.accepted} recorded: raise "accepted" in scripts/gloo-corpus-count.json`);
console.log(`gloo corpus: passed (${last})`);
