/**
 * `nftpol status` and `nftpol explain --kubeconfig` as a user runs them: the
 * real CLI in a child process against the real kube-apiserver, seeded through
 * the API with NetworkPolicies (created, then changed by another field
 * manager, whose managedFields time the server stamps) and NodeFirewalls
 * whose status, written through the status subresource, says applied, failed
 * or never applied, at times set relative to that change, and one naming
 * two shared sets (v2) that have no AddressSet slice until a test writes
 * them. Asserts the per-policy and per-node answers in JSON and text, the
 * missing sets, the one line said when a user may not list AddressSets, the
 * exit code when the API is unreachable, and explain's live counts and live
 * set membership. ClusterNetworkPolicies: the suite starts without their CRD
 * (status says so in one line and answers for NetworkPolicies); the last
 * cases install it, create two, and see one in force on the nodes whose
 * NodeFirewall names it (`cnp:<name>`), then a user who may not list them;
 * and explain's live counts and set of a pod whose chain a Baseline rule
 * gives it (no NetworkPolicy isolates it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LiveSetsJson } from '../../src/cli/explain-sets.js';
import { readClusterYaml } from '../../src/cli/load-yaml.js';
import type {
  AddressSetsRead,
  ClusterPoliciesRead,
  ClusterPolicyStatus,
  NodeStatusRow,
  PolicyStatus,
} from '../../src/cli/status-report.js';
import { clusterPolicyName, qualifiedName } from '../../src/policy/model.js';
import { clusterPeerSet, namedPortSet, podsPeerSet } from '../../src/policy/peer-sets.js';
import { REPO, runNftpol } from '../unit/cli/run-cli.js';
import {
  installClusterPolicyCrd,
  objectPath,
  realServerSkip,
  startTestApi,
  type TestApi,
} from '../support/test-api.js';

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

/**
 * The example cluster without its ClusterNetworkPolicies: the explain cases
 * here are about NetworkPolicy peers' live sets (the Admin guardrail of
 * examples/cluster-policies.yaml would decide them instead).
 */
const NETWORK_POLICY_EXAMPLES = [
  'examples/cluster.yaml',
  'examples/pods.yaml',
  'examples/policies.yaml',
];

/**
 * The sets that decide `explain` on those files `--from shop/checkout-0 --to
 * payments/api-0 --port https`, named as the controller names them: the
 * pods set of payments/allow-api-from-shop's ingress peer (member: the
 * source, 10.244.2.30) and the named-port set of shop/checkout-egress's
 * egress rule 1 (member: `10.244.0.40 . tcp . 8443`); and `db`, the pods set
 * of payments/allow-db-from-api's ingress peer, which no test writes.
 */
async function examplesSets(): Promise<{ pods: string; port: string; db: string }> {
  const { cluster } = await readClusterYaml(NETWORK_POLICY_EXAMPLES, { cwd: REPO });
  const find = (name: string) => cluster.policies.find((p) => qualifiedName(p) === name);
  const api = find('payments/allow-api-from-shop');
  const checkout = find('shop/checkout-egress');
  const db = find('payments/allow-db-from-api');
  const apiPeer = api?.ingress[0]?.peers?.[0];
  const checkoutPeer = checkout?.egress[1]?.peers?.[0];
  const dbPeer = db?.ingress[0]?.peers?.[0];
  assert.ok(api && checkout && db && apiPeer?.kind === 'pods' && dbPeer?.kind === 'pods');
  assert.ok(checkoutPeer !== undefined);
  return {
    pods: podsPeerSet(api, apiPeer).id,
    port: namedPortSet(checkout, checkoutPeer, 'https', 'TCP').id,
    db: podsPeerSet(db, dbPeer).id,
  };
}

/** Slice 0 of `setId` holding `members`. */
function addressSet(setId: string, members: string[]) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'AddressSet',
    metadata: { name: `${setId}-0`, labels: { 'nftpol.io/set': setId } },
    spec: {
      setId,
      kind: setId.startsWith('pods-') ? 'addr' : 'addrPort',
      peer: 'test',
      members,
      memberCount: members.length,
    },
  };
}

