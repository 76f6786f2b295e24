// Issue 9, class 6: last-good survives a restart. The state file keeps the
// last valid version of every resource next to its first-seen time, so a
// restarted meshplane serves exactly what it served before, even when files
// are broken by then.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestDirectory, SourceState, STATE_VERSION } from '../../../src/sources/file.js';
import { REPO_ROOT } from '../../support/envoy.js';
import { startMeshplane, type MeshplaneHandle } from '../../support/meshplane.js';
import { freePort, waitFor } from '../../support/net.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'filesrc-restart-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const rt = (name: string, status = 200) =>
  `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps}\nspec: {http: [{name: r, directResponse: {status: ${status}}}]}\n`;
const strip = (rs: Array<{ source?: unknown }>) => rs.map(({ source: _s, ...r }) => r);

describe('the state file', () => {
  it('gives a restarted source the last valid version of broken files and broken resources', () => {
    const dir = tempDir();
    const state = join(dir, '.meshplane-state.json');
    writeFileSync(join(dir, 'a.yaml'), rt('a') + '---\n' + rt('b'));
    writeFileSync(join(dir, 'c.yaml'), rt('c'));
    const before = new ManifestDirectory(dir, new SourceState(state)).scan();
    expect(before.resources).toHaveLength(3);

    writeFileSync(join(dir, 'a.yaml'), 'kind: [');
    writeFileSync(join(dir, 'c.yaml'), rt('c', 999).replace('spec: {', 'spec: {hostz: [x], '));
    const after = new ManifestDirectory(dir, new SourceState(state)).scan(); // a restart
    expect(strip(after.resources)).toEqual(strip(before.resources));
    const kept = after.rejected.filter((r) => r.messages.every((m) => m.includes('the last valid version is still served')));
    expect(kept.map((r) => r.key.replace(/^file:.*\//, 'file:'))).toEqual(['file:a.yaml', 'RouteTable/apps/c']);
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    expect(saved.version).toBe(STATE_VERSION);
    expect(Object.keys(saved.resources)).toEqual(['RouteTable/apps/a', 'RouteTable/apps/b', 'RouteTable/apps/c']);
    expect(saved.files).toEqual({ 'a.yaml': ['RouteTable/apps/a', 'RouteTable/apps/b'], 'c.yaml': ['RouteTable/apps/c'] });

    // Deleting the file is a real change: its resources are gone, also from the state.
    rmSync(join(dir, 'a.yaml'));
    expect(new ManifestDirectory(dir, new SourceState(state)).scan().resources.map((r) => r.metadata.name)).toEqual(['c']);
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')).resources)).toEqual(['RouteTable/apps/c']);
  });

  it('reads the version 1 format (first-seen times only) and rewrites it as version 2', () => {
    const dir = tempDir();
    const state = join(dir, '.meshplane-state.json');
    writeFileSync(state, JSON.stringify({ 'RouteTable/apps/a': '2024-05-01T00:00:00.000Z' }));
    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    const set = new ManifestDirectory(dir, new SourceState(state)).scan();
    expect(set.resources[0].metadata.creationTimestamp).toBe('2024-05-01T00:00:00.000Z');
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    expect(saved).toMatchObject({ version: 2, resources: { 'RouteTable/apps/a': { firstSeen: '2024-05-01T00:00:00.000Z', lastGood: { kind: 'RouteTable' } } } });
  });

  it('neither uses nor overwrites a state file of a newer format, and survives a corrupt one', () => {
    const dir = tempDir();
    const state = join(dir, '.meshplane-state.json');
    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    writeFileSync(state, JSON.stringify({ version: 3, whatever: true }));
    const s = new SourceState(state);
    expect(s.loadProblem).toMatch(/version 3.*not used and not overwritten/);
    expect(new ManifestDirectory(dir, s).scan().resources).toHaveLength(1);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toEqual({ version: 3, whatever: true });
    writeFileSync(state, '{"version": 2, "resources": {"RouteTable/apps/a": {"lastGood": {"kind": "RouteTable", "spec": 7}}}');
    const corrupt = new SourceState(state);
    expect(corrupt.loadProblem).toMatch(/not readable JSON/);
    writeFileSync(state, JSON.stringify({ version: 2, resources: { 'RouteTable/apps/a': { lastGood: { apiVersion: 'x', kind: 'RouteTable', metadata: {}, spec: 7 } } }, files: {} }));
    const invalid = new SourceState(state);
    expect(invalid.loadProblem).toMatch(/1 last valid versions no longer validate/);
    expect(invalid.lastGood('RouteTable/apps/a')).toBeUndefined();
  });
});

describe('a state file that cannot be written', () => {
  it('costs only what survives a restart: the scan serves, and the problem says which flag to change', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), rt('a'));
    const md = new ManifestDirectory(dir, new SourceState(join(dir, 'no-such-dir', 'state.json')));
    expect(md.scan().resources).toHaveLength(1);
    expect(md.stateProblem).toMatch(/cannot write the state file .*no-such-dir.*--state-file/);
  });
});

describe('serve + restart', () => {
  it('a restarted meshplane serves exactly what it served before, though a file and a resource are broken now', async () => {
    const dir = tempDir();
    cpSync(join(REPO_ROOT, 'examples/basic'), dir, { recursive: true });
    const gateway = 'gateway:gateways/ingress';
    let mp: MeshplaneHandle | undefined;
    const start = async () => (mp = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort() }));
    type Status = Record<string, { state: string; messages: string[] }>;
    try {
      await start();
      const before = await mp!.get(`/debug/config/${gateway}`);
      expect(JSON.stringify(before)).toContain('www.example.com');

      writeFileSync(join(dir, 'routes.yaml'), readFileSync(join(dir, 'routes.yaml'), 'utf8').replace('  http:', '  http: [')); // YAML syntax
      writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml'), 'utf8') + '  listenerz: []\n'); // an unknown field
      const broken = await waitFor('both problems in the status', async () => {
        const s = (await mp!.get('/debug/status')) as Status;
        return s[`file:${join(dir, 'routes.yaml')}`] && s['VirtualGateway/gateways/ingress']?.state === 'INVALID' ? s : undefined;
      });
      expect(broken[`file:${join(dir, 'routes.yaml')}`].messages.join(), mp!.logs.slice(-40).join('\n')).toContain('the last valid version is still served');
      expect(await mp!.get(`/debug/config/${gateway}`)).toEqual(before);

      expect(await mp!.stop()).toBe(0);
      await start();
      expect(await mp!.get(`/debug/config/${gateway}`)).toEqual(before);
      const status = (await mp!.get('/debug/status')) as Status;
      expect(status[`file:${join(dir, 'routes.yaml')}`].messages.join()).toContain('the last valid version is still served');
      expect(status['VirtualGateway/gateways/ingress'].messages.join()).toContain('the last valid version is still served');
      expect(status['RouteTable/web/www'].state).toBe('ACCEPTED');
    } finally {
      await mp?.stop();
    }
  });
});
