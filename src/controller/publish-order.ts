/**
 * The write order of one batch (v2): AddressSet slices first, then the
 * NodeFirewalls. An executor that loads a NodeFirewall naming a set must find
 * that set's slices already there; so a NodeFirewall naming a set whose slice
 * write failed in this batch is held back, and released (re-rendered and
 * written) when the set's retry runs. NodeFirewalls naming only sets that
 * were written go ahead: one failing set does not stall the cluster.
 */
import type { Batch } from './engine.js';
import type { Publisher } from './publisher.js';
import type { SetPublisher } from './set-publisher.js';

/** Publishes batches slices-first, holding back NodeFirewalls that name a failed set. */
export class OrderedPublisher {
  private readonly sets: SetPublisher;
  private readonly firewalls: Publisher;
  /** Nodes held back, by the failed set they wait for. */
  private readonly held = new Map<string, Set<string>>();

  constructor(sets: SetPublisher, firewalls: Publisher) {
    this.sets = sets;
    this.firewalls = firewalls;
  }

  /** Writes the batch's slices, then its NodeFirewalls; never throws for a failed write. */
  async publish(batch: Batch): Promise<void> {
    const failed = await this.sets.publish(batch.sets ?? [], batch.removedSets ?? []);
    if (failed.size === 0) {
      await this.firewalls.publish(batch);
      return;
    }
    const ready = batch.rendered.filter((r) => {
      const waiting = r.addressSets.filter((id) => failed.has(id));
      for (const id of waiting) {
        const nodes = this.held.get(id) ?? new Set<string>();
        this.held.set(id, nodes.add(r.node));
      }
      return waiting.length === 0;
    });
    await this.firewalls.publish({ ...batch, rendered: ready });
  }

  /** The nodes held back for the sets `ids`, now released; forgets them. */
  release(ids: readonly string[]): string[] {
    const nodes = new Set<string>();
    for (const id of ids) {
      for (const n of this.held.get(id) ?? []) nodes.add(n);
      this.held.delete(id);
    }
    return [...nodes].sort();
  }

  /** Nodes held back now, sorted (for tests and the queue gauge). */
  heldNodes(): string[] {
    return [...new Set([...this.held.values()].flatMap((s) => [...s]))].sort();
  }
}
