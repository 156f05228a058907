/**
 * The change history over HTTP, so that `nftpol history` and `nftpol diff`
 * need no access to Redis:
 *
 *   GET /history/<node>[?limit=N]  → { node, entries: HistorySummary[] } newest first, no scripts
 *   GET /history/<node>/<rev>      → HistoryEntry with its script, 404 when unknown
 *
 * On a port of its own (`--history-port`, 8081), bound to 127.0.0.1 by
 * default (`--history-host`), never on the health port: the scripts list
 * every pod's allowed peers, and the health port is what Prometheus, the
 * kubelet and the metrics Service reach. Bound to localhost it is reached
 * only through `kubectl port-forward`, which the API server authenticates
 * and authorizes (`pods/portforward`); there is no authentication here.
 *
 * A replica may refuse ({@link HistoryServerOptions.refusal}): with the
 * in-memory store only the leader records, so a standby answers 503 saying
 * where to ask instead of an empty or stale history. A backend failure also
 * answers 503 with the reason, so the CLI can say that the history (not the
 * controller) is unavailable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttp, type HttpServer } from '../telemetry/http-server.js';
import { DEFAULT_LIST_LIMIT, summaryOf, type HistoryStore } from './store.js';

/** Path prefix of the history routes. */
export const HISTORY_PATH = '/history/';

/** Most entries one listing returns. */
export const MAX_LIST_LIMIT = 1000;

/** Options of {@link startHistoryServer} and {@link historyHandler}. */
export interface HistoryServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** The address bound; 127.0.0.1 keeps it off the pod network. */
  readonly host: string;
  readonly store: HistoryStore;
  /**
   * Null when this replica answers; else why it does not and where to ask,
   * one sentence, sent as a 503. Asked on every request.
   * @default always answers
   */
  readonly refusal?: () => string | null;
}

/** A running history server. */
export type HistoryServer = HttpServer;

/** Starts the history server; resolves once it listens. @throws when the port cannot be bound */
export function startHistoryServer(options: HistoryServerOptions): Promise<HistoryServer> {
  return listenHttp({ port: options.port, host: options.host, handle: historyHandler(options) });
}

/**
 * The request handler: the two history routes, 404 for any other path, 405
 * for a method other than GET, 503 when refused or the backend fails.
 */
export function historyHandler(
  options: Pick<HistoryServerOptions, 'store' | 'refusal'>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { store } = options;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (!url.pathname.startsWith(HISTORY_PATH)) {
      send(404, { error: 'expected /history/<node> or /history/<node>/<rev>' });
      return;
    }
    if (req.method !== 'GET') {
      send(405, { error: 'only GET is supported' });
      return;
    }
    const refused = options.refusal?.() ?? null;
    if (refused !== null) {
      send(503, { error: refused });
      return;
    }
    let parts: string[];
    try {
      parts = url.pathname.slice(HISTORY_PATH.length).split('/').map(decodeURIComponent);
    } catch {
      send(400, { error: 'malformed percent-encoding in the path' });
      return;
    }
    const [node, rev, ...rest] = parts;
    if (node === undefined || node === '' || rest.length > 0 || rev === '') {
      send(404, { error: 'expected /history/<node> or /history/<node>/<rev>' });
      return;
    }
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? DEFAULT_LIST_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      send(400, { error: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` });
      return;
    }
    const answer =
      rev === undefined
        ? store
            .list(node, { limit })
            .then((entries) => send(200, { node, entries: entries.map(summaryOf) }))
        : store
            .get(node, rev)
            .then((entry) =>
              entry === null
                ? send(404, { error: `no revision ${rev} of node ${node} in the history` })
                : send(200, entry),
            );
    answer.catch((err: unknown) =>
      send(503, {
        error: `history unavailable: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
  };
}
