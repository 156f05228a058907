/**
 * listenHttp, under the health and the history servers: one request must
 * not stop the binary — a handler that throws answers 500 (from an HTTP
 * request listener the exception would be uncaught and exit the process) —
 * and close() does not wait for kept-alive connections.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenHttp } from '../../../src/telemetry/http-server.js';

describe('listenHttp', { timeout: 10_000 }, () => {
  it('answers 500 for a handler that throws, and keeps serving', async () => {
    const server = await listenHttp({
      port: 0,
      host: '127.0.0.1',
      handle: (req, res) => {
        if (req.url === '/boom') throw new Error('handler broke');
        res.end('ok\n');
      },
    });
    try {
      const boom = await fetch(`http://127.0.0.1:${server.port}/boom`);
      assert.equal(boom.status, 500);
      assert.match(await boom.text(), /internal error: handler broke/);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('refuses a port already bound, with the listen error', async () => {
    const first = await listenHttp({ port: 0, host: '127.0.0.1', handle: (_q, res) => res.end() });
    try {
      await assert.rejects(
        listenHttp({ port: first.port, host: '127.0.0.1', handle: (_q, res) => res.end() }),
        /EADDRINUSE/,
      );
    } finally {
      await first.close();
    }
  });
});
