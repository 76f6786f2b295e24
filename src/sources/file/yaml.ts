// Reads YAML text into plain values without trusting it. The yaml library's
// composer recurses once per nesting level and relies on catching stack
// overflows (which can abort the process in V8's regexp compiler), and its
// alias resolution is quadratic and limited by alias COUNT. So: nesting is
// bounded while lexing, before the composer runs; aliases are resolved here in
// one pass with a map of anchors, and limited by the number of nodes they add
// (the size of the expansion) and by the depth they reach.
import { Composer, Lexer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';

export interface YamlLimits {
  /** Deepest nesting of mappings and sequences, also after alias expansion. */
  maxDepth: number;
  /** Nodes that aliases may add to one file when expanded. */
  maxAliasNodes: number;
  /**
   * Nodes in one document as written (scalars, collections, aliases; counted
   * on the lexer's tokens, so before the costly parts run).
   */
  maxDocumentNodes: number;
}

export type YamlLimit = 'depth' | 'aliases' | 'nodes';

/** A problem at a place in the text (offset into it). */
export interface YamlProblem {
  offset: number;
  message: string;
}

export interface YamlDocument {
  doc: Document.Parsed;
  /** The document as plain data; undefined when it has errors. */
  value?: unknown;
  errors: YamlProblem[];
}

export interface YamlFile {
  /** Set when the file as a whole could not be read (a limit was exceeded). */
  fatal?: YamlProblem & { limit: YamlLimit };
  /** Nodes that aliases added (when read to the end). */
  aliasNodes?: number;
}

/** Thrown inside the converter for a limit; becomes YamlFile.fatal. */
class LimitExceeded extends Error {
  constructor(readonly problem: YamlProblem & { limit: YamlLimit }) {
    super(problem.message);
  }
}

/** Thrown inside the converter for a bad alias or key; becomes a document error. */
class BadDocument extends Error {
  constructor(readonly problem: YamlProblem) {
    super(problem.message);
  }
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Reads `text` document by document, handing each to `onDocument` while
 * only that document is held in memory. Stops at the first limit exceeded
 * (then `fatal` is set and the documents handed so far must be discarded).
 */
export function readYaml(text: string, limits: YamlLimits, lineCounter: LineCounter, onDocument: (d: YamlDocument, index: number) => void): YamlFile {
  lineCounter.addNewLine(0);
  const parser = new Parser(lineCounter.addNewLine);
  // Duplicate keys are found by the converter: the composer's check is quadratic.
  const composer = new Composer({ merge: true, prettyErrors: false, uniqueKeys: false });
  const budget = { aliasNodes: limits.maxAliasNodes };
  let index = 0;
  const handle = (doc: Document.Parsed): YamlFile['fatal'] => {
    const errors: YamlProblem[] = doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] }));
    if (errors.length > 0) onDocument({ doc, errors }, index++);
    else {
      try {
        const value = new Converter(limits.maxDepth, budget).value(doc.contents, 0).value;
        onDocument({ doc, value, errors }, index++);
      } catch (err) {
        if (err instanceof LimitExceeded) return err.problem;
        if (!(err instanceof BadDocument)) throw err;
        onDocument({ doc, errors: [err.problem] }, index++);
      }
    }
    return undefined;
  };
  const lexer = new Lexer();
  let nodes = 0;
  let scalarText = false;
  for (const lexeme of lexer.lex(text)) {
    if (lexeme === '\x02' || lexeme === '---') nodes = 0; // a new document
    else if (!scalarText && countsAsNode(lexeme) && ++nodes > limits.maxDocumentNodes) {
      return { fatal: { offset: parser.offset, limit: 'nodes', message: `a document has more than ${limits.maxDocumentNodes} nodes` } };
    }
    scalarText = lexeme === '\x1f'; // the next lexeme is that scalar's text
    for (const token of parser.next(lexeme)) {
      for (const doc of composer.next(token)) {
        const fatal = handle(doc);
        if (fatal) return { fatal };
      }
    }
    // The CST parser is iterative and its stack is the current nesting: stop
    // before the (recursive) composer ever sees a structure that deep.
    if (parser.stack.length > limits.maxDepth && parser.stack.filter((t) => COLLECTIONS.has(t.type)).length > limits.maxDepth) {
      return { fatal: { offset: parser.offset, limit: 'depth', message: `mappings and sequences are nested more than ${limits.maxDepth} levels deep` } };
    }
  }
  for (const token of parser.end()) for (const doc of composer.next(token)) {
    const fatal = handle(doc);
    if (fatal) return { fatal };
  }
  for (const doc of composer.end(false, text.length)) {
    const fatal = handle(doc);
    if (fatal) return { fatal };
  }
  return { aliasNodes: limits.maxAliasNodes - budget.aliasNodes };
}

