/**
 * The two ways a CLI invocation fails, as types, so that main.ts alone turns
 * them into exit codes: a UsageError is the caller's mistake in the command
 * line (exit 2, with a pointer to --help), an InputError is a problem with
 * the files or what they describe (exit 1). Anything else is a bug.
 */

/** Exit codes of `nftpol`; a stable contract for scripts and CI. */
export type ExitCode = 0 | 1 | 2;

/** Success, including results printed despite warnings. */
export const EXIT_OK: ExitCode = 0;
/** Invalid input: a load problem of severity error, or a question the input cannot answer. */
export const EXIT_INVALID_INPUT: ExitCode = 1;
/** The command line itself is wrong. */
export const EXIT_USAGE: ExitCode = 2;

/** The command line is wrong: unknown command or flag, missing or malformed value. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The input cannot answer the question: a file that cannot be read, a pod
 * that is not in it, a named port that resolves nowhere, an output file that
 * cannot be written.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}
