/**
 * `nftpol diff NODE [--from REV] [--to REV] --controller URL`: what a change
 * did to a node's script, as a unified diff computed here (history/diff.ts)
 * from the two whole scripts the controller's history holds. By default the
 * last change: the newest entry against the one before it. `--to REV` alone
 * compares REV with its predecessor; `--from REV` alone compares REV with the
 * newest. The oldest entry held has no predecessor in the history and is
 * compared with the empty script.
 */
import { unifiedDiff } from '../../history/diff.js';
import type { HistoryEntry, HistorySummary } from '../../history/store.js';
import type { CliEnv, Command, FlagValues, Invocation } from '../command.js';
import { readString } from '../command.js';
import { InputError } from '../errors.js';
import {
  CONTROLLER_ENV,
  CONTROLLER_FLAG,
  fetchEntry,
  fetchListing,
  readController,
  readNode,
  shortHash,
} from './history.js';

/** A validated `diff` command line. */
export interface DiffOptions {
  readonly node: string;
  readonly controller: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** Entries searched for `--from`/`--to` and predecessors. */
const SEARCH_LIMIT = 1000;

const HELP = `Usage: nftpol diff NODE [--from REV] [--to REV] --controller URL

Show, as a unified diff, how NODE's script changed between two revisions of
the controller's change history (see "nftpol history NODE" for revisions).
Default: the last change (the newest revision against the one before it).
--to REV alone: REV against its predecessor. --from REV alone: REV against
the newest. The oldest revision held is compared with an empty script.
Read from the controller's history port, as "nftpol history" (see its --help).

Options:
      --controller URL   the controller's history address, e.g. http://localhost:8081
                         (default: $${CONTROLLER_ENV})
      --from REV         the old revision
      --to REV           the new revision
  -h, --help             show this help

Exit status: 0 success (also when the scripts are equal); 1 unknown node or
revision, or the controller cannot answer; 2 usage error.
`;

/** Parses `diff` flags and its NODE. @throws UsageError */
export function parseDiffArgs(
  values: FlagValues,
  positionals: readonly string[],
  env: CliEnv = {},
): DiffOptions {
  return {
    node: readNode(positionals),
    controller: readController(values, env),
    from: readString(values, 'from') ?? null,
    to: readString(values, 'to') ?? null,
  };
}

/**
 * Which two revisions to compare, given the listing (newest first); `from`
 * null means the empty script.
 * @throws InputError for a revision the listing does not hold.
 */
export function chooseRevisions(
  entries: readonly HistorySummary[],
  from: string | null,
  to: string | null,
): { readonly from: string | null; readonly to: string } {
  const indexOf = (rev: string): number => {
    const i = entries.findIndex((e) => e.rev === rev);
    if (i < 0) throw new InputError(`revision ${rev} is not in the history`);
    return i;
  };
  const newest = entries[0];
  if (newest === undefined) throw new InputError('no recorded changes for this node');
  const toIndex = to === null ? 0 : indexOf(to);
  if (from !== null) {
    indexOf(from);
    return { from, to: entries[toIndex]!.rev };
  }
  return { from: entries[toIndex + 1]?.rev ?? null, to: entries[toIndex]!.rev };
}

function label(node: string, entry: HistoryEntry | null): string {
  if (entry === null) return `${node} (empty: no earlier revision held)`;
  return `${node} rev ${entry.rev} ${shortHash(entry.newHash)} ${entry.time}`;
}

/** The `diff` subcommand. */
export const diffCommand: Command = {
  name: 'diff',
  summary: "show how a node's script changed between two history revisions",
  help: HELP,
  flags: { ...CONTROLLER_FLAG, from: { type: 'string' }, to: { type: 'string' } },
  positionals: true,
  prepare: (values, positionals, context): Invocation => {
    const options = parseDiffArgs(values, positionals, context.env);
    return {
      files: [],
      run: async () => {
        const listing = await fetchListing(options.controller, options.node, SEARCH_LIMIT);
        if (listing.entries.length === 0) {
          throw new InputError(`no recorded changes for node ${options.node}`);
        }
        const revs = chooseRevisions(listing.entries, options.from, options.to);
        const [old, now] = await Promise.all([
          revs.from === null ? null : fetchEntry(options.controller, options.node, revs.from),
          fetchEntry(options.controller, options.node, revs.to),
        ]);
        const text = unifiedDiff(old?.script ?? '', now.script, {
          oldLabel: label(options.node, old),
          newLabel: label(options.node, now),
        });
        return text === ''
          ? `no difference between rev ${revs.from ?? '(empty)'} and rev ${revs.to}\n`
          : text;
      },
    };
  },
};
