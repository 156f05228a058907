/**
 * The health server must not let one request stop the binary: an exception
 * thrown by a route answers 500 (from an HTTP request listener it would be
 * uncaught and exit the process), and the history route answers a malformed
 * percent-encoding with 400 (decodeURIComponent throws on it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { historyRoutes } from '../../../src/history/http.js';
import { MemoryHistoryStore } from '../../../src/history/memory.js';
import { startHealthServer, type HealthServer } from '../../../src/telemetry/health.js';

describe('health server with routes that throw', { timeout: 10_000 }, () => {
  let server: HealthServer;
  const get = async (path: string): Promise<number> =>
    (await fetch(`http://127.0.0.1:${server.port}${path}`)).status;

  before(async () => {
    const history = historyRoutes(new MemoryHistoryStore({}));
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: new Registry(),
      isReady: () => true,
      routes: (req, res) => {
        if (req.url === '/boom') throw new Error('route broke');
        return history(req, res);
      },
    });
  });
  after(() => server.close());

  it('answers 500 for a throwing route and keeps serving', async () => {
    assert.equal(await get('/boom'), 500);
    assert.equal(await get('/healthz'), 200);
  });

  it('answers 400 for a malformed history path and keeps serving', async () => {
    assert.equal(await get('/history/%E0%A4%A'), 400);
    assert.equal(await get('/history/n1'), 200);
  });
});
