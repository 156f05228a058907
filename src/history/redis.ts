/**
 * The change history in Redis Streams, when the controller is given
 * `--redis-url`: one stream per node, `nftpol:history:<node>`, appended with
 * `XADD … MAXLEN ~ N *` (Redis trims whole macro-nodes, so a stream holds at
 * least N entries and a little more) and read newest first with
 * `XREVRANGE`. The stream id is the entry's revision. Shared by every
 * replica, so the history survives a leader change and a controller restart.
 *
 * Redis is never in enforcement's way: the client is built with
 * `enableOfflineQueue: false` and a command timeout, so while Redis is down
 * a write fails at once instead of queueing; {@link RedisHistoryStore.record}
 * never rejects — a failed write goes to `onLost` (the controller counts it
 * in `nftpol_controller_history_lost_total` and logs it). ioredis reconnects
 * on its own with the capped back-off of {@link retryDelayMs}.
 */
import { Redis } from 'ioredis';
import {
  DEFAULT_ENTRIES_PER_NODE,
  DEFAULT_LIST_LIMIT,
  type HistoryEntry,
  type HistoryStore,
  type ListOptions,
  type NewHistoryEntry,
} from './store.js';

/** Key prefix of the per-node streams. */
export const STREAM_PREFIX = 'nftpol:history:';

/** Connection state changes worth a log line. */
export type RedisConnectionEvent = 'ready' | 'lost' | 'error';

/** Options of {@link RedisHistoryStore}. */
export interface RedisHistoryOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…` for TLS. */
  readonly url: string;
  /** Overrides a password in the URL (from a Secret). */
  readonly password?: string;
  /** Entries kept per node (approximately, at least this many). @default 50 */
  readonly entriesPerNode?: number;
  /** A write or read that takes longer fails. @default 2000 */
  readonly commandTimeoutMs?: number;
  /** Longest delay between reconnect attempts. @default 5000 */
  readonly maxRetryDelayMs?: number;
  /** Called with each entry that could not be written. */
  readonly onLost: (err: unknown, entry: NewHistoryEntry) => void;
  /** Connection state changes (for logs). */
  readonly onConnection?: (event: RedisConnectionEvent, detail?: string) => void;
}

/** The reconnect delay after `attempt` failures: 100 ms doubling, capped at `max`. */
export function retryDelayMs(attempt: number, max: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(attempt - 1, 0), 16), max);
}

const STREAM_ID = /^[0-9]+-[0-9]+$/;

/** The Redis Streams {@link HistoryStore}. */
export class RedisHistoryStore implements HistoryStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly options: RedisHistoryOptions;
  private readonly maxLen: number;

  constructor(options: RedisHistoryOptions) {
    this.options = options;
    this.maxLen = Math.max(1, options.entriesPerNode ?? DEFAULT_ENTRIES_PER_NODE);
    const maxRetryDelay = options.maxRetryDelayMs ?? 5000;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: (attempt) => retryDelayMs(attempt, maxRetryDelay),
      ...(options.password === undefined || options.password === ''
        ? {}
        : { password: options.password }),
    });
    let wasReady = false;
    this.redis.on('ready', () => {
      wasReady = true;
      options.onConnection?.('ready');
    });
    this.redis.on('close', () => {
      if (wasReady) options.onConnection?.('lost');
      wasReady = false;
    });
    // Without a listener ioredis prints every reconnect failure to the console.
    this.redis.on('error', (err: Error) => options.onConnection?.('error', err.message));
  }

  /** True while connected and ready for commands. */
  get isReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Resolves once the client is (again) ready for commands. */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => this.redis.once('ready', () => resolve()));
  }

  async record(entry: NewHistoryEntry): Promise<void> {
    try {
      await this.redis.xadd(
        STREAM_PREFIX + entry.node,
        'MAXLEN',
        '~',
        String(this.maxLen),
        '*',
        'time',
        entry.time,
        'oldHash',
        entry.oldHash ?? '',
        'newHash',
        entry.newHash,
        'causes',
        JSON.stringify(entry.causes),
        'script',
        entry.script,
      );
    } catch (err) {
      this.options.onLost(err, entry);
    }
  }

  async list(node: string, options: ListOptions = {}): Promise<HistoryEntry[]> {
    const limit = Math.max(1, options.limit ?? DEFAULT_LIST_LIMIT);
    const rows = await this.redis.xrevrange(STREAM_PREFIX + node, '+', '-', 'COUNT', limit);
    return rows.map(([id, fields]) => entryOf(node, id, fields));
  }

  async get(node: string, rev: string): Promise<HistoryEntry | null> {
    if (!STREAM_ID.test(rev)) return null;
    const rows = await this.redis.xrange(STREAM_PREFIX + node, rev, rev);
    const row = rows[0];
    return row === undefined ? null : entryOf(node, row[0], row[1]);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}

function entryOf(node: string, id: string, fields: readonly string[]): HistoryEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  let causes: string[] = [];
  try {
    const parsed: unknown = JSON.parse(f.get('causes') ?? '[]');
    if (Array.isArray(parsed)) causes = parsed.filter((c): c is string => typeof c === 'string');
  } catch {
    // an entry written by hand: no causes
  }
  const oldHash = f.get('oldHash') ?? '';
  return {
    node,
    rev: id,
    time: f.get('time') ?? '',
    oldHash: oldHash === '' ? null : oldHash,
    newHash: f.get('newHash') ?? '',
    causes,
    script: f.get('script') ?? '',
  };
}