/** A ClusterNetworkPolicy `name` of `tier` and `priority`: deny ingress from every namespace. */
function clusterPolicy(name: string, tier: 'Admin' | 'Baseline', priority: number) {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: {
      tier,
      priority,
      subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } },
      ingress: [{ name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] }],
    },
  };
}

const NOT_INSTALLED =
  'ClusterNetworkPolicies not read (the ClusterNetworkPolicy CRD is not installed (404)): only NetworkPolicies are shown';

/** Milliseconds since the epoch of the latest managedFields time of a policy (`changedAt`). */
function lastChange(object: { metadata: Record<string, unknown> }): number {
  const fields = (object.metadata['managedFields'] ?? []) as { time?: string }[];
  return Math.max(...fields.map((f) => Date.parse(f.time ?? '')).filter((t) => !isNaN(t)));
}

/**
 * The policies (shop/allow-web changed by a second field manager after its
 * creation), then, at times relative to that change, the NodeFirewalls.
 */
async function seed(api: TestApi, sets: { pods: string; port: string }): Promise<void> {
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
  const named = [sets.pods, sets.port].sort();
  const nodeD = seededNodeFirewall('node-d', [], {
    observedGeneration: 1,
    appliedHash: HASH_A,
    lastAppliedTime: at(5),
    conditions: [
      condition('True', 'Applied', 'Applied the script.'),
      {
        ...condition('False', 'SetsMissing', `2 AddressSets not found: ${named.join(', ')}`),
        type: 'SetsReady',
      },
    ],
  });
  await api.create([{ ...nodeD, spec: { ...nodeD.spec, addressSets: named } }]);
}

