/**
 * status-report: NodeFirewalls and NetworkPolicies as the API returns them →
 * per-policy enforcement rows and per-node rows, and those rows printed
 * (status-format.ts). Tables of small clusters:
 * in force everywhere, failing on one node, never applied, an older script
 * still in force, a policy that selects nothing, one deleted but still in a
 * script, and the time-to-enforce arithmetic; ClusterNetworkPolicies
 * (`cnp:<name>`) the same way, with tier and priority, in evaluation order,
 * and the one line said when they could not be read; per node, the shared
 * sets its rules name, SetsReady, and those sets that have no AddressSet
 * slice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddressSetObject, LiveSets } from '../../../src/cli/live-sets.js';
import {
  formatNodeStatusText,
  formatPolicyStatusText,
  formatStatusJson,
} from '../../../src/cli/status-format.js';
import {
  addressSetsReadOf,
  changeTimeOf,
  clusterPoliciesReadOf,
  clusterPolicyStatusOf,
  nodeStateOf,
  nodeStatusOf,
  policyStatusOf,
  type ClusterPolicyObject,
  type ClusterPolicyStatus,
  type LiveClusterPolicies,
  type NodeFirewallObject,
  type NodeStatusRow,
  type PolicyObject,
  type PolicyStatus,
} from '../../../src/cli/status-report.js';

const H1 = `sha256:${'1'.repeat(64)}`;
const H2 = `sha256:${'2'.repeat(64)}`;

type NodeKind = 'applied' | 'failed' | 'never' | 'old' | 'staleFailure';

/** A NodeFirewall of `kind` carrying `policies`, generation 2. */
function nfw(name: string, kind: NodeKind, policies: string[], at = '2030-01-01T00:00:10Z') {
  const applied = {
    type: 'Applied',
    status: 'True',
    observedGeneration: 2,
    reason: 'Applied',
    message: 'Applied the script.',
  };
  const failed = {
    type: 'Applied',
    status: 'False',
    observedGeneration: 2,
    reason: 'ApplyFailed',
    message: 'Error: Could not process rule: No such file or directory\nline 2\nline 3',
  };
  const status =
    kind === 'applied'
      ? { appliedHash: H1, lastAppliedTime: at, conditions: [applied] }
      : kind === 'failed'
        ? { appliedHash: H2, lastAppliedTime: at, conditions: [failed] }
        : kind === 'old'
          ? {
              appliedHash: H2,
              lastAppliedTime: at,
              conditions: [{ ...applied, observedGeneration: 1 }],
            }
          : kind === 'staleFailure'
            ? { appliedHash: H2, conditions: [{ ...failed, observedGeneration: 1 }] }
            : undefined;
  const object: NodeFirewallObject = {
    metadata: { name, generation: 2 },
    spec: { scriptHash: H1, summary: { localPods: 3, rules: 7, policyNames: policies } },
    ...(status === undefined ? {} : { status }),
  };
  return object;
}

function pol(key: string, changed: { created: string; fields?: string[] }): PolicyObject {
  const [namespace, name] = key.split('/');
  return {
    metadata: {
      namespace: namespace!,
      name: name!,
      creationTimestamp: changed.created,
      ...(changed.fields === undefined
        ? {}
        : { managedFields: changed.fields.map((time) => ({ time })) }),
    },
  };
}

/** A ClusterNetworkPolicy `name` of `tier` and `priority`, created at `created`, edited at `fields`. */
function cnp(
  name: string,
  tier: string,
  priority: number,
  changed: { created: string; fields?: string[] },
): ClusterPolicyObject {
  return {
    metadata: {
      name,
      creationTimestamp: changed.created,
      ...(changed.fields === undefined
        ? {}
        : { managedFields: changed.fields.map((time) => ({ time })) }),
    },
    spec: { tier, priority },
  };
}

const listed = (...items: ClusterPolicyObject[]): LiveClusterPolicies => ({
  kind: 'listed',
  items,
});

const T0 = '2030-01-01T00:00:00Z';

