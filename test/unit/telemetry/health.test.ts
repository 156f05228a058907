/**
 * The health server answers /healthz, /readyz and /metrics and nothing
 * else: in particular not the change history, which has its own server
 * (test/unit/history/http.test.ts) so that whatever reaches the metrics port
 * (Prometheus, the metrics Service) cannot read whole scripts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { startHealthServer, type HealthServer } from '../../../src/telemetry/health.js';

describe('health server', { timeout: 10_000 }, () => {
  let server: HealthServer;
  let ready = false;
  const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${server.port}${path}`);

  before(async () => {
    const registry = new Registry();
    new Counter({ name: 'nftpol_test_total', help: 'a test counter', registers: [registry] });
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      isReady: () => ready,
    });
  });
  after(() => server.close());

  it('answers /healthz at once and /readyz once the predicate holds', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 503);
    ready = true;
    assert.equal((await get('/readyz')).status, 200);
  });

  it('serves the registry on /metrics', async () => {
    const response = await get('/metrics');
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^nftpol_test_total 0$/m);
  });

  it('does not serve the change history: every other path is 404', async () => {
    for (const path of ['/history/n1', '/history/n1/1', '/']) {
      assert.equal((await get(path)).status, 404, path);
    }
  });
});
