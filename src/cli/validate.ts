// `meshplane validate`: the whole pipeline once (sources, core, translation and
// Envoy encoding) for CI: every INVALID and WARNING with where it is, and an
// exit code to gate a merge on (like `istioctl analyze`).
import type { CoreResult, ResourceStatus } from '../ir/types.js';
import type { Resource } from '../resources/schema.js';
import { resourceKey } from '../resources/schema.js';
import { translateAll, type TranslateOptions } from '../translate/index.js';
import { buildSnapshot } from '../xds/snapshot.js';

export interface Finding {
  state: 'INVALID' | 'WARNING';
  resource: string;
  /** file, document index and line where known */
  where?: string;
  message: string;
}

/** Encodes every proxy's config strictly (unknown fields are errors) and reports what fails. */
export function encodingFindings(core: CoreResult, opts: TranslateOptions): Finding[] {
  const out: Finding[] = [];
  for (const [key, resources] of translateAll(core.ir, opts)) {
    try {
      buildSnapshot(resources, true);
    } catch (err) {
      out.push({ state: 'INVALID', resource: `snapshot ${key}`, message: `the Envoy config for ${key} cannot be encoded: ${(err as Error).message}` });
    }
  }
  return out;
}

export function validationFindings(core: CoreResult, resources: readonly Resource[], encoding: Finding[]): Finding[] {
  const sources = new Map(resources.map((r) => [resourceKey(r), r.source]));
  const findings: Finding[] = [];
  for (const [key, st] of Object.entries(core.status) as Array<[string, ResourceStatus]>) {
    if (st.state === 'ACCEPTED') continue;
    const src = sources.get(key);
    const where = key.startsWith('file:') ? key.slice(5) : src ? `${src.file}${src.line ? `:${src.line}` : ''} (document ${src.document})` : undefined;
    for (const message of st.messages) findings.push({ state: st.state, resource: key, ...(where ? { where } : {}), message });
  }
  findings.push(...encoding);
  const rank = (f: Finding) => (f.state === 'INVALID' ? 0 : 1);
  return findings.sort((a, b) => rank(a) - rank(b) || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
}

export function formatFindings(findings: Finding[], color: boolean): string {
  const paint = (f: Finding) => (color ? (f.state === 'INVALID' ? '\x1b[31mError\x1b[0m' : '\x1b[33mWarning\x1b[0m') : f.state === 'INVALID' ? 'Error' : 'Warning');
  const lines = findings.map((f) => `${paint(f)} [${f.state}] ${f.resource}${f.where ? ` (${f.where})` : ''}: ${f.message}`);
  const invalid = findings.filter((f) => f.state === 'INVALID').length;
  lines.push(invalid ? `${invalid} error(s), ${findings.length - invalid} warning(s): the configuration is INVALID` : `no errors, ${findings.length} warning(s)`);
  return lines.join('\n') + '\n';
}
