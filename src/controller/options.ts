/**
 * The controller's one options type. Every knob has a default here, a flag and
 * an environment variable (flags win), and a stated constraint that
 * {@link validate} checks — all problems at once, so an operator fixes a bad
 * Deployment in one round trip. docs/controller.md lists the same table.
 */
import { DEFAULT_SLICE_SIZE } from '../k8s/addressset.js';
import { hostname } from 'node:os';

import { DEFAULT_COMPRESS_THRESHOLD_BYTES } from '../k8s/script-encoding.js';

import {
  COMMON_SPECS,
  flagsOf,
  parseFlags,
  type LogLevel,
  type OptionSpecs,
  type ParsedOptions as ParsedFlags,
} from '../options/flags.js';

export type { LogLevel };

/** Everything the controller can be told. Durations are milliseconds. */
export interface ControllerOptions {
  /** Path to a kubeconfig; empty means in-cluster config, then the default loading rules. */
  readonly kubeconfig: string;
  /** Quiet period after the last event before dirty nodes are rendered. Must be ≥ 0 and ≤ maxDelayMs. @default 100 */
  readonly debounceMs: number;
  /** Longest a dirty node waits under a continuous stream of events. Must be ≥ debounceMs. @default 1000 */
  readonly maxDelayMs: number;
  /** Render fail-closed scripts (drop local pod-CIDR addresses not yet known). @default false */
  readonly failClosed: boolean;
  /** Take part in leader election; false makes this replica write unconditionally (single replica only). @default true */
  readonly leaderElect: boolean;
  /** Name of the coordination.k8s.io/v1 Lease. @default "nftpol-controller" */
  readonly leaseName: string;
  /** Namespace of the Lease (and of nothing else). @default $POD_NAMESPACE or "kube-system" */
  readonly leaseNamespace: string;
  /** This replica's identity in the Lease. @default $POD_NAME or "<hostname>-<pid>" */
  readonly identity: string;
  /** How long a Lease is honoured without renewal. Must be > renewDeadlineMs, whole seconds in the API (rounded up). @default 15000 */
  readonly leaseDurationMs: number;
  /** The leader steps down when it cannot renew for this long. Must be > retryPeriodMs and < leaseDurationMs. @default 10000 */
  readonly renewDeadlineMs: number;
  /** Interval between acquire or renew attempts. Must be > 0. @default 2000 */
  readonly retryPeriodMs: number;
  /** Port of the /healthz, /readyz and /metrics server; 0 picks a free port, -1 disables it. @default 8080 */
  readonly healthPort: number;
  /** Address the health server binds. @default "0.0.0.0" */
  readonly healthHost: string;
  /**
   * Port of the change-history server (`/history/…`, read by `nftpol history`
   * and `nftpol diff`), separate from the health port so that whole scripts
   * are never served where metrics are scraped. 0 picks a free port, -1
   * disables it; must differ from healthPort. @default 8081
   */
  readonly historyPort: number;
  /**
   * Address the history server binds. The default, localhost, makes it
   * reachable only through `kubectl port-forward` (authorized by the API
   * server); the history itself has no authentication. @default "127.0.0.1"
   */
  readonly historyHost: string;
  /** pino level. @default "info" */
  readonly logLevel: LogLevel;
  /** Minimum interval between two Events of the same reason on the same object (NetworkPolicy, Node). @default 600000 */
  readonly eventIntervalMs: number;
  /** NodeFirewall writes in flight at once. Must be ≥ 1. @default 8 */
  readonly writeConcurrency: number;
  /** Delay before a failed write or a failed render is retried (doubles per failure, up to 32×). Must be > 0. @default 1000 */
  readonly retryDelayMs: number;
  /** First informer reconnect delay after an error (doubles up to informerMaxBackoffMs). Must be > 0. @default 500 */
  readonly informerBackoffMs: number;
  /** Longest informer reconnect delay. Must be ≥ informerBackoffMs. @default 30000 */
  readonly informerMaxBackoffMs: number;
  /**
   * Scripts larger than this many bytes are written gzip-compressed
   * (`spec.scriptGzip`) instead of as text (`spec.script`), to stay under the
   * API object limit (~1.5 MiB). Must be a whole number ≥ 0; 0 compresses every script.
   * @default 262144
   */
  readonly compressThresholdBytes: number;
  /**
   * Most members per AddressSet slice: one member joining or leaving a shared
   * set rewrites one slice of at most this many members. Whole number 1–1000.
   * @default 100
   */
  readonly setSliceSize: number;
  /**
   * How long the slices of a set no policy defines any more are kept before
   * they are deleted, so executors still loading rules that name it find it.
   * Must be ≥ 0. @default 60000
   */
  readonly setGraceMs: number;
  /**
   * Redis for the change history (`redis://host:6379/0`, `rediss://` for
   * TLS); empty keeps a bounded in-memory history. Redis being down never
   * stops publishing (docs/history.md). @default ""
   */
  readonly redisUrl: string;
  /** Redis password (from a Secret; overrides one in the URL). Never logged. @default "" */
  readonly redisPassword: string;
  /** History entries kept per node, in memory or Redis. Must be ≥ 1. @default 50 */
  readonly historyEntries: number;
}

