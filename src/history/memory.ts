/**
 * The in-memory change history, the default when no Redis is configured:
 * bounded twice, so that a churning cluster cannot grow the controller —
 * at most `entriesPerNode` entries per node (oldest dropped first), and at
 * most `maxBytes` of scripts in total (the oldest entries cluster-wide
 * dropped first). Lost on restart and not shared between replicas: a new
 * leader starts a new history.
 */
import {
  DEFAULT_ENTRIES_PER_NODE,
  DEFAULT_LIST_LIMIT,
  type HistoryEntry,
  type HistoryStore,
  type ListOptions,
  type NewHistoryEntry,
} from './store.js';

/** Options of {@link MemoryHistoryStore}. */
export interface MemoryHistoryOptions {
  /** @default 50 ({@link DEFAULT_ENTRIES_PER_NODE}) */
  readonly entriesPerNode?: number;
  /** Bound on the bytes of all scripts held (plus a small overhead per entry). @default 64 MiB */
  readonly maxBytes?: number;
}

/** Bytes counted for an entry besides its script. */
const ENTRY_OVERHEAD = 256;

/** The bounded in-memory {@link HistoryStore}. */
export class MemoryHistoryStore implements HistoryStore {
  readonly kind = 'memory';
  private readonly entriesPerNode: number;
  private readonly maxBytes: number;
  private readonly byNode = new Map<string, HistoryEntry[]>();
  /** Every entry held, oldest first (Map keeps insertion order), with its size. */
  private readonly all = new Map<HistoryEntry, number>();
  private readonly counters = new Map<string, number>();
  private bytes = 0;

  constructor(options: MemoryHistoryOptions = {}) {
    this.entriesPerNode = Math.max(1, options.entriesPerNode ?? DEFAULT_ENTRIES_PER_NODE);
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes currently counted against `maxBytes`. */
  get size(): number {
    return this.bytes;
  }

  record(entry: NewHistoryEntry): Promise<void> {
    const rev = (this.counters.get(entry.node) ?? 0) + 1;
    this.counters.set(entry.node, rev);
    const stored: HistoryEntry = { ...entry, causes: [...entry.causes], rev: String(rev) };
    let list = this.byNode.get(entry.node);
    if (list === undefined) {
      list = [];
      this.byNode.set(entry.node, list);
    }
    list.push(stored);
    const size = Buffer.byteLength(stored.script) + ENTRY_OVERHEAD;
    this.all.set(stored, size);
    this.bytes += size;
    while (list.length > this.entriesPerNode) this.drop(list.shift()!);
    while (this.bytes > this.maxBytes && this.all.size > 0) {
      const oldest = this.all.keys().next().value!;
      const owner = this.byNode.get(oldest.node)!;
      owner.shift(); // the cluster-wide oldest is its node's oldest
      if (owner.length === 0) this.byNode.delete(oldest.node);
      this.drop(oldest);
    }
    return Promise.resolve();
  }

  list(node: string, options: ListOptions = {}): Promise<HistoryEntry[]> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    const list = this.byNode.get(node) ?? [];
    return Promise.resolve(list.slice(Math.max(0, list.length - limit)).reverse());
  }

  get(node: string, rev: string): Promise<HistoryEntry | null> {
    return Promise.resolve(this.byNode.get(node)?.find((e) => e.rev === rev) ?? null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private drop(entry: HistoryEntry): void {
    this.bytes -= this.all.get(entry) ?? 0;
    this.all.delete(entry);
  }
}
