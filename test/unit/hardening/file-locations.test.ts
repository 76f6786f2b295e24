// Issue 9, class 9: YAML errors and field errors point at the offending token
// or field (line and column), not at the document's first line.
import { describe, expect, it } from 'vitest';
import { parseManifestText } from '../../../src/sources/file.js';

/** 1-based line and column of the first occurrence of `needle` in `text` (after `after`). */
function posOf(text: string, needle: string, after = ''): { line: number; column: number } {
  const offset = text.indexOf(needle, after ? text.indexOf(after) : 0);
  expect(offset, needle).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

const TEXT = `# two route tables in one file
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata:
  name: first
  namespace: apps
spec:
  http:
  - name: ok
    directResponse: {status: 200}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata:
  name: second
  namespace: apps
  labels:
    app.kubernetes.io/name: shop
spec:
  hosts: [shop.example.com]
  http:
  - name: fine
    directResponse: {status: 200}
  - name: typo
    matchers:
    - uri: {prefx: /shop}
    directResponse: {status: 200}
  - name: wrong-type
    directResponse: {status: "two hundred"}
`;

describe('error locations', () => {
  it('an unknown field points at its key, a wrong value at the value, in the document where it is', () => {
    const parsed = parseManifestText(TEXT, 'routes.yaml');
    expect(parsed.resources.map((r) => r.metadata.name)).toEqual(['first']);
    const byPath = Object.fromEntries(parsed.diagnostics.map((d) => [d.problems[0].path, d]));
    expect(byPath['spec.http[1].matchers[0].uri.prefx']).toMatchObject({ document: 1, resource: 'RouteTable/apps/second', ...posOf(TEXT, 'prefx') });
    expect(byPath['spec.http[2].directResponse.status']).toMatchObject({ document: 1, ...posOf(TEXT, '"two hundred"') });
    // The status message says the same, the way compilers do (file:line:column).
    const { line, column } = posOf(TEXT, 'prefx');
    expect(parsed.rejectedKeys[0].messages).toContain(`routes.yaml:${line}:${column} (document 1): spec.http[1].matchers[0].uri.prefx: unknown field`);
  });

  it('keys with dots (label names) are found as one key', () => {
    const text = TEXT.replace('app.kubernetes.io/name: shop', 'app.kubernetes.io/name: [not, a, string]');
    const d = parseManifestText(text, 'routes.yaml').diagnostics.find((x) => x.problems[0].path.startsWith('metadata.labels'))!;
    expect(d.problems[0].path).toBe('metadata.labels.app.kubernetes.io/name');
    expect(d).toMatchObject(posOf(text, '[not, a, string]'));
  });

  it('a missing field points at the mapping that lacks it', () => {
    const text = 'apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: x, namespace: apps}\nspec:\n  http:\n  - name: r\n    directResponse: {body: hello}\n';
    const d = parseManifestText(text, 'x.yaml').diagnostics[0];
    expect(d.problems[0]).toMatchObject({ path: 'spec.http[0].directResponse.status' });
    expect(d).toMatchObject(posOf(text, '{body: hello}'));
  });

  it('a YAML syntax error points at the offending token, in any document', () => {
    const text = TEXT.replace('hosts: [shop.example.com]', 'hosts: [shop.example.com');
    const d = parseManifestText(text, 'routes.yaml').diagnostics[0];
    expect(d.document).toBe(1);
    expect(d.problems[0].message).toMatch(/^YAML syntax: /);
    expect(d.line).toBeGreaterThan(posOf(text, 'kind: RouteTable', '---').line); // not the document's first line
    expect(d.line).toBeLessThanOrEqual(posOf(text, '  http:', '---').line);
    const tab = 'apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: x\n';
    expect(parseManifestText(tab, 't.yaml').diagnostics[0]).toMatchObject({ line: 4, column: 1 });
  });
});