describe('policyStatusOf', () => {
  const rows: {
    name: string;
    nodes: NodeFirewallObject[];
    policies: PolicyObject[];
    want: Partial<PolicyStatus>;
  }[] = [
    {
      name: 'a policy applied on every node that carries it is Enforced since the latest apply',
      nodes: [
        nfw('n1', 'applied', ['shop/web'], '2030-01-01T00:00:02Z'),
        nfw('n2', 'applied', ['shop/web'], '2030-01-01T00:00:05Z'),
        nfw('n3', 'applied', []),
      ],
      policies: [pol('shop/web', { created: T0 })],
      want: {
        state: 'Enforced',
        mustEnforce: ['n1', 'n2'],
        enforcing: ['n1', 'n2'],
        pending: [],
        failing: [],
        since: '2030-01-01T00:00:05Z',
        changedAt: T0,
        changedFrom: 'creationTimestamp',
        timeToEnforceSeconds: 5,
      },
    },
    {
      name: 'a node whose Applied is False for the current generation is failing with reason and first line',
      nodes: [nfw('n1', 'applied', ['shop/web']), nfw('n2', 'failed', ['shop/web'])],
      policies: [pol('shop/web', { created: T0 })],
      want: {
        state: 'Failing',
        enforcing: ['n1'],
        pending: [],
        failing: [
          {
            node: 'n2',
            reason: 'ApplyFailed',
            message: 'Error: Could not process rule: No such file or directory',
          },
        ],
        since: null,
        timeToEnforceSeconds: null,
      },
    },
    {
      name: 'a node that never applied anything is pending, not failing',
      nodes: [nfw('n1', 'never', ['shop/web']), nfw('n2', 'applied', ['shop/web'])],
      policies: [pol('shop/web', { created: T0 })],
      want: { state: 'Pending', enforcing: ['n2'], pending: ['n1'], failing: [], since: null },
    },
    {
      name: 'a node still running an older script is pending',
      nodes: [nfw('n1', 'old', ['shop/web'])],
      policies: [pol('shop/web', { created: T0 })],
      want: { state: 'Pending', enforcing: [], pending: ['n1'] },
    },
    {
      name: 'a failure reported for an older generation is pending, not failing',
      nodes: [nfw('n1', 'staleFailure', ['shop/web'])],
      policies: [pol('shop/web', { created: T0 })],
      want: { state: 'Pending', pending: ['n1'], failing: [] },
    },
    {
      name: 'a policy in no node script selects no pod: NoPods',
      nodes: [nfw('n1', 'applied', ['shop/other'])],
      policies: [pol('shop/web', { created: T0 }), pol('shop/other', { created: T0 })],
      want: { policy: 'shop/web', state: 'NoPods', mustEnforce: [], since: null },
    },
    {
      name: 'a policy still in a script but gone from the API is Deleted',
      nodes: [nfw('n1', 'applied', ['shop/web'])],
      policies: [],
      want: { state: 'Deleted', mustEnforce: ['n1'], changedAt: null, timeToEnforceSeconds: null },
    },
    {
      name: 'the last change is the latest managedFields time',
      nodes: [nfw('n1', 'applied', ['shop/web'], '2030-01-01T00:01:00Z')],
      policies: [
        pol('shop/web', {
          created: T0,
          fields: ['2030-01-01T00:00:30Z', '2030-01-01T00:00:57Z', '2030-01-01T00:00:10Z'],
        }),
      ],
      want: {
        changedAt: '2030-01-01T00:00:57Z',
        changedFrom: 'managedFields',
        timeToEnforceSeconds: 3,
      },
    },
    {
      name: 'a change later than every apply (a label edit) gives no time to enforce',
      nodes: [nfw('n1', 'applied', ['shop/web'], '2030-01-01T00:00:10Z')],
      policies: [pol('shop/web', { created: T0, fields: ['2030-01-01T00:05:00Z'] })],
      want: { state: 'Enforced', since: '2030-01-01T00:00:10Z', timeToEnforceSeconds: null },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const all = policyStatusOf(row.nodes, row.policies);
      const policy = row.want.policy ?? 'shop/web';
      const got = all.find((r) => r.policy === policy);
      assert.ok(got, `no row for ${policy}`);
      for (const [key, value] of Object.entries(row.want)) {
        assert.deepEqual(got[key as keyof PolicyStatus], value, key);
      }
    });
  }

  it('filters by namespace and by name or namespace/name, and sorts rows', () => {
    const nodes = [nfw('n1', 'applied', ['a/x', 'b/x', 'b/y'])];
    const policies = [
      pol('b/y', { created: T0 }),
      pol('b/x', { created: T0 }),
      pol('a/x', { created: T0 }),
    ];
    const names = (f: Parameters<typeof policyStatusOf>[2]) =>
      policyStatusOf(nodes, policies, f).map((r) => r.policy);
    assert.deepEqual(names({}), ['a/x', 'b/x', 'b/y']);
    assert.deepEqual(names({ namespace: 'b' }), ['b/x', 'b/y']);
    assert.deepEqual(names({ policy: 'x' }), ['a/x', 'b/x']);
    assert.deepEqual(names({ namespace: 'b', policy: 'x' }), ['b/x']);
    assert.deepEqual(names({ policy: 'a/x' }), ['a/x']);
  });
});

