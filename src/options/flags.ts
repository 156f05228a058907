/**
 * Flag and environment parsing shared by the controller's and the executor's
 * options: each binary declares a spec (flag, variable, kind) per option and
 * keeps its own DEFAULTS and validate(); reading argv and env the same way in
 * both is this file's one job.
 */
import { parseArgs } from 'node:util';

/** Log levels pino understands, plus `silent`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** How an option's text is read. */
export type FlagKind = 'string' | 'number' | 'boolean' | 'level';

/** One option's flag (without `--`), environment variable and kind. */
export interface FlagSpec<K extends string> {
  readonly flag: string;
  readonly env: string;
  readonly kind: FlagKind;
  readonly key: K;
}

/** The spec record of an options type as a list, in declaration order. */
export function flagsOf<K extends string>(
  spec: Readonly<Record<K, Omit<FlagSpec<K>, 'key'>>>,
): readonly FlagSpec<K>[] {
  return (Object.keys(spec) as K[]).map((key) => ({ key, ...spec[key] }));
}

/** Options read from argv and env, with whatever could not be parsed. */
export interface ParsedOptions<T> {
  readonly options: T;
  /** One sentence per unparseable flag or variable; empty when all parsed. */
  readonly problems: readonly string[];
  /** `--help` was given. */
  readonly help: boolean;
}

/**
 * Reads options from flags (`--name value` or `--name=value`; booleans also
 * bare, `--flag`, or negated, `--no-flag`) and environment variables; flags
 * win over the environment, which wins over `defaults`. Never throws:
 * anything unparseable is reported in `problems` and the default kept.
 */
export function parseFlags<T extends object>(
  flags: readonly FlagSpec<Extract<keyof T, string>>[],
  defaults: T,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedOptions<T> {
  const problems: string[] = [];
  const flagConfig: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const { flag, kind } of flags) {
    flagConfig[flag] = { type: 'string' };
    if (kind === 'boolean') flagConfig[`no-${flag}`] = { type: 'boolean' };
  }
  let values: Record<string, string | boolean | undefined> = {};
  try {
    values = parseArgs({
      args: normaliseArgs(flags, [...argv]),
      options: flagConfig,
      strict: true,
    }).values;
  } catch (err) {
    problems.push((err as Error).message);
  }
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const { key, flag, env: envName, kind } of flags) {
    let raw: string | undefined = env[envName];
    let from = `environment variable ${envName}`;
    const flagValue = values[flag];
    if (typeof flagValue === 'string') {
      raw = flagValue;
      from = `--${flag}`;
    }
    if (values[`no-${flag}`] === true) {
      raw = 'false';
      from = `--no-${flag}`;
    }
    if (raw === undefined || (raw === '' && kind !== 'string')) continue;
    const parsed = parseValue(raw, kind);
    if (parsed === undefined) problems.push(`${from}: "${raw}" is not a valid ${kind}`);
    else out[key] = parsed;
  }
  return { options: out as T, problems, help: values['help'] === true };
}

/**
 * parseArgs wants `--flag=true` for a boolean given as a string option, and
 * would take a negative number after a flag for another flag: rewrite both.
 */
function normaliseArgs<K extends string>(flags: readonly FlagSpec<K>[], args: string[]): string[] {
  const booleans = new Set(flags.filter((f) => f.kind === 'boolean').map((f) => `--${f.flag}`));
  const valued = new Set(flags.filter((f) => f.kind !== 'boolean').map((f) => `--${f.flag}`));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (booleans.has(a) && next !== 'true' && next !== 'false') out.push(`${a}=true`);
    else if (valued.has(a) && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function parseValue(raw: string, kind: FlagKind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isInteger(n) ? n : undefined;
    }
    case 'boolean':
      return raw === 'true' || raw === '1'
        ? true
        : raw === 'false' || raw === '0'
          ? false
          : undefined;
    case 'level':
      return (LOG_LEVELS as readonly string[]).includes(raw) ? raw : undefined;
  }
}

/** `--help` text: one line per flag with its variable and default, then where the docs are. */
export function usageText<T extends object>(
  binary: string,
  flags: readonly FlagSpec<Extract<keyof T, string>>[],
  defaults: T,
  doc: string,
): string {
  const width = Math.max(...flags.map((f) => f.flag.length)) + 2;
  const lines = flags.map(
    (f) =>
      `  --${f.flag.padEnd(width)} $${f.env.padEnd(32)} default ${JSON.stringify(defaults[f.key])}`,
  );
  return `usage: ${binary} [flags]\n\n${lines.join('\n')}\n\nSee ${doc}.\n`;
}
