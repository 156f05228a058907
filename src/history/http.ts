/**
 * The change history over HTTP, mounted on the controller's health port
 * (src/telemetry/health.ts) so that `nftpol history` and `nftpol diff` need
 * no access to Redis:
 *
 *   GET /history/<node>[?limit=N]  → { node, entries: HistorySummary[] } newest first, no scripts
 *   GET /history/<node>/<rev>      → HistoryEntry with its script, 404 when unknown
 *
 * A backend failure answers 503 with the reason, so the CLI can say that the
 * history (not the controller) is unavailable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_LIST_LIMIT, summaryOf, type HistoryStore } from './store.js';

/** Path prefix of the history routes. */
export const HISTORY_PATH = '/history/';

/** Most entries one listing returns. */
export const MAX_LIST_LIMIT = 1000;

/**
 * A route handler for the health server: answers the history routes and
 * returns true, or returns false for any other path.
 */
export function historyRoutes(
  store: HistoryStore,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(HISTORY_PATH)) return false;
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'GET') {
      send(405, { error: 'only GET is supported' });
      return true;
    }
    let parts: string[];
    try {
      parts = url.pathname.slice(HISTORY_PATH.length).split('/').map(decodeURIComponent);
    } catch {
      send(400, { error: 'malformed percent-encoding in the path' });
      return true;
    }
    const [node, rev, ...rest] = parts;
    if (node === undefined || node === '' || rest.length > 0 || rev === '') {
      send(404, { error: 'expected /history/<node> or /history/<node>/<rev>' });
      return true;
    }
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? DEFAULT_LIST_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      send(400, { error: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` });
      return true;
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
    return true;
  };
}
