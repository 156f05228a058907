/**
 * The executor's reconciler (NodeReconciler) wired for unit tests: an
 * in-memory table (fake-nft.ts), a scripted host probe, a recorded status
 * patch, a fake clock that moves only when told, and the AddressSets as a
 * SliceStore the test fills. Shared by test/unit/executor/reconciler*.test.ts.
 */
import assert from 'node:assert/strict';
import type { ExecutorEvent } from '../../src/executor/events.js';
import type { ProbeResult } from '../../src/executor/host-probe.js';
import { NodeReconciler } from '../../src/executor/reconciler.js';
import { SliceStore, type Slice } from '../../src/executor/set-members.js';
import type { Condition } from '../../src/k8s/conditions.js';
import {
  API_VERSION,
  EMPTY_SUMMARY,
  KIND,
  type NodeFirewall,
  type NodeFirewallStatus,
} from '../../src/k8s/nodefirewall.js';
import { hashScript } from '../../src/nft/hash.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createExecutorMetrics, type ExecutorMetrics } from '../../src/telemetry/metrics.js';
import { FakeClock } from './fake-clock.js';
import { FakeTable } from './fake-nft.js';

export const USABLE: ProbeResult = { usable: true, nftVersion: 'v1.0.6 (fake)', warnings: [] };
export const UNUSABLE: ProbeResult = { usable: false, nftVersion: null, message: 'nft is missing' };
export const EPOCH = Date.parse('2030-01-01T00:00:00Z');
const SUMMARY = EMPTY_SUMMARY;

/**
 * NodeFirewall `node-a` carrying `script` (hash, status, generation, uid and
 * the AddressSets it lists overridable).
 */
export function nfw(
  script: string,
  over: {
    hash?: string;
    status?: NodeFirewallStatus;
    generation?: number;
    uid?: string;
    addressSets?: readonly string[];
  } = {},
): NodeFirewall {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'node-a', uid: over.uid ?? 'uid-1', generation: over.generation ?? 1 },
    spec: {
      script,
      scriptHash: over.hash ?? hashScript(script),
      summary: SUMMARY,
      ...(over.addressSets === undefined ? {} : { addressSets: over.addressSets }),
    },
    ...(over.status === undefined ? {} : { status: over.status }),
  };
}

export interface Harness {
  readonly r: NodeReconciler;
  readonly clock: FakeClock;
  readonly table: FakeTable;
  readonly metrics: ExecutorMetrics;
  readonly events: ExecutorEvent[];
  /** Status bodies patched, in order. */
  readonly patches: NodeFirewallStatus[];
  /** Errors the next status patches throw, in order. */
  readonly patchErrors: Error[];
  /** Verdicts of the next probes, in order (then usable). */
  readonly probes: ProbeResult[];
  /** Event kinds since the last call (with the apply cause), then forgets them. */
  take(): string[];
  /** The last patched status's condition `type` as `status/reason`. */
  condition(type: string): string;
  /** The last patched status's condition `type` message. */
  message(type: string): string;
  /** Moves the clock and waits for the passes its timers asked for. */
  advance(ms: number): Promise<void>;
  /** The AddressSets the reconciler sees (tests fill it, then call {@link sliceChanged}). */
  readonly sets: SliceStore;
  /**
   * Slice `name` of set `setId` now has `members` (a new resourceVersion;
   * written `writtenAgoMs` before the clock's now): stored, told to the
   * reconciler, and waited for.
   */
  slice(
    setId: string,
    index: number,
    members: readonly string[],
    writtenAgoMs?: number,
  ): Promise<void>;
}

export function harness(over: { setWaitMs?: number } = {}): Harness {
  const clock = new FakeClock();
  const sets = new SliceStore();
  let rv = 0;
  const table = new FakeTable();
  const metrics = createExecutorMetrics();
  const events: ExecutorEvent[] = [];
  const patches: NodeFirewallStatus[] = [];
  const patchErrors: Error[] = [];
  const probes: ProbeResult[] = [];
  let seen = 0;
  const r = new NodeReconciler(
    {
      retryBackoffMs: 50,
      retryMaxBackoffMs: 400,
      countersIntervalMs: 1000,
      setWaitMs: over.setWaitMs ?? 1000,
    },
    {
      table,
      probe: () => Promise.resolve(probes.shift() ?? USABLE),
      patchStatus: (_name, body) => {
        const err = patchErrors.shift();
        if (err !== undefined) return Promise.reject(err);
        patches.push(body.status as NodeFirewallStatus);
        return Promise.resolve();
      },
      clock,
      now: () => new Date(EPOCH + clock.now()),
      log: createLogger({ component: 'test', level: 'silent' }),
      emit: (e) => events.push(e),
      metrics,
    },
  );
  return {
    r,
    clock,
    table,
    metrics,
    events,
    patches,
    patchErrors,
    probes,
    take: () => {
      const kinds = events
        .slice(seen)
        .filter((e) => e.kind !== 'passDone')
        .map((e) => (e.kind === 'applied' ? `applied:${e.cause}` : e.kind));
      seen = events.length;
      return kinds;
    },
    condition: (type) => {
      const c = patches.at(-1)?.conditions?.find((x: Condition) => x.type === type);
      return c === undefined ? 'none' : `${c.status}/${c.reason}`;
    },
    message: (type) =>
      patches.at(-1)?.conditions?.find((x: Condition) => x.type === type)?.message ?? '',
    advance: async (ms) => {
      await clock.advance(ms);
      await r.idle();
    },
    sets,
    slice: async (setId, index, members, writtenAgoMs) => {
      const slice: Slice = {
        name: `${setId}-${index}`,
        setId,
        resourceVersion: String(++rv),
        members,
        writtenAtMs: writtenAgoMs === undefined ? null : EPOCH + clock.now() - writtenAgoMs,
      };
      sets.upsert(slice);
      r.observeSets(sets);
      await r.idle();
    },
  };
}

/** A harness whose host is probed usable and which applied `script` (events taken). */
export async function applied(script: string): Promise<Harness> {
  const h = harness();
  await h.r.probeHost();
  h.r.observe(nfw(script));
  await h.r.idle();
  assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusWritten']);
  return h;
}

/** The value of metric `name` (the series with `labels`, else the first). */
export const counterValue = async (
  metrics: ExecutorMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> => {
  const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  const wanted = Object.entries(labels);
  const match = values.find((v) =>
    wanted.every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  );
  return match?.value ?? 0;
};
