/**
 * Running `ip` and `nft` for the dataplane tier: one place that spawns them,
 * so that every failure names the command and carries its stderr.
 */
import { execFile, execFileSync } from 'node:child_process';

/** A command that exited non-zero; `stderr` is kept for the report. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly stderr: string;
  constructor(argv: readonly string[], stderr: string, cause?: unknown) {
    super(`command failed: ${argv.join(' ')}\n${stderr.trim()}`, { cause });
    this.name = 'CommandError';
    this.argv = argv;
    this.stderr = stderr;
  }
}

/**
 * Run `argv` and resolve with its stdout; `stdin` is written to it when given.
 * @throws CommandError when it exits non-zero or cannot start.
 */
export function runCommand(argv: readonly string[], stdin?: string): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runCommand: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(argv, stderr || err.message, err));
      else resolve(stdout);
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

/**
 * Run `argv` synchronously (for signal and exit handlers, where nothing async
 * runs any more); never throws, returns whether it succeeded.
 */
export function runCommandQuietly(argv: readonly string[]): boolean {
  const [file, ...args] = argv;
  if (file === undefined) return false;
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** True when `file --version` (or `file -V`) runs: the tool is installed. */
export function hasTool(file: string, versionFlag = '--version'): boolean {
  return runCommandQuietly([file, versionFlag]);
}
