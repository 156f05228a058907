/**
 * Why a YAML document could not be read, said where the problem starts.
 *
 * Parsers notice an unclosed `[`, `{` or quote only where the text stops
 * making sense — often the end of the document, far from the mistake. So a
 * document js-yaml rejected is parsed again with the `yaml` package, whose
 * messages are the clearest and whose concrete syntax tree keeps every
 * token's offset: an error about an unclosed flow collection or quoted
 * scalar is moved to where that collection or scalar opens, and the place it
 * was noticed is kept in the message. Slow parsing is fine here: it runs on
 * failing documents only.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

type Token = Yaml.CST.Token;

let loaded: typeof Yaml | undefined;

/** The yaml package, loaded on first use: ~50 ms that reading valid input never needs. */
function yaml(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return loaded;
}

/** A document's text and its first line (0-based) in the file. */
export interface DocumentAt {
  readonly firstLine: number;
  readonly text: string;
}

/** Where in a file: 1-based line and column. */
interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * The message for a document the parser threw on: `YAML syntax error at
 * line L, column C: …` (positions in the file), or that it nests more than
 * `maxDepth` levels.
 */
export function describeYamlError(doc: DocumentAt, error: unknown, maxDepth: number): string {
  const fallback = jsYamlPosition(doc, error);
  if (error instanceof RangeError || /exceeded maxDepth/.test(errorText(error))) {
    const where = fallback ? ` (at line ${fallback.line})` : '';
    return `document nested more than ${maxDepth} levels deep${where}: no Kubernetes object nests so deep, so it is not read`;
  }
  const diagnosed = diagnose(doc);
  if (diagnosed !== null) return diagnosed;
  const reason = reasonOf(error);
  const where = fallback ? ` at line ${fallback.line}, column ${fallback.col}` : '';
  return `YAML syntax error${where}: ${reason}`;
}

/** The first error the `yaml` package finds, moved to where it starts; null if it finds none. */
function diagnose(doc: DocumentAt): string | null {
  let first: Yaml.YAMLError | undefined;
  try {
    first = yaml().parseDocument(doc.text, { prettyErrors: true }).errors[0];
  } catch {
    return null;
  }
  if (first === undefined) return null;
  const message = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const noticed = toFile(doc, first.linePos?.[0]);
  const opened = openingOf(doc.text, message, first.pos[0]);
  if (opened === null || noticed === null) {
    const where = noticed ? ` at line ${noticed.line}, column ${noticed.col}` : '';
    return `YAML syntax error${where}: ${message}`;
  }
  const at = toFile(doc, positionOf(doc.text, opened)) ?? noticed;
  return `YAML syntax error at line ${at.line}, column ${at.col}: ${message} (it opens here and is not closed; noticed at line ${noticed.line}, column ${noticed.col})`;
}

/**
 * For an error about an unclosed flow sequence or map, or a missing closing
 * quote, the offset where the innermost such unclosed token before
 * `errorOffset` opens; null for other errors.
 */
function openingOf(text: string, message: string, errorOffset: number): number | null {
  const wanted = /Flow sequence/.test(message)
    ? '['
    : /Flow map/.test(message)
      ? '{'
      : /Missing closing "quote/.test(message)
        ? '"'
        : /Missing closing 'quote/.test(message)
          ? "'"
          : null;
  if (wanted === null) return null;
  let best: number | null = null;
  const consider = (token: Token | undefined): void => {
    if (token === undefined || token.offset >= errorOffset) return;
    if (best !== null && token.offset <= best) return;
    if (isUnclosed(token, wanted)) best = token.offset;
  };
  const { CST, Parser } = yaml();
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    consider(token.value);
    CST.visit(token, (item) => {
      consider(item.key ?? undefined);
      consider(item.value);
    });
  }
  return best;
}

function isUnclosed(token: Token, opener: string): boolean {
  if (token.type === 'flow-collection') {
    const closer = opener === '[' ? ']' : '}';
    return token.start.source === opener && !token.end.some((t) => t.source === closer);
  }
  if (token.type === 'double-quoted-scalar' && opener === '"') return !isClosedQuote(token.source);
  if (token.type === 'single-quoted-scalar' && opener === "'") return !isClosedQuote(token.source);
  return false;
}

/**
 * Whether a quoted scalar's source ends with its closing quote: for `"`, one
 * not escaped by an odd run of backslashes; for `'`, an odd run of quotes
 * (`''` is an escaped quote).
 */
function isClosedQuote(source: string): boolean {
  const quote = source[0];
  const body = source.trimEnd().slice(1);
  if (!body.endsWith(quote ?? '')) return false;
  if (quote === "'") return (/'+$/.exec(body)?.[0].length ?? 0) % 2 === 1;
  return (/\\*$/.exec(body.slice(0, -1))?.[0].length ?? 0) % 2 === 0;
}

/** 1-based line and column of `offset` in `text`. */
function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function toFile(doc: DocumentAt, pos: Position | undefined): Position | null {
  return pos === undefined ? null : { line: doc.firstLine + pos.line, col: pos.col };
}

/** js-yaml's mark, in file positions. */
function jsYamlPosition(doc: DocumentAt, error: unknown): Position | null {
  if (typeof error !== 'object' || error === null || !('mark' in error)) return null;
  const mark = error.mark as { line?: unknown; column?: unknown } | null;
  if (typeof mark?.line !== 'number' || typeof mark.column !== 'number') return null;
  return { line: doc.firstLine + mark.line + 1, col: mark.column + 1 };
}

function reasonOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'reason' in error) {
    if (typeof error.reason === 'string' && error.reason !== '') return error.reason;
  }
  return errorText(error).split('\n')[0] ?? '';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
