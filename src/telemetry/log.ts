/**
 * The pino factory every binary uses, so that logs from the controller and
 * the executor carry the same base fields (`component`, plus whatever the
 * caller binds: `node`, `policy`, `hash`, `durationMs`…) and one JSON line per
 * event. Messages are lowercase and in the past tense ("wrote NodeFirewall").
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LogOptions {
  /** The binary or part: `nftpol-controller`, `nftpol-executor`. */
  readonly component: string;
  /** pino level; `silent` for tests. @default "info" */
  readonly level?: string;
  /** Where lines go. @default stdout */
  readonly destination?: DestinationStream;
}

/** A JSON logger with `component` bound, ISO timestamps and the level as a label. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
