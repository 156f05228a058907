/**
 * The executor's one options type. Every knob has a default here, a flag and
 * an environment variable (flags win), and a stated constraint that
 * {@link validate} checks — all problems at once, so an operator fixes a bad
 * DaemonSet in one round trip. docs/executor.md lists the same table.
 */

import {
  COMMON_SPECS,
  flagsOf,
  parseFlags,
  type LogLevel,
  type OptionSpecs,
  type ParsedOptions as ParsedFlags,
} from '../options/flags.js';

export type { LogLevel };

/** Everything the executor can be told. Durations are milliseconds. */
export interface ExecutorOptions {
  /** This node's name = the NodeFirewall's name. Required. @default $NODE_NAME */
  readonly nodeName: string;
  /** Path to a kubeconfig; empty means in-cluster config, then the default loading rules. @default "" */
  readonly kubeconfig: string;
  /** API server URL (plain http allowed; tests and `make demo`); overrides kubeconfig. @default "" */
  readonly server: string;
  /**
   * The command that runs nft, split on spaces; e.g. `ip netns exec NS nft`
   * to enforce in a network namespace. Must not be empty. @default "nft"
   */
  readonly nftCommand: string;
  /** Kill an nft call after this long. Must be > 0. @default 60000 */
  readonly nftTimeoutMs: number;
  /** Interval between drift checks (read-back of the live table). Must be > 0. @default 30000 */
  readonly driftIntervalMs: number;
  /**
   * Least time between two writes of `status.counters` (read every drift
   * interval, written only when changed): bounds the API writes that traffic
   * causes. Must be > 0. @default 60000
   */
  readonly countersIntervalMs: number;
  /** First delay before retrying a failed apply, status write or host probe (doubles). Must be > 0. @default 1000 */
  readonly retryBackoffMs: number;
  /** Longest retry delay. Must be ≥ retryBackoffMs. @default 60000 */
  readonly retryMaxBackoffMs: number;
  /** First watch reconnect delay after an error (doubles). Must be > 0. @default 500 */
  readonly informerBackoffMs: number;
  /** Longest watch reconnect delay. Must be ≥ informerBackoffMs. @default 30000 */
  readonly informerMaxBackoffMs: number;
  /**
   * How long a new script waits for AddressSets it references that have not
   * arrived (no slice seen); after that it is loaded with those sets empty
   * (their peers match nothing) and `SetsReady=False/SetsMissing` says which.
   * Must be ≥ 0. @default 10000
   */
  readonly setWaitMs: number;
  /** Delete `table inet nftpol` on SIGTERM (default is fail-static: keep enforcing). @default false */
  readonly cleanupOnExit: boolean;
  /** Delete `table inet nftpol` and exit; touches nothing else. @default false */
  readonly uninstall: boolean;
  /** File read for the forwarding check, in the executor's own network namespace. @default "/proc/sys/net/ipv4/ip_forward" */
  readonly forwardingSysctl: string;
  /** Port of the /healthz, /readyz and /metrics server; 0 picks a free port, -1 disables it. @default 9760 */
  readonly healthPort: number;
  /** Address the health server binds. @default "0.0.0.0" */
  readonly healthHost: string;
  /** pino level. @default "info" */
  readonly logLevel: LogLevel;
}

/** The defaults, as documented in docs/executor.md. */
export const DEFAULTS: ExecutorOptions = {
  nodeName: '',
  kubeconfig: '',
  server: '',
  nftCommand: 'nft',
  nftTimeoutMs: 60_000,
  driftIntervalMs: 30_000,
  countersIntervalMs: 60_000,
  retryBackoffMs: 1_000,
  retryMaxBackoffMs: 60_000,
  informerBackoffMs: 500,
  informerMaxBackoffMs: 30_000,
  setWaitMs: 10_000,
  cleanupOnExit: false,
  uninstall: false,
  forwardingSysctl: '/proc/sys/net/ipv4/ip_forward',
  healthPort: 9760,
  healthHost: '0.0.0.0',
  logLevel: 'info',
};

/**
 * Flag, environment variable, kind, and meaning and constraint of each
 * option: the one source of `--help` and of the table in docs/executor.md
 * (test/unit/options/flags.test.ts checks that they agree).
 */
