// Fuzz cases made from the scenario fixtures: each case is a fixture whose
// files were mutated as YAML TEXT (wrong types, missing fields, huge strings,
// deep nesting, aliases, alias bombs and cycles, thousands of resources,
// truncation, random bytes). The source half of the fuzz test feeds them to
// the file source; the core half feeds the resulting sets to the core.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from './envoy.js';

export const SCENARIOS_DIR = join(REPO_ROOT, 'test/fixtures/scenarios');

export interface Fixture {
  name: string;
  /** File name -> text (expected.yaml left out). */
  files: Record<string, string>;
}

export interface FuzzCase {
  fixture: string;
  /** The fixture's files after mutation. */
  files: Record<string, string>;
  /** Which files were mutated. */
  mutated: string[];
  /** What was done, for failure messages and the slowest-case figure. */
  describe: string;
}

let fixtures: Fixture[] | undefined;
export function loadFixtures(): Fixture[] {
  fixtures ??= readdirSync(SCENARIOS_DIR)
    .sort()
    .map((name) => ({
      name,
      files: Object.fromEntries(
        readdirSync(join(SCENARIOS_DIR, name))
          .filter((f) => /\.ya?ml$/.test(f) && f !== 'expected.yaml')
          .sort()
          .map((f) => [f, readFileSync(join(SCENARIOS_DIR, name, f), 'utf8')]),
      ),
    }))
    .filter((f) => Object.keys(f.files).length > 0); // multi-cluster fixtures keep their files one directory down
  return fixtures;
}

/** One change to a file's text. `at`, `pick` are fractions in [0, 1) chosen by fast-check. */
export type Mutation =
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'delete'; pick: number }
  | { op: 'huge-string'; pick: number; length: number }
  | { op: 'deep'; pick: number; depth: number; style: 'flow' | 'block' }
  | { op: 'alias'; pick: number; from: number }
  | { op: 'cycle'; pick: number }
  | { op: 'unresolved-alias'; pick: number }
  | { op: 'alias-bomb'; levels: number; width: number }
  | { op: 'merge-keys'; count: number }
  | { op: 'fan-out'; pick: number; copies: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; text: string }
  | { op: 'duplicate-line'; at: number }
  | { op: 'tabs'; at: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Values of every JSON type and some that are special to JS or YAML. */
export const fuzzValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('__proto__', 'constructor', '*', '**/*', 'a*b*c*d*e*f*g*h*', '~', '.inf', 'yes', '0x1F', '!!binary', '&a', '*a', '<<'),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 4 }),
  fc.string({ minLength: 50, maxLength: 300 }).map((s) => s.replace(/[^*a-z]/gi, '*')), // long globs
);

/** Sizes: mostly small, sometimes at or past a limit. */
const sized = (small: [number, number], large: [number, number]) =>
  fc.oneof({ weight: 8, arbitrary: fc.integer({ min: small[0], max: small[1] }) }, { weight: 1, arbitrary: fc.integer({ min: large[0], max: large[1] }) });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), pick: fraction, value: fuzzValue }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('huge-string' as const), pick: fraction, length: sized([1000, 100_000], [1_000_000, 3_500_000]) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deep' as const), pick: fraction, depth: fc.constantFrom(10, 60, 99, 100, 101, 256, 2000, 100_000), style: fc.constantFrom('flow' as const, 'block' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('alias' as const), pick: fraction, from: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cycle' as const), pick: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unresolved-alias' as const), pick: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('alias-bomb' as const), levels: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 2, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('merge-keys' as const), count: sized([10, 300], [1000, 5000]) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fan-out' as const), pick: fraction, copies: sized([2, 50], [1000, 3000]) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('splice' as const), at: fraction, text: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(': ', '- ', '[', '{', '"', "'", '&a ', '*a', '!!str ', '? ', '---\n', '\t', '\u0000', '\ufeff', '%YAML 1.1\n')) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate-line' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tabs' as const), at: fraction }) },
);

/** A fixture with 1-3 mutations applied to 1-2 of its files. */
/** The largest file text a case makes: above the default --max-file-bytes (3 MiB), so that limit is still reached. */
const MAX_CASE_TEXT = 8 * 1024 * 1024;

