/**
 * Composition root of nftpol-controller: options → kube client → informers →
 * snapshot → engine → publisher, gated by leader election. Every replica
 * keeps its model warm; only the leader renders and writes, and on taking
 * over it renders every node once, writing only the scripts whose hash
 * differs from the NodeFirewall already there (so a restart with nothing
 * changed writes nothing).
 *
 * Also the one place that speaks client-node for the controller's writes
 * (server-side apply, delete, Lease, Event) and the one place errors become
 * an exit code. `startController` is exported so tests and the demo run the
 * controller in-process.
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  chooseKubeConfigSource,
  loadKubeConfig,
  makeApiClients,
  type ApiClients,
} from '../k8s/client.js';
import { GROUP, PLURAL, VERSION } from '../k8s/nodefirewall.js';
import { qualifiedName, type Policy } from '../policy/model.js';
import { usageText } from '../options/flags.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { createControllerMetrics, type ControllerMetrics } from '../telemetry/metrics.js';
import { startHealthServer, type HealthServer } from '../telemetry/health.js';
import { Engine, renderNodeWith, SYSTEM_CLOCK, type Clock } from './engine.js';
import { EnforceTracker } from './enforce-tracker.js';
import { startControllerInformers, type ModelSink } from './informers.js';
import {
  LeaderElector,
  LeaseConflictError,
  microTime,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from './leader.js';
import { historyRoutes } from '../history/http.js';
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
import { errorText, FIELD_MANAGER, Publisher, type NodeFirewallWriter } from './publisher.js';
import { ClusterSnapshot, findUnresolvedNamedPorts } from './snapshot.js';

/** Event reasons the controller emits on NetworkPolicies. */
export type PolicyEventReason = 'InvalidPolicy' | 'NamedPortUnresolved';

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
  const policyUids = new Map<string, string>();
  const events = new PolicyEvents(clients, options, log, clock);
  const history = await openHistory(options, metrics, log);

  let leader = false;
  let synced = false;
  const updateQueueGauge = (): void =>
    metrics.queueDepth.set(engine.queueDepth + publisher.pending);

  const publisher: Publisher = new Publisher(nodeFirewallWriter(clients), {
    concurrency: options.writeConcurrency,
    retryDelayMs: options.retryDelayMs,
    clock,
    nodeUid: (node) => nodeUids.get(node),
    retry: (node, causes) => engine.markDirty([node], causes),
    onPublished: (rendered, oldHash) =>
      void history.record({
        node: rendered.node,
        time: new Date(clock.now()).toISOString(),
        oldHash: oldHash ?? null,
        newHash: rendered.scriptHash,
        causes: rendered.causes ?? [],
        script: rendered.script,
      }),
    log,
    metrics,
    compressThresholdBytes: options.compressThresholdBytes,
  });
  const render = renderNodeWith({ failClosed: options.failClosed });
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
    },
    (batch) => publisher.publish(batch),
  );

  const active = (): boolean => leader && synced;
  const refreshActive = (): void => {
    const on = active();
    engine.setActive(on, publisher.observedNames());
    if (on) {
      for (const key of policyUids.keys()) checkNamedPorts(key);
    }
    updateQueueGauge();
  };
  const mark = (nodes: Iterable<string>, cause: string): void => {
    engine.markDirty(nodes, [cause]);
    updateQueueGauge();
  };
  const checkNamedPorts = (key: string): void => {
    const policy = snapshot.policy(key);
    if (policy === undefined || !active()) return;
    const misses = findUnresolvedNamedPorts(snapshot, policy);
    if (misses.length > 0) {
      events.warn(policy, policyUids.get(key) ?? '', 'NamedPortUnresolved', misses.join('; '));
    }
  };

  const sink: ModelSink = {
    event: (kind) => metrics.events.inc({ kind }),
    namespace: (ref, ns) =>
      mark(
        ns === null ? snapshot.deleteNamespace(ref.name) : snapshot.setNamespace(ns),
        `Namespace ${ref.name}`,
      ),
    pod: (ref, pod) =>
      mark(
        pod === null ? snapshot.deletePod(ref.namespace, ref.name) : snapshot.setPod(pod),
        `Pod ${ref.namespace}/${ref.name}`,
      ),
    node: (ref, node) => {
      if (node === null) nodeUids.delete(ref.name);
      else nodeUids.set(ref.name, ref.uid);
      mark(
        node === null ? snapshot.deleteNode(ref.name) : snapshot.setNode(node),
        `Node ${ref.name}`,
      );
    },
    policy: (ref, policy, problems) => {
      const key = `${ref.namespace}/${ref.name}`;
      const cause = `NetworkPolicy ${key}`;
      if (policy === null) {
        policyUids.delete(key);
        mark(snapshot.deletePolicy(ref.namespace, ref.name), cause);
        const errors = problems.filter((p) => p.severity === 'error');
        if (errors.length > 0) {
          log.warn(
            { policy: key, problems: errors.map((p) => p.message) },
            'skipped invalid policy',
          );
          if (active()) {
            events.warn(
              { namespace: ref.namespace, name: ref.name },
              ref.uid,
              'InvalidPolicy',
              `not enforced: ${errors.map((p) => `${p.field} ${p.message}`.trim()).join('; ')}`,
            );
          }
        }
        return;
      }
      policyUids.set(key, ref.uid);
      mark(snapshot.setPolicy(policy), cause);
      checkNamedPorts(key);
    },
    nodeFirewall: (ref, fingerprint) => {
      publisher.observe(ref.name, fingerprint);
      if (!active()) return;
      const exists = snapshot.hasNode(ref.name);
      if (fingerprint === null) {
        if (exists) mark([ref.name], `NodeFirewall ${ref.name}`); // deleted by hand: recreate
      } else if (!exists || engine.lastHash(ref.name) !== fingerprint) {
        mark([ref.name], `NodeFirewall ${ref.name}`); // orphan, or edited by hand: restore
      }
    },
  };

  const tracker = new EnforceTracker({
    clock,
    histogram: metrics.policyEnforceDuration,
    isActive: active,
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0,
    desiredHash: (node) => engine.lastHash(node),
    onEnforced: (policy, seconds) => log.info({ policy, seconds }, 'enforced policy on every node'),
  });
  const informers = startControllerInformers(clients, tracker.wrap(sink), {
    backoffMs: options.informerBackoffMs,
    maxBackoffMs: options.informerMaxBackoffMs,
    onError: (kind, err, retryInMs) =>
      log.warn({ kind, err: errorText(err), retryInMs }, 'informer failed; restarting'),
  });
  const syncedPromise = informers.synced.then(() => {
    synced = true;
    log.info(snapshot.size(), 'synced informers');
    refreshActive();
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
      leaseStore(clients, options),
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
      routes: historyRoutes(history),
    });
  }

  return {
    synced: syncedPromise,
    isLeader: () => leader,
    isIdle: () => engine.queueDepth === 0 && publisher.pending === 0,
    healthPort: health?.port ?? null,
    metrics,
    history,
    stop: async (stopOptions = {}) => {
      await elector?.stop({ release: stopOptions.release ?? true });
      await engine.stop();
      tracker.stop();
      publisher.stop();
      await informers.stop();
      await health?.close();
      await history.close();
    },
  };
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = await Promise.race([
    store.whenReady().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), REDIS_CONNECT_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!waited) log.warn('redis not reachable yet; publishing without history until it is');
  return store;
}

