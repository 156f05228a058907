/**
 * Composition root of nftpol-controller: options → kube client → informers →
 * snapshot → engine → publisher, gated by leader election. Every replica
 * keeps its model warm; only the leader renders and writes, and on taking
 * over it renders every node once, writing only the scripts whose hash
 * differs from the NodeFirewall already there (so a restart with nothing
 * changed writes nothing).
 *
 * The API calls themselves live in k8s/ (NodeFirewall writes, the Lease,
 * Events); this file wires them and is the one place errors become an exit
 * code. `startController` is exported so tests and the demo run the
 * controller in-process.
 */
import { pathToFileURL } from 'node:url';
import {
  chooseKubeConfigSource,
  loadKubeConfig,
  makeApiClients,
  type KubeConfig,
} from '../k8s/client.js';
import { usageText } from '../options/flags.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { createControllerMetrics, type ControllerMetrics } from '../telemetry/metrics.js';
import { startHealthServer, type HealthServer } from '../telemetry/health.js';
import { SYSTEM_CLOCK, type Clock } from '../telemetry/clock.js';
import { Engine, renderNodeWith, type RenderNode } from './engine.js';
import { EnforceTracker } from './enforce-tracker.js';
import { WarningEvents } from '../k8s/events.js';
import { renderFailureHandler } from './render-failures.js';
import { startControllerInformers } from './informers.js';
import { controllerModelSink } from './model-sink.js';
import { LeaderElector } from './leader.js';
import { errorText } from '../k8s/errors.js';
import { apiLeaseStore } from '../k8s/lease.js';
import { startHistoryServer, type HistoryServer } from '../history/http.js';
import { MemoryHistoryStore } from '../history/memory.js';
import { RedisHistoryStore } from '../history/redis.js';
import type { HistoryStore } from '../history/store.js';
import {
  DEFAULTS,
  FLAGS,
  parseOptions,
  redactedOptions,
  validate,
  type ControllerOptions,
} from './options.js';
import { Publisher } from './publisher.js';
import { apiNodeFirewallWriter, CONTROLLER_FIELD_MANAGER } from '../k8s/nodefirewall-api.js';
import { ClusterSnapshot } from './snapshot.js';

/** A running controller. */
export interface ControllerHandle {
  /** Resolves once every informer delivered its first list. */
  readonly synced: Promise<void>;
  /** True while this replica holds the Lease (always, without leader election). */
  isLeader(): boolean;
  /** True when no node waits to be rendered and no write is in flight. */
  isIdle(): boolean;
  /** Port of the health server, or null when disabled. */
  readonly healthPort: number | null;
  /** Port of the history server, or null when disabled. */
  readonly historyPort: number | null;
  readonly metrics: ControllerMetrics;
  /** The change history (Redis with `redisUrl`, else in memory). */
  readonly history: HistoryStore;
  /**
   * Stops everything. `release` (default true, as on SIGTERM) hands the Lease
   * back; false simulates a crash (the Lease expires on its own).
   */
  stop(options?: { readonly release?: boolean }): Promise<void>;
}

/** Test hooks: a logger, a clock, a batch observer. */
export interface ControllerDeps {
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Called after every batch has been rendered and published. */
  readonly onBatch?: (info: { readonly nodes: number; readonly durationMs: number }) => void;
  /**
   * Tests only: wraps the production translate+render of every node, e.g. to
   * make a chosen node's render throw (fault injection; see
   * docs/controller.md "When a node cannot be rendered"). The wrapper must
   * call `render` for the nodes it does not fail.
   */
  readonly wrapRender?: (render: RenderNode) => RenderNode;
}

