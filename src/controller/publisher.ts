/**
 * The publisher turns an engine batch into NodeFirewall writes, and only the
 * writes that change something: a rendered script whose hash equals the hash
 * of the NodeFirewall last observed (or last written) is skipped. Writes are
 * server-side applies of the whole `spec` with field manager
 * `nftpol-controller` and `force`, carrying an owner reference to the Node so
 * that the garbage collector removes the NodeFirewall with its node; a
 * NodeFirewall whose node is gone is deleted.
 *
 * Scripts larger than `compressThresholdBytes` are written gzip-compressed in
 * `spec.scriptGzip` instead of `spec.script` (src/k8s/script-encoding.ts);
 * the whole spec is applied every time, so server-side apply removes the
 * field this manager stopped sending and exactly one of the two is set. A
 * body that would still exceed the API object limit is not written at all:
 * the node keeps its last written script, and the refusal is logged as an
 * error and counted (`nftpol_controller_oversize_scripts_total`) rather than
 * left to fail in etcd.
 *
 * What it observes comes from the NodeFirewall informer ({@link
 * Publisher.observe}): an object whose script (decompressed if need be) does
 * not hash to its `spec.scriptHash`, or whose hash differs from the render, was edited by
 * hand, and the next render restores it. Failed writes are retried with a
 * doubling delay by re-marking the node dirty.
 *
 * The API itself is behind {@link NodeFirewallWriter}, so this file holds the
 * decisions and k8s/nodefirewall-api.ts the client-node calls.
 */
import { errorText } from '../k8s/errors.js';
import { API_VERSION, KIND } from '../k8s/nodefirewall.js';
import type { NodeFirewallApply, NodeFirewallWriter } from '../k8s/nodefirewall-api.js';
import {
  DEFAULT_COMPRESS_THRESHOLD_BYTES,
  encodeSpecScript,
  MAX_APPLY_BODY_BYTES,
} from '../k8s/script-encoding.js';
import type { Logger } from '../telemetry/log.js';
import type { ControllerMetrics } from '../telemetry/metrics.js';
import type { Clock } from '../telemetry/clock.js';
import type { Batch, RenderedNode } from './engine.js';
import { runLimited } from './set-publisher.js';

/** Options of {@link Publisher}. */
export interface PublisherOptions {
  /** Writes in flight at once. */
  readonly concurrency: number;
  /** First retry delay after a failed write; doubles per failure, up to 32×. */
  readonly retryDelayMs: number;
  readonly clock: Clock;
  /** The Node's uid, for the owner reference; undefined when unknown. */
  readonly nodeUid: (node: string) => string | undefined;
  /** Re-marks a node dirty (retry), with the causes of the failed write so history keeps them. */
  readonly retry: (node: string, causes: readonly string[]) => void;
  /**
   * Called after each successful apply with the hash it replaced (`tampered`
   * for a hand-edited object, undefined when there was none): the change history.
   */
  readonly onPublished?: (rendered: RenderedNode, oldHash: string | undefined) => void;
  readonly log: Logger;
  readonly metrics?: ControllerMetrics;
  /** Scripts above this many UTF-8 bytes go compressed in `spec.scriptGzip`. @default 262144 */
  readonly compressThresholdBytes?: number;
  /** Apply bodies above this many bytes are not sent. @default MAX_APPLY_BODY_BYTES */
  readonly maxBodyBytes?: number;
}

/** What the informer last saw of one NodeFirewall. */
export interface ObservedFirewall {
  /** `spec.scriptHash`, or `tampered` when the script (decompressed if need be) does not hash to it. */
  readonly fingerprint: string;
}

/** Marks a hash that cannot equal any render. */
export const TAMPERED = 'tampered';

/**
 * The body written for a rendered node: the script as `spec.script` when it
 * is at most `compressThresholdBytes` long, else as `spec.scriptGzip`.
 */
export function applyBodyFor(
  rendered: RenderedNode,
  nodeUid: string,
  compressThresholdBytes: number = DEFAULT_COMPRESS_THRESHOLD_BYTES,
): NodeFirewallApply {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: rendered.node,
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Node',
          name: rendered.node,
          uid: nodeUid,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      ...encodeSpecScript(rendered.script, compressThresholdBytes),
      scriptHash: rendered.scriptHash,
      summary: { ...rendered.summary, policyNames: [...rendered.summary.policyNames] },
      ...(rendered.addressSets.length > 0 ? { addressSets: [...rendered.addressSets] } : {}),
    },
  };
}

/** Decides and performs NodeFirewall writes. */
export class Publisher {
  private readonly writer: NodeFirewallWriter;
  private readonly options: PublisherOptions;
  /** Fingerprint per NodeFirewall name, from the informer and our own writes. */
  private readonly observed = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  private writesInFlight = 0;
  private readonly timers = new Set<unknown>();

