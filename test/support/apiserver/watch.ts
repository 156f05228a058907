/**
 * One watch connection: newline-delimited JSON events over a chunked 200
 * response, as kube-apiserver streams them.
 *
 * - `resourceVersion` unset or `0`: synthetic ADDED for every current object,
 *   then live changes.
 * - `resourceVersion=N`: every change after N from the history, then live
 *   changes; N older than the compacted history gets a single ERROR event
 *   carrying a 410 Expired Status and the stream ends (the real server's way).
 * - Selectors apply to both old and new object: a change that moves an object
 *   into the selection is ADDED, out of it DELETED.
 * - `allowWatchBookmarks=true`: BOOKMARK events (only kind, apiVersion and
 *   metadata.resourceVersion) every `bookmarkIntervalMs`.
 * - `timeoutSeconds` ends the stream cleanly.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import type { Change } from './history.js';
import { apiVersionOf, type ResourceDef } from './resources.js';
import { matchesFilter, type ObjectFilter } from './selectors.js';
import type { ApiStore, StoredObject } from './store.js';

/** What the client asked for. */
export interface WatchRequest {
  readonly resource: ResourceDef;
  readonly filter: ObjectFilter;
  /** The `resourceVersion` query parameter, unparsed. */
  readonly resourceVersion: string | undefined;
  readonly allowBookmarks: boolean;
  readonly bookmarkIntervalMs: number;
  /** `timeoutSeconds`; undefined keeps the stream open until cut. */
  readonly timeoutSeconds: number | undefined;
}

/** An open watch the server can end. */
export interface ActiveWatch {
  /** Ends the stream (the client sees a clean close and re-watches). */
  end(): void;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * Parses the starting resourceVersion: undefined for "from current state".
 *
 * @throws ApiError BadRequest when it is not a number.
 */
export function parseWatchStart(resourceVersion: string | undefined): number | undefined {
  if (resourceVersion === undefined || resourceVersion === '' || resourceVersion === '0') {
    return undefined;
  }
  if (!/^\d+$/.test(resourceVersion)) {
    throw new ApiError('BadRequest', `invalid resource version: ${resourceVersion}`);
  }
  return Number(resourceVersion);
}

/**
 * Streams events to `res` until the client goes away, the timeout passes or
 * the returned handle is ended. Call only after {@link parseWatchStart}
 * succeeded (errors before the stream starts are ordinary HTTP errors).
 */
export function serveWatch(store: ApiStore, req: WatchRequest, res: ServerResponse): ActiveWatch {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const send = (type: EventType, object: object): void => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  let ended = false;
  const cleanups: (() => void)[] = [];
  const handle: ActiveWatch = {
    end(): void {
      if (ended) return;
      ended = true;
      for (const cleanup of cleanups) cleanup();
      res.end();
    },
  };
  res.on('close', () => handle.end());

  const start = parseWatchStart(req.resourceVersion);
  const { resource, filter } = req;
  if (start === undefined) {
    for (const obj of store.list(resource.plural, filter).items) send('ADDED', obj);
  } else {
    const backlog = store.history.since(start);
    if (backlog === 'expired') {
      send('ERROR', expiredStatus(start, store.history.compactedResourceVersion));
      handle.end();
      return handle;
    }
    for (const change of backlog) forward(change, filter, send);
  }
  cleanups.push(store.history.subscribe((change) => forward(change, filter, send)));

  if (req.allowBookmarks) {
    const timer = setInterval(() => {
      send('BOOKMARK', {
        kind: resource.kind,
        apiVersion: apiVersionOf(resource),
        metadata: { resourceVersion: String(store.resourceVersion) },
      });
    }, req.bookmarkIntervalMs);
    timer.unref();
    cleanups.push(() => clearInterval(timer));
  }
  if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) {
    const timer = setTimeout(() => handle.end(), req.timeoutSeconds * 1000);
    timer.unref();
    cleanups.push(() => clearTimeout(timer));
  }
  return handle;

  function forward(
    change: Change,
    f: ObjectFilter,
    emit: (type: EventType, object: StoredObject) => void,
  ): void {
    if (change.resource !== resource) return;
    const now = change.type !== 'DELETED' && matchesFilter(change.object, f);
    const before = change.previous !== undefined && matchesFilter(change.previous, f);
    if (change.type === 'DELETED') {
      if (before) emit('DELETED', change.object);
    } else if (now && before) {
      emit('MODIFIED', change.object);
    } else if (now) {
      emit('ADDED', change.object);
    } else if (before && change.previous !== undefined) {
      const gone = structuredClone(change.previous);
      gone.metadata.resourceVersion = change.object.metadata.resourceVersion;
      emit('DELETED', gone);
    }
  }
}

function expiredStatus(requested: number, oldest: number): object {
  return new ApiError('Expired', `too old resource version: ${requested} (${oldest})`).toStatus();
}
