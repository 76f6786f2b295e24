// One manifest file's text -> resources, diagnostics and status messages.
// Never throws: whatever is wrong becomes a problem with file, line and column.
import { LineCounter } from 'yaml';
import type { RejectedResource } from '../../core/index.js';
import { validateResource, type Resource } from '../../resources/schema.js';
import { splitDocuments, type DocumentText } from './documents.js';
import { DEFAULT_FILE_LIMITS, LIMIT_FLAGS, byteSize, type FileLimits } from './limits.js';
import { locatePath } from './locate.js';
import { readYaml, type YamlDocument } from './yaml.js';

export interface Diagnostic {
  file: string;
  document?: number;
  /** 1-based line and column of the offending field or token. */
  line?: number;
  column?: number;
  resource?: string; // Kind/ns/name when known
  problems: Array<{ path: string; message: string }>;
  /** The last valid version of the resource (or file) is still served. */
  keptPrevious: boolean;
}

export interface ParsedManifest {
  resources: Resource[];
  diagnostics: Diagnostic[];
  rejectedKeys: RejectedResource[];
  /**
   * The file as a whole could not be read (YAML syntax, bad aliases, a limit):
   * whatever it served before keeps being served.
   */
  fileError: boolean;
  /** Each document's result, for the next parse of this file to reuse (see parseDocuments). */
  documents?: DocumentResults;
}

/** Results of documents by index, first line and text. */
export type DocumentResults = ReadonlyMap<string, ParsedDocument>;

interface ParsedDocument {
  resources: Resource[];
  diagnostics: Diagnostic[];
  rejectedKeys: RejectedResource[];
  aliasNodes: number;
}

type Positions = Pick<LineCounter, 'linePos'>;

/** Problems reported per document; the rest are counted. */
const MAX_PROBLEMS = 50;

export const fileKey = (file: string): string => `file:${file}`;

const where = (file: string, line?: number, column?: number, document?: number): string =>
  `${file}${line ? `:${line}${column ? `:${column}` : ''}` : ''}${document !== undefined ? ` (document ${document})` : ''}`;

/** A whole-file problem: one diagnostic and a status on `file:<path>`. */
export function fileProblem(file: string, message: string, at?: { line: number; col: number }): ParsedManifest {
  return {
    resources: [],
    diagnostics: [{ file, ...(at ? { line: at.line, column: at.col } : {}), problems: [{ path: '(file)', message }], keptPrevious: false }],
    rejectedKeys: [{ key: fileKey(file), messages: [`${where(file, at?.line, at?.col)}: ${message}`] }],
    fileError: true,
  };
}

export function fileTooLarge(file: string, bytes: number, limits: FileLimits): ParsedManifest {
  return fileProblem(file, `the file has ${byteSize(bytes)}, more than the ${byteSize(limits.maxFileBytes)} a file may have (${LIMIT_FLAGS.maxFileBytes}); split it into smaller files`);
}

/**
 * Parses one file's text into resources and diagnostics. Pure apart from its
 * input. `previous` (the last parse of the same file): documents with the
 * same index, place and text are not parsed again, and keep their resource
 * objects.
 */
export function parseManifestText(text: string, file: string, limits: FileLimits = DEFAULT_FILE_LIMITS, previous?: DocumentResults): ParsedManifest {
  return parse(text, file, limits, previous, true);
}

/** The file read whole, in one pass (what parseManifestText does for files it cannot cut). */
export function parseWholeManifest(text: string, file: string, limits: FileLimits = DEFAULT_FILE_LIMITS): ParsedManifest {
  return parse(text, file, limits, undefined, false);
}

function parse(text: string, file: string, limits: FileLimits, previous: DocumentResults | undefined, cut: boolean): ParsedManifest {
  try {
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.maxFileBytes) return fileTooLarge(file, bytes, limits);
    return (cut ? parseDocuments(text, file, limits, previous) : undefined) ?? fromYaml(text, file, limits);
  } catch (err) {
    // Not expected; but a file must never take the source down.
    return fileProblem(file, `could not read this file: ${(err as Error).message}`);
  }
}

/**
 * The file document by document (see documents.ts), when every document is
 * valid YAML and within the limits; otherwise undefined, and the file is read
 * whole, which gives the same result for such files and the exact problems
 * for the others.
 */
function parseDocuments(text: string, file: string, limits: FileLimits, previous: DocumentResults | undefined): ParsedManifest | undefined {
  const docs = splitDocuments(text);
  if (!docs || docs.length < 2) return undefined;
  const out: ParsedManifest = { resources: [], diagnostics: [], rejectedKeys: [], fileError: false };
  const results = new Map<string, ParsedDocument>();
  let aliasNodes = 0;
  for (const [index, d] of docs.entries()) {
    const key = `${index}:${d.line}:${d.text}`;
    const r = previous?.get(key) ?? oneDocument(d, index, file, limits);
    if (!r) return undefined;
    // The alias budget is the file's: over it, the whole read says where.
    if ((aliasNodes += r.aliasNodes) > limits.maxAliasNodes) return undefined;
    results.set(key, r);
    out.resources.push(...r.resources);
    out.diagnostics.push(...r.diagnostics);
    out.rejectedKeys.push(...r.rejectedKeys);
  }
  out.documents = results;
  return out;
}