/** The defaults, as documented in docs/controller.md. */
export const DEFAULTS: ControllerOptions = {
  kubeconfig: '',
  debounceMs: 100,
  maxDelayMs: 1000,
  failClosed: false,
  leaderElect: true,
  leaseName: 'nftpol-controller',
  leaseNamespace: 'kube-system',
  identity: `${hostname()}-${process.pid}`,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  healthPort: 8080,
  healthHost: '0.0.0.0',
  historyPort: 8081,
  historyHost: '127.0.0.1',
  logLevel: 'info',
  eventIntervalMs: 600_000,
  writeConcurrency: 8,
  retryDelayMs: 1_000,
  informerBackoffMs: 500,
  informerMaxBackoffMs: 30_000,
  compressThresholdBytes: DEFAULT_COMPRESS_THRESHOLD_BYTES,
  setSliceSize: DEFAULT_SLICE_SIZE,
  setGraceMs: 60_000,
  redisUrl: '',
  redisPassword: '',
  historyEntries: 50,
};

/**
 * Flag, environment variable, kind, and meaning and constraint of each
 * option: the one source of `--help` and of the table in docs/controller.md
 * (test/unit/options/flags.test.ts checks that they agree).
 */
const SPEC: OptionSpecs<ControllerOptions> = {
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    kind: 'string',
    help: 'kubeconfig path; empty: in-cluster config (when KUBERNETES_SERVICE_HOST is set), else ~/.kube/config',
  },
  debounceMs: {
    flag: 'debounce-ms',
    env: 'NFTPOL_DEBOUNCE_MS',
    kind: 'number',
    help: 'quiet time after the last event before dirty nodes render; ≥ 0 and ≤ max delay',
  },
  maxDelayMs: {
    flag: 'max-delay-ms',
    env: 'NFTPOL_MAX_DELAY_MS',
    kind: 'number',
    help: 'longest a dirty node waits under a continuous stream of events; ≥ debounce',
  },
  failClosed: {
    flag: 'fail-closed',
    env: 'NFTPOL_FAIL_CLOSED',
    kind: 'boolean',
    help: 'render fail-closed scripts: local pod-CIDR addresses not yet known are dropped (the new-pod startup race)',
  },
  leaderElect: {
    flag: 'leader-elect',
    env: 'NFTPOL_LEADER_ELECT',
    kind: 'boolean',
    help: 'take part in leader election; turn off only with a single replica',
  },
  leaseName: {
    flag: 'lease-name',
    env: 'NFTPOL_LEASE_NAME',
    kind: 'string',
    help: "the Lease's name",
  },
  leaseNamespace: {
    flag: 'lease-namespace',
    env: 'POD_NAMESPACE',
    kind: 'string',
    help: "the Lease's namespace (set from the downward API)",
  },
  identity: {
    flag: 'identity',
    env: 'POD_NAME',
    kind: 'string',
    help: "this replica's holder identity (set from the downward API: the pod's name)",
    shownDefault: '<hostname>-<pid>',
  },
  leaseDurationMs: {
    flag: 'lease-duration-ms',
    env: 'NFTPOL_LEASE_DURATION_MS',
    kind: 'number',
    help: 'how long an unrenewed Lease is honoured; > renew deadline; whole seconds in the API (rounded up)',
  },
  renewDeadlineMs: {
    flag: 'renew-deadline-ms',
    env: 'NFTPOL_RENEW_DEADLINE_MS',
    kind: 'number',
    help: 'the leader steps down after failing to renew this long; > retry period',
  },
  retryPeriodMs: {
    flag: 'retry-period-ms',
    env: 'NFTPOL_RETRY_PERIOD_MS',
    kind: 'number',
    help: 'interval between acquire/renew attempts; > 0',
  },
  healthPort: COMMON_SPECS.healthPort,
  healthHost: COMMON_SPECS.healthHost,
  historyPort: {
    flag: 'history-port',
    env: 'NFTPOL_HISTORY_PORT',
    kind: 'number',
    help: 'port of the change history that nftpol history and nftpol diff read (/history/...); 0 = any free port, -1 = off; not the health port',
  },
  historyHost: {
    flag: 'history-host',
    env: 'NFTPOL_HISTORY_HOST',
    kind: 'string',
    help: 'bind address of the history server; 127.0.0.1: reachable only through kubectl port-forward (the history has no authentication of its own)',
  },
  logLevel: COMMON_SPECS.logLevel,
  eventIntervalMs: {
    flag: 'event-interval-ms',
    env: 'NFTPOL_EVENT_INTERVAL_MS',
    kind: 'number',
    help: 'at most one Event per object (NetworkPolicy, Node) and reason per interval; ≥ 0',
  },
  writeConcurrency: {
    flag: 'write-concurrency',
    env: 'NFTPOL_WRITE_CONCURRENCY',
    kind: 'number',
    help: 'NodeFirewall writes in flight; ≥ 1',
  },
  retryDelayMs: {
    flag: 'retry-delay-ms',
    env: 'NFTPOL_RETRY_DELAY_MS',
    kind: 'number',
    help: 'first retry of a failed write or render; doubles per failure up to 32×; > 0',
  },
  informerBackoffMs: {
    flag: 'informer-backoff-ms',
    env: 'NFTPOL_INFORMER_BACKOFF_MS',
    kind: 'number',
    help: 'first informer reconnect delay after an error; doubles; > 0',
  },
  informerMaxBackoffMs: {
    flag: 'informer-max-backoff-ms',
    env: 'NFTPOL_INFORMER_MAX_BACKOFF_MS',
    kind: 'number',
    help: 'longest informer reconnect delay; ≥ the first',
  },
  compressThresholdBytes: {
    flag: 'compress-threshold-bytes',
    env: 'NFTPOL_COMPRESS_THRESHOLD_BYTES',
    kind: 'number',
    help: 'scripts larger than this (UTF-8 bytes) are written gzip-compressed in spec.scriptGzip, see Large scripts; whole number ≥ 0, 0 = compress every script',
  },
  setSliceSize: {
    flag: 'set-slice-size',
    env: 'NFTPOL_SET_SLICE_SIZE',
    kind: 'number',
    help: 'most members per AddressSet slice; whole number 1–1000',
  },
  setGraceMs: {
    flag: 'set-grace-ms',
    env: 'NFTPOL_SET_GRACE_MS',
    kind: 'number',
    help: 'how long slices of a set no policy defines are kept before deletion; ≥ 0',
  },
  redisUrl: {
    flag: 'redis-url',
    env: 'NFTPOL_REDIS_URL',
    kind: 'string',
    help: 'Redis for the change history (redis://, rediss://), which then every replica serves; empty: bounded in-memory history, recorded and served by the leader only, see docs/history.md',
  },
  redisPassword: {
    flag: 'redis-password',
    env: 'NFTPOL_REDIS_PASSWORD',
    kind: 'string',
    help: 'Redis password, overrides one in the URL; set it from a Secret (never logged)',
  },
  historyEntries: {
    flag: 'history-entries',
    env: 'NFTPOL_HISTORY_ENTRIES',
    kind: 'number',
    help: 'history entries kept per node; ≥ 1 (Redis keeps at least this many)',
  },
};

