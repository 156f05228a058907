/**
 * Two ways to run `nftpol` in tests. `runNftpolInProcess` calls runCli (the
 * whole CLI but the process shim) with string collectors: fast, and what
 * almost every CLI test uses. `runNftpol` spawns the real entry point in a
 * child process, for the few tests that keep the process honest — exit codes
 * and streams as scripts and CI see them, and a guard against a child that
 * hangs. Either way arguments are relative to the repository root (the
 * child's cwd, or runCli's), so paths in the output (and in the golden files)
 * are stable.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliEnv } from '../../../src/cli/command.js';
import { runCli } from '../../../src/cli/run.js';
import { SYSTEM_CLOCK } from '../../../src/telemetry/clock.js';

/** The repository root. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What one invocation produced. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `nftpol ...args` in this process, in the repository root (unless
 * `cwd` is given), with an empty environment (unless `env` is given) and the
 * system clock.
 */
export async function runNftpolInProcess(
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: CliEnv } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd: options.cwd ?? REPO,
    env: options.env ?? {},
    clock: SYSTEM_CLOCK,
  });
  return { code, stdout, stderr };
}

/**
 * Runs `node --import tsx src/cli/main.ts ...args` in the repository root.
 * `killAfterMs` guards a test against a child that hangs: the child is
 * killed then and `code` is null. A guard, not a timing assertion.
 */
export function runNftpol(
  args: readonly string[],
  options: { readonly killAfterMs?: number } = {},
): Promise<CliRun> {
  return runNode(['src/cli/main.ts', ...args], options);
}

/** Runs `node --import tsx ...args` in the repository root; see runNftpol. */
export function runNode(
  args: readonly string[],
  options: { readonly killAfterMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.killAfterMs === undefined ? {} : { timeout: options.killAfterMs }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
