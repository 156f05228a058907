/**
 * The one place nftpol runs a process: `nft`, optionally behind a command
 * prefix (`ip netns exec NS nft` in tests, `nsenter … nft` if ever needed).
 * Everything above this file sees either nft's stdout or a typed NftError
 * that keeps nft's stderr, so callers classify failures (missing table,
 * existing object, nft not installed) without parsing text themselves.
 */
import { SYSTEM_CLOCK } from '../telemetry/clock.js';
import { spawn } from 'node:child_process';

/** How to reach nft. */
export interface NftOptions {
  /**
   * The argv that runs nft; the call's arguments are appended.
   * @default ['nft']
   */
  readonly command?: readonly string[];
  /**
   * Kill nft after this many milliseconds.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

/** The default way to run nft: `nft` on the PATH. */
export const DEFAULT_NFT_COMMAND: readonly string[] = ['nft'];

const DEFAULT_TIMEOUT_MS = 60_000;

/** Why an nft call failed. */
export type NftFailure = 'notInstalled' | 'exited' | 'killed';

/**
 * nft failed: it could not be started, exited non-zero, or was killed.
 * `stderr` is nft's own error text, with its `Error:` lines and carets.
 */
export class NftError extends Error {
  override readonly name = 'NftError';
  readonly failure: NftFailure;
  /** The full argv that was run. */
  readonly argv: readonly string[];
  readonly stderr: string;
  /** Exit status, or null when nft did not run or was killed by a signal. */
  readonly exitCode: number | null;

  constructor(
    message: string,
    details: {
      failure: NftFailure;
      argv: readonly string[];
      stderr: string;
      exitCode: number | null;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.failure = details.failure;
    this.argv = details.argv;
    this.stderr = details.stderr;
    this.exitCode = details.exitCode;
  }

  /** The object named (table, chain, set, element) does not exist (ENOENT). */
  get isNotFound(): boolean {
    return this.failure === 'exited' && /No such file or directory/.test(this.stderr);
  }

  /** The object being created exists already (EEXIST), e.g. `create table` twice. */
  get isAlreadyExists(): boolean {
    return this.failure === 'exited' && /File exists/.test(this.stderr);
  }
}

/** The first lines of nft's stderr, enough to say what was wrong in a message. */
function summarizeStderr(stderr: string): string {
  const lines = stderr.trim().split('\n').slice(0, 3);
  return lines.join(' | ');
}

/**
 * Runs nft with `args`, writing `stdin` (a script for `-f -`) if given.
 *
 * @returns nft's stdout.
 * @throws NftError when nft cannot be executed (`failure: 'notInstalled'`,
 *   message "unable to execute 'nft'. Is nftables installed?"), exits non-zero
 *   (`'exited'`, stderr kept) or is killed, e.g. by the timeout (`'killed'`).
 */
export async function runNft(
  args: readonly string[],
  stdin?: string,
  options: NftOptions = {},
): Promise<string> {
  const command = options.command ?? DEFAULT_NFT_COMMAND;
  const [program, ...prefixArgs] = command;
  if (program === undefined) throw new TypeError('runNft: options.command must not be empty');
  const argv = [...command, ...args];
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return new Promise<string>((resolve, reject) => {
    const child = spawn(program, [...prefixArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer rather than spawn's `timeout`, so that it is cleared when
    // the spawn itself fails (a missing binary must not hold the process open).
    const timer = SYSTEM_CLOCK.setTimer(() => child.kill('SIGKILL'), timeout);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // nft may exit before reading all of stdin (a syntax error early on): the
    // resulting EPIPE is not the failure to report; the exit status is.
    child.stdin.on('error', () => undefined);

    let settled = false;
    child.on('error', (cause: NodeJS.ErrnoException) => {
      SYSTEM_CLOCK.clearTimer(timer);
      if (settled) return;
      settled = true;
      const notInstalled = cause.code === 'ENOENT' || cause.code === 'EACCES';
      reject(
        new NftError(
          notInstalled
            ? `unable to execute '${program}'. Is nftables installed?`
            : `failed to run ${argv.join(' ')}: ${cause.message}`,
          {
            failure: notInstalled ? 'notInstalled' : 'exited',
            argv,
            stderr: '',
            exitCode: null,
            cause,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      SYSTEM_CLOCK.clearTimer(timer);
      if (settled) return;
      settled = true;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve(stdout);
        return;
      }
      // A prefix such as `ip netns exec` reports a missing nft itself.
      const prefixCouldNotExec = prefixArgs.length > 0 && /exec of .* failed/.test(stderr);
      if (prefixCouldNotExec) {
        reject(
          new NftError(`unable to execute '${command.at(-1) ?? program}'. Is nftables installed?`, {
            failure: 'notInstalled',
            argv,
            stderr,
            exitCode: code,
          }),
        );
        return;
      }
      const failure: NftFailure = code === null ? 'killed' : 'exited';
      const what = code === null ? `was killed (${signal ?? 'unknown signal'})` : `exited ${code}`;
      reject(
        new NftError(`${argv.join(' ')} ${what}: ${summarizeStderr(stderr)}`, {
          failure,
          argv,
          stderr,
          exitCode: code,
        }),
      );
    });

    if (stdin !== undefined) child.stdin.end(stdin, 'utf8');
    else child.stdin.end();
  });
}
