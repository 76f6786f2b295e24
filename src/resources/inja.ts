// Gloo's TransformationPolicy `injaTemplate` (issue 14, item 6): the schema
// and a parser for the subset of Inja that upstream Envoy can evaluate.
// A template is literal text and `{{ expression }}`s, where an expression is
//   header("x") / request_header("x")  a header of the request (or response)
//   extraction("name") / name          an extractor's result
//   env("X")                           an environment variable of the proxy
//   body()                             the body as received
//   a.b.c                              a field of the JSON body
// Anything else (control statements, filters, other functions) is refused
// with UNSUPPORTED naming the construct; docs/policies.md lists the mapping.
import { z } from 'zod';
import { unsupportedField } from './unsupported.js';

export type InjaPart =
  | { kind: 'text'; text: string }
  | { kind: 'header'; name: string; requestSide: boolean }
  | { kind: 'extraction'; name: string }
  | { kind: 'env'; name: string }
  | { kind: 'body' }
  | { kind: 'jsonField'; path: string[] };

const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*(?:"([^"]*)"|'([^']*)')?\s*\)$/;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

/** Parses a template; `error` names the first construct Envoy cannot evaluate. */
export function parseInja(template: string, extractors: ReadonlySet<string>): { parts: InjaPart[]; error?: string } {
  const parts: InjaPart[] = [];
  let rest = template;
  while (rest.length) {
    const open = rest.search(/\{[{%#]/);
    if (open < 0) {
      parts.push({ kind: 'text', text: rest });
      break;
    }
    if (open > 0) parts.push({ kind: 'text', text: rest.slice(0, open) });
    const kind = rest[open + 1];
    const close = rest.indexOf(kind === '{' ? '}}' : kind === '%' ? '%}' : '#}', open + 2);
    if (close < 0) return { parts, error: `"${rest.slice(open, open + 20)}" is not closed` };
    const inner = rest.slice(open + 2, close).trim();
    rest = rest.slice(close + 2);
    if (kind === '#') continue; // a comment
    if (kind === '%') return { parts, error: `UNSUPPORTED: the statement {% ${inner} %}: Inja control statements (if, for, set) have no equivalent in Envoy's substitution format` };
    const call = CALL.exec(inner);
    if (call) {
      const [, fn, a, b] = call;
      const arg = a ?? b;
      if ((fn === 'header' || fn === 'request_header') && arg) parts.push({ kind: 'header', name: arg.toLowerCase(), requestSide: fn === 'request_header' });
      else if (fn === 'extraction' && arg) {
        if (!extractors.has(arg)) return { parts, error: `extraction("${arg}") names no extractor (extractors: ${[...extractors].join(', ') || 'none'})` };
        parts.push({ kind: 'extraction', name: arg });
      } else if (fn === 'env' && arg) parts.push({ kind: 'env', name: arg });
      else if (fn === 'body' && arg === undefined) parts.push({ kind: 'body' });
      else return { parts, error: `UNSUPPORTED: the function ${fn}() in {{ ${inner} }}: meshplane maps header(), request_header(), extraction(), env() and body() onto Envoy` };
      continue;
    }
    if (PATH.test(inner)) {
      parts.push(extractors.has(inner) ? { kind: 'extraction', name: inner } : { kind: 'jsonField', path: inner.split('.') });
      continue;
    }
    const fn = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(inner)?.[1];
    if (fn && !['header', 'request_header', 'extraction', 'env', 'body'].includes(fn)) {
      return { parts, error: `UNSUPPORTED: the function ${fn}() in {{ ${inner} }}: meshplane maps header(), request_header(), extraction(), env() and body() onto Envoy` };
    }
    return { parts, error: `UNSUPPORTED: the expression {{ ${inner} }}: meshplane maps header(), request_header(), extraction(), env(), body() and JSON body fields (a.b.c), not Inja operators, filters or nested calls` };
  }
  return { parts };
}

const templateText = z.strictObject({ text: z.string() });
const extractor = z
  .strictObject({
    header: z.string().min(1).optional(),
    body: unsupportedField('extractors over the body need a regular expression over the buffered body, which upstream Envoy\'s filters cannot evaluate; extract from a header, or use a JSON body field ({{ a.b }})').optional(),
    regex: z.string().min(1),
    subgroup: z.number().int().min(0).default(0),
    mode: z.enum(['EXTRACT', 'SINGLE_REPLACE', 'REPLACE_ALL']).default('EXTRACT'),
    replacementText: z.string().optional(),
  })
  .superRefine((e, ctx) => {
    if (e.header === undefined && e.body === undefined) ctx.addIssue({ code: 'custom', path: ['header'], message: 'required: the header to extract from' });
    if (e.mode === 'SINGLE_REPLACE') ctx.addIssue({ code: 'custom', path: ['mode'], message: 'UNSUPPORTED: mode SINGLE_REPLACE: Envoy\'s regex rewrite replaces every match (use REPLACE_ALL)' });
    if (e.mode !== 'EXTRACT' && e.replacementText === undefined) ctx.addIssue({ code: 'custom', path: ['replacementText'], message: `required for mode ${e.mode}` });
  });
export type InjaExtractor = z.infer<typeof extractor>;

export const injaTemplate = z
  .strictObject({
    extractors: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'), extractor).optional(),
    headers: z.record(z.string().min(1), templateText).optional(),
    headersToAppend: z.array(z.strictObject({ key: z.string().min(1), value: templateText })).optional(),
    headersToRemove: z.array(z.string().min(1)).optional(),
    body: templateText.optional(),
    /** Leave the body alone and do not buffer it. */
    passthrough: z.strictObject({}).optional(),
    mergeExtractorsToBody: z.strictObject({}).optional(),
    parseBodyBehavior: z.enum(['ParseAsJson', 'DontParse']).default('ParseAsJson'),
    ignoreErrorOnParse: z.boolean().optional(),
    advancedTemplates: z.boolean().optional(),
    dynamicMetadataValues: unsupportedField('dynamic metadata from templates is not mapped yet; set headers instead').optional(),
    escapeCharacters: unsupportedField('escapeCharacters has no equivalent in Envoy\'s substitution format').optional(),
  })
  .superRefine((t, ctx) => {
    if (t.advancedTemplates) ctx.addIssue({ code: 'custom', path: ['advancedTemplates'], message: 'UNSUPPORTED: advancedTemplates (JSON pointer syntax) is not mapped; use a.b.c paths' });
    const names = new Set(Object.keys(t.extractors ?? {}));
    const check = (text: string, path: Array<string | number>, where: 'header' | 'body') => {
      const { parts, error } = parseInja(text, names);
      if (error) return ctx.addIssue({ code: 'custom', path, message: error });
      for (const p of parts) {
        if (p.kind === 'jsonField' && t.parseBodyBehavior === 'DontParse') ctx.addIssue({ code: 'custom', path, message: `{{ ${p.path.join('.')} }} reads the JSON body, but parseBodyBehavior is DontParse` });
        else if ((p.kind === 'jsonField' || p.kind === 'body') && t.passthrough) ctx.addIssue({ code: 'custom', path, message: 'passthrough leaves the body unread, but the template reads it' });
        else if (p.kind === 'jsonField' && where === 'body') ctx.addIssue({ code: 'custom', path, message: `UNSUPPORTED: JSON body fields ({{ ${p.path.join('.')} }}) in a body template: Envoy's Lua filter has no JSON parser; build the body with TransformationPolicy jsonBody, or read fields into headers` });
        else if (p.kind === 'body' && where === 'header') ctx.addIssue({ code: 'custom', path, message: 'UNSUPPORTED: body() in a header: use a JSON body field ({{ a.b }}) instead' });
      }
    };
    for (const [h, v] of Object.entries(t.headers ?? {})) check(v.text, ['headers', h, 'text'], 'header');
    (t.headersToAppend ?? []).forEach((h, i) => check(h.value.text, ['headersToAppend', i, 'value', 'text'], 'header'));
    if (t.body) check(t.body.text, ['body', 'text'], 'body');
    if (t.body && t.passthrough) ctx.addIssue({ code: 'custom', path: ['passthrough'], message: 'passthrough leaves the body alone; it cannot be set together with body' });
    if (t.body && t.mergeExtractorsToBody) ctx.addIssue({ code: 'custom', path: ['mergeExtractorsToBody'], message: 'set either body or mergeExtractorsToBody' });
  });
export type InjaTemplate = z.infer<typeof injaTemplate>;
