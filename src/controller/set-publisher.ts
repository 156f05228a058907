/**
 * The AddressSet half of publishing (v2): a batch's changed shared sets
 * become the fewest slice writes (slices.ts decides which), written before
 * the NodeFirewalls that name those sets, so an executor that loads new
 * rules finds their sets. A set whose slice write failed is reported back,
 * and the NodeFirewalls naming it wait for the retry.
 *
 * What the API holds is learned from the AddressSet informer: on taking the
 * lead the controller adopts the slices that exist (so a restart with the
 * same members writes nothing), and a slice changed or deleted by someone
 * else is re-adopted and its set rewritten. The API calls are behind
 * {@link AddressSetWriter} (k8s/addressset-api.ts).
 */
import { addressSetBody, type AddressSetWriter } from '../k8s/addressset-api.js';
import { sliceName } from '../k8s/addressset.js';
import { errorText } from '../k8s/errors.js';
import { describePeerSet } from '../policy/peer-sets.js';
import type { Clock } from '../telemetry/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { ControllerMetrics } from '../telemetry/metrics.js';
import type { SetMembers } from './engine.js';
import { SliceBook, type ObservedSlice } from './slices.js';

/** Options of {@link SetPublisher}. */
export interface SetPublisherOptions {
  /** Most members per slice (`--set-slice-size`). */
  readonly sliceSize: number;
  /** Writes in flight at once. */
  readonly concurrency: number;
  /** First retry delay after a failed write; doubles per failure, up to 32×. */
  readonly retryDelayMs: number;
  readonly clock: Clock;
  /** Marks sets for another write (retry, or a slice changed by someone else). */
  readonly retry: (ids: readonly string[]) => void;
  readonly log: Logger;
  readonly metrics?: ControllerMetrics;
}

/** Decides and performs AddressSet slice writes. */
export class SetPublisher {
  private readonly writer: AddressSetWriter;
  private readonly options: SetPublisherOptions;
  private book: SliceBook;
  /** Slices as the informer last saw them, by name. */
  private readonly observed = new Map<string, ObservedSlice>();
  /** Members text of each slice as last written by us, by name. */
  private readonly written = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<unknown>();
  private leading = false;
  private inFlight = 0;

  constructor(writer: AddressSetWriter, options: SetPublisherOptions) {
    this.writer = writer;
    this.options = options;
    this.book = new SliceBook(options.sliceSize);
  }

  /** Writes in progress (for the queue-depth gauge). */
  get pending(): number {
    return this.inFlight;
  }

  /** Ids of every set that has a slice in the API. */
  observedIds(): string[] {
    return [...new Set([...this.observed.values()].map((s) => s.setId))].sort();
  }

  /**
   * Starts or stops acting on the API. Taking the lead adopts the slices
   * that exist, as the state to change as little as possible.
   */
  setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (!leading) {
      this.cancelRetries();
      return;
    }
    this.book = new SliceBook(this.options.sliceSize);
    this.written.clear();
    this.book.adopt(this.observed.values());
    for (const [name, s] of this.observed) this.written.set(name, s.members.join(','));
  }

  /**
   * What the AddressSet informer saw of slice `name` (null: deleted, or not a
   * slice nftpol writes). A change that is not our own write, while leading,
   * re-adopts the set's slices and marks the set for a rewrite.
   */
  observe(name: string, slice: ObservedSlice | null): void {
    const before = this.observed.get(name);
    if (slice === null) this.observed.delete(name);
    else this.observed.set(name, slice);
    if (!this.leading) return;
    const ours = this.written.get(name);
    const now = slice === null ? undefined : slice.members.join(',');
    if (ours === now) return;
    const setId = slice?.setId ?? before?.setId;
    if (setId === undefined) return;
    this.book.drop(setId);
    const current = [...this.observed.values()].filter((s) => s.setId === setId);
    this.book.adopt(current);
    for (const s of current) this.written.set(sliceName(s.setId, s.index), s.members.join(','));
    if (slice === null) this.written.delete(name);
    this.options.log.info(
      { slice: name, set: setId },
      'AddressSet changed by someone else; rewriting its set',
    );
    this.options.retry([setId]);
  }

  /**
   * Writes the sets' slices and deletes the retired sets' slices.
   * @returns the ids of sets with a failed write (retried later, never thrown).
   */
  async publish(sets: readonly SetMembers[], retired: readonly string[]): Promise<Set<string>> {
    const failed = new Set<string>();
    const jobs: Array<() => Promise<void>> = [];
    const writtenAt = new Date(this.options.clock.now()).toISOString();
    for (const { id, set, members, delta } of sets) {
      let changes;
      try {
        changes =
          delta !== null && this.book.knows(id)
            ? this.book.change(id, delta.added, delta.removed)
            : this.book.sync(id, members());
      } catch (err) {
        this.options.log.error(
          { set: id, err: errorText(err) },
          'cannot slice set members; skipped',
        );
        failed.add(id);
        continue;
      }
      const peer = describePeerSet(set);
      for (const w of changes.write) {
        const body = addressSetBody(id, set.kind, peer, w.index, w.members, writtenAt);
        jobs.push(() =>
          this.write(id, failed, async () => {
            await this.writer.apply(body);
            this.written.set(body.metadata.name, w.members.join(','));
            this.options.metrics?.setWriteBytes.inc(Buffer.byteLength(JSON.stringify(body)));
          }),
        );
      }
      for (const name of changes.remove) jobs.push(() => this.remove(id, name, failed));
    }
    for (const id of retired) {
      const names = new Set(this.book.drop(id));
      for (const s of this.observed.values()) if (s.setId === id) names.add(sliceName(id, s.index));
      for (const name of names) jobs.push(() => this.remove(id, name, failed));
      if (names.size > 0)
        this.options.log.info(
          { set: id, slices: names.size },
          'deleting AddressSet no policy defines',
        );
    }
    await runLimited(jobs, this.options.concurrency);
    for (const id of failed) this.scheduleRetry(id);
    return failed;
  }

  /** Cancels pending retries. */
  stop(): void {
    this.cancelRetries();
  }

  private async remove(id: string, name: string, failed: Set<string>): Promise<void> {
    await this.write(id, failed, async () => {
      await this.writer.remove(name);
      this.written.delete(name);
    });
  }

  private async write(id: string, failed: Set<string>, fn: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      this.options.metrics?.setWrites.inc();
      await fn();
    } catch (err) {
      failed.add(id);
      this.options.log.warn({ set: id, err: errorText(err) }, `failed to write AddressSet ${id}`);
    } finally {
      this.inFlight--;
    }
  }

  private scheduleRetry(id: string): void {
    const n = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, n);
    const delay = this.options.retryDelayMs * 2 ** Math.min(n - 1, 5);
    // The book already holds the new members: forget the set so the retry
    // compares against the API again (re-adopted from the informer's view).
    this.book.drop(id);
    this.book.adopt([...this.observed.values()].filter((s) => s.setId === id));
    const timer = this.options.clock.setTimer(() => {
      this.timers.delete(timer);
      this.options.retry([id]);
    }, delay);
    this.timers.add(timer);
  }

  private cancelRetries(): void {
    for (const t of this.timers) this.options.clock.clearTimer(t);
    this.timers.clear();
    this.failures.clear();
  }
}

/** Runs `jobs` with at most `limit` in flight. */
export async function runLimited(
  jobs: ReadonlyArray<() => Promise<void>>,
  limit: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
