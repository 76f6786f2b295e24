// Gloo's injaTemplate -> upstream Envoy (issue 14, item 6):
//   extractors (from headers)  -> envoy.filters.http.header_to_metadata, a
//                                 regex rewrite into dynamic metadata
//   headers, headersToAppend,  -> envoy.filters.http.header_mutation, values in
//   headersToRemove               Envoy's substitution format (%REQ()%, %RESP()%,
//                                 %DYNAMIC_METADATA()%, %ENVIRONMENT()%); those
//                                 that read JSON body fields (%REQUEST_BODY()%)
//                                 go to envoy.filters.http.transform, which acts
//                                 on JSON bodies only
//   mergeExtractorsToBody      -> the transform filter's JSON body MERGE
//   body                       -> envoy.filters.http.lua, replacing the body
// The schema (resources/inja.ts) has already refused what has no mapping.
import type { InjaPart, InjaTemplate } from '../resources/inja.js';
import { parseInja } from '../resources/inja.js';

export type Side = 'request' | 'response';

export interface InjaTranslation {
  /** Header mutations that need no body, for the header_mutation filter. */
  headerMutations: Array<Record<string, unknown>>;
  /** Header mutations that read JSON body fields, and the body merge, for the transform filter (it acts on JSON bodies only). */
  transformation?: Record<string, unknown>;
  /** header_to_metadata rules that run the extractors. */
  extractorRules: Array<Record<string, unknown>>;
  /** Lua statements (handle `h`) for envoy_on_request and envoy_on_response: the body template. */
  lua?: { onRequest: string[]; onResponse: string[] };
}

/** One Lua script from the statements of a policy's request and response templates. */
export function luaScript(parts: Array<InjaTranslation['lua']>): string | undefined {
  const req = parts.flatMap((p) => p?.onRequest ?? []);
  const res = parts.flatMap((p) => p?.onResponse ?? []);
  if (!req.length && !res.length) return undefined;
  const fn = (name: string, body: string[]) => (body.length ? [`function ${name}(h)`, ...body.map((l) => `  ${l}`), 'end'] : []);
  return [...fn('envoy_on_request', req), ...fn('envoy_on_response', res)].join('\n') + '\n';
}

/** The dynamic-metadata namespace of one policy's extractors. */
export const extractorNamespace = (policy: { namespace: string; name: string }): string => `meshplane.inja.${policy.namespace}.${policy.name}`;

// RE2 escapes inside the full-match wrapper stay as the user wrote them.
const fullMatch = (regex: string) => `^(${regex})$|^[\\s\\S]*$`;

export function translateInja(t: InjaTemplate, side: Side, ns: string): InjaTranslation {
  const names = new Set(Object.keys(t.extractors ?? {}));
  const parse = (text: string) => parseInja(text, names).parts;
  const format = (parts: InjaPart[]) => parts.map((p) => formatPart(p, side, ns)).join('');
  const readsBody = (text: string) => parse(text).some((p) => p.kind === 'jsonField');

  const extractorRules = Object.entries(t.extractors ?? {}).map(([name, e]) => ({
    header: e.header!,
    onHeaderPresent: {
      metadataNamespace: ns,
      key: name,
      type: 'STRING',
      // EXTRACT: the whole value must match (else the result is empty), the subgroup is kept.
      regexValueRewrite:
        e.mode === 'EXTRACT'
          ? { pattern: { regex: fullMatch(e.regex) }, substitution: `\\${e.subgroup + 1}` }
          : { pattern: { regex: e.regex }, substitution: e.replacementText! },
    },
  }));
  const templated = [
    ...Object.entries(t.headers ?? {}).map(([key, v]) => ({ text: v.text, m: { append: { header: { key, value: format(parse(v.text)) }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' } } })),
    ...(t.headersToAppend ?? []).map((h) => ({ text: h.value.text, m: { append: { header: { key: h.key, value: format(parse(h.value.text)) }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' } } })),
  ];
  const fromBody = templated.filter((x) => readsBody(x.text)).map((x) => x.m);
  const merge = t.mergeExtractorsToBody && names.size
    ? { bodyTransformation: { bodyFormat: { jsonFormat: { fields: Object.fromEntries([...names].map((n) => [n, { stringValue: `%DYNAMIC_METADATA(${ns}:${n})%` }])) } }, action: 'MERGE' } }
    : {};
  return {
    headerMutations: [...templated.filter((x) => !readsBody(x.text)).map((x) => x.m), ...(t.headersToRemove ?? []).map((h) => ({ remove: h }))],
    ...(fromBody.length || Object.keys(merge).length ? { transformation: { headersMutations: fromBody, ...merge } } : {}),
    extractorRules,
    ...(t.body ? { lua: bodyLua(parse(t.body.text), side, ns) } : {}),
  };
}

const escapeFormat = (s: string) => s.replace(/%/g, '%%');

function formatPart(p: InjaPart, side: Side, ns: string): string {
  switch (p.kind) {
    case 'text':
      return escapeFormat(p.text);
    case 'header':
      return side === 'response' && !p.requestSide ? `%RESP(${p.name})%` : `%REQ(${p.name})%`;
    case 'extraction':
      return `%DYNAMIC_METADATA(${ns}:${p.name})%`;
    case 'env':
      return `%ENVIRONMENT(${p.name})%`;
    case 'jsonField':
      return `%${side === 'request' ? 'REQUEST' : 'RESPONSE'}_BODY(${p.path.join(':')})%`;
    case 'body':
      throw new Error('body() in a header is refused by the schema');
  }
}

const luaString = (s: string): string =>
  `"${s.replace(/[\\"]/g, '\\$&').replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString().padStart(3, '0')}`)}"`;

/**
 * Lua that renders the body template and replaces the body with it. Request
 * headers a response template reads are kept from the request in dynamic
 * metadata, because Lua's response handle cannot see them.
 */
function bodyLua(parts: InjaPart[], side: Side, ns: string): NonNullable<InjaTranslation['lua']> {
  const saved = `${ns}.request_headers`;
  const keep = side === 'response' ? [...new Set(parts.flatMap((p) => (p.kind === 'header' && p.requestSide ? [p.name] : [])))] : [];
  const expr = (p: InjaPart): string => {
    switch (p.kind) {
      case 'text':
        return luaString(p.text);
      case 'header':
        return side === 'response' && p.requestSide ? `(saved[${luaString(p.name)}] or "")` : `(h:headers():get(${luaString(p.name)}) or "")`;
      case 'extraction':
        return `(extracted[${luaString(p.name)}] or "")`;
      case 'env':
        return `(os.getenv(${luaString(p.name)}) or "")`;
      case 'body':
        return 'original';
      case 'jsonField':
        throw new Error('JSON fields in a body template are refused by the schema');
    }
  };
  const render = [
    'do',
    '  local body = h:body(true)',
    '  local original = body:getBytes(0, body:length())',
    `  local extracted = h:streamInfo():dynamicMetadata():get(${luaString(ns)}) or {}`,
    ...(keep.length ? [`  local saved = h:streamInfo():dynamicMetadata():get(${luaString(saved)}) or {}`] : []),
    `  local out = table.concat({${parts.map(expr).join(', ')}})`,
    '  body:setBytes(out)',
    '  h:headers():replace("content-length", tostring(#out))',
    'end',
  ];
  const save = keep.map((k) => `h:streamInfo():dynamicMetadata():set(${luaString(saved)}, ${luaString(k)}, h:headers():get(${luaString(k)}) or "")`);
  return side === 'request' ? { onRequest: render, onResponse: [] } : { onRequest: save, onResponse: render };
}
