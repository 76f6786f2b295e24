// The file source assembles a scan's set from the files that changed only (a
// save touches one file of hundreds). It must give exactly what assembling
// every file gives: the same resources in the same order with the same
// creation times, the same problems, and the same state file, over random
// sequences of saves, additions, removals, moves, duplicates, invalid edits,
// new and deleted files.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState } from '../../src/sources/file.js';

/** A small deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

const rt = (name: string, status: number, bad: boolean) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]${bad ? ', hostz: [x]' : ''}}\n`;

interface Doc { name: string; status: number; bad: boolean }

describe('file source: assembling the changed files only', () => {
  it('gives what assembling every file gives, over 60 random edit sequences', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const pick = rng(seed);
      const dir = mkdtempSync(join(tmpdir(), 'mp-inc-'));
      const states = mkdtempSync(join(tmpdir(), 'mp-inc-state-'));
      let now = Date.UTC(2024, 0, 1);
      const clock = () => new Date(now);
      const quick = new ManifestDirectory(dir, new SourceState(join(states, 'quick.json'), true, clock));
      const whole = new ManifestDirectory(dir, new SourceState(join(states, 'whole.json'), true, clock), [], { wholeAssemble: true });
      const files = new Map<string, Doc[]>();
      const write = (f: string) => writeFileSync(join(dir, f), files.get(f)!.map((d) => rt(d.name, d.status, d.bad)).join('---\n'));
      for (let f = 0; f < 8; f++) {
        files.set(`f${f}.yaml`, Array.from({ length: 1 + pick(3) }, (_, i) => ({ name: `t-${f}-${i}`, status: 200, bad: false })));
        write(`f${f}.yaml`);
      }
      let fresh = 0;
      for (let step = 0; step < 25; step++) {
        const names = [...files.keys()];
        const f = names[pick(names.length)];
        const docs = files.get(f)!;
        switch (pick(9)) {
          case 0: case 1: case 2: // a save that changes one document
            if (docs.length) docs[pick(docs.length)].status = 200 + pick(300);
            break;
          case 3: // a document added
            docs.push({ name: `n-${fresh++}`, status: 201, bad: false });
            break;
          case 4: // a document removed
            if (docs.length) docs.splice(pick(docs.length), 1);
            break;
          case 5: { // a document moved to another file
            const to = names[pick(names.length)];
            if (docs.length && to !== f) files.get(to)!.push(...docs.splice(pick(docs.length), 1)), write(to);
            break;
          }
          case 6: { // the same resource in two files (the first file's wins)
            const to = names[pick(names.length)];
            if (docs.length && to !== f) files.get(to)!.push({ ...docs[pick(docs.length)] }), write(to);
            break;
          }
          case 7: // an invalid edit: its last valid version stays served
            if (docs.length) docs[pick(docs.length)].bad = pick(2) === 0;
            break;
          default: // a file created, or deleted
            if (pick(2) && files.size > 2) {
              files.delete(f);
              unlinkSync(join(dir, f));
            } else files.set(`g${fresh++}.yaml`, [{ name: `n-${fresh++}`, status: 202, bad: false }]);
        }
        for (const name of files.keys()) if (name === f || !existsSync(join(dir, name))) write(name);
        now += 1000;
        const a = quick.scan();
        const b = whole.scan();
        const where = `seed ${seed} step ${step}`;
        expect(a.resources, where).toEqual(b.resources);
        expect(a.rejected, where).toEqual(b.rejected);
        expect(a.diagnostics, where).toEqual(b.diagnostics);
        expect(readFileSync(join(states, 'quick.json'), 'utf8'), where).toBe(readFileSync(join(states, 'whole.json'), 'utf8'));
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(states, { recursive: true, force: true });
    }
  });
});
