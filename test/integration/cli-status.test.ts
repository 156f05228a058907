/**
 * `nftpol status` and `nftpol explain --server` as a user runs them: the real
 * CLI in a child process against the embedded API server, seeded with
 * NetworkPolicies (created, then changed, on a set clock so managedFields
 * times are known) and NodeFirewalls whose status says applied, failed or
 * never applied. Asserts the per-policy and per-node answers in JSON and
 * text, the exit code when the API is unreachable, and explain's live counts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import type { NodeStatusRow, PolicyStatus } from '../../src/cli/status-report.js';
import { runNftpol } from '../unit/cli/run-cli.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;
const at = (seconds: number): string =>
  new Date(T0 + seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

function policy(namespace: string, name: string, podSelector: object = {}) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace, name },
    spec: { podSelector, policyTypes: ['Ingress'] },
  };
}

function condition(status: 'True' | 'False', reason: string, message: string) {
  return {
    type: 'Applied',
    status,
    observedGeneration: 1,
    lastTransitionTime: at(5),
    reason,
    message,
  };
}

/** Creates a NodeFirewall, then writes its status through the status subresource. */
function seedNodeFirewall(
  server: ApiServer,
  name: string,
  policies: string[],
  status?: object,
): void {
  const created = server.store.create('nodefirewalls', nodeFirewall(name, policies));
  if (status === undefined) return;
  server.store.replace(
    'nodefirewalls',
    { ...created, status },
    { name, subresource: 'status', fieldManager: 'nftpol-executor' },
  );
}

function nodeFirewall(name: string, policies: string[]) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name },
    spec: {
      script: '# test\n',
      scriptHash: HASH_A,
      summary: {
        localPods: 2,
        isolatedPods: 1,
        policies: policies.length,
        rules: 4,
        sets: 1,
        setElements: 2,
        policyNames: policies,
      },
    },
  };
}

