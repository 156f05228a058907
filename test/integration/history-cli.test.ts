/**
 * `nftpol history` and `nftpol diff` as a user runs them: the real CLI in a
 * child process against a controller started in-process (in-memory history)
 * on the real kube-apiserver, reading the history from the controller's
 * history port (its own, bound to localhost; not the health port). Also the
 * HTTP routes themselves, a standby replica refusing to answer from its
 * in-memory history, and the CLI's failure classes, one spawn per exit code
 * (argument parsing in detail is in test/unit/cli/history.test.ts: each
 * spawn costs a TypeScript start).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerHandle } from '../../src/controller/main.js';
import type { HistoryEntry } from '../../src/history/store.js';
import { runNftpol } from '../unit/cli/run-cli.js';
import {
  eventually,
  holdLease,
  seedCluster,
  startTestController,
  waitConverged,
  watchCluster,
  webPolicy,
  writtenHashes,
} from '../support/history-fixture.js';
import { freePort } from '../support/redis-server.js';
import { realServerSkip, startTestApi, type ApiView, type TestApi } from '../support/test-api.js';

describe(
  'nftpol history and diff against a running controller',
  { concurrency: 3, skip: realServerSkip() },
  () => {
    let api: TestApi;
    let view: ApiView | undefined;
    let controller: ControllerHandle | undefined;
    let url: string;
    let healthUrl: string;

    before(async () => {
      api = await startTestApi('history cli');
      await seedCluster(api);
      view = await watchCluster(api);
      const v = view;
      controller = await startTestController(api, {
        healthPort: 0,
        healthHost: '127.0.0.1',
        historyPort: 0,
        historyHost: '127.0.0.1',
      });
      const c = controller;
      url = `http://127.0.0.1:${c.historyPort}`;
      healthUrl = `http://127.0.0.1:${c.healthPort}`;
      await waitConverged(v, () => true, 'first convergence');
      await eventually(async () => (await c.history.list('n1')).length === 1, 'the resync entry');
      await api.create([webPolicy('allow-client', 'client', 8080)]);
      await waitConverged(
        v,
        () => v.get('networkpolicies', 'allow-client', 'shop') !== undefined,
        'convergence after a new policy',
      );
      await eventually(
        async () => (await c.history.list('n1')).length === 2,
        'the policy change entry',
      );
    });
    after(async () => {
      await controller?.stop();
      view?.stop();
      await api?.stop();
    });

    it('lists the node’s changes newest first with their causes', async () => {
      const run = await runNftpol(['history', 'n1', '--controller', url]);
      assert.equal(run.code, 0, run.stderr);
      const rows = run.stdout.trimEnd().split('\n');
      assert.match(rows[0]!, /^REV +TIME +OLD HASH +NEW HASH +CAUSES$/);
      assert.match(
        rows[1]!,
        /^2 .* sha256:[0-9a-f]{12} +sha256:[0-9a-f]{12} +NetworkPolicy shop\/allow-client$/,
      );
      assert.match(rows[2]!, /^1 .* - +sha256:[0-9a-f]{12} +resync$/);
      assert.equal(rows.length, 3);
    });

    it('prints the listing as JSON, without scripts, with -o json', async () => {
      const run = await runNftpol(['history', 'n1', '--controller', url, '-o', 'json']);
      assert.equal(run.code, 0, run.stderr);
      const listing = JSON.parse(run.stdout) as {
        node: string;
        entries: Record<string, unknown>[];
      };
      assert.equal(listing.node, 'n1');
      assert.deepEqual(
        listing.entries.map((e) => e['rev']),
        ['2', '1'],
      );
      assert.equal(listing.entries[0]!['newHash'], writtenHashes(view!).get('n1'));
      assert.ok(listing.entries.every((e) => !('script' in e)));
    });

    it('shows the last change as a unified diff by default', async () => {
      const run = await runNftpol(['diff', 'n1', '--controller', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^--- n1 rev 1 sha256:[0-9a-f]{12} \S+\n\+\+\+ n1 rev 2 /);
      assert.match(run.stdout, /^\+.*"shop\/allow-client ingress rule 0"/m);
      assert.doesNotMatch(run.stdout, /^-.*allow-client/m);
    });

    it('compares the revisions given with --from and --to, in that order', async () => {
      const run = await runNftpol(['diff', 'n1', '--from', '2', '--to', '1', '--controller', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^-.*"shop\/allow-client ingress rule 0"/m);
    });

    it('compares the oldest revision held with an empty script', async () => {
      const run = await runNftpol(['diff', 'n1', '--to', '1', '--controller', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^--- n1 \(empty: no earlier revision held\)\n/);
      assert.match(run.stdout, /^@@ -0,0 \+1,\d+ @@$/m);
    });

    it('says so when two revisions hold the same script', async () => {
      const run = await runNftpol(['diff', 'n1', '--from', '2', '--to', '2', '--controller', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'no difference between rev 2 and rev 2\n');
    });

    const failures: ReadonlyArray<{
      readonly name: string;
      readonly args: (url: string, closed: string) => string[];
      readonly code: number;
      readonly stderr?: RegExp;
      readonly stdout?: RegExp;
    }> = [
      {
        name: 'an unknown revision is invalid input',
        args: (u) => ['diff', 'n1', '--from', '9', '--controller', u],
        code: 1,
        stderr: /revision 9 is not in the history/,
      },
      {
        name: 'a controller that does not answer is invalid input',
        args: (_u, closed) => ['history', 'n1', '--controller', closed],
        code: 1,
        stderr: /cannot reach the controller at http:\/\/127\.0\.0\.1:\d+/,
      },
      {
        name: 'a missing --controller is a usage error',
        args: () => ['history', 'n1'],
        code: 2,
        stderr: /--controller URL is required/,
      },
    ];
    for (const f of failures) {
      it(f.name, async () => {
        const closed = `http://127.0.0.1:${await freePort()}`;
        const run = await runNftpol(f.args(url, closed));
        assert.equal(run.code, f.code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
        if (f.stderr !== undefined) assert.match(run.stderr, f.stderr);
        if (f.stdout !== undefined) assert.match(run.stdout, f.stdout);
      });
    }

    it('serves an entry with its script, and 404 for an unknown one, on the history port', async () => {
      const ok = await fetch(`${url}/history/n1/2`);
      assert.equal(ok.status, 200);
      const entry = (await ok.json()) as HistoryEntry;
      assert.equal(entry.rev, '2');
      assert.match(entry.script, /^table inet nftpol \{/m);
      assert.equal((await fetch(`${url}/history/n1/99`)).status, 404);
      assert.equal((await fetch(`${url}/history/n1?limit=0`)).status, 400);
    });

    it('keeps the history off the health port, and the health routes off the history port', async () => {
      assert.equal((await fetch(`${healthUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${healthUrl}/history/n1`)).status, 404);
      assert.equal((await fetch(`${healthUrl}/history/n1/2`)).status, 404);
      assert.equal((await fetch(`${url}/healthz`)).status, 404);
      assert.equal((await fetch(`${url}/metrics`)).status, 404);
    });

    it('a standby with the in-memory history refuses, naming the Lease to find the leader by', async () => {
      const lease = 'history-standby';
      await holdLease(api, lease);
      const standby = await startTestController(api, {
        identity: 'standby',
        leaderElect: true,
        leaseName: lease,
        leaseNamespace: 'kube-system',
        historyPort: 0,
        historyHost: '127.0.0.1',
      });
      try {
        assert.equal(standby.isLeader(), false);
        const run = await runNftpol([
          'history',
          'n1',
          '--controller',
          `http://127.0.0.1:${standby.historyPort}`,
        ]);
        assert.equal(run.code, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
        assert.match(run.stderr, /this replica \(standby\) is not the leader/);
        assert.match(run.stderr, /kubectl -n kube-system get lease history-standby/);
      } finally {
        await standby.stop();
      }
    });
  },
);