export function fuzzCase(): fc.Arbitrary<FuzzCase> {
  const all = loadFixtures();
  return fc
    .record({ fixture: fc.integer({ min: 0, max: all.length - 1 }), edits: fc.array(fc.record({ file: fraction, mutation }), { minLength: 1, maxLength: 3 }) })
    .map(({ fixture, edits }) => {
      const fx = all[fixture];
      const names = Object.keys(fx.files);
      const files = { ...fx.files };
      const mutated = new Set<string>();
      const described: string[] = [];
      for (const e of edits) {
        const name = names[Math.floor(e.file * names.length)];
        const text = mutate(files[name], e.mutation);
        // Mutations compound (a 3.5 MB string fanned out 3,000 times): past a bound well over the
        // file limit, a case only measures the generator (seed -1900635081 made 3.5 GB of text).
        if (text.length > MAX_CASE_TEXT) {
          described.push(`${name}: ${describeMutation(e.mutation)} (not applied: over ${MAX_CASE_TEXT} characters)`);
          continue;
        }
        files[name] = text;
        mutated.add(name);
        described.push(`${name}: ${describeMutation(e.mutation)}`);
      }
      return { fixture: fx.name, files, mutated: [...mutated].sort(), describe: `${fx.name}: ${described.join('; ')}` };
    });
}