describe('clusterPolicyStatusOf', () => {
  const GUARD = cnp('guard', 'Admin', 10, { created: T0, fields: ['2030-01-01T00:00:03Z'] });
  const rows: {
    name: string;
    nodes: NodeFirewallObject[];
    clusterPolicies: LiveClusterPolicies;
    want: ClusterPolicyStatus[];
  }[] = [
    {
      name: 'a CNP named cnp:<name> on every node in force is Enforced, with its tier and priority',
      nodes: [
        nfw('n1', 'applied', ['cnp:guard', 'shop/web'], '2030-01-01T00:00:04Z'),
        nfw('n2', 'applied', ['cnp:guard'], '2030-01-01T00:00:05Z'),
        nfw('n3', 'applied', ['shop/web']),
      ],
      clusterPolicies: listed(GUARD),
      want: [
        {
          policy: 'cnp:guard',
          state: 'Enforced',
          mustEnforce: ['n1', 'n2'],
          enforcing: ['n1', 'n2'],
          pending: [],
          failing: [],
          changedAt: '2030-01-01T00:00:03Z',
          changedFrom: 'managedFields',
          since: '2030-01-01T00:00:05Z',
          timeToEnforceSeconds: 2,
          tier: 'Admin',
          priority: 10,
        },
      ],
    },
    {
      name: 'a node on an older script is pending, one failing is failing, as for a NetworkPolicy',
      nodes: [
        nfw('n1', 'old', ['cnp:guard']),
        nfw('n2', 'failed', ['cnp:guard']),
        nfw('n3', 'applied', ['cnp:guard']),
      ],
      clusterPolicies: listed(GUARD),
      want: [
        {
          policy: 'cnp:guard',
          state: 'Failing',
          mustEnforce: ['n1', 'n2', 'n3'],
          enforcing: ['n3'],
          pending: ['n1'],
          failing: [
            {
              node: 'n2',
              reason: 'ApplyFailed',
              message: 'Error: Could not process rule: No such file or directory',
            },
          ],
          changedAt: '2030-01-01T00:00:03Z',
          changedFrom: 'managedFields',
          since: null,
          timeToEnforceSeconds: null,
          tier: 'Admin',
          priority: 10,
        },
      ],
    },
    {
      name: 'a CNP with lines on no node is NoPods; one gone from the API but in a script is Deleted',
      nodes: [nfw('n1', 'applied', ['cnp:gone'])],
      clusterPolicies: listed(cnp('floor', 'Baseline', 0, { created: T0 })),
      want: [
        {
          policy: 'cnp:floor',
          state: 'NoPods',
          mustEnforce: [],
          enforcing: [],
          pending: [],
          failing: [],
          changedAt: T0,
          changedFrom: 'creationTimestamp',
          since: null,
          timeToEnforceSeconds: null,
          tier: 'Baseline',
          priority: 0,
        },
        {
          policy: 'cnp:gone',
          state: 'Deleted',
          mustEnforce: ['n1'],
          enforcing: ['n1'],
          pending: [],
          failing: [],
          changedAt: null,
          changedFrom: null,
          since: '2030-01-01T00:00:10Z',
          timeToEnforceSeconds: null,
          tier: null,
          priority: null,
        },
      ],
    },
    {
      name: 'CNPs that could not be read give no rows, whatever the scripts name',
      nodes: [nfw('n1', 'applied', ['cnp:guard'])],
      clusterPolicies: {
        kind: 'unreadable',
        why: 'the ClusterNetworkPolicy CRD is not installed (404)',
      },
      want: [],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(clusterPolicyStatusOf(row.nodes, row.clusterPolicies), row.want);
    });
  }

  it('orders rows as evaluated: Admin, then Baseline, by priority, then name; Deleted last', () => {
    const nodes = [nfw('n1', 'applied', ['cnp:old', 'cnp:b'])];
    const policies = listed(
      cnp('z-floor', 'Baseline', 1, { created: T0 }),
      cnp('b', 'Admin', 20, { created: T0 }),
      cnp('a-floor', 'Baseline', 1, { created: T0 }),
      cnp('c', 'Admin', 5, { created: T0 }),
      cnp('a', 'Admin', 20, { created: T0 }),
    );
    assert.deepEqual(
      clusterPolicyStatusOf(nodes, policies).map((r) => [r.policy, r.tier, r.priority]),
      [
        ['cnp:c', 'Admin', 5],
        ['cnp:a', 'Admin', 20],
        ['cnp:b', 'Admin', 20],
        ['cnp:a-floor', 'Baseline', 1],
        ['cnp:z-floor', 'Baseline', 1],
        ['cnp:old', null, null],
      ],
    );
  });

  it('keeps NetworkPolicy rows and CNP rows apart, and selects one by cnp:<name>', () => {
    const nodes = [nfw('n1', 'applied', ['cnp:guard', 'shop/web', 'cnp:gone'])];
    const policies = [pol('shop/web', { created: T0 })];
    const cnps = listed(GUARD, cnp('floor', 'Baseline', 0, { created: T0 }));
    const both = (filter: Parameters<typeof clusterPolicyStatusOf>[2]) => [
      policyStatusOf(nodes, policies, filter).map((r) => r.policy),
      clusterPolicyStatusOf(nodes, cnps, filter).map((r) => r.policy),
    ];
    assert.deepEqual(both({}), [['shop/web'], ['cnp:guard', 'cnp:floor', 'cnp:gone']]);
    // -n filters NetworkPolicies only: CNPs are cluster-scoped.
    assert.deepEqual(both({ namespace: 'other' }), [[], ['cnp:guard', 'cnp:floor', 'cnp:gone']]);
    assert.deepEqual(both({ policy: 'cnp:floor' }), [[], ['cnp:floor']]);
    assert.deepEqual(both({ policy: 'web' }), [['shop/web'], []]);
    assert.deepEqual(both({ policy: 'guard' }), [[], []]);
  });

  it('says in JSON whether the CNPs were read, and how many', () => {
    assert.deepEqual(clusterPoliciesReadOf(listed(GUARD)), { readable: true, items: 1 });
    assert.deepEqual(clusterPoliciesReadOf({ kind: 'unreadable', why: '403 Forbidden: no' }), {
      readable: false,
      why: '403 Forbidden: no',
    });
  });
});