/** One document's result, or undefined when it is not exactly one document of valid YAML within the limits. */
function oneDocument(d: DocumentText, index: number, file: string, limits: FileLimits): ParsedDocument | undefined {
  const out: ParsedDocument = { resources: [], diagnostics: [], rejectedKeys: [], aliasNodes: 0 };
  const lc = new LineCounter();
  // Lines as in the file: the document starts d.line lines in.
  const at: Positions = { linePos: (offset) => { const p = lc.linePos(offset); return { line: p.line + d.line, col: p.col }; } };
  let count = 0;
  let ok = true;
  const y = readYaml(d.text, limits, lc, (doc) => {
    if (++count > 1 || doc.errors.length > 0) ok = false;
    else if (doc.value !== null && doc.value !== undefined) validate(doc.value, doc.doc, index, file, at, out);
  });
  if (!ok || count !== 1 || y.fatal || y.aliasNodes === undefined) return undefined;
  out.aliasNodes = y.aliasNodes;
  return out;
}

function fromYaml(text: string, file: string, limits: FileLimits): ParsedManifest {
  const out: ParsedManifest = { resources: [], diagnostics: [], rejectedKeys: [], fileError: false };
  const lc = new LineCounter();
  const y = readYaml(text, limits, lc, (d, index) => {
    if (d.errors.length > 0) {
      out.fileError = true;
      const messages: string[] = [];
      for (const e of d.errors) {
        const at = lc.linePos(e.offset);
        const message = `${d.doc.errors.length > 0 ? 'YAML syntax' : 'YAML'}: ${e.message}`;
        out.diagnostics.push({ file, document: index, line: at.line, column: at.col, problems: [{ path: '(yaml)', message }], keptPrevious: false });
        messages.push(`${where(file, at.line, at.col, index)}: ${message}`);
      }
      out.rejectedKeys.push({ key: fileKey(file), messages });
      return;
    }
    if (d.value === null || d.value === undefined) return; // empty document, e.g. a trailing ---
    validate(d.value, d.doc, index, file, lc, out);
  });
  if (y.fatal) {
    const flag = LIMIT_FLAGS[({ depth: 'maxDepth', aliases: 'maxAliasNodes', nodes: 'maxDocumentNodes' } as const)[y.fatal.limit]];
    const what = y.fatal.limit === 'aliases' ? `aliases expand to more than ${limits.maxAliasNodes} nodes (${flag}); that looks like an alias bomb` : `${y.fatal.message} (${flag})`;
    return fileProblem(file, `YAML: ${what}`, lc.linePos(y.fatal.offset));
  }
  return out;
}

function validate(value: unknown, doc: YamlDocument['doc'], index: number, file: string, lc: Positions, out: Pick<ParsedManifest, 'resources' | 'diagnostics' | 'rejectedKeys'>): void {
  let result: ReturnType<typeof validateResource>;
  try {
    result = validateResource(value);
  } catch (err) {
    result = { ok: false, problems: [{ path: '(root)', message: `could not validate: ${(err as Error).message}` }] };
  }
  if (result.ok) {
    const start = doc.range ? lc.linePos(doc.range[0]).line : undefined;
    out.resources.push({ ...result.resource, source: { file, document: index, ...(start ? { line: start } : {}) } });
    return;
  }
  const key = result.kind && result.name ? `${result.kind}/${result.namespace ?? (result.kind === 'Namespace' ? '' : 'default')}/${result.name}` : undefined;
  const messages: string[] = [];
  // A bounded list: a document with 50,000 unknown keys must not cost 50,000 lookups of 50,000 keys.
  const problems = result.problems.length > MAX_PROBLEMS ? [...result.problems.slice(0, MAX_PROBLEMS), { path: '(root)', message: `and ${result.problems.length - MAX_PROBLEMS} more problems` }] : result.problems;
  for (const p of problems) {
    const offset = locatePath(doc, p.path, p.message === 'unknown field');
    const at = offset === undefined ? undefined : lc.linePos(offset);
    out.diagnostics.push({ file, document: index, ...(at ? { line: at.line, column: at.col } : {}), ...(key ? { resource: key } : {}), problems: [p], keptPrevious: false });
    messages.push(`${where(file, at?.line, at?.col, index)}: ${p.path}: ${p.message}`);
  }
  out.rejectedKeys.push({ key: key ?? `${file}#${index}`, messages });
}
