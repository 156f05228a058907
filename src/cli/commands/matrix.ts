/**
 * `nftpol matrix`: the oracle's answer for every ordered pair of pods, on one
 * port — the whole effect of a set of policies at a glance, and in JSON a
 * table CI can diff. Pairs are resolved with explain's rules (IPv4 when both
 * pods have it, else IPv6; a named port per destination pod), so a cell and
 * `nftpol explain` for the same pair always agree.
 */
import type { Cluster, Pod, Protocol } from '../../policy/model.js';
import { isEnforceable, qualifiedName } from '../../policy/model.js';
import { explainerFor } from '../../policy/explain.js';
import type { Connection, Verdict } from '../../policy/verdict.js';
import type { Command, FlagValues, Invocation, OutputFormat, PortArg } from '../command.js';
import {
  FILE_FLAG,
  OUTPUT_FLAG,
  PROTOCOL_FLAG,
  readFiles,
  readOutput,
  readPortAndProtocol,
} from '../command.js';
import { InputError } from '../errors.js';
import { formatMatrixJson, formatMatrixText } from '../format.js';
import { addressOf, pickFamily, resolveDestinationPort } from './explain.js';

/** A validated `matrix` command line. */
export interface MatrixOptions {
  readonly files: readonly string[];
  readonly port: PortArg;
  readonly protocol: Protocol;
  readonly output: OutputFormat;
}

/**
 * One cell:
 *  - `allowed` / `denied`: the oracle's verdict;
 *  - `no-port`: the named port resolves nowhere on the destination pod;
 *  - `no-family`: the two pods share no address family.
 * Only `allowed` counts as allowed.
 */
export type Cell = 'allowed' | 'denied' | 'no-port' | 'no-family';

/** The verdict for every ordered pair; `cells[from][to]` index into `pods`. */
export interface Matrix {
  readonly port: PortArg;
  readonly protocol: Protocol;
  /** `namespace/name`, sorted by namespace then name. */
  readonly pods: readonly string[];
  readonly cells: readonly (readonly Cell[])[];
}

/** The default port: 80/TCP. */
export const DEFAULT_PORT: PortArg = 80;

const HELP = `Usage: nftpol matrix -f PATH... [--port N|NAME] [--protocol TCP|UDP|SCTP] [-o text|json]

Evaluate, for every ordered pair of pods (pods with an IP, not hostNetwork,
not Succeeded/Failed; sorted by namespace/name), whether a new connection from
the row pod to the column pod is allowed on one port (default 80/TCP). A pair
uses IPv4 when both pods have it, else IPv6. A named port is resolved on each
destination pod; where the destination has no such port the pair is not
evaluated (-). A name that no pod declares is an error (exit 1), as in explain.

Text: a grid, row = from, column = to, pods numbered in the legend at the end
of each row.  A = allowed   . = denied   - = not evaluated (the destination
has no such named port, or the pods share no address family).

JSON: {"port":80,"protocol":"TCP","pods":["ns/pod",...],
       "allowed":{"ns/from":{"ns/to":true,...},...}}
(every pair present; false for denied and not-evaluated pairs).

Options:
  -f, --file PATH        YAML file or directory; repeatable
      --port N|NAME      destination port number or name (default 80; also N/PROTOCOL)
      --protocol PROTO   TCP (default), UDP or SCTP
  -o, --output FORMAT    text (default) or json
  -h, --help             show this help

Exit status: 0 success; 1 invalid input (the matrix is still printed); 2 usage error.
`;

/** Parses `matrix` flags. @throws UsageError */
export function parseMatrixArgs(values: FlagValues): MatrixOptions {
  const files = readFiles(values);
  const { port, protocol } = readPortAndProtocol(values, DEFAULT_PORT);
  return { files, port, protocol, output: readOutput(values) };
}

function comparePods(a: Pod, b: Pod): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function evaluatePair(
  from: Pod,
  to: Pod,
  port: PortArg,
  protocol: Protocol,
  explain: (connection: Connection) => Verdict,
): Cell {
  const family = pickFamily(from.ips, to.ips, null);
  if (family === null) return 'no-family';
  const number = resolveDestinationPort(port, protocol, to);
  if (number === null) return 'no-port';
  const verdict = explain({
    from: addressOf(from.ips, family) ?? '',
    to: addressOf(to.ips, family) ?? '',
    protocol,
    port: number,
  });
  return verdict.allowed ? 'allowed' : 'denied';
}

/** Evaluates every ordered pair of enforceable pods (a pod with itself included); pure. */
export function computeMatrix(cluster: Cluster, port: PortArg, protocol: Protocol): Matrix {
  const pods = cluster.pods.filter(isEnforceable).sort(comparePods);
  const explain = explainerFor(cluster);
  return {
    port,
    protocol,
    pods: pods.map(qualifiedName),
    cells: pods.map((from) => pods.map((to) => evaluatePair(from, to, port, protocol, explain))),
  };
}

/**
 * Runs `matrix` on a loaded cluster; returns stdout.
 * @throws InputError when a port name resolves on no pod at all: the grid
 *   would be all `-`, which says nothing about the policies (and is most
 *   likely a typo).
 */
export function runMatrix(cluster: Cluster, options: MatrixOptions): Promise<string> {
  const { port, protocol } = options;
  if (typeof port === 'string') {
    const resolves = cluster.pods.some(
      (p) => isEnforceable(p) && resolveDestinationPort(port, protocol, p) !== null,
    );
    if (!resolves) {
      throw new InputError(
        `named port "${port}" (${protocol}) resolves nowhere: no pod in the input declares a ${protocol} container port of that name`,
      );
    }
  }
  const matrix = computeMatrix(cluster, options.port, options.protocol);
  return Promise.resolve(
    options.output === 'json' ? formatMatrixJson(matrix) : formatMatrixText(matrix),
  );
}

/** The `matrix` subcommand. */
export const matrixCommand: Command = {
  name: 'matrix',
  summary: 'show which pods may connect to which, on one port',
  help: HELP,
  flags: { ...FILE_FLAG, ...OUTPUT_FLAG, ...PROTOCOL_FLAG, port: { type: 'string' } },
  prepare(values: FlagValues): Invocation {
    const options = parseMatrixArgs(values);
    return { files: options.files, run: (cluster) => runMatrix(cluster, options) };
  },
};
