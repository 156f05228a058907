/**
 * startController: the controller's wiring, options → kube client →
 * informers → snapshot → engine → publishers (AddressSet slices first, then
 * NodeFirewalls), gated by leader election. Every replica keeps its model
 * warm; only the leader renders and writes, and on taking over it renders
 * every node and every set once, writing only the scripts whose hash differs
 * from the NodeFirewall already there and the slices whose members differ
 * (so a restart with nothing changed writes nothing). The API calls live in k8s/ (NodeFirewall writes,
 * the Lease, Events), the informer-to-model wiring in model-sink.ts. Tests
 * and the demo run it in-process; main.ts is the binary around it.
 */
import { makeApiClients, type KubeConfig } from '../k8s/client.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { createControllerMetrics, type ControllerMetrics } from '../telemetry/metrics.js';
import { startHealthServer, type HealthServer } from '../telemetry/health.js';
import { SYSTEM_CLOCK, type Clock } from '../telemetry/clock.js';
import { Engine, renderNodeWith, type RenderNode } from './engine.js';
import { OrderedPublisher } from './publish-order.js';
import { EnforceTracker } from './enforce-tracker.js';
import { WarningEvents } from '../k8s/events.js';
import { renderFailureHandler } from './render-failures.js';
import { startControllerInformers } from './informers.js';
import { controllerModelSink } from './model-sink.js';
import { LeaderElector } from './leader.js';
import { errorText } from '../k8s/errors.js';
import { apiLeaseStore } from '../k8s/lease.js';
import { startHistoryServer, type HistoryServer } from '../history/http.js';
import { openHistory } from '../history/open.js';
import type { HistoryStore } from '../history/store.js';
import type { ControllerOptions } from './options.js';
import { Publisher } from './publisher.js';
import { apiNodeFirewallWriter, CONTROLLER_FIELD_MANAGER } from '../k8s/nodefirewall-api.js';
import { ClusterSnapshot } from './snapshot.js';
import { SetPublisher } from './set-publisher.js';
import { apiAddressSetWriter } from '../k8s/addressset-api.js';

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
  const history = await openHistory(
    {
      redisUrl: options.redisUrl,
      redisPassword: options.redisPassword,
      entriesPerNode: options.historyEntries,
    },
    { onLost: () => metrics.historyLost.inc(), log, clock },
  );

  let leader = false;
  let synced = false;
  const updateQueueGauge = (): void => {
    metrics.queueDepth.set(engine.queueDepth + publisher.pending + setPublisher.pending);
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
  const setPublisher: SetPublisher = new SetPublisher(apiAddressSetWriter(clients), {
    sliceSize: options.setSliceSize,
    concurrency: options.writeConcurrency,
    retryDelayMs: options.retryDelayMs,
    clock,
    retry: (ids) => {
      engine.markSets(ids);
      engine.markDirty(
        ordered.release(ids),
        ids.map((id) => `AddressSet ${id}`),
      );
    },
    log,
    metrics,
  });
  const ordered = new OrderedPublisher(setPublisher, publisher);
  const production = renderNodeWith({ failClosed: options.failClosed });
  const render = deps.wrapRender?.(production) ?? production;
  const engine: Engine = new Engine(
    snapshot,
    {
      debounceMs: options.debounceMs,
      maxDelayMs: options.maxDelayMs,
      clock,
      render: (source, node) => {
        metrics.nodesRendered.inc();
        return render(source, node);
      },
      setGraceMs: options.setGraceMs,
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
    (batch) => ordered.publish(batch),
  );

  const active = (): boolean => leader && synced;
  const model = controllerModelSink({
    snapshot,
    engine,
    publisher,
    setPublisher,
    events,
    log,
    metrics,
    nodeUids,
    active,
    onMarked: updateQueueGauge,
  });
  const refreshActive = (): void => {
    const on = active();
    setPublisher.setLeading(on);
    engine.setActive(on, publisher.observedNames(), setPublisher.observedIds());
    if (on) model.checkAllNamedPorts();
    updateQueueGauge();
  };
  const tracker = new EnforceTracker({
    clock,
    histogram: metrics.policyEnforceDuration,
    isActive: active,
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0 && setPublisher.pending === 0,
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
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0 && setPublisher.pending === 0,
    healthPort: health?.port ?? null,
    historyPort: historyServer?.port ?? null,
    metrics,
    history,
    stop: async (stopOptions = {}) => {
      await elector?.stop({ release: stopOptions.release ?? true });
      await engine.stop();
      tracker.stop();
      publisher.stop();
      setPublisher.stop();
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
