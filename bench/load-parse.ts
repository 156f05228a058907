/**
 * One YAML/JSON parser candidate on one file, in its own process so that its
 * peak RSS is its own: prints `{"parseMs":…,"cpuMs":…,"peakRssBytes":…}`
 * (wall and CPU time of the parse). Run by load.bench.ts; reading the file is
 * not timed.
 *
 *   node --import tsx bench/load-parse.ts CANDIDATE FILE
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CORE_SCHEMA, loadAll, mergeTag } from 'js-yaml';
import { Lexer, Parser, parseAllDocuments } from 'yaml';
import { parseDocuments } from '../src/cli/yaml-documents.js';

/** The candidates, by name: each parses `text` fully and returns something to keep alive. */
const CANDIDATES: Readonly<Record<string, (text: string) => unknown>> = {
  // What the CLI did before #11: the yaml package's documents, then plain JS.
  'yaml parseAllDocuments + toJS': (text) => {
    const docs = parseAllDocuments(text, { prettyErrors: true });
    return (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS() as unknown);
  },
  // Lower bounds of the yaml package: its CST parser, then its lexer alone.
  'yaml Parser (CST only)': (text) => [...new Parser().parse(text)].length,
  'yaml Lexer (tokens only)': (text) => [...new Lexer().lex(text)].length,
  'js-yaml loadAll (core + merge keys)': (text) =>
    loadAll(text, { schema: CORE_SCHEMA.withTags(mergeTag) }),
  // What the CLI does now: JSON fast path, else per-document js-yaml.
  'nftpol parseDocuments': (text) => parseDocuments(text),
  'JSON.parse': (text) => JSON.parse(text) as unknown,
};

const [name = '', file = ''] = process.argv.slice(2);
const candidate = CANDIDATES[name];
if (candidate === undefined) {
  throw new Error(`unknown candidate "${name}" (known: ${Object.keys(CANDIDATES).join(', ')})`);
}
const text = readFileSync(file, 'utf8');
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const kept = candidate(text);
const cpu = process.cpuUsage(cpu0);
const parseMs = Math.round(performance.now() - t0);
const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
const peakRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  `${JSON.stringify({ parseMs, cpuMs, peakRssBytes, kept: kept !== undefined })}\n`,
);