describe('nodeStateOf', () => {
  it('requires both the desired hash and Applied=True to call a node enforcing', () => {
    const node = nfw('n1', 'applied', []);
    assert.equal(nodeStateOf(node).kind, 'enforcing');
    const unknown = { ...node, status: { ...node.status, conditions: [] } };
    assert.equal(nodeStateOf(unknown).kind, 'pending');
  });
});

describe('changeTimeOf', () => {
  it('falls back to creationTimestamp, accepts Dates and reports unknown', () => {
    assert.deepEqual(changeTimeOf(pol('a/b', { created: T0 })), {
      at: T0,
      from: 'creationTimestamp',
    });
    assert.deepEqual(
      changeTimeOf({ metadata: { managedFields: [{ time: new Date('2030-01-02T00:00:00Z') }] } }),
      { at: '2030-01-02T00:00:00Z', from: 'managedFields' },
    );
    assert.deepEqual(changeTimeOf({}), { at: null, from: null });
  });
});

describe('nodeStatusOf', () => {
  const now = new Date('2030-01-01T02:00:10Z');
  it('shows conditions, the short applied hash, pods, rules and the age of the last apply', () => {
    const rows = nodeStatusOf(
      [nfw('n2', 'failed', []), nfw('n1', 'applied', []), nfw('n3', 'never', [])],
      now,
    );
    assert.deepEqual(
      rows.map((r) => [r.node, r.applied, r.hash, r.current, r.pods, r.rules, r.ageSeconds]),
      [
        ['n1', 'True', '111111111111', true, 3, 7, 7200],
        ['n2', 'False', '222222222222', false, 3, 7, 7200],
        ['n3', '-', '-', false, 3, 7, null],
      ],
    );
    assert.equal(
      formatNodeStatusText(rows),
      [
        'NAME  APPLIED              INSYNC  SETSREADY  READY  HASH                PODS  RULES  SETS  AGE',
        'n1    True                 -       -          -      111111111111        3     7      0     2h',
        'n2    False (ApplyFailed)  -       -          -      222222222222 (old)  3     7      0     2h',
        'n3    -                    -       -          -      -                   3     7      0     -',
        '',
      ].join('\n'),
    );
  });

  const A = 'pods-aaaaaaaaaaaaaaaa';
  const B = 'port-bbbbbbbbbbbbbbbb';
  const C = 'pods-cccccccccccccccc';
  const setsReady = (status: 'True' | 'False', reason: string, message: string) => ({
    type: 'SetsReady',
    status,
    observedGeneration: 2,
    reason,
    message,
  });
  /** An applied node naming `sets`, with SetsReady when given. */
  function withSets(name: string, sets: string[] | undefined, ready?: object): NodeFirewallObject {
    const base = nfw(name, 'applied', []);
    return {
      ...base,
      spec: { ...base.spec, ...(sets === undefined ? {} : { addressSets: sets }) },
      status: {
        ...base.status,
        conditions: [...(base.status?.conditions ?? []), ...(ready === undefined ? [] : [ready])],
      },
    };
  }
  const slice = (setId: string, index: number): AddressSetObject => ({
    metadata: { name: `${setId}-${index}`, labels: { 'nftpol.io/set': setId } },
    spec: { setId, members: [] },
  });
  const NODES = [
    withSets(
      'n1',
      [A, B],
      setsReady('True', 'SetsReady', 'every AddressSet the script uses is loaded'),
    ),
    withSets(
      'n2',
      [A, C],
      setsReady(
        'False',
        'SetsMissing',
        `1 AddressSet not found after waiting, loaded empty (their peers match nothing until they arrive): ${C}\nsecond line`,
      ),
    ),
    withSets('n3', undefined),
  ];
  const LISTED: LiveSets = { kind: 'listed', slices: [slice(A, 0), slice(A, 1), slice(B, 0)] };

  const rows: {
    name: string;
    sets: LiveSets | null;
    want: Pick<NodeStatusRow, 'node' | 'sets' | 'setsReady' | 'setsReadyReason' | 'missingSets'>[];
  }[] = [
    {
      name: 'counts the sets each node names and lists those with no slice at all',
      sets: LISTED,
      want: [
        { node: 'n1', sets: 2, setsReady: 'True', setsReadyReason: 'SetsReady', missingSets: [] },
        {
          node: 'n2',
          sets: 2,
          setsReady: 'False',
          setsReadyReason: 'SetsMissing',
          missingSets: [C],
        },
        { node: 'n3', sets: 0, setsReady: '-', setsReadyReason: null, missingSets: [] },
      ],
    },
    {
      name: 'AddressSets not read: missing sets unknown (null), the rest as before',
      sets: { kind: 'unreadable', why: '403 Forbidden: no' },
      want: [
        { node: 'n1', sets: 2, setsReady: 'True', setsReadyReason: 'SetsReady', missingSets: null },
        {
          node: 'n2',
          sets: 2,
          setsReady: 'False',
          setsReadyReason: 'SetsMissing',
          missingSets: null,
        },
        { node: 'n3', sets: 0, setsReady: '-', setsReadyReason: null, missingSets: null },
      ],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = nodeStatusOf(NODES, now, row.sets).map((r) => ({
        node: r.node,
        sets: r.sets,
        setsReady: r.setsReady,
        setsReadyReason: r.setsReadyReason,
        missingSets: r.missingSets,
      }));
      assert.deepEqual(got, row.want);
    });
  }

  it('prints SetsReady and SETS, then SetsReady False with its message and the missing sets', () => {
    assert.equal(
      formatNodeStatusText(nodeStatusOf(NODES, now, LISTED), LISTED),
      [
        'NAME  APPLIED  INSYNC  SETSREADY            READY  HASH          PODS  RULES  SETS  AGE',
        'n1    True     -       True                 -      111111111111  3     7      2     2h',
        'n2    True     -       False (SetsMissing)  -      111111111111  3     7      2     2h',
        'n3    True     -       -                    -      111111111111  3     7      0     2h',
        '',
        `n2: SetsReady False: SetsMissing: 1 AddressSet not found after waiting, loaded empty (their peers match nothing until they arrive): ${C}`,
        `n2: missing sets: ${C}`,
        '',
      ].join('\n'),
    );
  });

  it('says in one line that AddressSets could not be read, and lists five missing sets at most', () => {
    const many = Array.from({ length: 7 }, (_, i) => `pods-${String(i).padStart(16, '0')}`);
    const refused: LiveSets = { kind: 'unreadable', why: '403 Forbidden: no' };
    const node = [withSets('n1', many)];
    assert.equal(
      formatNodeStatusText(nodeStatusOf(node, now, refused), refused)
        .split('\n')
        .slice(3)
        .join('\n'),
      'AddressSets not read (403 Forbidden: no): missing sets are not shown\n',
    );
    const none: LiveSets = { kind: 'listed', slices: [] };
    assert.equal(
      formatNodeStatusText(nodeStatusOf(node, now, none), none)
        .split('\n')
        .slice(3)
        .join('\n'),
      `n1: missing sets: ${many.slice(0, 5).join(', ')} and 2 more (-o json lists all)\n`,
    );
    assert.equal(
      formatNodeStatusText([], refused),
      'No NodeFirewalls found.\nAddressSets not read (403 Forbidden: no): missing sets are not shown\n',
    );
  });

  it('JSON carries the rows and whether the AddressSets were read', () => {
    const json = JSON.parse(
      formatStatusJson({
        nodes: nodeStatusOf(NODES, now, LISTED),
        addressSets: addressSetsReadOf(LISTED),
      }),
    ) as { nodes: NodeStatusRow[]; addressSets: unknown };
    assert.deepEqual(json.addressSets, { readable: true, slices: 3 });
    assert.deepEqual(json.nodes[1]?.missingSets, [C]);
    assert.equal(
      json.nodes[1]?.setsReadyMessage,
      `1 AddressSet not found after waiting, loaded empty (their peers match nothing until they arrive): ${C}`,
    );
    assert.deepEqual(addressSetsReadOf({ kind: 'unreadable', why: 'x' }), {
      readable: false,
      why: 'x',
    });
  });
});