describe('nftpol status against the API server', () => {
  let server: ApiServer;
  let clock = T0;

  before(async () => {
    server = await startApiServer({ now: () => new Date(clock) });
    const { store } = server;
    store.create('networkpolicies', policy('payments', 'default-deny-ingress'), {
      fieldManager: 'kubectl',
    });
    store.create('networkpolicies', policy('shop', 'allow-web'), { fieldManager: 'kubectl' });
    store.create('networkpolicies', policy('shop', 'unused', { matchLabels: { app: 'none' } }), {
      fieldManager: 'kubectl',
    });
    clock = T0 + 3000; // shop/allow-web changed 3 s after creation
    store.replace(
      'networkpolicies',
      { ...policy('shop', 'allow-web', { matchLabels: { app: 'web' } }) },
      { namespace: 'shop', name: 'allow-web', fieldManager: 'kubectl-edit' },
    );
    seedNodeFirewall(server, 'node-a', ['payments/default-deny-ingress', 'shop/allow-web'], {
      observedGeneration: 1,
      appliedHash: HASH_A,
      lastAppliedTime: at(5),
      conditions: [
        condition('True', 'Applied', 'Applied the script.'),
        { ...condition('True', 'InSync', 'The table is as applied.'), type: 'InSync' },
      ],
      counters: {
        'shop/web-0': { ingressAllowed: 40, ingressDenied: 2, egressAllowed: 0, egressDenied: 0 },
      },
    });
    seedNodeFirewall(server, 'node-b', ['payments/default-deny-ingress'], {
      observedGeneration: 1,
      appliedHash: HASH_B,
      lastAppliedTime: at(1),
      conditions: [
        condition(
          'False',
          'ApplyFailed',
          'Error: Could not process rule: No such file or directory\nadd rule inet nftpol x',
        ),
      ],
      counters: {
        'payments/db-0': {
          ingressAllowed: 5,
          ingressDenied: 7,
          egressAllowed: 0,
          egressDenied: 0,
        },
      },
    });
    seedNodeFirewall(server, 'node-c', ['payments/default-deny-ingress']);
  });

  after(async () => {
    await server.close();
  });

  it('reports, per policy, where it must be in force, where it is, since when and who fails', async () => {
    const r = await runNftpol(['status', '--server', server.url, '-o', 'json']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const { policies } = JSON.parse(r.stdout) as { policies: PolicyStatus[] };
    assert.deepEqual(
      policies.map((p) => [p.policy, p.state]),
      [
        ['payments/default-deny-ingress', 'Failing'],
        ['shop/allow-web', 'Enforced'],
        ['shop/unused', 'NoPods'],
      ],
    );
    const [deny, web] = policies;
    assert.deepEqual(deny?.mustEnforce, ['node-a', 'node-b', 'node-c']);
    assert.deepEqual(deny?.enforcing, ['node-a']);
    assert.deepEqual(deny?.pending, ['node-c']);
    assert.deepEqual(deny?.failing, [
      {
        node: 'node-b',
        reason: 'ApplyFailed',
        message: 'Error: Could not process rule: No such file or directory',
      },
    ]);
    assert.equal(web?.since, at(5));
    assert.equal(web?.changedAt, at(3));
    assert.equal(web?.changedFrom, 'managedFields');
    assert.equal(web?.timeToEnforceSeconds, 2);
  });

  it('prints the same as a table with the failing and pending nodes spelled out', async () => {
    const r = await runNftpol(['status', '--server', server.url]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'POLICY                         STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'payments/default-deny-ingress  Failing   1/3       1        -                     -',
        'shop/allow-web                 Enforced  1/1       0        2030-01-01T00:00:05Z  2s',
        'shop/unused                    NoPods    0/0       0        -                     -',
        '',
        'payments/default-deny-ingress: failing on node-b: ApplyFailed: Error: Could not process rule: No such file or directory',
        'payments/default-deny-ingress: pending on node-c',
        '',
      ].join('\n'),
    );
  });

  it('narrows to one namespace and one policy', async () => {
    const r = await runNftpol([
      'status',
      '--server',
      server.url,
      '-n',
      'shop',
      'allow-web',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { policies } = JSON.parse(r.stdout) as { policies: PolicyStatus[] };
    assert.deepEqual(
      policies.map((p) => p.policy),
      ['shop/allow-web'],
    );
  });

  it('says so (exit 1) when the named policy exists nowhere', async () => {
    const r = await runNftpol(['status', '--server', server.url, 'shop/nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no NetworkPolicy shop\/nope/);
  });

  it('"status nodes" shows each node\'s conditions, hash, pods and rules', async () => {
    const r = await runNftpol(['status', 'nodes', '--server', server.url, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const { nodes } = JSON.parse(r.stdout) as { nodes: NodeStatusRow[] };
    assert.deepEqual(
      nodes.map((n) => [n.node, n.applied, n.appliedReason, n.inSync, n.hash, n.current, n.pods]),
      [
        ['node-a', 'True', 'Applied', 'True', 'aaaaaaaaaaaa', true, 2],
        ['node-b', 'False', 'ApplyFailed', '-', 'bbbbbbbbbbbb', false, 2],
        ['node-c', '-', null, '-', '-', false, 2],
      ],
    );
    const text = await runNftpol(['status', 'nodes', '--server', server.url]);
    assert.match(text.stdout, /^NAME\s+APPLIED\s+INSYNC\s+READY\s+HASH\s+PODS\s+RULES\s+AGE\n/);
    assert.match(
      text.stdout,
      /\nnode-b\s+False \(ApplyFailed\)\s+-\s+-\s+bbbbbbbbbbbb \(old\)\s+2\s+4\s+\S+\n/,
    );
  });

  it('exits 1 naming the call when the API server cannot be reached', async () => {
    const r = await runNftpol(['status', '--server', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot list NodeFirewalls/);
  });

  it('rejects a stray argument and -n with "nodes" as usage errors (exit 2)', async () => {
    assert.equal((await runNftpol(['status', 'a', 'b', '--server', server.url])).code, 2);
    assert.equal((await runNftpol(['status', 'nodes', '-n', 'x', '--server', server.url])).code, 2);
  });

  it('explain --server adds the live counts of the deciding pod chain', async () => {
    const args = [
      'explain',
      '-f',
      'examples',
      '--from',
      'shop/frontend-0',
      '--to',
      'payments/db-0',
    ];
    const r = await runNftpol([...args, '--port', '5432', '--server', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^DENIED shop\/frontend-0/);
    assert.ok(
      r.stdout.endsWith(
        [
          'live counts (NodeFirewall status.counters, since each script was loaded):',
          '  denied packets on payments/db-0 ingress: 7 (node node-b)',
          '  allowed packets on payments/db-0 ingress: 5 (node node-b)',
          '',
        ].join('\n'),
      ),
      r.stdout,
    );
    const json = await runNftpol([...args, '--port', '5432', '--server', server.url, '-o', 'json']);
    assert.deepEqual((JSON.parse(json.stdout) as { live: unknown }).live, [
      {
        pod: 'payments/db-0',
        direction: 'ingress',
        node: 'node-b',
        allowedPackets: 5,
        deniedPackets: 7,
      },
    ]);
  });
});