/** The lexemes that start a node: a scalar marker, a quoted scalar, a flow collection, a block item, an alias. */
function countsAsNode(lexeme: string): boolean {
  const c = lexeme[0];
  return lexeme === '\x1f' || c === '"' || c === "'" || c === '[' || c === '{' || c === '*' || c === '?' || lexeme === '-';
}

interface Converted {
  value: unknown;
  /** Nodes in the expanded value. */
  size: number;
  /** Nesting levels of collections in the expanded value. */
  height: number;
}

interface Anchor {
  done: boolean;
  result?: Converted;
}

/** Document AST to plain values, one pass, aliases shared (not copied). */
class Converter {
  private readonly anchors = new Map<string, Anchor>();

  constructor(
    private readonly maxDepth: number,
    private readonly budget: { aliasNodes: number },
  ) {}

  value(node: unknown, depth: number): Converted {
    if (node === null || node === undefined) return { value: null, size: 1, height: 0 };
    const offset = (node as { range?: [number, number, number] }).range?.[0] ?? 0;
    if (isAlias(node)) {
      const anchor = this.anchors.get(node.source);
      if (!anchor) throw new BadDocument({ offset, message: `alias *${node.source} has no anchor &${node.source} before it` });
      if (!anchor.done) throw new BadDocument({ offset, message: `alias *${node.source} is inside the value it refers to (a cycle)` });
      const r = anchor.result!;
      this.budget.aliasNodes -= r.size;
      if (this.budget.aliasNodes < 0) {
        throw new LimitExceeded({ offset, limit: 'aliases', message: 'aliases expand to more nodes than allowed' });
      }
      if (depth + r.height > this.maxDepth) {
        throw new LimitExceeded({ offset, limit: 'depth', message: `alias *${node.source} nests values more than ${this.maxDepth} levels deep` });
      }
      return r;
    }
    const anchorName = (node as { anchor?: string }).anchor;
    const anchor: Anchor = { done: false };
    if (anchorName) this.anchors.set(anchorName, anchor);
    const result = this.collection(node, depth, offset);
    anchor.done = true;
    anchor.result = result;
    return result;
  }

  private collection(node: unknown, depth: number, offset: number): Converted {
    if (isScalar(node)) return { value: plainScalar(node.value), size: 1, height: 0 };
    if (depth >= this.maxDepth) throw new LimitExceeded({ offset, limit: 'depth', message: `values are nested more than ${this.maxDepth} levels deep` });
    if (isSeq(node)) {
      const out: unknown[] = [];
      let size = 1;
      let height = 0;
      for (const item of node.items) {
        // !!omap and !!pairs are sequences of pairs: each becomes a one-key mapping.
        const c = isPair(item) ? this.mapping([item], depth + 1, offset) : this.value(item, depth + 1);
        out.push(c.value);
        size += c.size;
        height = Math.max(height, c.height);
      }
      return { value: out, size, height: height + 1 };
    }
    if (isMap(node)) return this.mapping(node.items, depth, offset);
    throw new BadDocument({ offset, message: 'unsupported YAML node' });
  }

  private mapping(pairs: readonly unknown[], depth: number, offset: number): Converted {
    const out: Record<string, unknown> = {};
    let size = 1;
    let height = 0;
    const merged: Array<Record<string, unknown>> = [];
    for (const pair of pairs) {
      if (!isPair(pair)) continue;
      const value = this.value(pair.value, depth + 1);
      size += value.size;
      height = Math.max(height, value.height);
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        // A merge key: `<<: *defaults` or `<<: [*a, *b]`.
        const sources = Array.isArray(value.value) ? value.value : [value.value];
        for (const s of sources) {
          if (s === null || typeof s !== 'object' || Array.isArray(s)) {
            const at = (pair.value as { range?: number[] } | null)?.range?.[0] ?? offset;
            throw new BadDocument({ offset: at, message: 'the merge key << needs a mapping or a list of mappings' });
          }
          merged.push(s as Record<string, unknown>);
        }
        continue;
      }
      const key = this.value(pair.key, depth + 1);
      size += key.size;
      const k = keyString(key.value);
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        throw new BadDocument({ offset: (pair.key as { range?: number[] } | null)?.range?.[0] ?? offset, message: `map keys must be unique; "${k.slice(0, 100)}" is repeated` });
      }
      setKey(out, k, value.value);
    }
    // Explicit keys win over merged ones; among merged mappings the first wins.
    for (const source of merged) for (const k of Object.keys(source)) if (!Object.prototype.hasOwnProperty.call(out, k)) setKey(out, k, source[k]);
    return { value: out, size, height: height + 1 };
  }
}

function plainScalar(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64'); // !!binary, as Kubernetes' JSON has it
  if (typeof v === 'symbol') return '<<';
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function keyString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `__proto__` is an ordinary key here, never the prototype. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