/** Starts a controller against `kubeConfig`; resolves once the health server listens. */
export async function startController(
  options: ControllerOptions,
  kubeConfig: KubeConfig,
  deps: ControllerDeps = {},
): Promise<ControllerHandle> {
  const log = deps.log ?? createLogger({ component: 'nftpol-controller', level: options.logLevel });
  const clock = deps.clock ?? SYSTEM_CLOCK;
  const metrics = createControllerMetrics();
  const clients = makeApiClients(kubeConfig);
  const snapshot = new ClusterSnapshot();
  const nodeUids = new Map<string, string>();
  const events = new WarningEvents({
    api: clients.core,
    identity: options.identity,
    intervalMs: options.eventIntervalMs,
    log,
    clock,
  });
  const history = await openHistory(options, metrics, log, clock);

  let leader = false;
  let synced = false;
  const updateQueueGauge = (): void => {
    metrics.queueDepth.set(engine.queueDepth + publisher.pending);
    metrics.renderFailingNodes.set(engine.failingNodes().length);
  };

  const publisher: Publisher = new Publisher(apiNodeFirewallWriter(clients), {
    concurrency: options.writeConcurrency,
    retryDelayMs: options.retryDelayMs,
    clock,
    nodeUid: (node) => nodeUids.get(node),
    retry: (node, causes) => engine.markDirty([node], causes),
    onPublished: (rendered, oldHash) => {
      history
        .record({
          node: rendered.node,
          time: new Date(clock.now()).toISOString(),
          oldHash: oldHash ?? null,
          newHash: rendered.scriptHash,
          causes: rendered.causes ?? [],
          script: rendered.script,
        })
        .catch((err: unknown) =>
          log.warn({ node: rendered.node, err: errorText(err) }, 'failed to record history'),
        );
    },
    log,
    metrics,
    compressThresholdBytes: options.compressThresholdBytes,
  });
  const production = renderNodeWith({ failClosed: options.failClosed });
  const render = deps.wrapRender?.(production) ?? production;
  const engine: Engine = new Engine(
    snapshot,
    {
      debounceMs: options.debounceMs,
      maxDelayMs: options.maxDelayMs,
      clock,
      render: (cluster, node) => {
        metrics.nodesRendered.inc();
        return render(cluster, node);
      },
      onBatchDone: ({ durationMs, nodes }) => {
        metrics.reconcileDuration.observe(durationMs / 1000);
        updateQueueGauge();
        log.debug({ nodes, durationMs }, 'reconciled batch');
        deps.onBatch?.({ nodes, durationMs });
      },
      onError: (err) => log.error({ err: errorText(err) }, 'failed to reconcile batch'),
      retryDelayMs: options.retryDelayMs,
      onRenderError: renderFailureHandler({
        log,
        metrics,
        events,
        nodeUid: (node) => nodeUids.get(node),
      }),
    },
    (batch) => publisher.publish(batch),
  );

  const active = (): boolean => leader && synced;
  const model = controllerModelSink({
    snapshot,
    engine,
    publisher,
    events,
    log,
    metrics,
    nodeUids,
    active,
    onMarked: updateQueueGauge,
  });
  const refreshActive = (): void => {
    const on = active();
    engine.setActive(on, publisher.observedNames());
    if (on) model.checkAllNamedPorts();
    updateQueueGauge();
  };
  const tracker = new EnforceTracker({
    clock,
    histogram: metrics.policyEnforceDuration,
    isActive: active,
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0,
    desiredHash: (node) => engine.lastHash(node),
    onEnforced: (policy, seconds) => log.info({ policy, seconds }, 'enforced policy on every node'),
    onError: (err) => log.error({ err: errorText(err) }, 'failed to check policy enforcement'),
  });
  const informers = startControllerInformers(clients, tracker.wrap(model.sink), {
    backoffMs: options.informerBackoffMs,
    maxBackoffMs: options.informerMaxBackoffMs,
    onError: (kind, err, retryInMs) =>
      log.warn({ kind, err: errorText(err), retryInMs }, 'informer failed; restarting'),
    onHandlerError: (kind, err, ref) => {
      metrics.handlerFailures.inc({ kind });
      const object = ref.namespace === '' ? ref.name : `${ref.namespace}/${ref.name}`;
      log.error({ kind, object, err: errorText(err) }, 'failed to handle informer event; skipped');
    },
  });
  const syncedPromise = informers.synced.then(() => {
    synced = true;
    log.info(snapshot.size(), 'synced informers');
    try {
      refreshActive();
    } catch (err) {
      log.error({ err: errorText(err) }, 'failed to activate after sync');
    }
  });

  const setLeader = (value: boolean): void => {
    leader = value;
    metrics.leader.set(value ? 1 : 0);
    log.info({ identity: options.identity }, value ? 'started leading' : 'stopped leading');
    refreshActive();
  };
  let elector: LeaderElector | null = null;
  if (options.leaderElect) {
    elector = new LeaderElector(
      apiLeaseStore(clients, options.leaseNamespace, options.leaseName, CONTROLLER_FIELD_MANAGER),
      {
        identity: options.identity,
        leaseDurationMs: options.leaseDurationMs,
        renewDeadlineMs: options.renewDeadlineMs,
        retryPeriodMs: options.retryPeriodMs,
        clock,
      },
      {
        onStartedLeading: () => setLeader(true),
        onStoppedLeading: () => setLeader(false),
        onError: (err) => log.warn({ err: errorText(err) }, 'failed to acquire or renew lease'),
      },
    );
    elector.start();
  } else {
    setLeader(true);
  }

  let health: HealthServer | null = null;
  if (options.healthPort >= 0) {
    health = await startHealthServer({
      port: options.healthPort,
      host: options.healthHost,
      registry: metrics.registry,
      isReady: () => synced,
    });
  }
  let historyServer: HistoryServer | null = null;
  if (options.historyPort >= 0) {
    historyServer = await startHistoryServer({
      port: options.historyPort,
      host: options.historyHost,
      store: history,
      refusal: () => (history.kind === 'memory' && !leader ? standbyRefusal(options) : null),
    });
  }

  return {
    synced: syncedPromise,
    isLeader: () => leader,
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0,
    healthPort: health?.port ?? null,
    historyPort: historyServer?.port ?? null,
    metrics,
    history,
    stop: async (stopOptions = {}) => {
      await elector?.stop({ release: stopOptions.release ?? true });
      await engine.stop();
      tracker.stop();
      publisher.stop();
      await informers.stop();
      await health?.close();
      await historyServer?.close();
      await history.close();
    },
  };
}

