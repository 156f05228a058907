/**
 * One manifest file's text → its documents as plain values, fast on large
 * input (`kubectl get netpol -A -o yaml` of a whole cluster is one 12 MB
 * document) and exact about errors.
 *
 * - JSON (text starting with `{` or `[`) is read with JSON.parse, ~5× faster
 *   than any YAML parser; a duplicate key sends it down the YAML path, so it
 *   is rejected with the same message as in YAML.
 * - YAML is split into documents at `---` / `...` lines, which the YAML spec
 *   forbids inside any scalar or collection, so the split is exact and a
 *   syntax error in one document never hides the others. Each document is
 *   read by js-yaml (core schema plus merge keys, which kubectl expands too),
 *   the fastest parser measured (bench/load.bench.ts).
 * - A document js-yaml rejects is diagnosed by yaml-diagnostics.ts, which
 *   names the line where the problem starts.
 * - Nesting is bounded (MAX_DEPTH): no Kubernetes object nests deeply, and a
 *   recursive parser would otherwise overflow the stack.
 */
import { CORE_SCHEMA, loadAll, mergeTag } from 'js-yaml';

import { hasDuplicateKey } from './json-keys.js';
import { describeYamlError } from './yaml-diagnostics.js';

/**
 * The deepest nesting of collections read. Real manifests nest ~20 levels
 * (a CRD's schema perhaps 60); js-yaml's recursion overflows past ~1,500.
 */
export const MAX_DEPTH = 256;

const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** One document of a file: its value, or why it could not be read. */
export type ParsedDocument =
  | { readonly number: number; readonly value: unknown }
  | { readonly number: number; readonly error: string };

/** One document's text and where it starts in the file. */
export interface DocumentText {
  /** 1-based, counting every document, empty ones included. */
  readonly number: number;
  /** 0-based line of the file where `text` starts. */
  readonly firstLine: number;
  readonly text: string;
}

/**
 * Parses every document of `text`.
 * @returns the documents in order, numbered from 1 (empty documents have
 *   value null or undefined); never throws.
 */
export function parseDocuments(text: string): ParsedDocument[] {
  if (looksLikeJson(text)) {
    const value = parseJson(text);
    if (value !== NOT_JSON) return [{ number: 1, value }];
  }
  return splitDocuments(text).flatMap(parseOne);
}

function parseOne(doc: DocumentText): ParsedDocument[] {
  let values: unknown[];
  try {
    values = loadAll(doc.text, { schema: SCHEMA, maxDepth: MAX_DEPTH });
  } catch (e) {
    return [{ number: doc.number, error: describeYamlError(doc, e, MAX_DEPTH) }];
  }
  // A document's text holds exactly one document; an empty one holds none.
  return values.length === 0
    ? [{ number: doc.number, value: null }]
    : values.map((value) => ({ number: doc.number, value }));
}

const NOT_JSON = Symbol('not JSON');

function looksLikeJson(text: string): boolean {
  const first = /\S/.exec(text)?.[0];
  return first === '{' || first === '[';
}

/** The value of JSON `text`, or NOT_JSON when it is not JSON or repeats a key. */
function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
  return hasDuplicateKey(text) ? NOT_JSON : value;
}

/**
 * Splits a YAML stream into its documents' texts: a line starting with `---`
 * (then a space, a tab or the line end) starts a document, a line `...` ends
 * one. Text before the first `---` (or after a `...`) is a document only if
 * it holds more than comments and directives; directives go with the
 * document that follows.
 */
export function splitDocuments(text: string): DocumentText[] {
  const docs: DocumentText[] = [];
  let start = 0;
  let startLine = 0;
  let explicit = false;
  const finish = (end: number): void => {
    if (end <= start && !explicit) return;
    const part = text.slice(start, end);
    if (explicit || hasContent(part)) {
      docs.push({ number: docs.length + 1, firstLine: startLine, text: part });
    }
  };
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const next = nl < 0 ? text.length : nl + 1;
    const c = text.charCodeAt(pos);
    if ((c === 0x2d || c === 0x2e) && isMarker(text, pos, c === 0x2d ? '---' : '...')) {
      if (c === 0x2d) {
        // A bare part of only comments and directives belongs to this document.
        const bare = text.slice(start, pos);
        if (explicit || hasContent(bare)) {
          finish(pos);
          start = pos;
          startLine = line;
        }
        explicit = true;
      } else {
        finish(next);
        start = next;
        startLine = line + 1;
        explicit = false;
      }
    }
    pos = next;
    line++;
  }
  finish(text.length);
  return docs;
}

function isMarker(text: string, pos: number, marker: string): boolean {
  if (!text.startsWith(marker, pos)) return false;
  const after = text.charCodeAt(pos + 3);
  // NaN at the end of the text; space, tab, CR or LF otherwise.
  return (
    Number.isNaN(after) || after === 0x20 || after === 0x09 || after === 0x0d || after === 0x0a
  );
}

/** Whether a bare part holds a line that is not blank, a comment or a directive. */
function hasContent(part: string): boolean {
  return /^[ \t]*[^\s#%]/m.test(part) || /^[ \t]+%/m.test(part);
}
