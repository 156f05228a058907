/**
 * The operations endpoint of a binary: `/healthz` (the process serves
 * requests), `/readyz` (the caller's readiness predicate: for the controller,
 * every informer has synced) and `/metrics` (Prometheus text format), plus
 * any extra routes a binary mounts (the controller's `/history/…`).
 *
 * A handler that throws answers 500: an exception thrown from an HTTP
 * request listener would otherwise be uncaught and exit the process, so any
 * client that can reach the port could stop the binary.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Options of {@link startHealthServer}. */
export interface HealthOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
  readonly registry: Registry;
  /** Answers /readyz: 200 when true, 503 otherwise. */
  readonly isReady: () => boolean;
  /** Extra routes, tried first: answers and returns true, or returns false to pass. */
  readonly routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** A running health server. */
export interface HealthServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (options.routes?.(req, res) === true) return;
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      return options.isReady() ? send(200, 'ok\n') : send(503, 'informers not synced\n');
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then(
          (text) => send(200, text, options.registry.contentType),
          (err: unknown) => send(500, `${String(err)}\n`),
        )
        .catch(() => res.destroy()); // the client went away meanwhile
      return;
    }
    send(404, 'not found\n');
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
