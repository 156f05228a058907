/**
 * The wiring of one running executor, in-process (main.ts runs it as the
 * binary; tests and the demo call it directly): nft through the node's table,
 * the host probe, the status patch and the clock go into the node's
 * reconciler (reconciler.ts); the watch of its own NodeFirewall, the watch of
 * the AddressSets that NodeFirewall lists (re-targeted when the list
 * changes), the drift ticker and the health server feed it events.
 *
 * Fail-static: stopping leaves the ruleset in force unless `cleanupOnExit`.
 */
import type { KubeConfig } from '../k8s/client.js';
import { readFile } from 'node:fs/promises';
import { makeApiClients } from '../k8s/client.js';
import { errorText } from '../k8s/errors.js';
import { apiNodeFirewallStatusPatch } from '../k8s/nodefirewall-status.js';
import { SYSTEM_CLOCK, unrefTimer, type Clock } from '../telemetry/clock.js';
import { startHealthServer } from '../telemetry/health.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { createExecutorMetrics, type ExecutorMetrics } from '../telemetry/metrics.js';
import { startTicker } from './drift.js';
import type { ExecutorEvent } from './events.js';
import { probeHost } from './host-probe.js';
import { nftNodeTable } from './node-table.js';
import { nftArgv, type ExecutorOptions } from './options.js';
import { NodeReconciler } from './reconciler.js';
import { referencedSetIds } from './set-members.js';
import { watchAddressSets } from './set-watch.js';
import { watchOwnNodeFirewall } from './watch.js';

/** Test hooks. */
export interface ExecutorDeps {
  readonly log?: Logger;
  /** Wall clock for status times. @default () => new Date(clock.now()) */
  readonly now?: () => Date;
  /** Retry and drift timers, back-off deadlines. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** Reads the forwarding sysctl. @default fs.promises.readFile (utf8) */
  readonly readFile?: (path: string) => Promise<string>;
  readonly onEvent?: (event: ExecutorEvent) => void;
}

/** A running executor. */
export interface ExecutorHandle {
  /** Resolves once the watch delivered its first list and the first pass ran. */
  readonly synced: Promise<void>;
  readonly metrics: ExecutorMetrics;
  /** Port of the health server, or null when disabled. */
  readonly healthPort: number | null;
  /** Number of `nft -f` loads this executor made. */
  applies(): number;
  /** Runs a pass (drift check included) now; resolves when it is done. */
  checkNow(): Promise<void>;
  /** Stops; leaves the table in place unless `cleanupOnExit`. */
  stop(): Promise<void>;
}

/** Starts an executor for `options.nodeName`; resolves once the health server listens. */
export async function startExecutor(
  options: ExecutorOptions,
  kubeConfig: KubeConfig,
  deps: ExecutorDeps = {},
): Promise<ExecutorHandle> {
  const rootLog =
    deps.log ?? createLogger({ component: 'nftpol-executor', level: options.logLevel });
  const log = rootLog.child({ node: options.nodeName });
  const clock = deps.clock ?? SYSTEM_CLOCK;
  const nft = { command: nftArgv(options), timeoutMs: options.nftTimeoutMs };
  const table = nftNodeTable(nft);
  const metrics = createExecutorMetrics();
  const clients = makeApiClients(kubeConfig);
  const reconciler = new NodeReconciler(options, {
    table,
    probe: () =>
      probeHost({
        nft,
        readFile: deps.readFile ?? ((path) => readFile(path, 'utf8')),
        forwardingSysctl: options.forwardingSysctl,
      }),
    patchStatus: apiNodeFirewallStatusPatch(clients),
    clock,
    now: deps.now ?? (() => new Date(clock.now())),
    log,
    emit: deps.onEvent ?? (() => undefined),
    metrics,
  });

  const firstProbe = reconciler.probeHost();
  const watchBackoff = {
    backoffMs: options.informerBackoffMs,
    maxBackoffMs: options.informerMaxBackoffMs,
  };
  const sets = watchAddressSets(
    clients,
    {
      onChange: (view) => reconciler.observeSets(view),
      onError: (err, retryInMs) =>
        log.warn(
          { err: errorText(err), retryInMs },
          'watch of AddressSets failed; enforcing the last members and retrying',
        ),
    },
    watchBackoff,
  );
  reconciler.observeSets(sets.view);
  const informer = watchOwnNodeFirewall(
    clients,
    options.nodeName,
    {
      onChange: (next) => {
        // A deleted NodeFirewall leaves everything in force (fail-static), members too.
        if (next !== null) sets.setIds(referencedSetIds(next.spec));
        reconciler.observe(next);
      },
      onError: (err, retryInMs) =>
        log.warn(
          { err: errorText(err), retryInMs },
          'watch of NodeFirewall failed; enforcing the last ruleset and retrying',
        ),
    },
    watchBackoff,
  );
  const ticker = startTicker(clock, options.driftIntervalMs, () => reconciler.requestPass());
  // The first pass after the sets of the first NodeFirewall are listed (or
  // their wait is over), so a start does not report sets as pending.
  let setsTimer: unknown = null;
  const setsListed = informer.synced.then(() =>
    Promise.race([
      sets.listed(),
      new Promise<void>((resolve) => {
        setsTimer = clock.setTimer(resolve, options.setWaitMs);
        unrefTimer(setsTimer);
      }),
    ]).finally(() => clock.clearTimer(setsTimer)),
  );
  const synced = Promise.all([setsListed, firstProbe]).then(() => reconciler.synced());
  const health =
    options.healthPort < 0
      ? null
      : await startHealthServer({
          port: options.healthPort,
          host: options.healthHost,
          registry: metrics.registry,
          isReady: () => informer.hasSynced() && reconciler.state.host?.usable === true,
        });

  return {
    synced,
    metrics,
    healthPort: health?.port ?? null,
    applies: () => reconciler.state.applyCount,
    checkNow: () => reconciler.requestPass(),
    stop: async () => {
      ticker.stop();
      await informer.stop();
      await sets.stop();
      await reconciler.stop();
      if (options.cleanupOnExit) {
        log.info({ deleted: await table.remove() }, 'removed table inet nftpol (cleanup on exit)');
      } else {
        log.info('stopped; the ruleset stays in force (fail-static)');
      }
      await health?.close();
    },
  };
}
