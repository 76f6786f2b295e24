// Issue 9, class 3: one bad YAML file never blocks the others. Aliases are
// limited by the size of their expansion, not their count; unresolved and
// cyclic aliases, deep nesting and oversized files are problems of that file
// only, reported on `file:<path>`, and the file keeps its last valid content.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState, parseManifestText } from '../../../src/sources/file.js';
import { REPO_ROOT } from '../../support/envoy.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'filesrc-yaml-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const rt = (name: string) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: 200}}]}\n`;

/** 2 + 9 + 81 + ... nodes: "billion laughs" with `levels` levels of 9 aliases. */
function aliasBomb(levels: number): string {
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let prev = 'a';
  for (let i = 1; i <= levels; i++) {
    const n = `l${i}`;
    text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    prev = n;
  }
  return text;
}

const BAD: Record<string, string> = {
  'bomb.yaml': aliasBomb(9),
  'unresolved.yaml': rt('u') + 'extra: *nowhere\n',
  'cycle.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: &m {name: c, labels: {self: *m}}\n',
  'deep.yaml': 'a: ' + '['.repeat(100_000),
  'deep-block.yaml': Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
  'dup.yaml': rt('d') + 'kind: RouteTable\n',
};

describe('a bad YAML file affects only itself', () => {
  it('serves every other file and reports each bad one on file:<path>, naming what is wrong', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), rt('good'));
    for (const [name, text] of Object.entries(BAD)) writeFileSync(join(dir, name), text);
    const set = new ManifestDirectory(dir, new SourceState(undefined, false)).scan();
    expect(set.resources.map((r) => r.metadata.name)).toEqual(['good']);
    const status = Object.fromEntries(set.rejected.map((r) => [r.key.replace(/^file:.*\//, ''), r.messages.join('\n')]));
    expect(status['bomb.yaml']).toMatch(/aliases expand to more than 400000 nodes \(--max-yaml-alias-nodes\)/);
    expect(status['unresolved.yaml']).toMatch(/unresolved\.yaml:5:8 \(document 0\): YAML: alias \*nowhere has no anchor/);
    expect(status['cycle.yaml']).toMatch(/alias \*m is inside the value it refers to \(a cycle\)/);
    expect(status['deep.yaml']).toMatch(/nested more than 100 levels deep \(--max-yaml-depth\)/);
    expect(status['deep-block.yaml']).toMatch(/nested more than 100 levels deep/);
    expect(status['dup.yaml']).toMatch(/dup\.yaml:5:1 \(document 0\): YAML: map keys must be unique; "kind" is repeated/);
  });

  it('keeps the last valid content of a file that turns bad, as for a syntax error', () => {
    const dir = tempDir();
    const md = new ManifestDirectory(dir, new SourceState(undefined, false));
    writeFileSync(join(dir, 'good.yaml'), rt('good'));
    for (const name of Object.keys(BAD)) writeFileSync(join(dir, name), rt(name.replace('.yaml', '')));
    expect(md.scan().resources).toHaveLength(1 + Object.keys(BAD).length);
    for (const [name, text] of Object.entries(BAD)) writeFileSync(join(dir, name), text);
    const set = md.scan();
    expect(set.resources.map((r) => r.metadata.name).sort()).toEqual(['good', ...Object.keys(BAD).map((n) => n.replace('.yaml', ''))].sort());
    for (const r of set.rejected) expect(r.messages.join(), r.key).toContain('the last valid version is still served');
  });

  it('accepts hundreds of `<<: *defaults` merges: aliases are limited by expansion size, not count', () => {
    const routes = Array.from({ length: 300 }, (_, i) => `  - <<: *route\n    name: r${i}\n`).join('');
    const text = `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: merged, namespace: apps}\nspec:\n  http:\n  - &route {name: first, directResponse: {status: 204}}\n${routes}`;
    const parsed = parseManifestText(text, 'merged.yaml');
    expect(parsed.rejectedKeys).toEqual([]);
    const http = (parsed.resources[0].spec as { http: Array<{ name: string; directResponse: { status: number } }> }).http;
    expect(http).toHaveLength(301);
    expect(http[300]).toEqual({ name: 'r299', directResponse: { status: 204 } }); // explicit keys win over merged ones

    // Few aliases, huge expansion: refused; a lower limit is a flag away.
    expect(parseManifestText(aliasBomb(6), 'b.yaml').rejectedKeys[0].messages[0]).toMatch(/aliases expand to more than/);
    expect(parseManifestText(aliasBomb(3), 'b.yaml', { maxFileBytes: 1e6, maxDepth: 100, maxAliasNodes: 500, maxDocumentNodes: 1e5 }).rejectedKeys[0].messages[0]).toMatch(/more than 500 nodes/);
  });

  it('reports a bounded list of problems: the first 50 with their locations, then a count', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n');
    const parsed = parseManifestText(`apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: x, namespace: a}\n${keys}\n`, 'x.yaml');
    const messages = parsed.rejectedKeys[0].messages;
    expect(messages).toHaveLength(51);
    expect(messages[49]).toBe('x.yaml:53:1 (document 0): k49: unknown field');
    expect(messages[50]).toMatch(/and 19950 more problems/);
  });

  it('never lets a `__proto__` key reach an object prototype', () => {
    const parsed = parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata: {name: p}\nspec: {__proto__: {polluted: yes}}\n', 'p.yaml');
    expect(parsed.resources).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('file limits', () => {
  it('a file over --max-file-bytes is not read: status on the file, its last content kept, the limit is configurable', () => {
    const dir = tempDir();
    const state = new SourceState(undefined, false);
    writeFileSync(join(dir, 'big.yaml'), rt('big'));
    const small = new ManifestDirectory(dir, state, [], { limits: { maxFileBytes: 200 } });
    expect(small.scan().resources).toHaveLength(1);
    writeFileSync(join(dir, 'big.yaml'), rt('big') + '---\n' + rt('bigger'));
    const set = small.scan();
    expect(set.resources.map((r) => r.metadata.name)).toEqual(['big']);
    expect(set.rejected[0].key).toMatch(/^file:.*big\.yaml$/);
    expect(set.rejected[0].messages[0]).toMatch(/the file has 3\d\d bytes, more than the 200 bytes a file may have \(--max-file-bytes\).*still served/);
    expect(new ManifestDirectory(dir, state, [], { limits: { maxFileBytes: 1000 } }).scan().resources).toHaveLength(2);
  });

  it('a document over --max-yaml-document-nodes is refused before it is parsed', () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\nspec: {a: [${Array(2000).fill('1').join(',')}]}\n`;
    expect(parseManifestText(text, 'n.yaml').resources).toHaveLength(1);
    const refused = parseManifestText(text, 'n.yaml', { maxFileBytes: 1e6, maxDepth: 100, maxAliasNodes: 1e5, maxDocumentNodes: 1000 });
    expect(refused.rejectedKeys[0].messages[0]).toMatch(/n\.yaml:4:\d+: YAML: a document has more than 1000 nodes \(--max-yaml-document-nodes\)/);
  });

  it('limits are checked when configured: a depth over what the parser can take is refused', () => {
    expect(() => new ManifestDirectory(tempDir(), new SourceState(undefined, false), [], { limits: { maxDepth: 1000 } })).toThrow(/--max-yaml-depth can be at most 256/);
    expect(() => new ManifestDirectory(tempDir(), new SourceState(undefined, false), [], { limits: { maxFileBytes: -1 } })).toThrow(/--max-file-bytes must be a positive integer/);
  });
});

describe('explain with a bad file', () => {
  it('exits 0, serves the good files and names the bad file in its status', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), rt('good'));
    writeFileSync(join(dir, 'bomb.yaml'), aliasBomb(9));
    writeFileSync(join(dir, 'unresolved.yaml'), 'a: *nope\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'explain', '--config-dir', dir], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const view = JSON.parse(out) as { status: Record<string, { state: string; messages: string[] }> };
    expect(view.status['RouteTable/apps/good']).toBeDefined();
    expect(view.status[`file:${join(dir, 'bomb.yaml')}`]).toMatchObject({ state: 'INVALID' });
    expect(view.status[`file:${join(dir, 'unresolved.yaml')}`].messages[0]).toMatch(/unresolved\.yaml:1:4 .*alias \*nope/);
  });
});
