/**
 * `nftpol history NODE --controller URL`: the scripts the controller
 * published for one node, newest first — when, which hash replaced which,
 * and the objects whose change caused it. Read over HTTP from the
 * controller's history port (`/history/<node>`, 8081, bound to localhost in
 * the pod: reached through `kubectl port-forward`), so it needs neither
 * Redis nor a kubeconfig; `nftpol diff` shows what a change did to the script.
 * Also holds the small HTTP client both commands share.
 */
import type { HistoryEntry, HistorySummary } from '../../history/store.js';
import type { CliEnv, Command, FlagValues, Invocation, OutputFormat } from '../command.js';
import { OUTPUT_FLAG, readOutput, readString } from '../command.js';
import { InputError, UsageError } from '../errors.js';

/** `--controller URL`. */
export const CONTROLLER_FLAG = { controller: { type: 'string' } } as const;

/** Environment variable read when `--controller` is absent. */
export const CONTROLLER_ENV = 'NFTPOL_CONTROLLER_URL';

/** A validated `history` command line. */
export interface HistoryOptions {
  readonly node: string;
  readonly controller: string;
  readonly limit: number;
  readonly output: OutputFormat;
}

const HELP = `Usage: nftpol history NODE --controller URL [--limit N] [-o text|json]

List the scripts the controller published for NODE, newest first: revision,
time, the hash replaced and the hash written, and the objects whose change
caused the new script (Kind namespace/name; "resync" for a full render at
start or on a new leader). Read from the controller's history port (8081 by
default, bound to localhost in the pod), through a port-forward to the
leader's pod (the in-memory history is kept and served by the leader only;
with Redis any replica answers):

  kubectl -n NS port-forward pod/$(kubectl -n NS get lease nftpol-controller \
      -o jsonpath='{.spec.holderIdentity}') 8081

Options:
      --controller URL   the controller's history address, e.g. http://localhost:8081
                         (default: $${CONTROLLER_ENV})
      --limit N          most entries shown (default 20, at most 1000)
  -o, --output FORMAT    text (default) or json ({"node":…,"entries":[…]})
  -h, --help             show this help

Exit status: 0 success; 1 the controller or its history cannot answer; 2 usage error.
`;

/**
 * The `--controller` URL (else `env`'s $NFTPOL_CONTROLLER_URL; no environment
 * by default) without a trailing slash. @throws UsageError
 */
export function readController(values: FlagValues, env: CliEnv = {}): string {
  const url = readString(values, 'controller') ?? env[CONTROLLER_ENV] ?? '';
  if (url === '') throw new UsageError(`--controller URL is required (or $${CONTROLLER_ENV})`);
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new UsageError(`--controller: expected an http:// or https:// URL, got "${url}"`);
  }
  return url.replace(/\/+$/, '');
}

/** The one NODE positional argument. @throws UsageError */
export function readNode(positionals: readonly string[]): string {
  if (positionals.length !== 1 || positionals[0] === '') {
    throw new UsageError(`expected exactly one NODE argument, got ${positionals.length}`);
  }
  return positionals[0]!;
}

/**
 * GETs `path` from the controller and parses the JSON answer.
 * @throws InputError when the controller cannot be reached or answers an error.
 */
export async function fetchHistory<T>(controller: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${controller}${path}`);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message : String(err);
    throw new InputError(`cannot reach the controller at ${controller}: ${detail}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InputError(
      `${controller}${path} answered ${response.status} without JSON (is this the controller's history port, 8081 by default?)`,
    );
  }
  if (!response.ok) {
    const error = (body as { error?: unknown }).error;
    throw new InputError(typeof error === 'string' ? error : `HTTP ${response.status}`);
  }
  return body as T;
}

/** A listing as the controller sends it. */
export interface HistoryListing {
  readonly node: string;
  readonly entries: readonly HistorySummary[];
}

/** Fetches up to `limit` summaries of `node`, newest first. */
export function fetchListing(
  controller: string,
  node: string,
  limit: number,
): Promise<HistoryListing> {
  return fetchHistory(controller, `/history/${encodeURIComponent(node)}?limit=${limit}`);
}

/** Fetches one entry with its script. */
export function fetchEntry(controller: string, node: string, rev: string): Promise<HistoryEntry> {
  return fetchHistory(
    controller,
    `/history/${encodeURIComponent(node)}/${encodeURIComponent(rev)}`,
  );
}

/** `sha256:` and the first 12 hex digits; `-` for none. */
export function shortHash(hash: string | null): string {
  if (hash === null) return '-';
  return hash.startsWith('sha256:') ? hash.slice(0, 'sha256:'.length + 12) : hash;
}

/** The text table of a listing. */
export function formatHistoryText(listing: HistoryListing): string {
  if (listing.entries.length === 0) return `no recorded changes for node ${listing.node}\n`;
  const rows = listing.entries.map((e) => [
    e.rev,
    e.time,
    shortHash(e.oldHash),
    shortHash(e.newHash),
    e.causes.join(', ') || '-',
  ]);
  const header = ['REV', 'TIME', 'OLD HASH', 'NEW HASH', 'CAUSES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Parses `history` flags and its NODE. @throws UsageError */
export function parseHistoryArgs(
  values: FlagValues,
  positionals: readonly string[],
  env: CliEnv = {},
): HistoryOptions {
  const limitText = readString(values, 'limit') ?? '20';
  const limit = Number(limitText);
  if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > 1000) {
    throw new UsageError(`--limit: expected a number from 1 to 1000, got "${limitText}"`);
  }
  return {
    node: readNode(positionals),
    controller: readController(values, env),
    limit,
    output: readOutput(values),
  };
}

/** The `history` subcommand. */
export const historyCommand: Command = {
  name: 'history',
  summary: 'list the scripts the controller published for a node, and why',
  help: HELP,
  flags: { ...CONTROLLER_FLAG, limit: { type: 'string' }, ...OUTPUT_FLAG },
  positionals: true,
  prepare: (values, positionals, context): Invocation => {
    const options = parseHistoryArgs(values, positionals, context.env);
    return {
      files: [],
      run: async () => {
        const listing = await fetchListing(options.controller, options.node, options.limit);
        return options.output === 'json'
          ? `${JSON.stringify(listing, null, 2)}\n`
          : formatHistoryText(listing);
      },
    };
  },
};
