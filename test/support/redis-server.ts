/**
 * A real redis-server for the tests, started as a child process on a free
 * port with persistence off (`--save '' --appendonly no`), ready once it
 * prints "Ready to accept connections". `stop()` and `start()` again on the
 * same port let a test take Redis away mid-run and bring it back (empty, as
 * a restarted cache would be).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A redis-server the test controls. */
export interface TestRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Starts it (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it; resolves once the process exited. */
  stop(): Promise<void>;
}

/** A port nobody listens on right now (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a redis-server on a free port. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      let output = '';
      proc.stdout.setEncoding('utf8').on('data', (d: string) => {
        output += d;
        if (output.includes('Ready to accept connections')) resolve();
      });
      proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      proc.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
      proc.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const proc = child;
      child = null;
      if (proc === null || proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop };
}
