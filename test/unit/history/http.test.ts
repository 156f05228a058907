/**
 * The history server on a port of its own: the two routes and their errors,
 * nothing else on that port (no health, no metrics), a replica's refusal
 * (a standby with the in-memory history) and a failing backend as 503 with
 * the reason, and a malformed path that cannot stop the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHistoryServer, type HistoryServer } from '../../../src/history/http.js';
import { MemoryHistoryStore } from '../../../src/history/memory.js';
import type { HistoryEntry, HistoryStore } from '../../../src/history/store.js';
import { entry } from '../../support/history-suite.js';

describe('history server', { timeout: 10_000 }, () => {
  let server: HistoryServer;
  let refusal: string | null = null;
  const get = (path: string, init?: RequestInit): Promise<Response> =>
    fetch(`http://127.0.0.1:${server.port}${path}`, init);

  before(async () => {
    const store = new MemoryHistoryStore({});
    for (let n = 0; n < 3; n++) await store.record(entry('n1', n));
    server = await startHistoryServer({
      port: 0,
      host: '127.0.0.1',
      store,
      refusal: () => refusal,
    });
  });
  after(() => server.close());

  it('lists a node’s entries newest first, without scripts, up to limit', async () => {
    const response = await get('/history/n1?limit=2');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { node: string; entries: HistoryEntry[] };
    assert.equal(body.node, 'n1');
    assert.deepEqual(
      body.entries.map((e) => e.rev),
      ['3', '2'],
    );
    assert.ok(body.entries.every((e) => !('script' in e)));
  });

  it('serves one entry with its script', async () => {
    const response = await get('/history/n1/1');
    assert.equal(response.status, 200);
    const body = (await response.json()) as HistoryEntry;
    assert.equal(body.script, entry('n1', 0).script);
  });

  const statuses: ReadonlyArray<{ name: string; path: string; method?: string; status: number }> = [
    { name: 'an unknown revision is 404', path: '/history/n1/99', status: 404 },
    { name: 'a node without history lists nothing', path: '/history/n9', status: 200 },
    { name: 'a limit of 0 is 400', path: '/history/n1?limit=0', status: 400 },
    { name: 'a limit over 1000 is 400', path: '/history/n1?limit=1001', status: 400 },
    { name: 'malformed percent-encoding is 400', path: '/history/%E0%A4%A', status: 400 },
    { name: 'a path below a revision is 404', path: '/history/n1/1/x', status: 404 },
    { name: 'POST is 405', path: '/history/n1', method: 'POST', status: 405 },
    { name: 'the health routes are not served here', path: '/healthz', status: 404 },
    { name: 'the metrics are not served here', path: '/metrics', status: 404 },
  ];
  for (const row of statuses) {
    it(row.name, async () => {
      const response = await get(row.path, { method: row.method ?? 'GET' });
      assert.equal(response.status, row.status);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    });
  }

  it('answers 503 with the refusal while the replica refuses, and again once it does not', async () => {
    refusal = 'this replica (b) is not the leader';
    try {
      const response = await get('/history/n1');
      assert.equal(response.status, 503);
      assert.deepEqual(await response.json(), { error: 'this replica (b) is not the leader' });
    } finally {
      refusal = null;
    }
    assert.equal((await get('/history/n1')).status, 200);
  });
});

describe('history server with a failing backend', { timeout: 10_000 }, () => {
  it('answers 503 naming the history, not the controller, as unavailable', async () => {
    const down: HistoryStore = {
      kind: 'redis',
      record: () => Promise.resolve(),
      list: () => Promise.reject(new Error('connection refused')),
      get: () => Promise.reject(new Error('connection refused')),
      close: () => Promise.resolve(),
    };
    const server = await startHistoryServer({ port: 0, host: '127.0.0.1', store: down });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/history/n1/1`);
      assert.equal(response.status, 503);
      assert.deepEqual(await response.json(), {
        error: 'history unavailable: connection refused',
      });
    } finally {
      await server.close();
    }
  });
});
