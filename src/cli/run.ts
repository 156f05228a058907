/**
 * `nftpol`, the command line, as a function of its arguments and its
 * surroundings (streams, working directory, environment, clock): picks the
 * subcommand, parses its flags with node:util parseArgs, loads the YAML
 * input, runs the command and prints. main.ts is the shim that hands it the
 * process; tests call it in-process. This is the one place where errors
 * become exit codes — a stable contract that scripts and CI depend on:
 *
 *   0  success (warnings may have been printed on stderr)
 *   1  invalid input: a load problem of severity error (the results for the
 *      objects that did load are still printed, so CI both fails and shows
 *      them), or a question the input cannot answer (unknown pod, a named
 *      port that resolves nowhere, an unwritable --out)
 *   2  usage error: unknown command or flag, missing or malformed value
 *
 * Load problems go to stderr as `<source>: <object>: <field>: <message>`.
 */
import { parseArgs } from 'node:util';
import type { LoadResult } from '../policy/from-k8s.js';
import type { Command, CommandContext, FlagValues } from './command.js';
import type { ExitCode } from './errors.js';
import { EXIT_INVALID_INPUT, EXIT_OK, EXIT_USAGE, InputError, UsageError } from './errors.js';
import { formatProblem } from './format.js';
import { readClusterYaml } from './load-yaml.js';

/**
 * Where output goes and what the commands may know of their process:
 * main.ts passes process.stdout/stderr, `process.cwd()`, `process.env` and
 * the system clock; a test passes string collectors and its own values.
 */
export interface CliIo extends CommandContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * The commands, each module loaded only when it runs: start-up is part of
 * every answer, and one command needs none of the others' code.
 */
const COMMANDS: readonly { readonly name: string; readonly load: () => Promise<Command> }[] = [
  { name: 'render', load: async () => (await import('./commands/render.js')).renderCommand },
  { name: 'explain', load: async () => (await import('./commands/explain.js')).explainCommand },
  { name: 'matrix', load: async () => (await import('./commands/matrix.js')).matrixCommand },
  { name: 'status', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'history', load: async () => (await import('./commands/history.js')).historyCommand },
  { name: 'diff', load: async () => (await import('./commands/diff.js')).diffCommand },
];

async function topHelp(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: nftpol COMMAND [OPTIONS]

Kubernetes NetworkPolicy on nftables, offline: translate and render the
per-node nft scripts from YAML, and ask which connections the policies allow.

Commands:
${list}

Run "nftpol COMMAND --help" for a command's options.

Exit status: 0 success; 1 invalid input; 2 usage error.
`;
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const flags = end < 0 ? args : args.slice(0, end);
  return flags.includes('-h') || flags.includes('--help');
}

function parseFlags(
  command: Command,
  args: readonly string[],
): { values: FlagValues; positionals: readonly string[] } {
  try {
    return parseArgs({
      args: [...args],
      options: command.flags,
      strict: true,
      allowPositionals: command.positionals === true,
    });
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad command lines.
    if (
      err instanceof TypeError &&
      'code' in err &&
      String(err.code).startsWith('ERR_PARSE_ARGS')
    ) {
      throw new UsageError(err.message);
    }
    throw err;
  }
}

async function loadInput(files: readonly string[], cwd: string): Promise<LoadResult> {
  try {
    return await readClusterYaml(files, { cwd });
  } catch (err) {
    throw new InputError(`cannot read input: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { values, positionals } = parseFlags(command, args);
  const invocation = command.prepare(values, positionals, io);
  // No files: the command reads the API itself (status); nothing to load.
  const { cluster, problems } =
    invocation.files.length === 0
      ? await readClusterYaml([])
      : await loadInput(invocation.files, io.cwd);
  for (const p of problems) io.stderr(`${formatProblem(p)}\n`);
  io.stdout(await invocation.run(cluster));
  return problems.some((p) => p.severity === 'error') ? EXIT_INVALID_INPUT : EXIT_OK;
}

/**
 * Runs one `nftpol` invocation.
 * @param argv the arguments after the program name.
 * @returns the exit code; never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(await topHelp());
    return EXIT_USAGE;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    const about = COMMANDS.find((c) => c.name === rest[0]);
    io.stdout(about === undefined ? await topHelp() : (await about.load()).help);
    return EXIT_OK;
  }
  const command = await COMMANDS.find((c) => c.name === name)?.load();
  if (command === undefined) {
    const names = COMMANDS.map((c) => c.name).join(', ');
    io.stderr(`nftpol: unknown command "${name}" (commands: ${names})\n`);
    io.stderr('Run "nftpol --help" for usage.\n');
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    io.stdout(command.help);
    return EXIT_OK;
  }
  try {
    return await runCommand(command, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`nftpol ${command.name}: ${err.message}\n`);
      io.stderr(`Run "nftpol ${command.name} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof InputError) {
      io.stderr(`nftpol ${command.name}: ${err.message}\n`);
      return EXIT_INVALID_INPUT;
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr(`nftpol ${command.name}: internal error (please report it): ${detail}\n`);
    return EXIT_INVALID_INPUT;
  }
}
