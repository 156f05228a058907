/**
 * The change log behind watch: every committed change with its
 * resourceVersion, so that a watch can resume from any resourceVersion still
 * in the window, and a resourceVersion older than the window gets 410 Gone,
 * exactly the contract informers rely on (resume after a dropped connection,
 * relist after compaction).
 */
import type { ResourceDef } from './resources.js';
import type { StoredObject } from './store.js';

/** Watch event types that describe a change. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. */
export interface Change {
  readonly type: ChangeType;
  readonly resource: ResourceDef;
  /** The object after the change (for DELETED: the last state, with the deletion's resourceVersion). */
  readonly object: StoredObject;
  /** The object before the change (MODIFIED and DELETED). */
  readonly previous: StoredObject | undefined;
  readonly resourceVersion: number;
}

/** Receives every change as it is committed, synchronously. */
export type ChangeListener = (change: Change) => void;

/** Bounded change log with compaction and live listeners. */
export class History {
  private changes: Change[] = [];
  private compactedAt = 0;
  private readonly limit: number;
  private readonly listeners = new Set<ChangeListener>();

  /** @param limit changes kept before the oldest are compacted away. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Oldest resourceVersion a watch may still start from. */
  get compactedResourceVersion(): number {
    return this.compactedAt;
  }

  /** Records `change` and tells every listener. */
  append(change: Change): void {
    this.changes.push(change);
    if (this.changes.length > this.limit) {
      const dropped = this.changes.splice(0, this.changes.length - this.limit);
      const last = dropped[dropped.length - 1];
      if (last !== undefined) this.compactedAt = last.resourceVersion;
    }
    for (const listener of [...this.listeners]) listener(change);
  }

  /**
   * Changes after `resourceVersion`, oldest first, or `'expired'` when some of
   * them were compacted away.
   */
  since(resourceVersion: number): readonly Change[] | 'expired' {
    if (resourceVersion < this.compactedAt) return 'expired';
    return this.changes.filter((c) => c.resourceVersion > resourceVersion);
  }

  /** Forgets every change up to and including `resourceVersion`. */
  compact(resourceVersion: number): void {
    this.changes = this.changes.filter((c) => c.resourceVersion > resourceVersion);
    this.compactedAt = Math.max(this.compactedAt, resourceVersion);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
