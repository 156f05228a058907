/**
 * The operations endpoint of a binary: `/healthz` (the process serves
 * requests), `/readyz` (the caller's readiness predicate: for the controller,
 * every informer has synced) and `/metrics` (Prometheus text format). Nothing
 * else: it is what Prometheus and the kubelet reach, often through a
 * Service, so it serves no data beyond metrics (the controller's change
 * history has its own server, src/history/http.ts, bound to localhost).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { listenHttp, type HttpServer } from './http-server.js';

/** Options of {@link startHealthServer}. */
export interface HealthOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
  readonly registry: Registry;
  /** Answers /readyz: 200 when true, 503 otherwise. */
  readonly isReady: () => boolean;
}

/** A running health server. */
export type HealthServer = HttpServer;

/** Starts the server; resolves once it listens. @throws when the port cannot be bound */
export function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
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
  return listenHttp({ port: options.port, host: options.host ?? '0.0.0.0', handle });
}
