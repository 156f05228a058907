#!/usr/bin/env node
/**
 * The `nftpol` binary: hands the process (arguments, streams, working
 * directory, environment, clock) to runCli (run.ts, where errors become exit
 * codes) and exits with the code it returns. Nothing else lives here, so that
 * everything but the process itself is testable in-process.
 */
import { SYSTEM_CLOCK } from '../telemetry/clock.js';
import { EXIT_OK } from './errors.js';
import { runCli } from './run.js';

// A closed pipe (`nftpol render | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT_OK);
  throw err;
});

// exitCode, not exit(): the process ends once stdout and stderr have drained.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  clock: SYSTEM_CLOCK,
});