export function describeMutation(m: Mutation): string {
  const { op, ...rest } = m;
  const short = JSON.stringify(rest, (_k, v) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}...(${v.length})` : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(3)) : v));
  return `${op} ${short}`;
}

/** Writes a case into `dir` (emptied first). */
export function writeCase(dir: string, files: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

// ---- mutations ---------------------------------------------------------

type Path = Array<string | number>;

/** Placeholders survive stringify as plain strings and are replaced by raw YAML after. */
const RAW = (i: number) => `__fuzz_raw_${i}__`;

function mutate(text: string, m: Mutation): string {
  switch (m.op) {
    case 'truncate':
      return text.slice(0, Math.floor(m.at * text.length));
    case 'splice': {
      const at = Math.floor(m.at * text.length);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'duplicate-line': {
      const lines = text.split('\n');
      const i = Math.floor(m.at * lines.length);
      lines.splice(i, 0, lines[i]);
      return lines.join('\n');
    }
    case 'tabs': {
      const lines = text.split('\n');
      const i = Math.floor(m.at * lines.length);
      lines[i] = lines[i].replace(/^ {2}/, '\t');
      return lines.join('\n');
    }
    case 'alias-bomb': {
      let bomb = `bomb0: &b0 [${Array(m.width).fill('"lol"').join(', ')}]\n`;
      for (let i = 1; i <= m.levels; i++) bomb += `bomb${i}: &b${i} [${Array(m.width).fill(`*b${i - 1}`).join(', ')}]\n`;
      return `${text}\n---\n${bomb}`;
    }
    case 'merge-keys': {
      const items = Array.from({ length: m.count }, (_, i) => `  - <<: *defaults\n    name: r${i}\n`).join('');
      return `${text}\n---\napiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: fuzz-merged, namespace: fuzz}\nspec:\n  http:\n  - &defaults {name: first, directResponse: {status: 200}}\n${items}`;
    }
    default:
      return mutateStructure(text, m);
  }
}

function mutateStructure(text: string, m: Exclude<Mutation, { op: 'truncate' | 'splice' | 'duplicate-line' | 'tabs' | 'alias-bomb' | 'merge-keys' }>): string {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text, { logLevel: 'error' });
    if (!Array.isArray(parsed) || parsed.some((d) => d.errors.length > 0)) return text + '\n# unparsable before: left as is\n';
    docs = parsed.map((d) => d.toJS());
  } catch {
    return text;
  }
  const targets = docs.flatMap((doc, d) => paths(doc).map((p) => ({ d, p })));
  if (targets.length === 0) return text;
  const pickTarget = (f: number) => targets[Math.floor(f * targets.length)];
  const raw: string[] = [];
  const rawValue = (yaml: string) => {
    raw.push(yaml);
    return RAW(raw.length - 1);
  };
  const rootAnchors = new Set<number>();
  const t = pickTarget('pick' in m ? m.pick : 0);
  switch (m.op) {
    case 'set':
      docs[t.d] = setAt(docs[t.d], t.p, m.value);
      break;
    case 'delete':
      docs[t.d] = deleteAt(docs[t.d], t.p);
      break;
    case 'huge-string':
      docs[t.d] = setAt(docs[t.d], t.p, 'x'.repeat(m.length));
      break;
    case 'deep':
      docs[t.d] = setAt(docs[t.d], t.p, rawValue(m.style === 'flow' ? '['.repeat(m.depth) + ']'.repeat(m.depth) : deepBlock(m.depth, pathIndent(t.p))));
      break;
    case 'alias': {
      // An anchor on one value, an alias to it elsewhere in the same document.
      const sameDoc = targets.filter((x) => x.d === t.d);
      const from = sameDoc[Math.floor(m.from * sameDoc.length)];
      if (from.p.join('.') === t.p.join('.')) break;
      docs[t.d] = setAt(docs[t.d], from.p, rawValue(`&fz ${JSON.stringify(getAt(docs[t.d], from.p) ?? null)}`));
      docs[t.d] = setAt(docs[t.d], t.p, rawValue('*fz'));
      break;
    }
    case 'cycle':
      rootAnchors.add(t.d);
      docs[t.d] = setAt(docs[t.d], t.p, rawValue('*fuzzroot'));
      break;
    case 'unresolved-alias':
      docs[t.d] = setAt(docs[t.d], t.p, rawValue('*nowhere'));
      break;
    case 'fan-out': {
      const doc = docs[t.d];
      const name = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
      for (let i = 0; i < m.copies; i++) docs.push(typeof name === 'string' ? setAt(doc, ['metadata', 'name'], `${name}-${i}`) : doc);
      break;
    }
  }
  let out = docs.map((d, i) => (rootAnchors.has(i) ? '--- &fuzzroot\n' : '---\n') + stringify(d, { lineWidth: 0 })).join('');
  // A raw value stands where its placeholder was stringified.
  out = out.replace(/__fuzz_raw_(\d+)__/g, (_s, i: string) => raw[Number(i)]);
  return out;
}

/** Up to 300 paths to values in a document, breadth first (no recursion). */
function paths(doc: unknown): Path[] {
  const out: Path[] = [];
  const queue: Array<{ v: unknown; p: Path }> = [{ v: doc, p: [] }];
  while (queue.length > 0 && out.length < 300) {
    const { v, p } = queue.shift()!;
    if (p.length > 0) out.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => queue.push({ v: x, p: [...p, i] }));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) queue.push({ v: x, p: [...p, k] });
  }
  return out;
}

const clone = (v: unknown): unknown => (v === undefined ? undefined : structuredClone(v));

function getAt(doc: unknown, p: Path): unknown {
  let v = doc;
  for (const k of p) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

/** The parent object of the value at `p`, or undefined when the path is gone. */
function parentAt(root: unknown, p: Path): Record<string | number, unknown> | undefined {
  let v = root;
  for (const k of p.slice(0, -1)) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v && typeof v === 'object' ? (v as Record<string | number, unknown>) : undefined;
}

function setAt(doc: unknown, p: Path, value: unknown): unknown {
  if (p.length === 0) return value;
  const root = clone(doc);
  const v = parentAt(root, p);
  if (!v) return doc;
  v[p[p.length - 1]] = value;
  return root;
}

function deleteAt(doc: unknown, p: Path): unknown {
  const root = clone(doc);
  const v = parentAt(root, p);
  if (!v) return doc;
  const last = p[p.length - 1];
  if (Array.isArray(v) && typeof last === 'number') v.splice(last, 1);
  else delete v[last];
  return root;
}

/** Indentation of a value at this path in yaml's block output (2 per level). */
const pathIndent = (p: Path) => 2 * p.length;

/** A block mapping nested `depth` levels, starting on its own line under `indent`. */
function deepBlock(depth: number, indent: number): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(depth, 300); i++) lines.push(`${' '.repeat(indent + 2 * (i + 1))}k${i}:`);
  return `\n${lines.join('\n')} end`;
}