const SPEC: OptionSpecs<ExecutorOptions> = {
  nodeName: {
    flag: 'node-name',
    env: 'NODE_NAME',
    kind: 'string',
    help: "this node's name, from the downward API spec.nodeName; required unless --uninstall",
  },
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    kind: 'string',
    help: 'kubeconfig path; empty: in-cluster config (when KUBERNETES_SERVICE_HOST is set), else ~/.kube/config',
  },
  server: {
    flag: 'server',
    env: 'NFTPOL_SERVER',
    kind: 'string',
    help: 'API server URL (plain http allowed), overrides the kubeconfig; for tests and the demo',
  },
  nftCommand: {
    flag: 'nft-command',
    env: 'NFTPOL_NFT_COMMAND',
    kind: 'string',
    help: 'the command that runs nft, split on spaces, e.g. ip netns exec NS nft; not empty',
  },
  nftTimeoutMs: {
    flag: 'nft-timeout-ms',
    env: 'NFTPOL_NFT_TIMEOUT_MS',
    kind: 'number',
    help: 'kill an nft call after this long; > 0',
  },
  driftIntervalMs: {
    flag: 'drift-interval-ms',
    env: 'NFTPOL_DRIFT_INTERVAL_MS',
    kind: 'number',
    help: 'interval between drift checks, one nft -j list table each; > 0',
  },
  countersIntervalMs: {
    flag: 'counters-interval-ms',
    env: 'NFTPOL_COUNTERS_INTERVAL_MS',
    kind: 'number',
    help: 'least time between two writes of status.counters (written only when they changed); > 0',
  },
  retryBackoffMs: {
    flag: 'retry-backoff-ms',
    env: 'NFTPOL_RETRY_BACKOFF_MS',
    kind: 'number',
    help: 'first delay before retrying a failed apply, status write or host probe; doubles; > 0',
  },
  retryMaxBackoffMs: {
    flag: 'retry-max-backoff-ms',
    env: 'NFTPOL_RETRY_MAX_BACKOFF_MS',
    kind: 'number',
    help: 'longest retry delay; ≥ retry-backoff-ms',
  },
  informerBackoffMs: {
    flag: 'informer-backoff-ms',
    env: 'NFTPOL_INFORMER_BACKOFF_MS',
    kind: 'number',
    help: 'first watch reconnect delay after an error; doubles; > 0',
  },
  informerMaxBackoffMs: {
    flag: 'informer-max-backoff-ms',
    env: 'NFTPOL_INFORMER_MAX_BACKOFF_MS',
    kind: 'number',
    help: 'longest watch reconnect delay; ≥ informer-backoff-ms',
  },
  setWaitMs: {
    flag: 'set-wait-ms',
    env: 'NFTPOL_SET_WAIT_MS',
    kind: 'number',
    help: 'how long a new script waits for AddressSets not yet seen before loading them empty (SetsReady=False); ≥ 0',
  },
  cleanupOnExit: {
    flag: 'cleanup-on-exit',
    env: 'NFTPOL_CLEANUP_ON_EXIT',
    kind: 'boolean',
    help: 'delete the table on SIGTERM (default: fail-static, keep enforcing); not with --uninstall',
  },
  uninstall: {
    flag: 'uninstall',
    env: 'NFTPOL_UNINSTALL',
    kind: 'boolean',
    help: 'delete table inet nftpol and exit 0; never touches other tables',
  },
  forwardingSysctl: {
    flag: 'forwarding-sysctl',
    env: 'NFTPOL_FORWARDING_SYSCTL',
    kind: 'string',
    help: "file read for the forwarding check, in the executor's own network namespace; not empty",
  },
  healthPort: COMMON_SPECS.healthPort,
  healthHost: COMMON_SPECS.healthHost,
  logLevel: COMMON_SPECS.logLevel,
};

/** Every option with its flag, variable and help, for `--help` and docs/executor.md. */
export const FLAGS = flagsOf(SPEC);

/** Options read from argv and env, with whatever could not be parsed. */
export type ParsedOptions = ParsedFlags<ExecutorOptions>;

/**
 * Reads options from flags (`--drift-interval-ms 5000` or `=5000`; booleans
 * also bare, `--uninstall`, or negated, `--no-cleanup-on-exit`) and
 * environment variables; flags win over the environment, which wins over
 * {@link DEFAULTS}. Never throws: anything unparseable is reported in
 * `problems` and the default kept.
 */
export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedOptions {
  return parseFlags(FLAGS, DEFAULTS, argv, env);
}

/** The nft argv of `--nft-command`: split on whitespace. */
export function nftArgv(options: Pick<ExecutorOptions, 'nftCommand'>): string[] {
  return options.nftCommand
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '');
}

/** Every constraint the options break, one sentence each; empty when valid. */
export function validate(o: ExecutorOptions): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, message: string): void => {
    if (!ok) problems.push(message);
  };
  need(
    o.nodeName !== '' || o.uninstall,
    'nodeName must be set (--node-name or $NODE_NAME, from the downward API spec.nodeName)',
  );
  need(nftArgv(o).length > 0, 'nftCommand must not be empty');
  need(o.nftTimeoutMs > 0, `nftTimeoutMs must be > 0 (got ${o.nftTimeoutMs})`);
  need(o.driftIntervalMs > 0, `driftIntervalMs must be > 0 (got ${o.driftIntervalMs})`);
  need(o.countersIntervalMs > 0, `countersIntervalMs must be > 0 (got ${o.countersIntervalMs})`);
  need(o.retryBackoffMs > 0, `retryBackoffMs must be > 0 (got ${o.retryBackoffMs})`);
  need(
    o.retryMaxBackoffMs >= o.retryBackoffMs,
    `retryMaxBackoffMs (${o.retryMaxBackoffMs}) must be ≥ retryBackoffMs (${o.retryBackoffMs})`,
  );
  need(o.informerBackoffMs > 0, `informerBackoffMs must be > 0 (got ${o.informerBackoffMs})`);
  need(
    o.informerMaxBackoffMs >= o.informerBackoffMs,
    `informerMaxBackoffMs (${o.informerMaxBackoffMs}) must be ≥ informerBackoffMs (${o.informerBackoffMs})`,
  );
  need(o.setWaitMs >= 0, `setWaitMs must be ≥ 0 (got ${o.setWaitMs})`);
  need(
    o.healthPort >= -1 && o.healthPort <= 65535,
    `healthPort must be -1 (off), 0 (any) or a port (got ${o.healthPort})`,
  );
  need(o.forwardingSysctl !== '', 'forwardingSysctl must not be empty');
  need(
    !(o.uninstall && o.cleanupOnExit),
    'uninstall and cleanupOnExit exclude each other: --uninstall exits at once',
  );
  return problems;
}
