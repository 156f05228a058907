/**
 * Composition root of nftpol-executor, one per node: options → host probe →
 * watch of the node's own NodeFirewall → decide/apply → drift check →
 * status. Also the one place that speaks client-node for the executor's
 * writes (the status subresource) and the one place errors become an exit
 * code. `startExecutor` is exported so tests run executors in-process.
 *
 * All work runs in one serial loop of level-based passes: a watch event, a
 * drift tick, a probe result or a retry timer only asks for a pass; each pass
 * reads the live table, decides from the current spec and writes the whole
 * status once (skipped when it would not change). So there is never an apply
 * racing a drift check, and whatever happened while the API was unreachable
 * is reported by the first pass after it comes back.
 *
 * Fail-static: stopping (SIGTERM) leaves the ruleset in force unless
 * `--cleanup-on-exit`; `--uninstall` deletes `table inet nftpol` and nothing
 * else, then exits.
 */
import { PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { chooseKubeConfigSource, loadKubeConfig, makeApiClients } from '../k8s/client.js';
import type { Condition } from '../k8s/conditions.js';
import {
  GROUP,
  PLURAL,
  VERSION,
  type NodeFirewall,
  type NodeFirewallCounters,
  type NodeFirewallStatus,
} from '../k8s/nodefirewall.js';
import { decodeSpecScript, type DecodedScript } from '../k8s/script-encoding.js';
import { deleteTable, listTable, type NftOptions } from '../nft/apply.js';
import { hashScript } from '../nft/render.js';
import {
  attributeCounters,
  denyCountsOf,
  diffTables,
  podCountersOf,
  policyCountersOf,
  parseRuleset,
  summarizeDiff,
  type NormalizedTable,
  type ParsedRuleset,
} from '../nft/ruleset.js';
import { startHealthServer, type HealthServer } from '../telemetry/health.js';
import { usageText } from '../options/flags.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { createExecutorMetrics, type ExecutorMetrics } from '../telemetry/metrics.js';
import { startTicker, type Ticker } from './drift.js';
import { probeHost, type ProbeResult } from './host-probe.js';
import {
  DEFAULTS,
  FLAGS,
  nftArgv,
  parseOptions,
  validate,
  type ExecutorOptions,
} from './options.js';
import { errorText, statusCode } from '../k8s/errors.js';
import { decideAction, runAction, type Action, type ApplyCause } from './reconcile.js';
import {
  statusFor,
  type ApplyState,
  type HostState,
  type Outcome,
  type SyncState,
} from './status.js';
import { watchOwnNodeFirewall } from './watch.js';

/** What happened, for tests and the demo (the logs say the same in words). */
export type ExecutorEvent =
  | { readonly kind: 'probed'; readonly usable: boolean; readonly message: string }
  | { readonly kind: 'applied'; readonly hash: string; readonly cause: ApplyCause }
  | { readonly kind: 'applyFailed'; readonly hash: string; readonly error: string }
  | { readonly kind: 'refused'; readonly declared: string; readonly actual: string }
  | { readonly kind: 'decodeFailed'; readonly message: string }
  | { readonly kind: 'adopted'; readonly hash: string }
  | { readonly kind: 'drifted'; readonly summary: string }
  | { readonly kind: 'statusWritten'; readonly status: NodeFirewallStatus }
  | { readonly kind: 'statusFailed'; readonly error: string }
  | { readonly kind: 'passDone' };

/** Test hooks. */
export interface ExecutorDeps {
  readonly log?: Logger;
  /** Wall clock for status times. @default () => new Date() */
  readonly now?: () => Date;
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

/** Timers may fire a millisecond early; a retry they trigger is due. */
const TIMER_SLACK_MS = 20;

interface Applied {
  readonly hash: string;
  readonly script: string;
  reference: NormalizedTable | null;
  readonly at: Date | null;
}

interface Failed {
  readonly hash: string;
  readonly error: string;
  readonly retryAt: number;
}

/** Starts an executor for `options.nodeName`; resolves once the health server listens. */
export async function startExecutor(
  options: ExecutorOptions,
  kubeConfig: KubeConfig,
  deps: ExecutorDeps = {},
): Promise<ExecutorHandle> {
  const log = (
    deps.log ?? createLogger({ component: 'nftpol-executor', level: options.logLevel })
  ).child({
    node: options.nodeName,
  });
  const now = deps.now ?? (() => new Date());
  const emit = deps.onEvent ?? (() => undefined);
  const nft: NftOptions = { command: nftArgv(options), timeoutMs: options.nftTimeoutMs };
  const metrics = createExecutorMetrics();
  const clients = makeApiClients(kubeConfig);

  let stopped = false;
  let object: NodeFirewall | null = null;
  let host: ProbeResult | null = null;
  let applied: Applied | null = null;
  let failed: Failed | null = null;
  let sync: SyncState = { kind: 'unknown' };
  let applyCount = 0;
  let retryDelay = options.retryBackoffMs;
  let probeDelay = options.retryBackoffMs;
  let statusDelay = options.retryBackoffMs;
  /** Conditions as last written (newer than the watch cache right after a write). */
  let conditions: readonly Condition[] | null = null;
  let lastWritten: string | null = null;
  let reportedMissing = false;
  /** Per-pod counters as last read, and as last put in a status (see countersToReport). */
  let liveCounters: NodeFirewallCounters | null = null;
  let reportedCounters: { readonly counters: NodeFirewallCounters; readonly at: number } | null =
    null;
  /** The last spec decoded and its script: decompressing a large script costs milliseconds. */
  let lastDecoded: { readonly spec: NodeFirewall['spec']; readonly result: DecodedScript } | null =
    null;
  const decode = (spec: NodeFirewall['spec']): DecodedScript => {
    if (lastDecoded?.spec !== spec) lastDecoded = { spec, result: decodeSpecScript(spec) };
    return lastDecoded.result;
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };

  // ---------------------------------------------------------------- the serial loop
  let pending = false;
  let running: Promise<void> | null = null;
  const kick = (): Promise<void> => {
    pending = true;
    running ??= (async () => {
      while (pending && !stopped) {
        pending = false;
        try {
          await pass();
        } catch (err) {
          log.error({ err: errorText(err) }, 'failed reconcile pass');
        }
        emit({ kind: 'passDone' });
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const hostState = (): HostState =>
    host === null
      ? { usable: 'unknown' }
      : host.usable
        ? { usable: true }
        : { usable: false, message: host.message };

  const readLive = async (): Promise<ParsedRuleset | null> => {
    try {
      const live = parseRuleset(await listTable(nft));
      metrics.denyPackets.reset();
      for (const d of denyCountsOf(live.counters)) {
        metrics.denyPackets.inc({ pod: d.pod, direction: d.direction }, d.packets);
      }
      const counts = attributeCounters(live.counters);
      metrics.allowedPackets.reset();
      for (const p of policyCountersOf(counts)) {
        metrics.allowedPackets.inc({ policy: p.policy, direction: p.direction }, p.packets);
      }
      // No table (not applied yet): nothing to report rather than an empty map.
      liveCounters = live.table === null ? null : podCountersOf(counts);
      return live;
    } catch (err) {
      log.warn({ err: errorText(err) }, 'failed to read the live table');
      return null;
    }
  };

  const load = async (
    script: string,
    hash: string,
    cause: ApplyCause,
    driftSummary: string | null,
  ): Promise<boolean> => {
    applyCount += 1;
    const action: Extract<Action, { kind: 'apply' }> = { kind: 'apply', script, hash, cause };
    const result = await runAction(action, { nft });
    metrics.applyDuration.observe(result.durationMs / 1000);
    if (result.kind === 'applied') {
      applied = { hash, script, reference: result.reference, at: now() };
      failed = null;
      retryDelay = options.retryBackoffMs;
      if (driftSummary !== null) {
        metrics.driftRepairs.inc();
        sync = { kind: 'repaired', summary: driftSummary };
      } else {
        sync = { kind: 'inSync' };
      }
      log.info({ hash, cause, durationMs: Math.round(result.durationMs) }, 'applied script');
      emit({ kind: 'applied', hash, cause });
      return true;
    }
    metrics.applyFailures.inc();
    failed = { hash, error: result.error, retryAt: Date.now() + retryDelay };
    log.error(
      { hash, cause, err: result.error.trim().split('\n').slice(0, 5), retryInMs: retryDelay },
      'failed to apply script; previous ruleset stays in force',
    );
    emit({ kind: 'applyFailed', hash, error: result.error });
    later(retryDelay, () => void kick());
    retryDelay = Math.min(options.retryMaxBackoffMs, retryDelay * 2);
    return false;
  };

  const pass = async (): Promise<void> => {
    const current = object;
    if (host === null) return; // not probed yet: nothing true to report
    if (!host.usable) {
      if (current !== null) {
        await writeStatus(current, {
          host: hostState(),
          apply: { kind: 'notAttempted', why: 'the host is not usable' },
          sync,
        });
      }
      return;
    }
    const live = await readLive();
    const spec = current?.spec;

    // A restart with nothing changed: the table this executor (or its
    // predecessor) applied is still there, and the status says so. Adopt it.
    if (applied === null && current !== null && spec !== undefined && live?.table != null) {
      const inForce = current.status?.appliedHash;
      const decoded = decode(spec);
      if (
        inForce === spec.scriptHash &&
        decoded.kind === 'decoded' &&
        hashScript(decoded.script) === spec.scriptHash
      ) {
        const at = current.status?.lastAppliedTime;
        applied = {
          hash: inForce,
          script: decoded.script,
          reference: live.table,
          at: at === undefined ? null : new Date(at),
        };
        sync = { kind: 'inSync' };
        log.info({ hash: inForce }, 'adopted the table already in force');
        emit({ kind: 'adopted', hash: inForce });
      }
    }
    if (applied !== null && applied.reference === null && live?.table != null)
      applied.reference = live.table;

    let driftSummary: string | null = null;
    if (applied?.reference != null && live !== null) {
      const diff = diffTables(applied.reference, live.table);
      if (diff !== null) {
        driftSummary = summarizeDiff(diff);
        sync = { kind: 'drifted', summary: driftSummary };
        log.warn({ hash: applied.hash, drift: driftSummary }, 'detected drift of the live table');
        emit({ kind: 'drifted', summary: driftSummary });
        if (current !== null)
          await writeStatus(current, {
            host: hostState(),
            apply: applyStateFor(current, null),
            sync,
          });
      }
    }
    const tableInSync = driftSummary === null;

    if (current === null || spec === undefined) {
      if (!reportedMissing) {
        log.info('no NodeFirewall for this node yet; nothing to apply');
        reportedMissing = true;
      }
      if (driftSummary !== null && applied !== null)
        await load(applied.script, applied.hash, 'repair', driftSummary);
      return;
    }
    reportedMissing = false;

    const action = decideAction(
      spec,
      {
        appliedHash: applied?.hash ?? null,
        tableInSync,
        failedHash: failed?.hash ?? null,
        retryDue: failed !== null && Date.now() + TIMER_SLACK_MS >= failed.retryAt,
      },
      decode(spec),
    );
    let refused: Extract<Action, { kind: 'refuse' }> | null = null;
    switch (action.kind) {
      case 'apply': {
        const ok = await load(action.script, action.hash, action.cause, driftSummary);
        // A new script was rejected on a drifted table: restore the last good one.
        if (!ok && driftSummary !== null && applied !== null) {
          await load(applied.script, applied.hash, 'repair', driftSummary);
        }
        break;
      }
      case 'refuse':
        refused = action;
        if (action.reason === 'DecodeFailed') {
          log.error({ err: action.message }, 'refused script: scriptGzip does not decode');
          emit({ kind: 'decodeFailed', message: action.message });
        } else {
          log.error(
            { declared: action.declared, actual: action.actual },
            'refused script: hash mismatch',
          );
          emit({ kind: 'refused', declared: action.declared, actual: action.actual });
        }
        if (driftSummary !== null && applied !== null)
          await load(applied.script, applied.hash, 'repair', driftSummary);
        break;
      case 'none':
        log.debug({ why: action.why, hash: spec.scriptHash }, 'nothing to apply');
        break;
    }
    await writeStatus(current, { host: hostState(), apply: applyStateFor(current, refused), sync });
  };

  const applyStateFor = (
    current: NodeFirewall,
    refused: Extract<Action, { kind: 'refuse' }> | null,
  ): ApplyState => {
    const hash = current.spec.scriptHash;
    if (refused !== null)
      return refused.reason === 'DecodeFailed'
        ? { kind: 'decodeFailed', message: refused.message }
        : { kind: 'hashMismatch', declared: refused.declared, actual: refused.actual };
    const decoded = decode(current.spec);
    if (decoded.kind === 'failed') return { kind: 'decodeFailed', message: decoded.message };
    if (applied !== null && applied.hash === hash) return { kind: 'applied', hash };
    const actual = hashScript(decoded.script);
    if (actual !== hash) return { kind: 'hashMismatch', declared: hash, actual };
    if (failed !== null && failed.hash === hash)
      return { kind: 'failed', hash, error: failed.error };
    return { kind: 'notAttempted', why: 'the script has not been applied yet' };
  };

  /**
   * The counters to put in the next status: the live ones when they changed
   * and `countersIntervalMs` passed since they were last reported, else the
   * ones last reported (so an unchanged status is not rewritten for counts).
   */
  const countersToReport = (current: NodeFirewall): NodeFirewallCounters | undefined => {
    const previous = reportedCounters?.counters ?? current.status?.counters;
    if (liveCounters === null) return previous;
    const due =
      reportedCounters === null ||
      Date.now() + TIMER_SLACK_MS >= reportedCounters.at + options.countersIntervalMs;
    if (!due || JSON.stringify(liveCounters) === JSON.stringify(previous)) return previous;
    return liveCounters;
  };

  const writeStatus = async (current: NodeFirewall, outcome: Outcome): Promise<void> => {
    if (conditions === null) conditions = current.status?.conditions ?? [];
    const counters = countersToReport(current);
    const computed = statusFor(outcome, {
      generation: current.metadata.generation ?? 0,
      appliedHash: applied?.hash ?? current.status?.appliedHash ?? null,
      lastAppliedTime: applied?.at ?? null,
      nftVersion: host?.nftVersion ?? current.status?.nftVersion ?? null,
      now: now(),
      previous: conditions,
    });
    const status: NodeFirewallStatus =
      counters === undefined ? computed : { ...computed, counters };
    const text = JSON.stringify(status);
    if (text === lastWritten || text === JSON.stringify(current.status ?? null)) {
      conditions = status.conditions ?? [];
      return;
    }
    try {
      await clients.custom.patchClusterCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          name: current.metadata.name,
          body: { status: withRemovedCounters(status, current.status?.counters) },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      if (counters !== undefined && counters !== reportedCounters?.counters) {
        reportedCounters = { counters, at: Date.now() };
      }
      conditions = status.conditions ?? [];
      lastWritten = text;
      statusDelay = options.retryBackoffMs;
      log.debug({ generation: status.observedGeneration }, 'wrote status');
      emit({ kind: 'statusWritten', status });
    } catch (err) {
      if (statusCode(err) === 404) return; // deleted meanwhile; the watch will say so
      const wait = statusDelay;
      statusDelay = Math.min(options.retryMaxBackoffMs, statusDelay * 2);
      log.warn({ err: errorText(err), retryInMs: wait }, 'failed to write status; will retry');
      emit({ kind: 'statusFailed', error: errorText(err) });
      later(wait, () => void kick());
    }
  };

  // ---------------------------------------------------------------- host probe
  const probe = async (): Promise<void> => {
    const result = await probeHost({
      nft,
      readFile: deps.readFile ?? ((path) => readFile(path, 'utf8')),
      forwardingSysctl: options.forwardingSysctl,
    });
    host = result;
    if (result.usable) {
      probeDelay = options.retryBackoffMs;
      for (const warning of result.warnings) log.warn({ warning }, 'host probe warning');
      log.info({ nftVersion: result.nftVersion }, 'probed host: usable');
      emit({ kind: 'probed', usable: true, message: result.warnings.join('; ') });
    } else {
      log.error(
        { problem: result.message, retryInMs: probeDelay },
        'probed host: unusable; policy is not enforced',
      );
      emit({ kind: 'probed', usable: false, message: result.message });
      later(probeDelay, () => void probe());
      probeDelay = Math.min(options.retryMaxBackoffMs, probeDelay * 2);
    }
    await kick();
  };

  // ---------------------------------------------------------------- wiring
  const firstProbe = probe();
  const informer = watchOwnNodeFirewall(
    clients,
    options.nodeName,
    {
      onChange: (next) => {
        if (next === null) {
          log.info('NodeFirewall deleted; the ruleset stays in force (fail-static)');
        } else if (object !== null && object.metadata.uid !== next.metadata.uid) {
          conditions = null; // a new object: start from its own conditions
          lastWritten = null;
        }
        object = next;
        void kick();
      },
      onError: (err, retryInMs) =>
        log.warn(
          { err: errorText(err), retryInMs },
          'watch of NodeFirewall failed; enforcing the last ruleset and retrying',
        ),
    },
    { backoffMs: options.informerBackoffMs, maxBackoffMs: options.informerMaxBackoffMs },
  );
  const ticker: Ticker = startTicker(options.driftIntervalMs, kick);
  const synced = Promise.all([informer.synced, firstProbe]).then(async () => {
    if (object === null) log.info('no NodeFirewall for this node yet; waiting for the controller');
    await kick();
  });

  let health: HealthServer | null = null;
  if (options.healthPort >= 0) {
    health = await startHealthServer({
      port: options.healthPort,
      host: options.healthHost,
      registry: metrics.registry,
      isReady: () => informer.hasSynced() && host?.usable === true,
    });
  }

  return {
    synced,
    metrics,
    healthPort: health?.port ?? null,
    applies: () => applyCount,
    checkNow: kick,
    stop: async () => {
      ticker.stop();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await informer.stop();
      stopped = true;
      await running;
      if (options.cleanupOnExit) {
        const deleted = await deleteTable(nft);
        log.info({ deleted }, 'removed table inet nftpol (cleanup on exit)');
      } else {
        log.info('stopped; the ruleset stays in force (fail-static)');
      }
      await health?.close();
    },
  };
}

/**
 * The status as a merge patch: a pod gone from the counters is set to null,
 * since a JSON merge patch keeps every key it does not mention.
 */
function withRemovedCounters(
  status: NodeFirewallStatus,
  before: NodeFirewallCounters | undefined,
): unknown {
  if (status.counters === undefined || before === undefined) return status;
  const gone = Object.keys(before).filter((pod) => !(pod in (status.counters ?? {})));
  if (gone.length === 0) return status;
  return {
    ...status,
    counters: { ...status.counters, ...Object.fromEntries(gone.map((pod) => [pod, null])) },
  };
}

/** Runs the binary: parse, validate, start (or uninstall), wait for SIGTERM. @returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseOptions(argv, env);
  if (parsed.help) {
    process.stdout.write(usageText('nftpol-executor', FLAGS, DEFAULTS, 'docs/executor.md'));
    return 0;
  }
  const problems = [...parsed.problems, ...validate(parsed.options)];
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`nftpol-executor: ${p}\n`);
    return 2;
  }
  const options = parsed.options;
  const log = createLogger({ component: 'nftpol-executor', level: options.logLevel });
  log.info({ options }, 'started with options');
  if (options.uninstall) {
    try {
      const deleted = await deleteTable({
        command: nftArgv(options),
        timeoutMs: options.nftTimeoutMs,
      });
      log.info(
        { deleted },
        deleted ? 'removed table inet nftpol' : 'table inet nftpol was not there',
      );
      return 0;
    } catch (err) {
      log.fatal({ err: errorText(err) }, 'failed to remove table inet nftpol');
      return 1;
    }
  }
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(
      chooseKubeConfigSource(
        {
          ...(options.server === '' ? {} : { server: options.server }),
          ...(options.kubeconfig === '' ? {} : { kubeconfig: options.kubeconfig }),
        },
        { KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'] },
      ),
    );
  } catch (err) {
    log.fatal({ err: errorText(err) }, 'failed to load kubeconfig');
    return 1;
  }
  const executor = await startExecutor(options, kubeConfig, { log });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await executor.stop();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nftpol-executor: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
