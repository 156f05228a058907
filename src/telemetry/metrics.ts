/**
 * Every Prometheus metric nftpol exports, in one place, with help text and
 * base units (seconds, bytes) and `_total` on counters. Metrics are created on
 * a registry passed in rather than the global one, so that two controllers in
 * one process (tests) keep separate figures.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The resource kinds whose informer events the controller counts. */
export type WatchedKind =
  | 'Pod'
  | 'Namespace'
  | 'NetworkPolicy'
  | 'Node'
  | 'NodeFirewall'
  | 'AddressSet'
  | 'ClusterNetworkPolicy';

/** The controller's metrics. */
export interface ControllerMetrics {
  readonly registry: Registry;
  /** Informer events received, by kind. */
  readonly events: Counter<'kind'>;
  /** Node scripts translated and rendered (whether or not written). */
  readonly nodesRendered: Counter;
  /**
   * Node renders that threw; the node keeps its last written script. No node
   * label (one series per node that ever failed would never go away): the
   * node is in the log line and the Node's `RenderFailed` Event.
   */
  readonly renderFailures: Counter;
  /** Nodes whose last render failed, so that they still enforce an older script. */
  readonly renderFailingNodes: Gauge;
  /** Informer events whose handling threw (skipped and logged), by resource kind. */
  readonly handlerFailures: Counter<'kind'>;
  /** NodeFirewall writes (applies and deletes) sent to the API. */
  readonly writes: Counter;
  /** AddressSet slice writes (applies and deletes) sent to the API. */
  readonly setWrites: Counter;
  /** Bytes of AddressSet apply bodies sent to the API. */
  readonly setWriteBytes: Counter;
  /** Bytes of NodeFirewall specs sent to the API. */
  readonly writeBytes: Counter;
  /** Scripts not written because even compressed they exceed the API object limit. */
  readonly oversizeScripts: Counter;
  /** Time from a batch of dirty nodes to its last write, in seconds. */
  readonly reconcileDuration: Histogram;
  /** Nodes waiting to be rendered or written. */
  readonly queueDepth: Gauge;
  /** 1 while this replica holds the Lease, else 0. */
  readonly leader: Gauge;
  /** Change-history entries that could not be recorded (Redis unavailable). */
  readonly historyLost: Counter;
  /**
   * Time from a policy change to the moment every node that must enforce the
   * policy reports the new script applied, in seconds (src/controller/enforce-tracker.ts).
   */
  readonly policyEnforceDuration: Histogram;
}

