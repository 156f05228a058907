/**
 * Flag and environment parsing shared by the controller's and the executor's
 * options: each binary declares a spec per option (flag, variable, kind, and
 * the meaning and constraint `--help` prints) and keeps its own DEFAULTS and
 * validate(); reading argv and env the same way in both, and printing them
 * the same way, is this file's one job.
 *
 * Each spec's `kind` is typed from its field ({@link KindOf}): a number field
 * declared `kind: 'string'`, or a boolean declared as a number, does not
 * compile, so the parsed object really has the options type it claims.
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

/** Each kind of option text and the type of value it is read as. */
export interface FlagKinds {
  /** Any text, taken as is (an empty string included). */
  readonly string: string;
  /** A whole number, negative allowed. */
  readonly number: number;
  /** `true`/`1` or `false`/`0`; on the command line also `--flag` and `--no-flag`. */
  readonly boolean: boolean;
  /** One of {@link LOG_LEVELS}. */
  readonly level: LogLevel;
}

/** How an option's text is read. */
export type FlagKind = keyof FlagKinds;

/**
 * The kind that reads exactly a value of type `V`: `'number'` for `number`,
 * `'level'` for {@link LogLevel}, and so on; `never` for a type no kind reads
 * exactly (a narrower literal type, a union such as `string | number`), so
 * such a field cannot be declared at all.
 */
export type KindOf<V> = {
  [K in FlagKind]: [V] extends [FlagKinds[K]] ? ([FlagKinds[K]] extends [V] ? K : never) : never;
}[FlagKind];

/** One option's flag, environment variable, kind and help, for a field of type `V`. */
export interface OptionSpec<V> {
  /** The flag without `--`, kebab-case. */
  readonly flag: string;
  readonly env: string;
  readonly kind: KindOf<V>;
  /**
   * What the option means and the constraint validate() checks, one
   * sentence fragment without a final period. `--help` prints it; the
   * binary's docs table says the same (a unit test compares them).
   */
  readonly help: string;
  /** The default as `--help` shows it when the value depends on the host, e.g. `<hostname>-<pid>`. */
  readonly shownDefault?: string;
}

/** The specs of every field of the options type `T`. */
export type OptionSpecs<T> = { readonly [K in keyof T]-?: OptionSpec<T[K]> };

/** One option of `T` in a flag list: its spec and its field name. */
export interface FlagSpec<T> {
  readonly key: Extract<keyof T, string>;
  readonly flag: string;
  readonly env: string;
  readonly kind: FlagKind;
  readonly help: string;
  readonly shownDefault?: string;
}

/** The options both binaries have: the health server and the log level. */
export interface CommonOptions {
  readonly healthPort: number;
  readonly healthHost: string;
  readonly logLevel: LogLevel;
}

/** The flags of {@link CommonOptions}, the same in both binaries. */
export const COMMON_SPECS: OptionSpecs<CommonOptions> = {
  healthPort: {
    flag: 'health-port',
    env: 'NFTPOL_HEALTH_PORT',
    kind: 'number',
    help: 'port of /healthz, /readyz, /metrics; 0 = any free port, -1 = off',
  },
  healthHost: {
    flag: 'health-host',
    env: 'NFTPOL_HEALTH_HOST',
    kind: 'string',
    help: 'bind address of the health server',
  },
  logLevel: {
    flag: 'log-level',
    env: 'NFTPOL_LOG_LEVEL',
    kind: 'level',
    help: 'fatal, error, warn, info, debug, trace, silent',
  },
};

/** The spec record of an options type as a list, in declaration order. */
export function flagsOf<T>(specs: OptionSpecs<T>): readonly FlagSpec<T>[] {
  return (Object.keys(specs) as Extract<keyof T, string>[]).map((key) => ({
    key,
    ...(specs[key] as OptionSpec<unknown>),
  }));
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
  flags: readonly FlagSpec<T>[],
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
  const out: T = { ...defaults };
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
    const parsed = PARSERS[kind](raw);
    if (parsed === undefined) problems.push(`${from}: "${raw}" is not a valid ${kind}`);
    // Sound because the spec of `key` was declared with kind KindOf<T[key]>
    // (OptionSpecs<T>), so the parser of `kind` yields a T[key].
    else out[key] = parsed as T[typeof key];
  }
  return { options: out, problems, help: values['help'] === true };
}

/**
 * parseArgs wants `--flag=true` for a boolean given as a string option, and
 * would take a negative number after a flag for another flag: rewrite both.
 */
function normaliseArgs<T>(flags: readonly FlagSpec<T>[], args: string[]): string[] {
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

/** The reader of each kind: its value, or undefined when the text is not one. */
const PARSERS: { readonly [K in FlagKind]: (raw: string) => FlagKinds[K] | undefined } = {
  string: (raw) => raw,
  number: (raw) => {
    const n = Number(raw);
    return raw.trim() !== '' && Number.isInteger(n) ? n : undefined;
  },
  boolean: (raw) =>
    raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined,
  level: (raw) => LOG_LEVELS.find((level) => level === raw),
};

/** What `--help` and the docs tables show for a flag's value placeholder. */
const PLACEHOLDER: { readonly [K in FlagKind]: string } = {
  string: '=TEXT',
  number: '=N',
  boolean: '',
  level: '=LEVEL',
};

/**
 * The default as `--help` shows it: `shownDefault` when the spec has one,
 * `(empty)` for the empty string, else the value as text (strings unquoted).
 */
export function shownDefault<T>(flag: FlagSpec<T>, defaults: T): string {
  if (flag.shownDefault !== undefined) return flag.shownDefault;
  const value = defaults[flag.key];
  return value === '' ? '(empty)' : String(value);
}

/**
 * `--help` text: per flag a line with the flag, its variable and its
 * default, then its meaning and constraint indented below; then where the
 * docs are. Lines are wrapped at 80 columns.
 */
export function usageText<T extends object>(
  binary: string,
  flags: readonly FlagSpec<T>[],
  defaults: T,
  doc: string,
): string {
  const heads = flags.map((f) => `--${f.flag}${PLACEHOLDER[f.kind]}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  const envWidth = Math.max(...flags.map((f) => f.env.length)) + 3;
  const blocks = flags.map((f, i) =>
    [
      `  ${heads[i]!.padEnd(width)}$${f.env.padEnd(envWidth)}default ${shownDefault(f, defaults)}`,
      ...wrap(f.help, 80 - 6).map((line) => `      ${line}`),
    ].join('\n'),
  );
  return [
    `usage: ${binary} [flags]`,
    '',
    'Flags win over environment variables, which win over the defaults. Durations',
    'are milliseconds. Booleans also take --flag, --no-flag and --flag=true|false',
    '(true/false/1/0 in the environment). Invalid values are all reported at once',
    'and the process exits with status 2.',
    '',
    blocks.join('\n'),
    '',
    `See ${doc}.`,
    '',
  ].join('\n');
}

/** Splits text into lines of at most `width` characters at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  // A comparison sign stays with the number after it ("> 0" is never split).
  const words = text
    .replace(/([<>≤≥=]) /g, '$1\u00a0')
    .split(/[ \t\n]+/)
    .filter((w) => w !== '')
    .map((w) => w.replaceAll('\u00a0', ' '));
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
