/**
 * The executor's second input (v2): the AddressSet slices of exactly the
 * sets its NodeFirewall lists in `spec.addressSets` — one list+watch with
 * the label selector `nftpol.io/set in (<ids>)`, never every set in the
 * cluster (5,000 executors each receiving every set's churn is the v1
 * problem again). With no set listed there is no AddressSet watch at all.
 *
 * The watch is re-created only when the referenced ids change (a rules
 * change of the node); member changes arrive as its events. Until the new
 * list is in, the slices of ids both watches select stay as they were (the
 * best knowledge, so a re-target never empties a set for a moment); those
 * the new list does not have are dropped when it completes. The reconciler
 * is told about changes only once a list is complete, so it never sees half
 * of a set's slices.
 *
 * The informer (src/k8s/informer.ts) relists on 410 Gone and restarts after
 * errors with back-off; meanwhile the slices stay as last seen.
 */
import {
  ADDRESS_SET_KIND,
  ADDRESS_SET_PLURAL,
  SET_LABEL,
  WRITTEN_AT_ANNOTATION,
} from '../k8s/addressset.js';
import type { ApiClients } from '../k8s/client.js';
import { startInformer, type RunningInformer } from '../k8s/informer.js';
import { API_VERSION, GROUP, VERSION } from '../k8s/nodefirewall.js';
import { SliceStore, type SetsView, type Slice } from './set-members.js';
import type { WatchOptions } from './watch.js';

/** Callbacks of {@link watchAddressSets}. */
export interface AddressSetHandlers {
  /** The slices changed (after a complete list, or one event); `view` is the store. */
  onChange(view: SetsView): void;
  /** Every watch or list error, with the delay before the next attempt. */
  onError(err: unknown, retryInMs: number): void;
}

/** A running AddressSet watch. */
export interface AddressSetWatch {
  /** The slices as last seen. */
  readonly view: SetsView;
  /** Watches the slices of `ids` (sorted set ids) from now on; a no-op when they are the same. */
  setIds(ids: readonly string[]): void;
  /** Resolves once the list for the ids now watched is in (at once when none are). */
  listed(): Promise<void>;
  stop(): Promise<void>;
}

/** `nftpol.io/set in (a,b)`: the selector of the slices of `ids` (at least one). */
export function setSelector(ids: readonly string[]): string {
  return `${SET_LABEL} in (${ids.join(',')})`;
}

/** An AddressSet as the informer caches it: name, version and the slice. */
interface SliceObject {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof ADDRESS_SET_KIND;
  readonly metadata: { readonly name: string; readonly resourceVersion: string };
  readonly slice: Slice;
}

/** Starts with no set watched; call {@link AddressSetWatch.setIds}. */
export function watchAddressSets(
  clients: ApiClients,
  handlers: AddressSetHandlers,
  options: WatchOptions,
): AddressSetWatch {
  const store = new SliceStore();
  let key = '';
  let generation = 0;
  let informer: RunningInformer | null = null;
  let stopping: Promise<void>[] = [];
  let waiters: (() => void)[] = [];
  const wake = (): void => {
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };

  const setIds = (ids: readonly string[]): void => {
    const next = ids.join(',');
    if (next === key) return;
    key = next;
    const mine = ++generation;
    if (informer !== null) stopping.push(informer.stop());
    informer = null;
    store.retarget(new Set(ids));
    if (ids.length === 0) {
      handlers.onChange(store);
      wake();
      return;
    }
    const current = (): boolean => mine === generation;
    const changed = (didChange: boolean): void => {
      if (didChange && store.listed && current()) handlers.onChange(store);
    };
    const labelSelector = setSelector(ids);
    informer = startInformer<SliceObject>(
      clients.kubeConfig,
      {
        path: `/apis/${GROUP}/${VERSION}/${ADDRESS_SET_PLURAL}`,
        labelSelector,
        list: async () =>
          (await clients.custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: ADDRESS_SET_PLURAL,
            labelSelector,
          })) as { items: unknown[]; metadata?: { resourceVersion?: string } },
        strip: toSliceObject,
      },
      {
        onUpsert: (o) => {
          if (current()) changed(store.upsert(o.slice));
        },
        onDelete: (o) => {
          if (current()) changed(store.remove(o.metadata.name));
        },
      },
      {
        backoffMs: options.backoffMs,
        maxBackoffMs: options.maxBackoffMs,
        onError: (err, retryInMs) => handlers.onError(err, retryInMs),
      },
    );
    void informer.synced.then(() => {
      if (!current()) return;
      store.listCompleted();
      handlers.onChange(store);
      wake();
    });
  };

  return {
    view: store,
    setIds,
    listed: () =>
      store.listed ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    stop: async () => {
      generation += 1;
      if (informer !== null) stopping.push(informer.stop());
      informer = null;
      const all = stopping;
      stopping = [];
      await Promise.all(all);
      wake();
    },
  };
}

/**
 * Keeps what the executor reads of an AddressSet; tolerant of missing fields
 * (the CRD schema validates them): absent members are none, an unreadable
 * written-at annotation is no time.
 */
export function toSliceObject(object: unknown): SliceObject {
  const o = (object ?? {}) as {
    metadata?: { name?: unknown; resourceVersion?: unknown; annotations?: unknown };
    spec?: { setId?: unknown; members?: unknown };
  };
  const m = o.metadata ?? {};
  const name = typeof m.name === 'string' ? m.name : '';
  const resourceVersion = typeof m.resourceVersion === 'string' ? m.resourceVersion : '';
  const annotations = (
    typeof m.annotations === 'object' && m.annotations !== null ? m.annotations : {}
  ) as Record<string, unknown>;
  const writtenAt = annotations[WRITTEN_AT_ANNOTATION];
  const writtenAtMs = typeof writtenAt === 'string' ? Date.parse(writtenAt) : NaN;
  const members = Array.isArray(o.spec?.members)
    ? o.spec.members.filter((x): x is string => typeof x === 'string')
    : [];
  return {
    apiVersion: API_VERSION,
    kind: ADDRESS_SET_KIND,
    metadata: { name, resourceVersion },
    slice: {
      name,
      setId: typeof o.spec?.setId === 'string' ? o.spec.setId : '',
      resourceVersion,
      members,
      writtenAtMs: Number.isFinite(writtenAtMs) ? writtenAtMs : null,
    },
  };
}
