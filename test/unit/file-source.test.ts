// The file source: creation times that survive restarts, and bad files that
// never take away what was served.
import { mkdtempSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CreationClock, ManifestDirectory } from '../../src/sources/file.js';

const rt = (name: string, extra = '') =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: 200}}]${extra}}\n`;

describe('creation times', () => {
  it('are recorded on first sight and survive a restart; a deleted resource starts over', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-clock-'));
    const state = join(dir, '.meshplane-state.json');
    writeFileSync(join(dir, 'a.yaml'), rt('a') + '---\n' + rt('b'));
    let now = new Date('2024-05-01T00:00:00Z');
    const first = new ManifestDirectory(dir, new CreationClock(state, true, () => now)).scan();
    const times = Object.fromEntries(first.resources.map((r) => [r.metadata.name, r.metadata.creationTimestamp]));
    expect(times).toEqual({ a: '2024-05-01T00:00:00.000Z', b: '2024-05-01T00:00:00.000Z' });

    now = new Date('2024-06-01T00:00:00Z'); // "restart" a month later
    const again = new ManifestDirectory(dir, new CreationClock(state, true, () => now)).scan();
    expect(again.resources.map((r) => r.metadata.creationTimestamp)).toEqual(['2024-05-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z']);

    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    new ManifestDirectory(dir, new CreationClock(state, true, () => now)).scan(); // b is gone
    writeFileSync(join(dir, 'a.yaml'), rt('a') + '---\n' + rt('b'));
    const back = new ManifestDirectory(dir, new CreationClock(state, true, () => now)).scan();
    expect(back.resources.find((r) => r.metadata.name === 'b')!.metadata.creationTimestamp).toBe('2024-06-01T00:00:00.000Z');

    // explain reads but never records
    const readOnly = new ManifestDirectory(dir, new CreationClock(state, false)).scan();
    expect(readOnly.resources.find((r) => r.metadata.name === 'a')!.metadata.creationTimestamp).toBe('2024-05-01T00:00:00.000Z');
  });

  it('keeps a timestamp written in the manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-clock-'));
    writeFileSync(join(dir, 'a.yaml'), rt('a').replace('namespace: apps}', 'namespace: apps, creationTimestamp: "2020-01-01T00:00:00Z"}'));
    const set = new ManifestDirectory(dir, new CreationClock(join(dir, '.s.json'))).scan();
    expect(set.resources[0].metadata.creationTimestamp).toBe('2020-01-01T00:00:00Z');
  });
});

describe('bad files', () => {
  it('serve the last valid version of an edited resource and report the new problem with its field path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-bad-'));
    const md = new ManifestDirectory(dir, new CreationClock(undefined, false));
    writeFileSync(join(dir, 'a.yaml'), rt('a') + '---\n' + rt('b'));
    expect(md.scan().resources).toHaveLength(2);
    writeFileSync(join(dir, 'a.yaml'), rt('a', ', hostz: [x]') + '---\n' + rt('b'));
    const set = md.scan();
    expect(set.resources.map((r) => r.metadata.name).sort()).toEqual(['a', 'b']);
    // The location is the unknown key itself (line 4 holds spec), not the document's first line.
    const specLine = rt('a', ', hostz: [x]').split('\n')[3];
    expect(set.diagnostics[0]).toMatchObject({ document: 0, line: 4, column: specLine.indexOf('hostz') + 1, resource: 'RouteTable/apps/a', keptPrevious: true, problems: [{ path: 'spec.hostz', message: 'unknown field' }] });
    // Broken YAML keeps the whole file's last resources.
    writeFileSync(join(dir, 'a.yaml'), 'kind: [');
    const broken = md.scan();
    expect(broken.resources.map((r) => r.metadata.name).sort()).toEqual(['a', 'b']);
    expect(broken.rejected[0].key).toMatch(/^file:.*a\.yaml$/);
    // Deleting the file is a real change: its resources go.
    unlinkSync(join(dir, 'a.yaml'));
    expect(md.scan().resources).toHaveLength(0);
  });
});
