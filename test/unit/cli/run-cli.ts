/**
 * Runs the real `nftpol` entry point in a child process — the only honest
 * way to test exit codes, stdout and stderr as scripts and CI see them.
 * Arguments are relative to the repository root, which is the child's cwd,
 * so paths in the output (and in the golden files) are stable.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What one invocation produced. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
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
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
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