/** Every option with its flag, variable and help, for `--help` and docs/controller.md. */
export const FLAGS = flagsOf(SPEC);

/** Options read from argv and env, with whatever could not be parsed. */
export type ParsedOptions = ParsedFlags<ControllerOptions>;

/**
 * Reads options from command-line flags (`--debounce-ms 50` or
 * `--debounce-ms=50`; booleans also as bare `--fail-closed`) and environment
 * variables; flags win over the environment, which wins over {@link DEFAULTS}.
 * Never throws: anything unparseable is reported in `problems` and the default kept.
 */
export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedOptions {
  return parseFlags(FLAGS, DEFAULTS, argv, env);
}

/** Every constraint the options break, one sentence each; empty when valid. */
export function validate(o: ControllerOptions): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, message: string): void => {
    if (!ok) problems.push(message);
  };
  need(o.debounceMs >= 0, `debounceMs must be ≥ 0 (got ${o.debounceMs})`);
  need(
    o.maxDelayMs >= o.debounceMs,
    `maxDelayMs (${o.maxDelayMs}) must be ≥ debounceMs (${o.debounceMs})`,
  );
  need(o.retryPeriodMs > 0, `retryPeriodMs must be > 0 (got ${o.retryPeriodMs})`);
  need(
    o.renewDeadlineMs > o.retryPeriodMs,
    `renewDeadlineMs (${o.renewDeadlineMs}) must be > retryPeriodMs (${o.retryPeriodMs})`,
  );
  need(
    o.leaseDurationMs > o.renewDeadlineMs,
    `leaseDurationMs (${o.leaseDurationMs}) must be > renewDeadlineMs (${o.renewDeadlineMs})`,
  );
  need(o.leaseName !== '', 'leaseName must not be empty');
  need(o.leaseNamespace !== '', 'leaseNamespace must not be empty');
  need(o.identity !== '', 'identity must not be empty');
  need(
    o.healthPort >= -1 && o.healthPort <= 65535,
    `healthPort must be -1 (off), 0 (any) or a port (got ${o.healthPort})`,
  );
  need(
    o.historyPort >= -1 && o.historyPort <= 65535,
    `historyPort must be -1 (off), 0 (any) or a port (got ${o.historyPort})`,
  );
  need(
    o.historyPort <= 0 || o.historyPort !== o.healthPort,
    `historyPort must differ from healthPort (both ${o.historyPort}): the history is kept off the health and metrics port`,
  );
  need(o.historyHost !== '', 'historyHost must not be empty');
  need(o.eventIntervalMs >= 0, `eventIntervalMs must be ≥ 0 (got ${o.eventIntervalMs})`);
  need(o.writeConcurrency >= 1, `writeConcurrency must be ≥ 1 (got ${o.writeConcurrency})`);
  need(o.retryDelayMs > 0, `retryDelayMs must be > 0 (got ${o.retryDelayMs})`);
  need(o.informerBackoffMs > 0, `informerBackoffMs must be > 0 (got ${o.informerBackoffMs})`);
  need(
    o.informerMaxBackoffMs >= o.informerBackoffMs,
    `informerMaxBackoffMs (${o.informerMaxBackoffMs}) must be ≥ informerBackoffMs (${o.informerBackoffMs})`,
  );
  need(
    Number.isInteger(o.compressThresholdBytes) && o.compressThresholdBytes >= 0,
    `compressThresholdBytes must be a whole number ≥ 0 (got ${o.compressThresholdBytes})`,
  );
  need(
    Number.isInteger(o.setSliceSize) && o.setSliceSize >= 1 && o.setSliceSize <= 1000,
    `setSliceSize must be a whole number 1–1000 (got ${o.setSliceSize})`,
  );
  need(o.setGraceMs >= 0, `setGraceMs must be ≥ 0 (got ${o.setGraceMs})`);
  need(o.historyEntries >= 1, `historyEntries must be ≥ 1 (got ${o.historyEntries})`);
  need(
    o.redisUrl === '' || /^rediss?:\/\//.test(o.redisUrl),
    `redisUrl must start with redis:// or rediss:// (got "${redactUrl(o.redisUrl)}")`,
  );
  return problems;
}

/** The options as logged at startup: the Redis password and any password in the URL hidden. */
export function redactedOptions(o: ControllerOptions): ControllerOptions {
  return {
    ...o,
    redisUrl: redactUrl(o.redisUrl),
    redisPassword: o.redisPassword === '' ? '' : '<redacted>',
  };
}

function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/, '$1<redacted>@');
}
