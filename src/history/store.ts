/**
 * The change history's contract: every time the controller publishes a new
 * script for a node it records one {@link HistoryEntry} — when, the hash it
 * replaced, the objects whose change caused it, and the whole script (a diff
 * is computed on read, src/history/diff.ts, so a lost entry never corrupts
 * the ones after it). Two implementations: memory.ts (bounded, the default)
 * and redis.ts (Redis Streams, `--redis-url`). Recording is best effort by
 * contract: {@link HistoryStore.record} never rejects, because history must
 * never stand in the way of enforcement.
 */

/** One published script of one node. */
export interface HistoryEntry {
  readonly node: string;
  /**
   * Opaque revision, increasing per node: a counter in memory, the stream
   * id (`<ms>-<seq>`) in Redis. Compare by list order, not as numbers.
   */
  readonly rev: string;
  /** When the NodeFirewall write succeeded, RFC 3339 with milliseconds. */
  readonly time: string;
  /** `spec.scriptHash` replaced, `tampered` for a hand-edited one, null when there was none. */
  readonly oldHash: string | null;
  /** `spec.scriptHash` written. */
  readonly newHash: string;
  /**
   * What made the node dirty, sorted: `Kind namespace/name` (`Kind name`
   * when cluster-scoped), `resync` for a full render (start, new leader), and
   * `+N more` when there were more than {@link MAX_CAUSES}.
   */
  readonly causes: readonly string[];
  /** The whole script written. */
  readonly script: string;
}

/** A {@link HistoryEntry} without its script, as listings show it. */
export type HistorySummary = Omit<HistoryEntry, 'script'>;

/** What {@link HistoryStore.record} takes: the store assigns the revision. */
export type NewHistoryEntry = Omit<HistoryEntry, 'rev'>;

/** Options of {@link HistoryStore.list}. */
export interface ListOptions {
  /** Most entries returned, newest first. @default 20 */
  readonly limit?: number;
}

/** Causes kept per entry; more are summarised as `+N more`. */
export const MAX_CAUSES = 32;

/** Entries kept per node unless configured otherwise. */
export const DEFAULT_ENTRIES_PER_NODE = 50;

/** Entries listed when no limit is given. */
export const DEFAULT_LIST_LIMIT = 20;

/** Where the controller keeps its change history. */
export interface HistoryStore {
  /** `memory` or `redis`, for logs and the startup line. */
  readonly kind: 'memory' | 'redis';
  /**
   * Appends an entry. Never rejects and never waits on an unavailable
   * backend: a failed write is counted and logged by the store.
   */
  record(entry: NewHistoryEntry): Promise<void>;
  /** The node's entries, newest first, at most `limit`. @throws when the backend is unavailable */
  list(node: string, options?: ListOptions): Promise<HistoryEntry[]>;
  /** One entry, or null when unknown (or already trimmed). @throws when the backend is unavailable */
  get(node: string, rev: string): Promise<HistoryEntry | null>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** The entry without its script. */
export function summaryOf(entry: HistoryEntry): HistorySummary {
  return {
    node: entry.node,
    rev: entry.rev,
    time: entry.time,
    oldHash: entry.oldHash,
    newHash: entry.newHash,
    causes: entry.causes,
  };
}

/**
 * Causes as an entry stores them: sorted, at most {@link MAX_CAUSES}, the
 * rest counted in a final `+N more`.
 */
export function boundCauses(causes: Iterable<string>, extra = 0): string[] {
  const all = [...new Set(causes)].sort();
  const kept = all.slice(0, MAX_CAUSES);
  const more = all.length - kept.length + extra;
  return more > 0 ? [...kept, `+${more} more`] : kept;
}
