/**
 * Opens the change history a controller records into: Redis Streams when a
 * URL is given (shared by every replica), else bounded memory (this replica
 * only). A Redis that cannot be reached at start does not hold the controller
 * up for long: it publishes without history until ioredis reconnects.
 */
import { errorText } from '../k8s/errors.js';
import type { Clock } from '../telemetry/clock.js';
import type { Logger } from '../telemetry/log.js';
import { MemoryHistoryStore } from './memory.js';
import { RedisHistoryStore } from './redis.js';
import type { HistoryStore } from './store.js';

/** Where the history lives. */
export interface HistorySettings {
  /** `redis://…`; empty for the in-memory store. */
  readonly redisUrl: string;
  readonly redisPassword: string;
  /** Entries kept per node. */
  readonly entriesPerNode: number;
}

/** What opening reports to. */
export interface HistoryReporting {
  /** An entry lost because Redis was unavailable (counted in a metric). */
  readonly onLost: () => void;
  readonly log: Logger;
  readonly clock: Clock;
}

/** How long start waits for Redis before publishing without it (entries meanwhile are lost). */
const REDIS_CONNECT_WAIT_MS = 3_000;

/**
 * The change history: Redis Streams when `redisUrl` is set, else bounded
 * memory. A Redis that cannot be reached within {@link REDIS_CONNECT_WAIT_MS}
 * does not delay the controller further; ioredis keeps reconnecting.
 */
export async function openHistory(
  settings: HistorySettings,
  { onLost, log, clock }: HistoryReporting,
): Promise<HistoryStore> {
  if (settings.redisUrl === '') {
    return new MemoryHistoryStore({ entriesPerNode: settings.entriesPerNode });
  }
  const store = new RedisHistoryStore({
    url: settings.redisUrl,
    password: settings.redisPassword,
    entriesPerNode: settings.entriesPerNode,
    onLost: (err, entry) => {
      onLost();
      log.warn(
        { node: entry.node, hash: entry.newHash, err: errorText(err) },
        'lost change-history entry; redis unavailable',
      );
    },
    onConnection: (event, detail) => {
      if (event === 'ready') log.info('connected to redis for the change history');
      else if (event === 'lost') log.warn('lost connection to redis; reconnecting');
      else log.debug({ err: detail }, 'redis connection error');
    },
  });
  let timer: unknown = null;
  const waited = await Promise.race([
    store.whenReady().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = clock.setTimer(() => resolve(false), REDIS_CONNECT_WAIT_MS);
    }),
  ]);
  clock.clearTimer(timer);
  if (!waited) log.warn('redis not reachable yet; publishing without history until it is');
  return store;
}
