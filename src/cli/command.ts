/**
 * What every subcommand is to run.ts: its flags (a node:util parseArgs
 * config), its help text, and `prepare`, which turns parsed flag values into
 * the files to load and a function of the loaded Cluster. run.ts owns
 * parsing, loading, printing and exit codes; a command only validates its
 * flags and computes its output, so that reading, computing and writing stay
 * three steps in one place. The flag readers here are shared by the commands.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Cluster, Family, Protocol } from '../policy/model.js';
import { isPortName } from '../policy/ports.js';
import type { Clock } from '../telemetry/clock.js';
import { UsageError } from './errors.js';

/** parseArgs option definitions. */
export type FlagConfig = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns in `values`, loosely typed so one runner can serve every command. */
export type FlagValues = Readonly<
  Record<string, string | boolean | readonly (string | boolean)[] | undefined>
>;

/** `-o text|json`. */
export type OutputFormat = 'text' | 'json';

/**
 * What a command may know of the process it runs in, passed in rather than
 * read from `process`, so that the whole CLI runs in-process under test.
 */
export interface CommandContext {
  /** The directory relative paths (`-f`, `--out`) are read and written from; printed paths stay as typed. */
  readonly cwd: string;
  /** The environment: `KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `NFTPOL_CONTROLLER_URL`. */
  readonly env: CliEnv;
  /** The time (`status` ages). */
  readonly clock: Clock;
}

/** Environment variables, as `process.env` holds them. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/** A validated command line, ready to run once its files are loaded. */
export interface Invocation {
  /**
   * Files and directories to load (`-f`), in the order given; empty for a
   * command that reads the API instead (run.ts then loads nothing and runs
   * it on an empty cluster). Relative paths are relative to the context's `cwd`.
   */
  readonly files: readonly string[];
  /**
   * Computes (and for `render --out`, writes) the result; returns what goes
   * to stdout, ending in a newline.
   * @throws InputError when the input cannot answer the question.
   */
  readonly run: (cluster: Cluster) => Promise<string>;
}

/** One subcommand of `nftpol`. */
export interface Command {
  /** The verb typed on the command line. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The full `--help` text, ending in a newline. */
  readonly help: string;
  /** Flags besides `-h/--help`, which run.ts adds. */
  readonly flags: FlagConfig;
  /** Whether the command takes positional arguments (`nftpol status nodes`). @default false */
  readonly positionals?: boolean;
  /** @throws UsageError when a flag or positional argument is missing or malformed. */
  readonly prepare: (
    values: FlagValues,
    positionals: readonly string[],
    context: CommandContext,
  ) => Invocation;
}

/** `-f/--file PATH`, repeatable. */
export const FILE_FLAG: FlagConfig = { file: { type: 'string', short: 'f', multiple: true } };

/** `-o/--output text|json`. */
export const OUTPUT_FLAG: FlagConfig = { output: { type: 'string', short: 'o' } };

/** `--protocol TCP|UDP|SCTP`. */
export const PROTOCOL_FLAG: FlagConfig = { protocol: { type: 'string' } };

/** The `-f` paths. @throws UsageError when none was given. */
export function readFiles(values: FlagValues): readonly string[] {
  const files = values['file'];
  const paths = Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
  if (paths.length === 0) throw new UsageError('at least one -f PATH is required');
  for (const p of paths) if (p === '') throw new UsageError('-f: empty path');
  return paths;
}

/** A single-valued string flag, or undefined when absent. */
export function readString(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** `-o`: text (default) or json. @throws UsageError */
export function readOutput(values: FlagValues): OutputFormat {
  const v = readString(values, 'output') ?? 'text';
  if (v === 'text' || v === 'json') return v;
  throw new UsageError(`-o/--output: expected text or json, got "${v}"`);
}

/** `--protocol`, case-insensitive; TCP when absent. @throws UsageError */
export function readProtocol(values: FlagValues): Protocol {
  const v = readString(values, 'protocol');
  return v === undefined ? 'TCP' : parseProtocol(v, '--protocol');
}

/** `--family ip|ip6` (also accepted: ipv4, ipv6, 4, 6), or null. @throws UsageError */
export function readFamily(values: FlagValues): Family | null {
  const v = readString(values, 'family');
  if (v === undefined) return null;
  const lower = v.toLowerCase();
  if (lower === 'ip' || lower === 'ipv4' || lower === '4') return 'ip';
  if (lower === 'ip6' || lower === 'ipv6' || lower === '6') return 'ip6';
  throw new UsageError(`--family: expected ip or ip6, got "${v}"`);
}

/** A destination port from the command line: a number or a port name. */
export type PortArg = number | string;

/**
 * Reads `--port N|NAME`, also accepting `N/PROTOCOL` and `NAME/PROTOCOL`
 * (then `--protocol`, if given too, must agree).
 * @returns the port (`fallback` when absent) and the protocol.
 * @throws UsageError
 */
export function readPortAndProtocol(
  values: FlagValues,
  fallback: PortArg | null,
): { readonly port: PortArg; readonly protocol: Protocol } {
  const protocol = readProtocol(values);
  const text = readString(values, 'port');
  if (text === undefined) {
    if (fallback === null) throw new UsageError('--port N|NAME is required');
    return { port: fallback, protocol };
  }
  const slash = text.indexOf('/');
  if (slash < 0) return { port: parsePort(text), protocol };
  const inline = parseProtocol(text.slice(slash + 1), '--port');
  if (readString(values, 'protocol') !== undefined && inline !== protocol) {
    throw new UsageError(`--port ${text} and --protocol ${protocol} disagree`);
  }
  return { port: parsePort(text.slice(0, slash)), protocol: inline };
}

function parseProtocol(text: string, flag: string): Protocol {
  const upper = text.toUpperCase();
  if (upper === 'TCP' || upper === 'UDP' || upper === 'SCTP') return upper;
  throw new UsageError(`${flag}: expected TCP, UDP or SCTP, got "${text}"`);
}

function parsePort(text: string): PortArg {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 65535) return n;
    throw new UsageError(`--port: ${text} is outside 1-65535`);
  }
  if (isPortName(text)) return text;
  throw new UsageError(`--port: expected a number 1-65535 or a port name, got "${text}"`);
}
