/**
 * `node --import tsx test/support/apiserver/main.ts [--port N] [--bookmark-interval-ms M]`
 * runs the embedded API server on its own (for `make demo` and for poking at
 * it with kubectl: `kubectl --server <url> --insecure-skip-tls-verify get nfw`)
 * and prints its URL on stdout. Stops on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startApiServer } from './server.js';

/** Parses flags, starts the server, prints the URL; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'bookmark-interval-ms': { type: 'string', default: '60000' },
    },
    strict: true,
  });
  const port = Number(values.port);
  const bookmarkIntervalMs = Number(values['bookmark-interval-ms']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be an integer in 0..65535, got ${values.port}\n`);
    return 2;
  }
  if (!Number.isFinite(bookmarkIntervalMs) || bookmarkIntervalMs <= 0) {
    process.stderr.write(`--bookmark-interval-ms must be positive\n`);
    return 2;
  }
  const server = await startApiServer({ port, host: values.host, bookmarkIntervalMs });
  process.stdout.write(`${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  process.exitCode = await main(process.argv.slice(2));
}