/** Server-side apply and delete of NodeFirewalls over client-node. */
function nodeFirewallWriter(clients: ApiClients): NodeFirewallWriter {
  const where = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    apply: async (body) => {
      await clients.custom.patchClusterCustomObject(
        { ...where, name: body.metadata.name, body, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    },
    remove: async (name) => {
      try {
        await clients.custom.deleteClusterCustomObject({ ...where, name });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    },
  };
}

/** The coordination.k8s.io/v1 Lease over client-node. */
function leaseStore(clients: ApiClients, options: ControllerOptions): LeaseStore {
  const name = options.leaseName;
  const namespace = options.leaseNamespace;
  const toStored = (lease: V1Lease): StoredLease => ({
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: lease.spec?.holderIdentity ?? '',
      leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
      acquireTime: timeText(lease.spec?.acquireTime),
      renewTime: timeText(lease.spec?.renewTime),
      leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    },
  });
  const toSpec = (r: LeaseRecord): V1LeaseSpec => ({
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime === null ? {} : { acquireTime: new Date(r.acquireTime) }),
    ...(r.renewTime === null ? {} : { renewTime: new Date(r.renewTime) }),
  });
  const conflicts = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (statusCode(err) === 409) throw new LeaseConflictError(errorText(err));
      throw err;
    }
  };
  return {
    get: async () => {
      try {
        return toStored(await clients.coordination.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (statusCode(err) === 404) return null;
        throw err;
      }
    },
    create: (record) =>
      conflicts(async () =>
        toStored(
          await clients.coordination.createNamespacedLease({
            namespace,
            body: { metadata: { name, namespace }, spec: toSpec(record) },
          }),
        ),
      ),
    update: (record, resourceVersion) =>
      conflicts(async () =>
        toStored(
          await clients.coordination.replaceNamespacedLease({
            name,
            namespace,
            body: { metadata: { name, namespace, resourceVersion }, spec: toSpec(record) },
          }),
        ),
      ),
  };
}

function timeText(value: unknown): string | null {
  if (value instanceof Date) return microTime(value.getTime());
  return typeof value === 'string' ? value : null;
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Warning Events on NetworkPolicies, at most one per policy and reason per interval. */
class PolicyEvents {
  private readonly last = new Map<string, number>();
  private readonly clients: ApiClients;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(clients: ApiClients, options: ControllerOptions, log: Logger, clock: Clock) {
    this.clients = clients;
    this.options = options;
    this.log = log;
    this.clock = clock;
  }

  warn(
    policy: Pick<Policy, 'namespace' | 'name'>,
    uid: string,
    reason: PolicyEventReason,
    message: string,
  ): void {
    const key = `${qualifiedName(policy)}|${reason}`;
    const now = this.clock.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.options.eventIntervalMs) return;
    this.last.set(key, now);
    const time = new Date(now);
    const body: CoreV1Event = {
      metadata: {
        name: `${policy.name}.${randomBytes(8).toString('hex')}`,
        namespace: policy.namespace,
      },
      involvedObject: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        namespace: policy.namespace,
        name: policy.name,
        ...(uid === '' ? {} : { uid }),
      },
      reason,
      message: message.slice(0, 1024),
      type: 'Warning',
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: this.options.identity,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    this.log.warn({ policy: qualifiedName(policy), reason, message }, 'reported policy problem');
    this.clients.core
      .createNamespacedEvent({ namespace: policy.namespace, body })
      .catch((err: unknown) => {
        this.log.warn(
          { policy: qualifiedName(policy), err: errorText(err) },
          'failed to create event',
        );
      });
  }
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
