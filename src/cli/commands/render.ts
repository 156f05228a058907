/**
 * `nftpol render`: the controller's translate + render, offline. Prints each
 * node's complete script — its rules with the members of the shared sets
 * they use added (nft/node-script.ts), the bytes its executor loads — or
 * writes one `<node>.nft` file per node (for CI
 * and for `nft -c -f`), so that what a change does to the ruleset can be read
 * as a diff before it reaches a cluster. The node list is every node the input
 * knows of — Node objects and the nodes pods are scheduled on — so a cluster
 * described by pods alone still renders.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { nodeScripter } from '../../nft/node-script.js';
import type { Cluster } from '../../policy/model.js';
import type { Command, FlagValues, Invocation } from '../command.js';
import { FILE_FLAG, readFiles, readString } from '../command.js';
import { InputError } from '../errors.js';
import { formatNodeScripts, formatWrittenFiles } from '../format.js';

/** A validated `render` command line. */
export interface RenderOptions {
  readonly files: readonly string[];
  /** Only this node; null for every node. */
  readonly node: string | null;
  /** Directory to write `<node>.nft` files into; null prints to stdout. */
  readonly out: string | null;
  /** Render the fail-closed drop for the node's pod CIDRs. */
  readonly failClosed: boolean;
}

/** One node's rendered script. */
export interface NodeScript {
  readonly node: string;
  readonly script: string;
  /** `sha256:<hex>` of the script bytes. */
  readonly scriptHash: string;
}

/** A script written by `--out`. */
export interface WrittenScript {
  readonly path: string;
  readonly scriptHash: string;
}

const HELP = `Usage: nftpol render -f PATH [-f PATH...] [--node NAME] [--out DIR] [--fail-closed]

Translate the NetworkPolicies in the input and render each node's nft script
(one "table inet nftpol", applied atomically with nft -f): the rules of the
node's NodeFirewall, followed by "add element" lines holding the members of
the shared peer sets they use (the AddressSets), exactly what the node's
executor loads.

Without --out, prints every node's script, each preceded by a line
"# node: NAME", nodes sorted by name. With --out, writes DIR/NAME.nft for each
node (creating DIR, overwriting existing files) and prints one line per file:
"PATH sha256:HEX".

Nodes are those named by Node objects and by pods' spec.nodeName.

Options:
  -f, --file PATH    YAML file or directory (multi-document, v1 List); repeatable
      --node NAME    render only this node
      --out DIR      write DIR/NAME.nft instead of printing
      --fail-closed  drop traffic to local pod-CIDR addresses not yet programmed
  -h, --help         show this help

Exit status: 0 success; 1 invalid input (results for the valid objects are
still printed); 2 usage error.
`;

/** Parses `render` flags. @throws UsageError */
export function parseRenderArgs(values: FlagValues): RenderOptions {
  return {
    files: readFiles(values),
    node: readString(values, 'node') ?? null,
    out: readString(values, 'out') ?? null,
    failClosed: values['fail-closed'] === true,
  };
}

/** Every node the cluster knows of: Node objects and pods' nodeName, sorted. */
export function listNodeNames(cluster: Cluster): string[] {
  const names = new Set<string>(cluster.nodes.map((n) => n.name));
  for (const p of cluster.pods) if (p.nodeName !== '') names.add(p.nodeName);
  return [...names].sort();
}

/** Translates and renders the selected nodes; pure. @throws InputError for an unknown --node. */
export function renderNodes(cluster: Cluster, options: RenderOptions): NodeScript[] {
  const known = listNodeNames(cluster);
  if (options.node !== null && !known.includes(options.node)) {
    const list = known.length === 0 ? 'none' : known.join(', ');
    throw new InputError(`no node "${options.node}" in the input (nodes: ${list})`);
  }
  const names = options.node === null ? known : [options.node];
  const scriptFor = nodeScripter(cluster);
  return names.map((node) => {
    const { script, scriptHash } = scriptFor(node, { failClosed: options.failClosed });
    return { node, script, scriptHash };
  });
}

/**
 * Writes each script to `dir/<node>.nft`, creating `dir`; a relative `dir` is
 * taken from `cwd` (default: the process's working directory), and the
 * returned paths start with `dir` as given.
 * @throws InputError when a node name is no safe file name or a write fails.
 */
export async function writeNodeScripts(
  dir: string,
  scripts: readonly NodeScript[],
  cwd?: string,
): Promise<WrittenScript[]> {
  const at = (path: string): string => (cwd === undefined ? path : resolve(cwd, path));
  try {
    await makeDirectory(at(dir));
  } catch (err) {
    throw new InputError(`cannot create directory ${dir}: ${messageOf(err)}`);
  }
  const written: WrittenScript[] = [];
  for (const s of scripts) {
    // Node names are DNS subdomains; refuse anything that would leave DIR.
    if (s.node.includes('/') || s.node === '.' || s.node === '..') {
      throw new InputError(`node name "${s.node}" cannot be used as a file name`);
    }
    const path = join(dir, `${s.node}.nft`);
    try {
      await writeFile(at(path), s.script);
    } catch (err) {
      throw new InputError(`cannot write ${path}: ${messageOf(err)}`);
    }
    written.push({ path, scriptHash: s.scriptHash });
  }
  return written;
}

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(dir, { recursive: true })`
 * spins at 100% CPU forever where mkdir of a missing child fails with ENOENT
 * although its parent exists (under /proc, for one); here that error ends it.
 */
async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(dir); ;) {
    try {
      if ((await stat(current)).isDirectory()) break;
      throw new Error(`${current} exists and is not a directory`);
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
}

function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}

/** Runs `render` on a loaded cluster (`--out` relative to `cwd`); returns stdout. */
export async function runRender(
  cluster: Cluster,
  options: RenderOptions,
  cwd?: string,
): Promise<string> {
  const scripts = renderNodes(cluster, options);
  if (options.out === null) return formatNodeScripts(scripts);
  return formatWrittenFiles(await writeNodeScripts(options.out, scripts, cwd));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `render` subcommand. */
export const renderCommand: Command = {
  name: 'render',
  summary: "translate and render each node's nft script",
  help: HELP,
  flags: {
    ...FILE_FLAG,
    node: { type: 'string' },
    out: { type: 'string' },
    'fail-closed': { type: 'boolean' },
  },
  prepare(values: FlagValues, _positionals, context): Invocation {
    const options = parseRenderArgs(values);
    return { files: options.files, run: (cluster) => runRender(cluster, options, context.cwd) };
  },
};
