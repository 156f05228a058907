/**
 * YAML files → Cluster, for the CLI. The I/O shell around policy/from-k8s:
 * find the files, read them, split multi-document YAML, and hand plain
 * objects with their `file#document` source to the pure converter.
 *
 * A file that cannot be read, or a document with a YAML syntax error, is one
 * error problem (with file and line) and is skipped; every other file and
 * document still loads, so one broken file does not hide the rest.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { parseAllDocuments } from 'yaml';
import type { YAMLError } from 'yaml';

import { clusterFromObjects } from '../policy/from-k8s.js';
import type { LoadResult, Problem, SourcedObject } from '../policy/from-k8s.js';

/** Extensions read when walking a directory (a file named explicitly is read whatever its name). */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * Reads Kubernetes objects from files and directories and builds a Cluster.
 *
 * - A directory is walked recursively; files ending in `.yaml`, `.yml` or
 *   `.json` are read, in code-point order of their paths; entries whose name
 *   starts with `.` are skipped and symbolic links to directories are not
 *   followed.
 * - Paths are read in the order given; a file reached twice is read once.
 * - Every file may hold several YAML documents (`---`); JSON is read as YAML.
 *   Empty documents are skipped. Sources are `<path>#<document>` (1-based).
 * - Never rejects for bad input: unreadable paths and YAML syntax errors are
 *   error problems (listed before the objects' problems); see
 *   `clusterFromObjects` for the rest.
 */
export async function readClusterYaml(paths: readonly string[]): Promise<LoadResult> {
  const problems: Problem[] = [];
  const files: string[] = [];
  for (const path of paths) files.push(...(await findManifests(path, problems)));

  const seen = new Set<string>();
  const objects: SourcedObject[] = [];
  for (const file of files) {
    const key = resolve(file);
    if (seen.has(key)) continue;
    seen.add(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      problems.push(ioProblem(file, e));
      continue;
    }
    const parsed = parseManifests(file, text);
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
  }

  const result = clusterFromObjects(objects);
  return { cluster: result.cluster, problems: [...problems, ...result.problems] };
}

/**
 * Splits one file's text into documents as plain objects. A document with a
 * syntax error becomes an error problem naming its line and column, and is
 * left out; YAML warnings become warnings.
 */
export function parseManifests(
  file: string,
  text: string,
): { readonly objects: SourcedObject[]; readonly problems: Problem[] } {
  const objects: SourcedObject[] = [];
  const problems: Problem[] = [];
  parseAllDocuments(text, { prettyErrors: true }).forEach((doc, i) => {
    const source = `${file}#${i + 1}`;
    for (const w of doc.warnings) problems.push(yamlProblem('warning', source, w));
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push(yamlProblem('error', source, e));
      return;
    }
    try {
      const object: unknown = doc.toJS();
      // A document of only comments (or `---` alone) is empty, not an object.
      if (object !== null && object !== undefined) objects.push({ source, object });
    } catch (e) {
      problems.push({ ...blank(source), severity: 'error', message: errorText(e) });
    }
  });
  return { objects, problems };
}

/** The manifest files under `path` (or `path` itself), sorted. */
async function findManifests(path: string, problems: Problem[]): Promise<string[]> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return [path];
  } catch (e) {
    problems.push(ioProblem(path, e));
    return [];
  }
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (isManifestName(entry.name) && (entry.isFile() || (await isFile(full))))
        found.push(full);
    }
  };
  try {
    await walk(path);
  } catch (e) {
    problems.push(ioProblem(path, e));
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function isManifestName(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function yamlProblem(severity: Problem['severity'], source: string, issue: YAMLError): Problem {
  // The library's message repeats the position and appends a code excerpt; keep the first clause.
  const first = (issue.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const pos = issue.linePos?.[0];
  const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
  const what = severity === 'error' ? 'YAML syntax error' : 'YAML warning';
  return { ...blank(source), severity, message: `${what}${where}: ${first}` };
}

function ioProblem(path: string, e: unknown): Problem {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
  const why = code === 'ENOENT' ? 'no such file or directory' : errorText(e);
  return { ...blank(path), severity: 'error', message: `cannot read ${path}: ${why}` };
}

function blank(source: string): Omit<Problem, 'severity' | 'message'> {
  return { source, object: '', field: '' };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
