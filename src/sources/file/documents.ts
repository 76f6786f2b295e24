// A manifest file cut into its YAML documents, so that a save re-reads only
// the documents it changed. Cut only where the cut cannot change the meaning:
// at `---` at the start of a line (no scalar may contain such a line), in
// files without directives (`%`), document end markers (`...`), byte order
// marks or line breaks other than \n. Anything else is read whole.

export interface DocumentText {
  text: string;
  /** Lines of the file before this document. */
  line: number;
}

const UNSAFE = /^(%|\.\.\.(?=[ \t\n]|$))|[\r\u2028\u2029\u0085\uFEFF]/m;
const MARKER = /^---(?=[ \t\n]|$)/gm;
const BLANK_OR_COMMENTS = /^(?:[ \t]*(?:#.*)?(?:\n|$))*$/;

/** The file's documents in order, or undefined when it must be read whole. */
export function splitDocuments(text: string): DocumentText[] | undefined {
  if (UNSAFE.test(text)) return undefined;
  const starts = [0];
  for (const m of text.matchAll(MARKER)) if (m.index !== 0) starts.push(m.index);
  // Comments before the first marker belong to the first document.
  if (starts.length > 1 && BLANK_OR_COMMENTS.test(text.slice(0, starts[1]))) starts.splice(1, 1);
  const out: DocumentText[] = [];
  let line = 0;
  for (let i = 0; i < starts.length; i++) {
    const chunk = text.slice(starts[i], starts[i + 1] ?? text.length);
    out.push({ text: chunk, line });
    for (let j = chunk.indexOf('\n'); j !== -1; j = chunk.indexOf('\n', j + 1)) line++;
  }
  return out;
}
