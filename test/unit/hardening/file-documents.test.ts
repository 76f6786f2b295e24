// Issue 10: a file is parsed document by document, and a save re-parses only
// the documents it changed. Cut or whole, the result must be the same: every
// fixture, fuzz-mutated fixtures and the edge cases of YAML's document markers
// give what reading the file whole gives.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseManifestText, type ParsedManifest } from '../../../src/sources/file.js';
import { parseWholeManifest } from '../../../src/sources/file/manifest.js';
import { splitDocuments } from '../../../src/sources/file/documents.js';
import { fuzzCase, loadFixtures } from '../../support/fuzz.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const rt = (name: string, status = 200) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]}\n`;
const plain = ({ documents: _d, ...p }: ParsedManifest) => p;
const same = (text: string, file = 'f.yaml') => expect(plain(parseManifestText(text, file)), text.slice(0, 300)).toEqual(plain(parseWholeManifest(text, file)));

describe('a file parsed document by document', () => {
  it('gives what reading it whole gives, for every fixture', () => {
    for (const f of loadFixtures()) for (const [name, text] of Object.entries(f.files)) same(text, name);
  });

  it('gives what reading it whole gives, at document markers, comments, empty documents and bad documents', () => {
    const bad = rt('b').replace('spec: {', 'spec: {hostz: [x], ');
    for (const text of [
      `${rt('a')}---\n${rt('b')}`,
      `---\n${rt('a')}---\n${rt('b')}---\n`,
      `# a comment\n\n---\n${rt('a')}---\n# between\n${rt('b')}`,
      `${rt('a')}# trailing comment\n---\n---\n${rt('b')}`,
      `${rt('a')}--- # a comment on the marker\n${rt('b')}`,
      `${rt('a')}---\n${bad}---\n${rt('c')}`, // an invalid resource: its problems on the file's lines
      `${rt('a')}---\nkind: [\n---\n${rt('c')}`, // YAML syntax: read whole
      `${rt('a')}---\nx: &a [1]\n---\ny: *a\n`, // an alias into another document
      `${rt('a')}...\n---\n${rt('b')}`,
      `%YAML 1.2\n---\n${rt('a')}---\n${rt('b')}`,
      `${rt('a')}---\r\n${rt('b')}`,
      `${rt('a')}---\nx: |\n  ---\n  text\n---\n${rt('b')}`,
      `${rt('a')}----\n${rt('b')}`,
      `--- |\nroot scalar\n---\n${rt('b')}`,
    ]) same(text);
  });

  it(`gives what reading it whole gives, for ${RUNS} fuzz-mutated fixtures`, () => {
    fc.assert(
      fc.property(fuzzCase(), (c) => {
        for (const name of c.mutated) same(c.files[name], name);
      }),
      { numRuns: RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
  }, Math.max(60_000, RUNS * 1_000));

  it('parses again only the documents a save changed: the others keep their resource objects', () => {
    const docs = Array.from({ length: 30 }, (_, i) => rt(`r${i}`));
    const first = parseManifestText(docs.join('---\n'), 'f.yaml');
    expect(first.documents?.size).toBe(30);
    const edited = [...docs];
    edited[12] = rt('r12', 201);
    const text = edited.join('---\n');
    const second = parseManifestText(text, 'f.yaml', undefined, first.documents);
    expect(plain(second)).toEqual(plain(parseWholeManifest(text, 'f.yaml')));
    second.resources.forEach((r, i) => (i === 12 ? expect(r).not.toBe(first.resources[i]) : expect(r).toBe(first.resources[i])));
    // A document moved down a line is parsed again (its line numbers changed).
    const shifted = `# new first line\n${text}`;
    const third = parseManifestText(shifted, 'f.yaml', undefined, second.documents);
    expect(plain(third)).toEqual(plain(parseWholeManifest(shifted, 'f.yaml')));
    expect(third.resources[5]).not.toBe(second.resources[5]);
    expect(third.resources[5].source?.line).toBe(second.resources[5].source!.line! + 1);
  });

  it('is cut only at markers at the start of a line', () => {
    const text = stringify({ a: 1 }) + '---\n' + stringify({ b: '---' }) + '--- \n' + stringify({ c: 2 });
    expect(splitDocuments(text)?.map((d) => [d.line, d.text])).toEqual([
      [0, 'a: 1\n'],
      [1, '---\nb: ---\n'],
      [3, '--- \nc: 2\n'],
    ]);
    expect(splitDocuments('%YAML 1.2\n---\na: 1\n')).toBeUndefined();
  });
});
