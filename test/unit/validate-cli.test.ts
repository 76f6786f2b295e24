// `meshplane validate` gates merges in CI: exit 1 on INVALID (with file and field
// path), 0 when only warnings or nothing, 2 on usage errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const validate = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'validate', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('meshplane validate', () => {
  it('exits 0 on a valid directory', () => {
    const r = validate('--config-dir', 'examples/basic');
    expect(r.stdout).toMatch(/no errors, 0 warning\(s\)/);
    expect(r.status).toBe(0);
  });

  it('exits 1 on INVALID and names the file, the document or line, and the field path', () => {
    const r = validate('--config-dir', 'test/fixtures/scenarios/bad-input');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/Error \[INVALID\] RouteTable\/parent\/no-action: .*missing-field\.yaml:\d+:\d+ \(document 0\): spec\.http\[0\]: a route needs exactly one action/);
    expect(r.stdout).toMatch(/Error \[INVALID\] RouteTable\/parent\/loop-b \(.*cycle\.yaml:\d+ \(document 2\)\): route "to-a": delegation cycle/);
    expect(r.stdout).toMatch(/Warning \[WARNING\] RetryTimeoutPolicy\/parent\/lonely/);
    const json = JSON.parse(validate('--config-dir', 'test/fixtures/scenarios/bad-input', '--output', 'json').stdout);
    expect(json.valid).toBe(false);
    expect(json.findings.some((f: { resource: string; state: string }) => f.resource === 'RouteTable/parent/loop-b' && f.state === 'INVALID')).toBe(true);
  });

  it('exits 0 with warnings only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-validate-'));
    writeFileSync(join(dir, 'ws.yaml'), `apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: team, namespace: gloo-mesh}
spec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: RetryTimeoutPolicy
metadata: {name: lonely, namespace: apps}
spec: {applyToRoutes: [{route: {labels: {nothing: here}}}], config: {requestTimeout: 1s}}
`);
    const r = validate('--config-dir', dir);
    expect(r.stdout).toMatch(/no errors, 1 warning\(s\)/);
    expect(r.status).toBe(0);
  });

  it('exits 2 on usage errors', () => {
    expect(validate('--config-dir', '/no/such/dir').status).toBe(2);
    expect(validate('--config-dir', 'examples/basic', '--output', 'xml').status).toBe(2);
    expect(validate().status).not.toBe(0);
  });
});
