/**
 * What the executor's integration tests share: a known-good script and its
 * NodeFirewall, executor options with short intervals aimed into a network
 * namespace, an executor started against a {@link TestApi}'s kubeconfig, and
 * reading a NodeFirewall's status from an {@link ApiView} (list + watch
 * through the API), waiting on its watch events — never a sleep, never a
 * server's store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startExecutor, type ExecutorEvent, type ExecutorHandle } from '../../src/executor/main.js';
import { DEFAULTS, type ExecutorOptions } from '../../src/executor/options.js';
import type { Condition } from '../../src/k8s/conditions.js';
import type { NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { applyScript, listTable } from '../../src/nft/apply.js';
import type { NftOptions } from '../../src/nft/nft.js';
import { hashScript } from '../../src/nft/hash.js';
import { parseRuleset } from '../../src/nft/ruleset.js';
import { createLogger } from '../../src/telemetry/log.js';
import { withNetns } from './nft-check.js';
import type { ApiView, TestApi } from './test-api.js';

export const NFW = 'nodefirewalls';
export const TIMEOUT_MS = 15_000;

const GOLDEN = join(import.meta.dirname, '..', 'golden');
/** A script with ingress and egress chains (shop/web isolated both ways by shop/lockdown). */
export const GOOD = readFileSync(join(GOLDEN, 'render-both.nft'), 'utf8');
/** A second valid script, different from GOOD. */
export const OTHER = readFileSync(join(GOLDEN, 'render-egress-only.nft'), 'utf8');

/** spec.summary matching GOOD. */
export const SUMMARY = {
  localPods: 1,
  isolatedPods: 1,
  policies: 1,
  rules: 2,
  sets: 2,
  setElements: 3,
  policyNames: ['shop/lockdown'],
};

/** A NodeFirewall carrying `script` in plain text (hash overridable to test mismatches). */
export function nodeFirewall(name: string, script: string, scriptHash = hashScript(script)) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name },
    spec: { script, scriptHash, summary: SUMMARY },
  };
}

/** Executor options for `node`, running nft in `netns`, with test-short intervals. */
export function executorOptions(
  node: string,
  netns: string,
  over: Partial<ExecutorOptions> = {},
): ExecutorOptions {
  return {
    ...DEFAULTS,
    nodeName: node,
    nftCommand: `ip netns exec ${netns} nft`,
    driftIntervalMs: 100,
    retryBackoffMs: 50,
    retryMaxBackoffMs: 400,
    informerBackoffMs: 50,
    informerMaxBackoffMs: 400,
    healthPort: -1,
    logLevel: 'silent',
    ...over,
  };
}

/** Starts an executor with `api`'s kubeconfig (forwarding reported on) and waits for its first sync. */
export async function startTestExecutor(
  api: TestApi,
  opts: ExecutorOptions,
  onEvent: (e: ExecutorEvent) => void = () => undefined,
): Promise<ExecutorHandle> {
  const executor = await startExecutor(opts, api.kubeConfig, {
    log: createLogger({ component: 'test-executor', level: 'silent' }),
    readFile: () => Promise.resolve('1\n'),
    onEvent,
  });
  await executor.synced;
  return executor;
}

/** An executor started by {@link startRecordedExecutor}, with what it reported. */
export interface Started {
  readonly executor: ExecutorHandle;
  readonly events: ExecutorEvent[];
  /**
   * Resolves when an event matches: one from index `from` of `events` on
   * (default: any, past or future); rejects after TIMEOUT_MS.
   */
  readonly waitForEvent: (
    predicate: (e: ExecutorEvent) => boolean,
    what: string,
    from?: number,
  ) => Promise<ExecutorEvent>;
}

/**
 * Starts an executor with `api`'s kubeconfig (forwarding reported on, `now`
 * as its wall clock), records its events, and waits for its first sync.
 */
export async function startRecordedExecutor(
  api: TestApi,
  opts: ExecutorOptions,
  now?: () => Date,
): Promise<Started> {
  const events: ExecutorEvent[] = [];
  const waiters = new Set<() => void>();
  const executor = await startExecutor(opts, api.kubeConfig, {
    log: createLogger({ component: 'test-executor', level: 'silent' }),
    ...(now === undefined ? {} : { now }),
    readFile: () => Promise.resolve('1\n'),
    onEvent: (e) => {
      events.push(e);
      for (const w of [...waiters]) w();
    },
  });
  const waitForEvent = (predicate: (e: ExecutorEvent) => boolean, what: string, from = 0) =>
    new Promise<ExecutorEvent>((resolve, reject) => {
      let seen = from;
      const check = (): void => {
        for (; seen < events.length; seen++) {
          const e = events[seen]!;
          if (predicate(e)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(e);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; events: ${events.map((e) => e.kind).join(',')}`,
          ),
        );
      }, TIMEOUT_MS);
      waiters.add(check);
      check();
    });
  await executor.synced;
  return { executor, events, waitForEvent };
}

/** The status of NodeFirewall `name` as the view last saw it. */
export function statusOf(view: ApiView, name: string): NodeFirewallStatus | undefined {
  return view.get(NFW, name)?.['status'] as NodeFirewallStatus | undefined;
}

export function conditionOf(view: ApiView, name: string, type: string): Condition | undefined {
  return statusOf(view, name)?.conditions?.find((c) => c.type === type);
}

/** A predicate: condition `type` of `name` has `status` and `reason`. */
export const hasCondition =
  (view: ApiView, name: string, type: string, status: string, reason: string) => (): boolean => {
    const c = conditionOf(view, name, type);
    return c?.status === status && c.reason === reason;
  };

/**
 * Resolves when `predicate` holds, checked now and after every watch event
 * the view sees; rejects after TIMEOUT_MS with `what` and, by default, the
 * statuses of the NodeFirewalls in view (or `detail()`, if given).
 */
export function waitForView(
  view: ApiView,
  predicate: () => boolean,
  what: string,
  detail: () => string = () =>
    view
      .list(NFW)
      .map((o) => `${o.metadata.name}: ${JSON.stringify(o['status'] ?? null)}`)
      .join('; '),
): Promise<void> {
  return view.waitFor(predicate, what, { timeoutMs: TIMEOUT_MS, detail });
}

/** The normalized live `inet nftpol` table. */
export async function liveTable(nft: NftOptions) {
  return parseRuleset(await listTable(nft)).table;
}

/** The normalized table a script gives when loaded alone in a fresh namespace. */
export async function expectedTable(script: string) {
  return withNetns(async (nft) => {
    await applyScript(script, nft);
    return liveTable(nft);
  });
}