/**
 * Why a standby with the in-memory history does not answer: only the leader
 * records, so its answer would be empty or stale. Names the Lease whose
 * holder (a pod name, from the downward API) to port-forward to instead.
 */
function standbyRefusal(options: ControllerOptions): string {
  const lease = `kubectl -n ${options.leaseNamespace} get lease ${options.leaseName} -o jsonpath='{.spec.holderIdentity}'`;
  return (
    `this replica (${options.identity}) is not the leader, and with the in-memory history only the leader records: ` +
    `port-forward to the leader's pod (${lease}), or configure --redis-url so that every replica answers`
  );
}

/** How long start waits for Redis before publishing without it (entries meanwhile are lost). */
const REDIS_CONNECT_WAIT_MS = 3_000;

/**
 * The change history: Redis Streams when `redisUrl` is set, else bounded
 * memory. A Redis that cannot be reached within {@link REDIS_CONNECT_WAIT_MS}
 * does not delay the controller further; ioredis keeps reconnecting.
 */
async function openHistory(
  options: ControllerOptions,
  metrics: ControllerMetrics,
  log: Logger,
  clock: Clock,
): Promise<HistoryStore> {
  if (options.redisUrl === '') {
    return new MemoryHistoryStore({ entriesPerNode: options.historyEntries });
  }
  const store = new RedisHistoryStore({
    url: options.redisUrl,
    password: options.redisPassword,
    entriesPerNode: options.historyEntries,
    onLost: (err, entry) => {
      metrics.historyLost.inc();
      log.warn(
        { node: entry.node, hash: entry.newHash, err: errorText(err) },
        'lost change-history entry; redis unavailable',
      );
    },
    onConnection: (event, detail) => {
      if (event === 'ready') log.info('connected to redis for the change history');
      else if (event === 'lost') log.warn('lost connection to redis; reconnecting');
      else log.debug({ err: detail }, 'redis connection error');
    },
  });
  let timer: unknown = null;
  const waited = await Promise.race([
    store.whenReady().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = clock.setTimer(() => resolve(false), REDIS_CONNECT_WAIT_MS);
    }),
  ]);
  clock.clearTimer(timer);
  if (!waited) log.warn('redis not reachable yet; publishing without history until it is');
  return store;
}

/** Runs the binary: parse, validate, start, wait for SIGTERM. @returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseOptions(argv, env);
  if (parsed.help) {
    process.stdout.write(usageText('nftpol-controller', FLAGS, DEFAULTS, 'docs/controller.md'));
    return 0;
  }
  const problems = [...parsed.problems, ...validate(parsed.options)];
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`nftpol-controller: ${p}\n`);
    return 2;
  }
  const options = parsed.options;
  const log = createLogger({ component: 'nftpol-controller', level: options.logLevel });
  log.info({ options: redactedOptions(options) }, 'started with options');
  // A last resort, not the error handling: every timer and callback path
  // catches its own errors, so reaching this is a bug. Log it loudly and keep
  // enforcing rather than exit (Node's default), which would only hand the
  // same cluster to the next leader.
  process.on('unhandledRejection', (reason) => {
    log.error(
      { err: errorText(reason), stack: reason instanceof Error ? reason.stack : undefined },
      'BUG: unhandled promise rejection; the controller keeps running',
    );
  });
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(
      chooseKubeConfigSource(options.kubeconfig === '' ? {} : { kubeconfig: options.kubeconfig }, {
        KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'],
      }),
    );
  } catch (err) {
    log.fatal({ err: errorText(err) }, 'failed to load kubeconfig');
    return 1;
  }
  const controller = await startController(options, kubeConfig, { log });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await controller.stop({ release: true });
  log.info('stopped');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nftpol-controller: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