/** Creates the controller's metrics on `registry` (a fresh one by default). */
export function createControllerMetrics(registry: Registry = new Registry()): ControllerMetrics {
  const registers = [registry];
  return {
    registry,
    events: new Counter({
      name: 'nftpol_controller_events_total',
      help: 'Informer events received (add, update, delete), by resource kind.',
      labelNames: ['kind'],
      registers,
    }),
    nodesRendered: new Counter({
      name: 'nftpol_controller_nodes_rendered_total',
      help: 'Node scripts translated and rendered, whether or not the result was written.',
      registers,
    }),
    renderFailures: new Counter({
      name: 'nftpol_controller_render_failures_total',
      help: 'Node scripts whose translate or render threw; the node keeps its last written script and is retried with back-off.',
      registers,
    }),
    renderFailingNodes: new Gauge({
      name: 'nftpol_controller_render_failing_nodes',
      help: 'Nodes whose last render failed and that therefore still enforce an older script.',
      registers,
    }),
    handlerFailures: new Counter({
      name: 'nftpol_controller_handler_failures_total',
      help: 'Informer events whose handling threw, by resource kind; the event was skipped and logged, the informer kept running.',
      labelNames: ['kind'],
      registers,
    }),
    writes: new Counter({
      name: 'nftpol_controller_writes_total',
      help: 'NodeFirewall writes (server-side applies and deletes) sent to the API server.',
      registers,
    }),
    setWrites: new Counter({
      name: 'nftpol_controller_addressset_writes_total',
      help: 'AddressSet slice writes (server-side applies and deletes) sent to the API server.',
      registers,
    }),
    setWriteBytes: new Counter({
      name: 'nftpol_controller_addressset_write_bytes_total',
      help: 'Bytes of AddressSet slice apply bodies sent to the API server.',
      registers,
    }),
    writeBytes: new Counter({
      name: 'nftpol_controller_write_bytes_total',
      help: 'Bytes of NodeFirewall apply bodies sent to the API server.',
      registers,
    }),
    oversizeScripts: new Counter({
      name: 'nftpol_controller_oversize_scripts_total',
      help: 'Rendered scripts not written because, even gzip-compressed, the NodeFirewall would exceed the API object limit; the node keeps its last written script.',
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'nftpol_controller_reconcile_duration_seconds',
      help: 'Time to translate, render and publish one batch of dirty nodes, in seconds.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'nftpol_controller_queue_depth',
      help: 'Nodes marked dirty and not yet rendered and written.',
      registers,
    }),
    leader: new Gauge({
      name: 'nftpol_controller_leader',
      help: '1 while this replica holds the leader Lease, otherwise 0.',
      registers,
    }),
    historyLost: new Counter({
      name: 'nftpol_controller_history_lost_total',
      help: 'Change-history entries that could not be recorded (history backend unavailable); enforcement is unaffected.',
      registers,
    }),
    policyEnforceDuration: new Histogram({
      name: 'nftpol_controller_policy_enforce_seconds',
      help: 'Time from a NetworkPolicy change to every node that must enforce it reporting the new script applied, in seconds.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
  };
}

// ------------------------------------------------------------ executor
// Appended by the executor (created in src/executor/start.ts, fed by reconciler.ts and
// live-counters.ts); one registry per executor.

/** The executor's metrics. */
export interface ExecutorMetrics {
  readonly registry: Registry;
  /** Time of each `nft -f` load, successful or not, in seconds. */
  readonly applyDuration: Histogram;
  /** Loads nft rejected. */
  readonly applyFailures: Counter;
  /** Loads made to undo drift of the live table. */
  readonly driftRepairs: Counter;
  /**
   * Packets dropped on each local pod's deny path, as last read from the
   * table (reset when the table is reloaded, like any counter after a restart).
   */
  readonly denyPackets: Counter<'pod' | 'direction'>;
  /**
   * Packets accepted by each policy's allow rules on this node, by policy
   * (namespace/name) and direction, as last read from the table.
   */
  readonly allowedPackets: Counter<'policy' | 'direction'>;
  /**
   * Member deltas (one `nft -f` of `add element` / `delete element` lines
   * for the shared sets whose members changed), by result `ok` or `failed`
   * (a failed one is followed by a full load).
   */
  readonly memberUpdates: Counter<'result'>;
  /**
   * Time from a slice's `nftpol.io/written-at` (the controller's clock at
   * its write) to the delta carrying its change being in the kernel, in
   * seconds; one observation per changed slice.
   */
  readonly memberLag: Histogram;
  /** `nft -f` loads by kind: `full` (the whole composed script) or `delta` (members only). */
  readonly loads: Counter<'kind'>;
}

/** Creates the executor's metrics on `registry` (a fresh one by default). */
export function createExecutorMetrics(registry: Registry = new Registry()): ExecutorMetrics {
  const registers = [registry];
  return {
    registry,
    applyDuration: new Histogram({
      name: 'nftpol_executor_apply_duration_seconds',
      help: 'Time of each nft -f load of the node script, successful or not, in seconds.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    applyFailures: new Counter({
      name: 'nftpol_executor_apply_failures_total',
      help: 'Loads of the node script that nft rejected (the previous ruleset stayed in force).',
      registers,
    }),
    driftRepairs: new Counter({
      name: 'nftpol_executor_drift_repairs_total',
      help: 'Reloads of the node script made because the live table had drifted from it.',
      registers,
    }),
    denyPackets: new Counter({
      name: 'nftpol_executor_deny_packets_total',
      help: 'Packets dropped on a local pod deny path, by pod (namespace/name) and direction, read from the table.',
      labelNames: ['pod', 'direction'],
      registers,
    }),
    allowedPackets: new Counter({
      name: 'nftpol_executor_allowed_packets_total',
      help: 'New-connection packets accepted by a policy allow rule on this node, by policy (namespace/name) and direction, read from the table.',
      labelNames: ['policy', 'direction'],
      registers,
    }),
    memberUpdates: new Counter({
      name: 'nftpol_executor_member_updates_total',
      help: 'Member deltas of the shared address sets loaded with nft -f, by result (ok, failed; a failed one is followed by a full load).',
      labelNames: ['result'],
      registers,
    }),
    memberLag: new Histogram({
      name: 'nftpol_executor_member_lag_seconds',
      help: "Time from an AddressSet slice's write (its nftpol.io/written-at annotation) to its members being in the kernel, in seconds.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    loads: new Counter({
      name: 'nftpol_executor_loads_total',
      help: 'nft -f loads by kind: full (the whole composed script) or delta (shared-set members only).',
      labelNames: ['kind'],
      registers,
    }),
  };
}
