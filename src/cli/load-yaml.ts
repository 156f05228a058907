/**
 * YAML files → Cluster, for the CLI. The I/O shell around policy/from-k8s:
 * find the files, read and decode them (decode.ts), split and parse their
 * documents (yaml-documents.ts), and hand plain objects with their
 * `file#document` source to the pure converter.
 *
 * A file that cannot be read, or a document with a YAML syntax error, is one
 * error problem (with file and line) and is skipped; every other file and
 * document still loads, so one broken file does not hide the rest. What was
 * not read is never silent: a dangling link, a document too deep to read, and
 * a run that found no Kubernetes object at all are errors too.
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { clusterFromObjects } from '../policy/from-k8s.js';
import type { LoadResult, Problem, SourcedObject } from '../policy/from-k8s.js';
import { decodeManifest } from './decode.js';
import { screenObjects } from './manifest-screen.js';
import { parseDocuments } from './yaml-documents.js';

/** Extensions read when walking a directory (a file named explicitly is read whatever its name). */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * Reads Kubernetes objects from files and directories and builds a Cluster.
 *
 * - A directory is walked recursively; files ending in `.yaml`, `.yml` or
 *   `.json` are read, in code-point order of their paths; entries whose name
 *   starts with `.` are skipped and symbolic links to directories are not
 *   followed. A link to a manifest that does not exist (dangling) is an
 *   error.
 * - Paths are read in the order given; a file reached twice is read once.
 * - A file is UTF-8 unless a byte order mark says UTF-16LE or UTF-16BE.
 *   It may hold several YAML documents (`---`); JSON is one document. YAML
 *   merge keys (`<<: *anchor`) are expanded. Empty documents are skipped.
 *   Sources are `<path>#<document>` (1-based).
 * - Never rejects for bad input: unreadable paths and YAML syntax errors are
 *   error problems (listed before the objects' problems); see
 *   `clusterFromObjects` for the rest. When `paths` is not empty but no
 *   Kubernetes object (a mapping with a `kind`) was found and no other error
 *   says why, that is an error problem too, listed last.
 * - Relative paths are read from `options.cwd` (default: the process's working
 *   directory); sources name them as given.
 */
export async function readClusterYaml(
  paths: readonly string[],
  options: { readonly cwd?: string } = {},
): Promise<LoadResult> {
  const at = fromDirectory(options.cwd);
  const problems: Problem[] = [];
  const files: string[] = [];
  for (const path of paths) files.push(...(await findManifests(path, at, problems)));

  const seen = new Set<string>();
  const objects: SourcedObject[] = [];
  for (const file of files) {
    const key = resolve(at(file));
    if (seen.has(key)) continue;
    seen.add(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(at(file));
    } catch (e) {
      problems.push(ioProblem(file, e));
      continue;
    }
    const parsed = parseManifests(file, decodeManifest(bytes).text);
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
  }

  const result = clusterFromObjects(objects);
  const all = [...problems, ...withScreening(result.problems, screenObjects(objects))];
  const silent = !all.some((p) => p.severity === 'error');
  if (paths.length > 0 && silent && !objects.some((o) => isKubernetesObject(o.object))) {
    all.push({ ...blank(''), severity: 'error', message: nothingFound(paths, seen.size) });
  }
  return { cluster: result.cluster, problems: all };
}

/**
 * Splits one file's text into documents as plain objects. A document that
 * cannot be read (a syntax error, nesting too deep) becomes an error problem
 * naming its line and column, and is left out.
 */
export function parseManifests(
  file: string,
  text: string,
): { readonly objects: SourcedObject[]; readonly problems: Problem[] } {
  const objects: SourcedObject[] = [];
  const problems: Problem[] = [];
  for (const doc of parseDocuments(text)) {
    const source = `${file}#${doc.number}`;
    if ('error' in doc) {
      problems.push({ ...blank(source), severity: 'error', message: doc.error });
    } else if (doc.value !== null && doc.value !== undefined) {
      // A document of only comments (or `---` alone) is empty, not an object.
      objects.push({ source, object: doc.value });
    }
  }
  return { objects, problems };
}

/** A path as typed → the path to open: relative ones from `cwd`, when given. */
type PathResolver = (path: string) => string;

function fromDirectory(cwd: string | undefined): PathResolver {
  return (path) => (cwd === undefined ? path : resolve(cwd, path));
}

/** The manifest files under `path` (or `path` itself), sorted; paths as typed. */
async function findManifests(
  path: string,
  at: PathResolver,
  problems: Problem[],
): Promise<string[]> {
  try {
    const info = await stat(at(path));
    if (!info.isDirectory()) return [path];
  } catch (e) {
    problems.push(ioProblem(path, e));
    return [];
  }
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(at(dir), { withFileTypes: true });
    } catch (e) {
      problems.push(ioProblem(dir, e));
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (!isManifestName(entry.name)) continue;
      else if (entry.isFile()) found.push(full);
      else if (entry.isSymbolicLink()) {
        const target = await linkedFile(full, at, problems);
        if (target) found.push(full);
      }
    }
  };
  await walk(path);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function isManifestName(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/**
 * Whether the link `path` leads to a file; a dangling link is an error
 * problem (a manifest that was meant to be read), a link to a directory is
 * not followed.
 */
async function linkedFile(path: string, at: PathResolver, problems: Problem[]): Promise<boolean> {
  try {
    return (await stat(at(path))).isFile();
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') {
      problems.push(ioProblem(path, e));
      return false;
    }
    const target = await readlink(at(path)).catch(() => '?');
    problems.push({
      ...blank(path),
      severity: 'error',
      message: `cannot read ${path}: dangling symbolic link (its target ${target} does not exist)`,
    });
    return false;
  }
}

/**
 * The loader's problems with each object the screen rejects in place of what
 * the loader said about it (that it ignored it), so that the order stays the
 * input order; a screened object the loader said nothing about comes last.
 */
function withScreening(loaded: readonly Problem[], screened: readonly Problem[]): Problem[] {
  const pending = new Map(screened.map((p) => [p.source, p]));
  const bySource = new Set(pending.keys());
  const out: Problem[] = [];
  for (const p of loaded) {
    if (!bySource.has(p.source)) {
      out.push(p);
      continue;
    }
    const replacement = pending.get(p.source);
    if (replacement !== undefined) out.push(replacement);
    pending.delete(p.source);
  }
  return [...out, ...pending.values()];
}

/** A mapping with a non-empty string `kind`: what every Kubernetes manifest is. */
function isKubernetesObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const kind: unknown = (value as Record<string, unknown>)['kind'];
  return typeof kind === 'string' && kind !== '';
}

function nothingFound(paths: readonly string[], files: number): string {
  const where = paths.join(', ');
  if (files > 0) {
    return `no Kubernetes object in the input: ${files === 1 ? '1 file' : `${files} files`} read from ${where}, nothing to check`;
  }
  const exts = MANIFEST_EXTENSIONS.join(', ').replace(/, ([^,]*)$/, ' or $1');
  return `no Kubernetes object in the input: no ${exts} file in ${where}, nothing to check`;
}

function ioProblem(path: string, e: unknown): Problem {
  const why = errorCode(e) === 'ENOENT' ? 'no such file or directory' : errorText(e);
  return { ...blank(path), severity: 'error', message: `cannot read ${path}: ${why}` };
}

function errorCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
}

function blank(source: string): Omit<Problem, 'severity' | 'message'> {
  return { source, object: '', field: '' };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