describe('formatPolicyStatusText', () => {
  it('prints the table, then a line per failing node and per policy with pending nodes', () => {
    const rows = policyStatusOf(
      [
        nfw('n1', 'applied', ['shop/web', 'shop/db'], '2030-01-01T00:00:02Z'),
        nfw('n2', 'failed', ['shop/db']),
        nfw('n3', 'never', ['shop/db']),
      ],
      [pol('shop/web', { created: T0 }), pol('shop/db', { created: T0 })],
    );
    assert.equal(
      formatPolicyStatusText(rows),
      [
        'POLICY    STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'shop/db   Failing   1/3       1        -                     -',
        'shop/web  Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        '',
        'shop/db: failing on n2: ApplyFailed: Error: Could not process rule: No such file or directory',
        'shop/db: pending on n3',
        '',
      ].join('\n'),
    );
  });

  const NODES = [
    nfw('n1', 'applied', ['cnp:guard', 'shop/web', 'cnp:floor'], '2030-01-01T00:00:02Z'),
    nfw('n2', 'never', ['cnp:floor']),
  ];
  const CNPS = listed(
    cnp('floor', 'Baseline', 100, { created: T0 }),
    cnp('guard', 'Admin', 10, { created: T0 }),
  );
  const NOT_INSTALLED: LiveClusterPolicies = {
    kind: 'unreadable',
    why: 'the ClusterNetworkPolicy CRD is not installed (404)',
  };
  const rows: {
    name: string;
    nodes?: NodeFirewallObject[];
    policies: PolicyObject[];
    clusterPolicies: LiveClusterPolicies | null;
    filter?: Parameters<typeof policyStatusOf>[2];
    want: string[];
  }[] = [
    {
      name: 'prints the CNP table, with tier and priority, before the NetworkPolicy table',
      policies: [pol('shop/web', { created: T0 })],
      clusterPolicies: CNPS,
      want: [
        'POLICY     TIER      PRIORITY  STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'cnp:guard  Admin     10        Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        'cnp:floor  Baseline  100       Pending   1/2       0        -                     -',
        '',
        'POLICY    STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'shop/web  Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        '',
        'cnp:floor: pending on n2',
        '',
      ],
    },
    {
      name: 'without the CRD: the NetworkPolicy table as before, and one line saying so',
      policies: [pol('shop/web', { created: T0 })],
      clusterPolicies: NOT_INSTALLED,
      want: [
        'POLICY    STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'shop/web  Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        '',
        'ClusterNetworkPolicies not read (the ClusterNetworkPolicy CRD is not installed (404)): only NetworkPolicies are shown',
        '',
      ],
    },
    {
      name: 'listing CNPs forbidden and no NetworkPolicies: says both in two lines',
      nodes: [],
      policies: [],
      clusterPolicies: { kind: 'unreadable', why: '403 Forbidden: no' },
      want: [
        'No NetworkPolicies found.',
        'ClusterNetworkPolicies not read (403 Forbidden: no): only NetworkPolicies are shown',
        '',
      ],
    },
    {
      name: 'CNPs and no NetworkPolicies: the CNP table alone',
      policies: [],
      clusterPolicies: CNPS,
      filter: { policy: 'cnp:guard' },
      want: [
        'POLICY     TIER   PRIORITY  STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'cnp:guard  Admin  10        Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        '',
      ],
    },
    {
      name: 'one NetworkPolicy selected (CNPs not listed): its table alone, no line about CNPs',
      policies: [pol('shop/web', { created: T0 })],
      clusterPolicies: null,
      filter: { policy: 'shop/web' },
      want: [
        'POLICY    STATE     IN FORCE  FAILING  SINCE                 TIME TO ENFORCE',
        'shop/web  Enforced  1/1       0        2030-01-01T00:00:02Z  2s',
        '',
      ],
    },
    {
      name: 'neither kind: says none of either was found',
      nodes: [nfw('n1', 'applied', [])],
      policies: [],
      clusterPolicies: listed(),
      want: ['No NetworkPolicies or ClusterNetworkPolicies found.', ''],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const nodes = row.nodes ?? NODES;
      const filter = row.filter ?? {};
      const cnps = row.clusterPolicies;
      assert.equal(
        formatPolicyStatusText(
          policyStatusOf(nodes, row.policies, filter),
          cnps === null ? [] : clusterPolicyStatusOf(nodes, cnps, filter),
          cnps,
        ),
        row.want.join('\n'),
      );
    });
  }

  it('JSON carries both kinds of rows and whether the CNPs were read', () => {
    const json = JSON.parse(
      formatStatusJson({
        policies: policyStatusOf(NODES, [pol('shop/web', { created: T0 })]),
        clusterPolicies: clusterPolicyStatusOf(NODES, NOT_INSTALLED),
        clusterPoliciesRead: clusterPoliciesReadOf(NOT_INSTALLED),
      }),
    ) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['policies', 'clusterPolicies', 'clusterPoliciesRead']);
    assert.deepEqual(json['clusterPolicies'], []);
    assert.deepEqual(json['clusterPoliciesRead'], {
      readable: false,
      why: 'the ClusterNetworkPolicy CRD is not installed (404)',
    });
  });
});