describe('nftpol status against the real kube-apiserver', { skip: realServerSkip() }, () => {
  let api: TestApi;
  /** The CLI's arguments to reach the server. */
  let server: string[];
  /** The shared sets node-d names (see examplesSets). */
  let sets: { pods: string; port: string; db: string };

  before(async () => {
    api = await startTestApi('cli status');
    server = ['--kubeconfig', api.kubeconfigPath];
    try {
      sets = await examplesSets();
      await seed(api, sets);
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
    const { policies, clusterPolicies, clusterPoliciesRead } = JSON.parse(r.stdout) as {
      policies: PolicyStatus[];
      clusterPolicies: ClusterPolicyStatus[];
      clusterPoliciesRead: ClusterPoliciesRead;
    };
    // No ClusterNetworkPolicy CRD yet: said, and the NetworkPolicies answered.
    assert.deepEqual(clusterPolicies, []);
    assert.deepEqual(clusterPoliciesRead, {
      readable: false,
      why: 'the ClusterNetworkPolicy CRD is not installed (404)',
    });
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
        NOT_INSTALLED,
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
        ['node-d', 'True', 'Applied', '-', 'aaaaaaaaaaaa', true, 2],
      ],
    );
    const text = await runNftpol(['status', 'nodes', ...server]);
    assert.match(
      text.stdout,
      /^NAME\s+APPLIED\s+INSYNC\s+SETSREADY\s+READY\s+HASH\s+PODS\s+RULES\s+SETS\s+AGE\n/,
    );
    assert.match(
      text.stdout,
      /\nnode-b\s+False \(ApplyFailed\)\s+-\s+-\s+-\s+bbbbbbbbbbbb \(old\)\s+2\s+4\s+0\s+\S+\n/,
    );
  });

  it('"status nodes" lists the sets a node names that have no slice, until the slice exists', async () => {
    const named = [sets.pods, sets.port].sort();
    const before = await runNftpol(['status', 'nodes', ...server, '-o', 'json']);
    assert.equal(before.code, 0, before.stderr);
    const report = JSON.parse(before.stdout) as {
      nodes: NodeStatusRow[];
      addressSets: AddressSetsRead;
    };
    assert.deepEqual(report.addressSets, { readable: true, slices: 0 });
    const nodeD = report.nodes.find((n) => n.node === 'node-d');
    assert.deepEqual(
      [nodeD?.sets, nodeD?.setsReady, nodeD?.setsReadyReason, nodeD?.missingSets],
      [2, 'False', 'SetsMissing', named],
    );
    assert.deepEqual(
      report.nodes.filter((n) => n.node !== 'node-d').map((n) => [n.sets, n.missingSets]),
      [
        [0, []],
        [0, []],
        [0, []],
      ],
    );
    const text = await runNftpol(['status', 'nodes', ...server]);
    assert.match(
      text.stdout,
      /\nnode-d\s+True\s+-\s+False \(SetsMissing\)\s+-\s+aaaaaaaaaaaa\s+2\s+4\s+2\s+\S+\n/,
    );
    assert.ok(
      text.stdout.endsWith(
        [
          '',
          `node-d: SetsReady False: SetsMissing: 2 AddressSets not found: ${named.join(', ')}`,
          `node-d: missing sets: ${named.join(', ')}`,
          '',
        ].join('\n'),
      ),
      text.stdout,
    );

    await api.create([addressSet(sets.pods, ['10.244.2.30'])]);
    const one = JSON.parse(
      (await runNftpol(['status', 'nodes', ...server, '-o', 'json'])).stdout,
    ) as {
      nodes: NodeStatusRow[];
    };
    assert.deepEqual(one.nodes.find((n) => n.node === 'node-d')?.missingSets, [sets.port]);
    await api.create([addressSet(sets.port, [])]);
    const after = await runNftpol(['status', 'nodes', ...server]);
    assert.doesNotMatch(after.stdout, /missing sets/);
    assert.match(after.stdout, /node-d: SetsReady False: SetsMissing/);
  });

  it('"status nodes" says in one line that AddressSets may not be listed, and answers', async () => {
    const real = api.real;
    if (real === undefined) return;
    await api.create([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'nodefirewall-reader' },
        rules: [{ apiGroups: ['nftpol.io'], resources: ['nodefirewalls'], verbs: ['list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'nodefirewall-reader' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'nodefirewall-reader',
        },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'reader' }],
      },
    ]);
    const args = ['status', 'nodes', '--kubeconfig', real.userKubeconfig('reader')];
    // The RBAC authorizer sees the new binding within moments, not at once.
    let r = await runNftpol(args);
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      r = await runNftpol(args);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+APPLIED/);
    const notRead = r.stdout.split('\n').filter((l) => l.startsWith('AddressSets not read'));
    assert.equal(notRead.length, 1, r.stdout);
    assert.match(
      notRead[0] ?? '',
      /^AddressSets not read \(403 Forbidden: .*"addresssets".*\): missing sets are not shown$/,
    );
    assert.doesNotMatch(r.stdout, /missing sets:/);
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

  it('explain --kubeconfig adds the live counts of the deciding pod chain and its sets', async () => {
    const args = [
      'explain',
      ...NETWORK_POLICY_EXAMPLES.flatMap((f) => ['-f', f]),
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
          // Denied: the sets of the peers of the rules whose ports match.
          'live sets (AddressSets as the API holds them now):',
          `  payments/allow-db-from-api ingress rule 0: live set ${sets.db}: no AddressSet slice at all: the controller has not written this set, and nodes load it empty (its peer matches nothing)`,
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

  it('explain --kubeconfig says whether the other end is in the live sets of the deciding peers', async () => {
    const args = [
      'explain',
      ...NETWORK_POLICY_EXAMPLES.flatMap((f) => ['-f', f]),
      '--from',
      'shop/checkout-0',
      '--to',
      'payments/api-0',
      '--port',
      'https',
      ...server,
    ];
    // Written by the test above: the pods set holds checkout-0, the port set nothing.
    const r = await runNftpol(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ALLOWED shop\/checkout-0/);
    assert.ok(
      r.stdout.endsWith(
        [
          'live sets (AddressSets as the API holds them now):',
          `  shop/checkout-egress egress rule 1: live set ${sets.port}: 10.244.0.40 . tcp . 8443 is NOT a member yet: the controller has not written it, or the pod is not enforceable`,
          `  payments/allow-api-from-shop ingress rule 0: live set ${sets.pods}: 10.244.2.30 is a member (slice ${sets.pods}-0)`,
          '',
        ].join('\n'),
      ),
      r.stdout,
    );
    await api.mergePatch('addresssets', `${sets.port}-0`, {
      spec: { members: ['10.244.0.40 . tcp . 8443'], memberCount: 1 },
    });
    const json = await runNftpol([...args, '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const { liveSets } = JSON.parse(json.stdout) as { liveSets: LiveSetsJson };
    assert.deepEqual(liveSets, {
      readable: true,
      checks: [
        {
          direction: 'egress',
          rule: { policy: 'shop/checkout-egress', direction: 'egress', rule: 1 },
          decided: 'allowed',
          setId: sets.port,
          member: '10.244.0.40 . tcp . 8443',
          memberInInput: true,
          live: { kind: 'member', slice: `${sets.port}-0` },
        },
        {
          direction: 'ingress',
          rule: { policy: 'payments/allow-api-from-shop', direction: 'ingress', rule: 0 },
          decided: 'allowed',
          setId: sets.pods,
          member: '10.244.2.30',
          memberInInput: true,
          live: { kind: 'member', slice: `${sets.pods}-0` },
        },
      ],
    });
  });

  it('with the CRD installed, a ClusterNetworkPolicy is in force on the nodes whose NodeFirewall names it', async () => {
    await installClusterPolicyCrd(api);
    await api.create([clusterPolicy('guard', 'Admin', 10), clusterPolicy('floor', 'Baseline', 5)]);
    const guard = await api.request('GET', objectPath('clusternetworkpolicies', 'guard'));
    const changed = lastChange(guard);
    const applied = (ms: number) => new Date(changed + ms).toISOString().replace(/\.000Z$/, 'Z');
    const status = (hash: string) => ({
      observedGeneration: 1,
      appliedHash: hash,
      lastAppliedTime: applied(2000),
      conditions: [
        {
          ...condition('True', 'Applied', 'Applied the script.'),
          lastTransitionTime: applied(2000),
        },
      ],
    });
    // node-e has applied guard's lines; node-f still runs the script before them.
    await api.create([
      seededNodeFirewall('node-e', ['cnp:guard', 'payments/default-deny-ingress'], status(HASH_A)),
      seededNodeFirewall('node-f', ['cnp:guard'], status(HASH_B)),
    ]);

    const pending = await runNftpol(['status', ...server]);
    assert.equal(pending.code, 0, pending.stderr);
    assert.ok(
      pending.stdout.startsWith(
        [
          'POLICY     TIER      PRIORITY  STATE    IN FORCE  FAILING  SINCE  TIME TO ENFORCE',
          'cnp:guard  Admin     10        Pending  1/2       0        -      -',
          'cnp:floor  Baseline  5         NoPods   0/0       0        -      -',
          '',
          'POLICY ',
        ].join('\n'),
      ),
      pending.stdout,
    );
    assert.match(pending.stdout, /\ncnp:guard: pending on node-f\n/);
    assert.doesNotMatch(pending.stdout, /ClusterNetworkPolicies not read/);

    await api.mergePatch(
      'nodefirewalls',
      'node-f',
      { status: { appliedHash: HASH_A } },
      { status: true },
    );
    const r = await runNftpol(['status', ...server, 'cnp:guard']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'POLICY     TIER   PRIORITY  STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        `cnp:guard  Admin  10        Enforced  2/2       0        ${applied(2000)}  2s`,
        '',
      ].join('\n'),
    );
    const json = await runNftpol(['status', ...server, '-n', 'shop', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      policies: PolicyStatus[];
      clusterPolicies: ClusterPolicyStatus[];
      clusterPoliciesRead: ClusterPoliciesRead;
    };
    // -n filters NetworkPolicies only.
    assert.deepEqual(
      report.policies.map((p) => p.policy),
      ['shop/allow-web', 'shop/unused'],
    );
    assert.deepEqual(report.clusterPoliciesRead, { readable: true, items: 2 });
    assert.deepEqual(report.clusterPolicies[0], {
      policy: 'cnp:guard',
      state: 'Enforced',
      mustEnforce: ['node-e', 'node-f'],
      enforcing: ['node-e', 'node-f'],
      pending: [],
      failing: [],
      changedAt: applied(0),
      changedFrom: 'managedFields',
      since: applied(2000),
      timeToEnforceSeconds: 2,
      tier: 'Admin',
      priority: 10,
    });
  });

  it('cnp:NAME that exists nowhere exits 1, and -n with cnp:NAME is a usage error', async () => {
    const r = await runNftpol(['status', ...server, 'cnp:nope']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /no ClusterNetworkPolicy cnp:nope in the cluster or in any node's script/,
    );
    assert.equal((await runNftpol(['status', ...server, '-n', 'shop', 'cnp:guard'])).code, 2);
  });

  it('says in one line that ClusterNetworkPolicies may not be listed, and answers', async () => {
    const real = api.real;
    if (real === undefined) return;
    await api.create([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'policy-reader' },
        rules: [
          { apiGroups: ['nftpol.io'], resources: ['nodefirewalls'], verbs: ['list'] },
          { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'policy-reader' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'policy-reader',
        },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'policy-reader' }],
      },
    ]);
    const args = ['status', '--kubeconfig', real.userKubeconfig('policy-reader')];
    // The RBAC authorizer sees the new binding within moments, not at once.
    let r = await runNftpol(args);
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      r = await runNftpol(args);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^POLICY\s+STATE\s+IN FORCE/);
    assert.doesNotMatch(r.stdout, /cnp:/);
    const notRead = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('ClusterNetworkPolicies not read'));
    assert.equal(notRead.length, 1, r.stdout);
    assert.match(
      notRead[0] ?? '',
      /^ClusterNetworkPolicies not read \(403 Forbidden: .*"clusternetworkpolicies".*\): only NetworkPolicies are shown$/,
    );
  });

  it('explain --kubeconfig counts the chain a ClusterNetworkPolicy gives a pod no NetworkPolicy isolates', async () => {
    const files = [...NETWORK_POLICY_EXAMPLES, 'examples/cluster-policies.yaml'];
    const { cluster } = await readClusterYaml(files, { cwd: REPO });
    const isolation = cluster.clusterPolicies?.find(
      (p) => clusterPolicyName(p) === 'cnp:shop-isolation',
    );
    const peer = isolation?.ingress[1]?.peers[0];
    assert.ok(peer?.kind === 'pods');
    const monitoring = clusterPeerSet(peer).id;
    await api.mergePatch(
      'nodefirewalls',
      'node-a',
      {
        status: {
          counters: {
            'shop/frontend-0': {
              ingressAllowed: 12,
              ingressDenied: 4,
              egressAllowed: 0,
              egressDenied: 0,
            },
          },
        },
      },
      { status: true },
    );
    await api.create([addressSet(monitoring, ['10.244.2.60'])]);
    const r = await runNftpol([
      'explain',
      ...files.flatMap((f) => ['-f', f]),
      '--from',
      'monitoring/prometheus-0',
      '--to',
      'shop/frontend-0',
      '--port',
      '9090',
      ...server,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /allowed by Baseline cnp:shop-isolation ingress rule 1/);
    assert.ok(
      r.stdout.endsWith(
        [
          'live counts (NodeFirewall status.counters, since each script was loaded):',
          '  denied packets on shop/frontend-0 ingress: 4 (node node-a)',
          '  allowed packets on shop/frontend-0 ingress: 12 (node node-a)',
          'live sets (AddressSets as the API holds them now):',
          `  cnp:shop-isolation ingress rule 1: live set ${monitoring}: 10.244.2.60 is a member (slice ${monitoring}-0)`,
          '',
        ].join('\n'),
      ),
      r.stdout,
    );
  });
});
