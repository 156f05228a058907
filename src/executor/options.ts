/**
 * The executor's one options type. Every knob has a default here, a flag and
 * an environment variable (flags win), and a stated constraint that
 * {@link validate} checks — all problems at once, so an operator fixes a bad
 * DaemonSet in one round trip. docs/executor.md lists the same table.
 */

import {
  flagsOf,
  parseFlags,
  type FlagKind,
  type LogLevel,
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
  cleanupOnExit: false,
  uninstall: false,
  forwardingSysctl: '/proc/sys/net/ipv4/ip_forward',
  healthPort: 9760,
  healthHost: '0.0.0.0',
  logLevel: 'info',
};

type Kind = FlagKind;

/** Flag name, environment variable and type of each option. */
const SPEC: Readonly<Record<keyof ExecutorOptions, { flag: string; env: string; kind: Kind }>> = {
  nodeName: { flag: 'node-name', env: 'NODE_NAME', kind: 'string' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', kind: 'string' },
  server: { flag: 'server', env: 'NFTPOL_SERVER', kind: 'string' },
  nftCommand: { flag: 'nft-command', env: 'NFTPOL_NFT_COMMAND', kind: 'string' },
  nftTimeoutMs: { flag: 'nft-timeout-ms', env: 'NFTPOL_NFT_TIMEOUT_MS', kind: 'number' },
  driftIntervalMs: { flag: 'drift-interval-ms', env: 'NFTPOL_DRIFT_INTERVAL_MS', kind: 'number' },
  countersIntervalMs: {
    flag: 'counters-interval-ms',
    env: 'NFTPOL_COUNTERS_INTERVAL_MS',
    kind: 'number',
  },
  retryBackoffMs: { flag: 'retry-backoff-ms', env: 'NFTPOL_RETRY_BACKOFF_MS', kind: 'number' },
  retryMaxBackoffMs: {
    flag: 'retry-max-backoff-ms',
    env: 'NFTPOL_RETRY_MAX_BACKOFF_MS',
    kind: 'number',
  },
  informerBackoffMs: {
    flag: 'informer-backoff-ms',
    env: 'NFTPOL_INFORMER_BACKOFF_MS',
    kind: 'number',
  },
  informerMaxBackoffMs: {
    flag: 'informer-max-backoff-ms',
    env: 'NFTPOL_INFORMER_MAX_BACKOFF_MS',
    kind: 'number',
  },
  cleanupOnExit: { flag: 'cleanup-on-exit', env: 'NFTPOL_CLEANUP_ON_EXIT', kind: 'boolean' },
  uninstall: { flag: 'uninstall', env: 'NFTPOL_UNINSTALL', kind: 'boolean' },
  forwardingSysctl: {
    flag: 'forwarding-sysctl',
    env: 'NFTPOL_FORWARDING_SYSCTL',
    kind: 'string',
  },
  healthPort: { flag: 'health-port', env: 'NFTPOL_HEALTH_PORT', kind: 'number' },
  healthHost: { flag: 'health-host', env: 'NFTPOL_HEALTH_HOST', kind: 'string' },
  logLevel: { flag: 'log-level', env: 'NFTPOL_LOG_LEVEL', kind: 'level' },
};

/** Every option with its flag and variable, for `--help` and docs/executor.md. */
export const FLAGS = flagsOf<keyof ExecutorOptions>(SPEC);

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
