/**
 * What the executor's integration tests share: a known-good script and its
 * NodeFirewall, executor options with short intervals aimed into a network
 * namespace, and waiting on the embedded API server's change feed (never a
 * sleep) for a status or condition to appear.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiServer } from '../../src/apiserver/server.js';
import { startExecutor, type ExecutorEvent, type ExecutorHandle } from '../../src/executor/main.js';
import { DEFAULTS, type ExecutorOptions } from '../../src/executor/options.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import type { Condition } from '../../src/k8s/conditions.js';
import type { NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { applyScript, listTable } from '../../src/nft/apply.js';
import type { NftOptions } from '../../src/nft/nft.js';
import { hashScript } from '../../src/nft/render.js';
import { parseRuleset } from '../../src/nft/ruleset.js';
import { createLogger } from '../../src/telemetry/log.js';
import { withNetns } from './nft-check.js';

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

/** Starts an executor against `server` (forwarding reported on) and waits for its first sync. */
export async function startTestExecutor(
  server: ApiServer,
  opts: ExecutorOptions,
  onEvent: (e: ExecutorEvent) => void = () => undefined,
): Promise<ExecutorHandle> {
  const executor = await startExecutor(opts, kubeConfigForServer(server.url), {
    log: createLogger({ component: 'test-executor', level: 'silent' }),
    readFile: () => Promise.resolve('1\n'),
    onEvent,
  });
  await executor.synced;
  return executor;
}

export function statusOf(server: ApiServer, name: string): NodeFirewallStatus | undefined {
  return server.store.get(NFW, undefined, name)?.['status'] as NodeFirewallStatus | undefined;
}

export function conditionOf(server: ApiServer, name: string, type: string): Condition | undefined {
  return statusOf(server, name)?.conditions?.find((c) => c.type === type);
}

/** A predicate: condition `type` of `name` has `status` and `reason`. */
export const hasCondition =
  (server: ApiServer, name: string, type: string, status: string, reason: string) =>
  (): boolean => {
    const c = conditionOf(server, name, type);
    return c?.status === status && c.reason === reason;
  };

/**
 * Resolves when `predicate` holds, checked now and after every committed
 * change; rejects after TIMEOUT_MS with `what` (and `detail()`, if given).
 */
export function waitForStore(
  server: ApiServer,
  predicate: () => boolean,
  what: string,
  detail: () => string = () => '',
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      unsubscribe();
      const more = detail();
      reject(new Error(`timed out waiting for ${what}${more === '' ? '' : `: ${more}`}`));
    }, TIMEOUT_MS);
    const unsubscribe = server.store.history.subscribe(() => {
      queueMicrotask(() => {
        if (predicate()) {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
      });
    });
  });
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
