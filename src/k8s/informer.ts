/**
 * A typed informer over client-node's ListWatch that survives what API
 * servers do in production:
 *
 *  - 410 Gone (a watch resourceVersion compacted away): ListWatch relists,
 *    and its relist reports objects deleted meanwhile as deletes;
 *  - a watch the server closes: ListWatch reconnects from the last
 *    resourceVersion (its own doubling delay, scaled to `backoffMs`);
 *  - any other error (connection refused, 5xx on list): ListWatch gives up,
 *    so this wrapper restarts it after a doubling back-off (`backoffMs` up to
 *    `maxBackoffMs`), reset by the next successful list.
 *
 * Objects are reduced by `strip` as they arrive (list and watch alike), so
 * the cache holds only the fields the caller needs — a Pod's managedFields,
 * conditions and container specs never stay in memory.
 *
 * Nothing the caller supplies can stop the informer or the process: a
 * handler or `strip` that throws on one object skips that object (reported
 * through `onHandlerError`; ListWatch would otherwise drop the rest of a list
 * and leave an unhandled rejection), and a failure to start (credentials that
 * cannot be read) is retried like any other error.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** An API object as informers hand it over (for code outside k8s/, which may not import client-node). */
export type { KubernetesObject };
import { SYSTEM_CLOCK, type Clock } from '../telemetry/clock.js';

/** A list response: items and the collection's resourceVersion. */
export interface ListResult {
  readonly metadata?: { readonly resourceVersion?: string | undefined } | undefined;
  readonly items: readonly unknown[];
}

/** What to watch. */
export interface InformerSpec<T extends KubernetesObject> {
  /** Collection path, e.g. `/api/v1/pods`. */
  readonly path: string;
  /** Lists the collection (typed client-node call or raw). */
  readonly list: () => Promise<ListResult>;
  /** Keeps the fields the caller needs; the result must carry metadata.name/namespace/resourceVersion. */
  readonly strip: (object: unknown) => T;
  /** Optional field selector, e.g. `metadata.name=node-1`. */
  readonly fieldSelector?: string;
  /**
   * Optional label selector, e.g. `nftpol.io/set in (pods-…,port-…)`, for the
   * watch; `list` must apply the same one.
   */
  readonly labelSelector?: string;
}

/** Callbacks; `onDelete` receives the last known object. */
export interface InformerHandlers<T> {
  onUpsert(object: T): void;
  onDelete(object: T): void;
}

/** Back-off and error reporting. */
export interface InformerOptions {
  /** First restart delay after an error. @default 500 */
  readonly backoffMs?: number;
  /** Longest restart delay. @default 30000 */
  readonly maxBackoffMs?: number;
  /** Timers for the back-off. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** Every error, before the restart is scheduled. */
  readonly onError?: (err: unknown, retryInMs: number) => void;
  /**
   * A handler or `strip` threw on one object: the event was skipped, the
   * informer goes on. `object` is the object as received (stripped when the
   * handler threw), when known.
   */
  readonly onHandlerError?: (err: unknown, object: unknown) => void;
}

/** A running informer. */
export interface RunningInformer {
  /** Resolves after the first successful list has been delivered. */
  readonly synced: Promise<void>;
  hasSynced(): boolean;
  stop(): Promise<void>;
}

/**
 * A Watch whose events are stripped before ListWatch caches them. An object
 * `strip` throws on is reported and skipped (client-node would drop it
 * silently); so is a failure of ListWatch's own handling of the event.
 */
class StrippingWatch extends Watch {
  private readonly strip: (object: unknown) => unknown;
  private readonly onHandlerError: (err: unknown, object: unknown) => void;

  constructor(
    config: KubeConfig,
    strip: (object: unknown) => unknown,
    onHandlerError: (err: unknown, object: unknown) => void,
  ) {
    super(config);
    this.strip = strip;
    this.onHandlerError = onHandlerError;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, obj: unknown, raw: unknown) => {
        let stripped: unknown;
        try {
          stripped = phase === 'ERROR' || phase === 'BOOKMARK' ? obj : this.strip(obj);
        } catch (err) {
          this.onHandlerError(err, obj);
          return;
        }
        // ListWatch's handler is async and client-node ignores its promise.
        const handled: unknown = callback(phase, stripped, raw);
        if (handled instanceof Promise) {
          handled.catch((err: unknown) => this.onHandlerError(err, stripped));
        }
      },
      done,
    );
  }
}

