/**
 * The one way a binary listens for HTTP: the health server (health.ts) and
 * the controller's history server (src/history/http.ts) both go through
 * {@link listenHttp}, so both share its guarantee — a handler that throws
 * answers 500 instead of exiting the process (an exception thrown from an
 * HTTP request listener is uncaught, so any client that can reach the port
 * could otherwise stop the binary) — and its close, which drops kept-alive
 * connections instead of waiting for them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link listenHttp}. */
export interface ListenOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** The address bound, e.g. `0.0.0.0` or `127.0.0.1`. */
  readonly host: string;
  /** Answers one request; may answer later (asynchronously), must not reject unhandled. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A listening server. */
export interface HttpServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port`; resolves once bound.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound
 */
export async function listenHttp(options: ListenOptions): Promise<HttpServer> {
  const server: Server = createServer((req, res) => {
    try {
      options.handle(req, res);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
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
