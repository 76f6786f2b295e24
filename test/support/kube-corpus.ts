// Manifests from disk (the Gloo corpus in ../shared, the seed scenarios) as
// objects to apply to a test API server.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubeKind, objectPath, collectionPath } from '../../src/sources/kubernetes/kinds.js';
import { REPO_ROOT } from './envoy.js';
import type { KubeApi } from './kube.js';

export interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The Gloo corpus directory: $MESHPLANE_GLOO_CORPUS, ../shared/gloo-corpus, or /work/shared/gloo-corpus. */
export function corpusDir(): string {
  const candidates = [process.env.MESHPLANE_GLOO_CORPUS, join(REPO_ROOT, '../shared/gloo-corpus'), '/work/shared/gloo-corpus'].filter(Boolean) as string[];
  const dir = candidates.find((d) => existsSync(join(d, 'check.mjs')));
  if (!dir) throw new Error(`the Gloo corpus is not at any of ${candidates.join(', ')}; set MESHPLANE_GLOO_CORPUS`);
  return dir;
}

export function docsOf(file: string): Doc[] {
  if (!existsSync(file)) return [];
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => !!d && typeof d === 'object' && typeof d.kind === 'string');
}

/** Every YAML document of a directory (recursively), as the file source would read it. */
export function docsOfDir(dir: string, exclude: string[] = ['expected.yaml']): Doc[] {
  const out: Doc[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...docsOfDir(p, exclude));
    else if (/\.ya?ml$/.test(e.name) && !exclude.includes(e.name)) out.push(...docsOf(p));
  }
  return out;
}

const pathOf = (d: Doc): string | undefined => {
  const k = kubeKind(d.kind);
  return k && k.apiVersion === d.apiVersion ? objectPath(k, d.metadata.namespace ?? 'default', d.metadata.name) : undefined;
};

/** Server-side apply of one document (kinds meshplane knows); returns the API server's answer. */
export async function applyDoc(kube: KubeApi, d: Doc, manager = 'meshplane-tests'): Promise<{ status: number; body: any }> {
  const path = pathOf(d);
  if (!path) throw new Error(`${d.apiVersion} ${d.kind} is not a kind meshplane knows`);
  return kube.api('PATCH', `${path}?fieldManager=${manager}&force=true`, JSON.stringify(d), 'application/apply-patch+yaml');
}

export async function deleteDoc(kube: KubeApi, d: Doc): Promise<void> {
  const path = pathOf(d);
  if (path) await kube.api('DELETE', path);
}

/** Creates the namespaces the documents use (idempotent). */
export async function ensureNamespaces(kube: KubeApi, docs: Doc[]): Promise<void> {
  const names = new Set(docs.filter((d) => kubeKind(d.kind)?.namespaced).map((d) => d.metadata.namespace ?? 'default'));
  for (const d of docs) if (d.kind === 'Namespace') names.add(d.metadata.name);
  for (const name of names) {
    const r = await kube.api('POST', collectionPath(kubeKind('Namespace')!), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${name}: ${JSON.stringify(r.body)}`);
  }
}

export const knownKind = (d: Doc): boolean => pathOf(d) !== undefined;