  constructor(writer: NodeFirewallWriter, options: PublisherOptions) {
    this.writer = writer;
    this.options = options;
  }

  /** Records what the NodeFirewall informer saw (null: deleted). */
  observe(name: string, fingerprint: string | null): void {
    if (fingerprint === null) this.observed.delete(name);
    else this.observed.set(name, fingerprint);
  }

  /** The fingerprint last observed or written for `name`. */
  observedFingerprint(name: string): string | undefined {
    return this.observed.get(name);
  }

  /** Names of every NodeFirewall known to exist. */
  observedNames(): string[] {
    return [...this.observed.keys()];
  }

  /** Cancels pending retries. */
  stop(): void {
    for (const t of this.timers) this.options.clock.clearTimer(t);
    this.timers.clear();
  }

  /** Writes in progress (for the queue-depth gauge). */
  get pending(): number {
    return this.writesInFlight;
  }

  /**
   * Writes what the batch changes: applies for rendered nodes whose hash
   * differs from the observed one, deletes for removed nodes that still have
   * a NodeFirewall. Resolves when every write finished; failures are logged,
   * counted and retried later, never thrown.
   */
  async publish(batch: Batch): Promise<void> {
    const jobs: Array<() => Promise<void>> = [];
    for (const r of batch.rendered) {
      if (this.observed.get(r.node) === r.scriptHash) {
        this.failures.delete(r.node);
        continue;
      }
      const uid = this.options.nodeUid(r.node);
      if (uid === undefined) continue; // the Node vanished meanwhile; its delete event follows
      // A throw before the write (encoding the body) fails this node only.
      jobs.push(() =>
        this.apply(r, uid).catch((err: unknown) => this.failed(r.node, r.causes ?? [], err)),
      );
    }
    for (const name of batch.removed) {
      if (this.observed.has(name)) jobs.push(() => this.remove(name));
    }
    await runLimited(jobs, this.options.concurrency);
  }

  private async apply(rendered: RenderedNode, uid: string): Promise<void> {
    const body = applyBodyFor(rendered, uid, this.options.compressThresholdBytes);
    const bytes = Buffer.byteLength(JSON.stringify(body));
    const limit = this.options.maxBodyBytes ?? MAX_APPLY_BODY_BYTES;
    if (bytes > limit) {
      this.options.metrics?.oversizeScripts.inc();
      this.options.log.error(
        {
          node: rendered.node,
          hash: rendered.scriptHash,
          scriptBytes: Buffer.byteLength(rendered.script),
          bytes,
          limitBytes: limit,
        },
        'skipped NodeFirewall over the API object limit even compressed; the node keeps its last script',
      );
      return;
    }
    const causes = rendered.causes ?? [];
    await this.write(rendered.node, causes, async () => {
      const oldHash = this.observed.get(rendered.node);
      await this.writer.apply(body);
      this.observed.set(rendered.node, rendered.scriptHash);
      try {
        this.options.onPublished?.(rendered, oldHash);
      } catch (err) {
        // The write succeeded; a failing observer (history) must not retry it.
        this.options.log.warn({ node: rendered.node, err: errorText(err) }, 'onPublished failed');
      }
      this.options.metrics?.writeBytes.inc(bytes);
      this.options.log.info(
        {
          node: rendered.node,
          hash: rendered.scriptHash,
          bytes,
          compressed: 'scriptGzip' in body.spec,
        },
        'wrote NodeFirewall',
      );
    });
  }

  private async remove(name: string): Promise<void> {
    await this.write(name, [], async () => {
      await this.writer.remove(name);
      this.observed.delete(name);
      this.options.log.info({ node: name }, 'deleted NodeFirewall of a removed node');
    });
  }

  private async write(
    node: string,
    causes: readonly string[],
    fn: () => Promise<void>,
  ): Promise<void> {
    this.writesInFlight++;
    try {
      this.options.metrics?.writes.inc();
      await fn();
      this.failures.delete(node);
    } catch (err) {
      this.failed(node, causes, err);
    } finally {
      this.writesInFlight--;
    }
  }

  /** Logs a failed write and re-marks the node after the doubling delay. */
  private failed(node: string, causes: readonly string[], err: unknown): void {
    const n = (this.failures.get(node) ?? 0) + 1;
    this.failures.set(node, n);
    const delay = this.options.retryDelayMs * 2 ** Math.min(n - 1, 5);
    this.options.log.warn(
      { node, err: errorText(err), retryInMs: delay },
      `failed to publish NodeFirewall ${node}`,
    );
    const timer = this.options.clock.setTimer(() => {
      this.timers.delete(timer);
      try {
        this.options.retry(node, causes);
      } catch (retryErr) {
        this.options.log.error(
          { node, err: errorText(retryErr) },
          `failed to schedule the retry of NodeFirewall ${node}`,
        );
      }
    }, delay);
    this.timers.add(timer);
  }
}
