/**
 * `nftpol status` and `nftpol explain --kubeconfig` as a user runs them: the
 * real CLI in a child process against the real kube-apiserver, seeded through
 * the API with NetworkPolicies (created, then changed by another field
 * manager, whose managedFields time the server stamps) and NodeFirewalls
 * whose status, written through the status subresource, says applied, failed
 * or never applied, at times set relative to that change. Asserts the
 * per-policy and per-node answers in JSON and text, the exit code when the
 * API is unreachable, and explain's live counts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NodeStatusRow, PolicyStatus } from '../../src/cli/status-report.js';
import { runNftpol } from '../unit/cli/run-cli.js';
import { objectPath, realServerSkip, startTestApi, type TestApi } from '../support/test-api.js';

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;
/**
 * Seconds from T0 as RFC 3339. T0 is set, once the policies are on the
 * server, three seconds before shop/allow-web's last change (as the server
 * stamped it in managedFields), so that at(3) is that change.
 */
let T0 = 0;
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

/** A NodeFirewall with, when given, a status (TestApi.create writes it through the subresource). */
function seededNodeFirewall(name: string, policies: string[], status?: object) {
  return { ...nodeFirewall(name, policies), ...(status === undefined ? {} : { status }) };
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

/** Seconds since the epoch of the latest managedFields time of a policy (`changedAt`). */
function lastChange(object: { metadata: Record<string, unknown> }): number {
  const fields = (object.metadata['managedFields'] ?? []) as { time?: string }[];
  return Math.max(...fields.map((f) => Date.parse(f.time ?? '')).filter((t) => !isNaN(t)));
}

/**
 * The policies (shop/allow-web changed by a second field manager after its
 * creation), then, at times relative to that change, the NodeFirewalls.
 */
async function seed(api: TestApi): Promise<void> {
  await api.create([
    ...['payments', 'shop'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    })),
    policy('payments', 'default-deny-ingress'),
    policy('shop', 'allow-web'),
    policy('shop', 'unused', { matchLabels: { app: 'none' } }),
  ]);
  const path = objectPath('networkpolicies', 'allow-web', 'shop');
  const created = await api.request('GET', path);
  const changed = await api.request('PUT', `${path}?fieldManager=kubectl-edit`, {
    body: { ...created, spec: policy('shop', 'allow-web', { matchLabels: { app: 'web' } }).spec },
  });
  const managers = (changed.metadata['managedFields'] as { manager: string }[]).map(
    (m) => m.manager,
  );
  assert.ok(managers.includes('kubectl-edit'), `managedFields names the edit: ${managers.join()}`);
  T0 = lastChange(changed) - 3000;
  await api.create([
    seededNodeFirewall('node-a', ['payments/default-deny-ingress', 'shop/allow-web'], {
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
    }),
    seededNodeFirewall('node-b', ['payments/default-deny-ingress'], {
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
    }),
    seededNodeFirewall('node-c', ['payments/default-deny-ingress']),
  ]);
}

describe('nftpol status against the real kube-apiserver', { skip: realServerSkip() }, () => {
  let api: TestApi;
  /** The CLI's arguments to reach the server. */
  let server: string[];

  before(async () => {
    api = await startTestApi('cli status');
    server = ['--kubeconfig', api.kubeconfigPath];
    try {
      await seed(api);
    } catch (err) {
      await api.stop();
      throw err;
    }
  });

  after(async () => {
    await api?.stop();
  });

  it('reports, per policy, where it must be in force, where it is, since when and who fails', async () => {
    const r = await runNftpol(['status', ...server, '-o', 'json']);
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
    const r = await runNftpol(['status', ...server]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'POLICY                         STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'payments/default-deny-ingress  Failing   1/3       1        -                     -',
        `shop/allow-web                 Enforced  1/1       0        ${at(5)}  2s`,
        'shop/unused                    NoPods    0/0       0        -                     -',
        '',
        'payments/default-deny-ingress: failing on node-b: ApplyFailed: Error: Could not process rule: No such file or directory',
        'payments/default-deny-ingress: pending on node-c',
        '',
      ].join('\n'),
    );
  });

  it('narrows to one namespace and one policy', async () => {
    const r = await runNftpol(['status', ...server, '-n', 'shop', 'allow-web', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const { policies } = JSON.parse(r.stdout) as { policies: PolicyStatus[] };
    assert.deepEqual(
      policies.map((p) => p.policy),
      ['shop/allow-web'],
    );
  });

  it('says so (exit 1) when the named policy exists nowhere', async () => {
    const r = await runNftpol(['status', ...server, 'shop/nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no NetworkPolicy shop\/nope/);
  });

  it('"status nodes" shows each node\'s conditions, hash, pods and rules', async () => {
    const r = await runNftpol(['status', 'nodes', ...server, '-o', 'json']);
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
    const text = await runNftpol(['status', 'nodes', ...server]);
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
    assert.equal((await runNftpol(['status', 'a', 'b', ...server])).code, 2);
    assert.equal((await runNftpol(['status', 'nodes', '-n', 'x', ...server])).code, 2);
  });

  it('explain --kubeconfig adds the live counts of the deciding pod chain', async () => {
    const args = [
      'explain',
      '-f',
      'examples',
      '--from',
      'shop/frontend-0',
      '--to',
      'payments/db-0',
    ];
    const r = await runNftpol([...args, '--port', '5432', ...server]);
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
    const json = await runNftpol([...args, '--port', '5432', ...server, '-o', 'json']);
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