/** Starts list+watch on `spec`; returns at once (await `synced` for the initial list). */
export function startInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  spec: InformerSpec<T>,
  handlers: InformerHandlers<T>,
  options: InformerOptions = {},
): RunningInformer {
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const clock = options.clock ?? SYSTEM_CLOCK;
  let stopped = false;
  let synced = false;
  let listed = false;
  let delay = backoffMs;
  let restart: unknown = null;
  let markSynced: () => void = () => undefined;
  const syncedPromise = new Promise<void>((resolve) => (markSynced = resolve));
  const handlerFailed = (err: unknown, object: unknown): void => {
    try {
      options.onHandlerError?.(err, object);
    } catch {
      // The reporter failed too; the event stays skipped.
    }
  };
  /** Calls a handler; a throw skips this one object. */
  const guarded =
    (fn: (obj: T) => void) =>
    (obj: T): void => {
      try {
        fn(obj);
      } catch (err) {
        handlerFailed(err, obj);
      }
    };
  const stripOne = (item: unknown): T[] => {
    try {
      return [spec.strip(toWireJson(item))];
    } catch (err) {
      handlerFailed(err, item);
      return [];
    }
  };

  const list = async (): Promise<{ metadata: { resourceVersion: string }; items: T[] }> => {
    const result = await spec.list();
    listed = true;
    delay = backoffMs;
    return {
      metadata: { resourceVersion: result.metadata?.resourceVersion ?? '' },
      items: result.items.flatMap(stripOne),
    };
  };
  const informer = new ListWatch<T>(
    spec.path,
    new StrippingWatch(kubeConfig, spec.strip, handlerFailed),
    list,
    false,
    spec.labelSelector,
    spec.fieldSelector,
    {
      // ListWatch's own reconnect delay (1 s doubling to 30 s) scaled to ours.
      delayFn: async (ms: number) => {
        const wait = Math.min(maxBackoffMs, (ms / 1000) * backoffMs);
        await new Promise<void>((resolve) => clock.setTimer(resolve, wait));
        if (stopped) await new Promise<never>(() => undefined); // never reconnect after stop
      },
    },
  );
  const upsert = guarded((obj) => handlers.onUpsert(obj));
  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on(
    'delete',
    guarded((obj) => handlers.onDelete(obj)),
  );
  /** Reports `err` and restarts after the back-off (unless stopped or already scheduled). */
  const failed = (err: unknown): void => {
    if (stopped || restart !== null) return;
    const wait = delay;
    delay = Math.min(maxBackoffMs, delay * 2);
    try {
      options.onError?.(err, wait);
    } catch {
      // A failing reporter must not stop the restart.
    }
    restart = clock.setTimer(() => {
      restart = null;
      start();
    }, wait);
  };
  informer.on('error', failed);

  const run = async (): Promise<void> => {
    if (stopped) return;
    await informer.start();
    if (listed && !synced) {
      synced = true;
      markSynced();
    }
  };
  // start() rejects when the watch cannot even be set up (e.g. credentials
  // that cannot be read); retry it like an error ListWatch reports.
  const start = (): void => {
    run().catch(failed);
  };
  start();

  return {
    synced: syncedPromise,
    hasSynced: () => synced,
    stop: async () => {
      stopped = true;
      if (restart !== null) clock.clearTimer(restart);
      await informer.stop();
    },
  };
}

/**
 * Turns a client-node model object (typed list items) back into the JSON the
 * API sent, as watch events carry it: Dates become RFC 3339 strings,
 * undefined fields disappear, and the one field the models rename for the
 * resources nftpol reads, NetworkPolicy rules' `_from`, is `from` again.
 * (client-node does not export its ObjectSerializer.)
 */
export function toWireJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toWireJson);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[key === '_from' ? 'from' : key] = toWireJson(v);
  }
  return out;
}
