/**
 * explain-sets: the shared sets behind an explain verdict (which rule's
 * peer, which set id, which element the other end would be) and their live
 * membership as printed after `explain --kubeconfig`. A table of questions
 * about one small cluster: an allowing pods peer (only the peer that
 * matched), an egress numbered port (pods set), an egress named port (port
 * set, `ip . proto . port`), a named port on a rule without `to`, an ipBlock
 * (no set), and a denial (every pods peer of the rules whose ports match).
 * Then the same cluster with ClusterNetworkPolicies: the Admin or Baseline
 * rule that decided names its peer's set (`clusterPeerSet`) or, for an
 * egress destinationNamedPort, its named-port set (`clusterNamedPortSet`),
 * only the peer that matched, whether it accepted or denied; a networks
 * peer, a rule that fails closed and a Pass name none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  explainQuery,
  type Endpoint,
  type ExplainOptions,
} from '../../../src/cli/commands/explain.js';
import {
  decidingSetsOf,
  formatLiveSets,
  liveSetChecksOf,
  liveSetsJson,
  type DecidingSet,
} from '../../../src/cli/explain-sets.js';
import type { AddressSetObject, LiveSets } from '../../../src/cli/live-sets.js';
import type { Cluster, ClusterPeer, Policy, Protocol } from '../../../src/policy/model.js';
import {
  clusterNamedPortSet,
  clusterPeerSet,
  namedPortSet,
  podsPeerSet,
} from '../../../src/policy/peer-sets.js';
import {
  cluster,
  clusterNamedPort,
  clusterNamespaces,
  clusterNetworks,
  clusterPods,
  clusterPolicy,
  clusterPort,
  clusterRule,
  ipBlock,
  named,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  withClusterPolicies,
} from '../../support/builders.js';

const WEB_IN = policy('a/web-in', {
  podSelector: sel({ app: 'web' }),
  ingress: [
    rule([podPeer(sel({ app: 'client' })), podPeer(sel({ app: 'other' }))], [port('http')]),
    rule([ipBlock('10.0.0.0/24')], [port(9999)]),
  ],
});
const CLIENT_OUT = policy('a/client-out', {
  podSelector: sel({ app: 'client' }),
  policyTypes: ['egress'],
  egress: [
    rule([nsPeer(sel({ 'kubernetes.io/metadata.name': 'b' }), sel({ app: 'db' }))], [port('sql')]),
    rule([podPeer(sel({ app: 'web' }))], [port(8080)]),
    rule(null, [port('dns', 'UDP')]),
  ],
});
const CLUSTER = cluster(
  [ns('a'), ns('b')],
  [
    pod('a/web', { app: 'web' }, { ips: ['10.0.0.1'], ports: [named('http', 8080)] }),
    pod('a/client', { app: 'client' }, { ips: ['10.0.0.2'] }),
    pod('a/other', { app: 'other' }, { ips: ['10.0.0.3'] }),
    pod(
      'b/db',
      { app: 'db' },
      { ips: ['10.0.0.4'], ports: [named('sql', 5432), named('dns', 53, 'UDP')] },
    ),
  ],
  [WEB_IN, CLIENT_OUT],
);

/** The id of the pods set of peer `i` of rule `r` of `p`, as the controller names it. */
function podsSetOf(p: Policy, direction: 'ingress' | 'egress', r: number, i: number): string {
  const peer = p[direction][r]?.peers?.[i];
  assert.ok(peer?.kind === 'pods');
  return podsPeerSet(p, peer).id;
}
const CLIENT_SET = podsSetOf(WEB_IN, 'ingress', 0, 0);
const OTHER_SET = podsSetOf(WEB_IN, 'ingress', 0, 1);
const WEB_SET = podsSetOf(CLIENT_OUT, 'egress', 1, 0);
const SQL_SET = namedPortSet(CLIENT_OUT, CLIENT_OUT.egress[0]!.peers![0]!, 'sql', 'TCP').id;
const DNS_SET = namedPortSet(CLIENT_OUT, null, 'dns', 'UDP').id;

function ask(
  from: string,
  to: string,
  p: number | string,
  protocol: Protocol = 'TCP',
  within: Cluster = CLUSTER,
) {
  const end = (text: string): Endpoint => {
    const [namespace = '', name = ''] = text.split('/');
    return { kind: 'pod', namespace, name };
  };
  const options: ExplainOptions = {
    files: [],
    from: end(from),
    to: end(to),
    port: p,
    protocol,
    family: null,
    output: 'text',
  };
  return explainQuery(within, options);
}

const ref = (policyName: string, direction: 'ingress' | 'egress', index: number) => ({
  policy: policyName,
  direction,
  rule: index,
});

describe('decidingSetsOf', () => {
  const rows: {
    name: string;
    question: Parameters<typeof ask>;
    want: DecidingSet[];
  }[] = [
    {
      name: 'an allowing rule shows the set of the peer that matched, not its other peers',
      question: ['a/client', 'a/web', 'http'],
      want: [
        {
          direction: 'egress',
          rule: ref('a/client-out', 'egress', 1),
          decided: 'allowed',
          setId: WEB_SET,
          member: '10.0.0.1',
          memberInInput: true,
        },
        {
          direction: 'ingress',
          rule: ref('a/web-in', 'ingress', 0),
          decided: 'allowed',
          setId: CLIENT_SET,
          member: '10.0.0.2',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'an egress named port is decided by its port set, member ip . proto . port',
      question: ['a/client', 'b/db', 'sql'],
      want: [
        {
          direction: 'egress',
          rule: ref('a/client-out', 'egress', 0),
          decided: 'allowed',
          setId: SQL_SET,
          member: '10.0.0.4 . tcp . 5432',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'a named port on a rule without to has a set of any destination',
      question: ['a/client', 'b/db', 'dns', 'UDP'],
      want: [
        {
          direction: 'egress',
          rule: ref('a/client-out', 'egress', 2),
          decided: 'allowed',
          setId: DNS_SET,
          member: '10.0.0.4 . udp . 53',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'a rule allowing by ipBlock names no shared set',
      question: ['a/other', 'a/web', 9999],
      want: [],
    },
    {
      name: 'a denial shows every pods peer of the rules whose ports match, none of the others',
      question: ['b/db', 'a/web', 8080],
      want: [CLIENT_SET, OTHER_SET].map((setId) => ({
        direction: 'ingress' as const,
        rule: ref('a/web-in', 'ingress', 0),
        decided: 'denied' as const,
        setId,
        member: '10.0.0.4',
        memberInInput: false,
      })),
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(decidingSetsOf(CLUSTER, ask(...row.question)), row.want);
    });
  }
});

const NS_A = sel({ 'kubernetes.io/metadata.name': 'a' });
const NS_B = sel({ 'kubernetes.io/metadata.name': 'b' });
const FROM_CLIENT = clusterPods(NS_A, sel({ app: 'client' }));
const ANY_POD = clusterNamespaces();
const TO_DB = clusterPods(NS_B, sel({ app: 'db' }));
const TIERED = withClusterPolicies(
  CLUSTER,
  clusterPolicy('web-guard', {
    priority: 1,
    subject: { namespaceSelector: NS_A, podSelector: sel({ app: 'web' }) },
    ingress: [
      // http: an ingress named port, resolved on web itself (8080).
      clusterRule('Accept', [FROM_CLIENT], [clusterNamedPort('http')]),
      clusterRule('Deny', [ANY_POD], [clusterPort(8080), clusterPort(9999)]),
    ],
  }),
  clusterPolicy('client-guard', {
    priority: 2,
    subject: { podSelector: sel({ app: 'client' }) },
    egress: [
      clusterRule('Accept', [ANY_POD, TO_DB], [clusterNamedPort('sql'), clusterPort(6000)]),
      clusterRule('Deny', [clusterNetworks('10.0.0.3/32')]),
    ],
  }),
  clusterPolicy('db-floor', {
    tier: 'Baseline',
    subject: { namespaceSelector: NS_B },
    ingress: [
      clusterRule('Pass', [FROM_CLIENT], [clusterPort(5432)]),
      clusterRule('Deny', [ANY_POD], null, { failClosed: 'peer 1: nodes is not supported' }),
    ],
  }),
);
const setOf = (peer: ClusterPeer): string => {
  assert.ok(peer.kind === 'pods');
  return clusterPeerSet(peer).id;
};
const portSetOf = (peer: ClusterPeer, name: string): string => {
  assert.ok(peer.kind === 'pods');
  return clusterNamedPortSet(peer, name).id;
};

describe('decidingSetsOf, when a ClusterNetworkPolicy rule decides', () => {
  const rows: {
    name: string;
    question: Parameters<typeof ask>;
    want: DecidingSet[];
  }[] = [
    {
      name: "an Admin Accept by a pods peer on an ingress named port: that peer's set, beside the NetworkPolicy egress",
      question: ['a/client', 'a/web', 'http', 'TCP', TIERED],
      want: [
        {
          direction: 'egress',
          rule: ref('a/client-out', 'egress', 1),
          decided: 'allowed',
          setId: WEB_SET,
          member: '10.0.0.1',
          memberInInput: true,
        },
        {
          direction: 'ingress',
          rule: ref('cnp:web-guard', 'ingress', 0),
          decided: 'allowed',
          setId: setOf(FROM_CLIENT),
          member: '10.0.0.2',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'an Admin Deny names the set of the peer that matched, as denied',
      question: ['a/other', 'a/web', 9999, 'TCP', TIERED],
      want: [
        {
          direction: 'ingress',
          rule: ref('cnp:web-guard', 'ingress', 1),
          decided: 'denied',
          setId: setOf(ANY_POD),
          member: '10.0.0.3',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'an egress destinationNamedPort: the named-port set of each pods peer holding ip . proto . port',
      question: ['a/client', 'b/db', 'sql', 'TCP', TIERED],
      want: [ANY_POD, TO_DB].map((peer) => ({
        direction: 'egress' as const,
        rule: ref('cnp:client-guard', 'egress', 0),
        decided: 'allowed' as const,
        setId: portSetOf(peer, 'sql'),
        member: '10.0.0.4 . tcp . 5432',
        memberInInput: true,
      })),
    },
    {
      name: 'an egress numbered port of the same rule: the pods set of the peer that matched',
      question: ['a/client', 'a/web', 6000, 'TCP', TIERED],
      want: [
        {
          direction: 'egress',
          rule: ref('cnp:client-guard', 'egress', 0),
          decided: 'allowed',
          setId: setOf(ANY_POD),
          member: '10.0.0.1',
          memberInInput: true,
        },
      ],
    },
    {
      name: 'an Admin Deny by a networks peer names no set',
      question: ['a/client', 'a/other', 80, 'TCP', TIERED],
      want: [],
    },
    {
      name: 'a Baseline rule that fails closed names no set',
      question: ['a/other', 'b/db', 'sql', 'TCP', TIERED],
      want: [],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(decidingSetsOf(TIERED, ask(...row.question)), row.want);
    });
  }

  it("prints a tier rule's set as cnp:<name> <direction> rule <i>", () => {
    const live: LiveSets = {
      kind: 'listed',
      slices: [slice(WEB_SET, 0, ['10.0.0.1']), slice(setOf(FROM_CLIENT), 0, [])],
    };
    const checks = liveSetChecksOf(
      decidingSetsOf(TIERED, ask('a/client', 'a/web', 'http', 'TCP', TIERED)),
      live,
    );
    assert.equal(
      formatLiveSets(checks, live),
      [
        'live sets (AddressSets as the API holds them now):',
        `  a/client-out egress rule 1: live set ${WEB_SET}: 10.0.0.1 is a member (slice ${WEB_SET}-0)`,
        `  cnp:web-guard ingress rule 0: live set ${setOf(FROM_CLIENT)}: 10.0.0.2 is NOT a member yet: the controller has not written it, or the pod is not enforceable`,
        '',
      ].join('\n'),
    );
  });
});

function slice(setId: string, index: number, members: string[]): AddressSetObject {
  return {
    metadata: { name: `${setId}-${index}`, labels: { 'nftpol.io/set': setId } },
    spec: { setId, members },
  };
}

describe('formatLiveSets', () => {
  it('says, per deciding set, whether the other end is a member and in which slice', () => {
    const live: LiveSets = {
      kind: 'listed',
      slices: [slice(WEB_SET, 0, ['10.0.0.7']), slice(WEB_SET, 1, ['10.0.0.1'])],
    };
    const checks = liveSetChecksOf(decidingSetsOf(CLUSTER, ask('a/client', 'a/web', 'http')), live);
    assert.equal(
      formatLiveSets(checks, live),
      [
        'live sets (AddressSets as the API holds them now):',
        `  a/client-out egress rule 1: live set ${WEB_SET}: 10.0.0.1 is a member (slice ${WEB_SET}-1)`,
        `  a/web-in ingress rule 0: live set ${CLIENT_SET}: no AddressSet slice at all: the controller has not written this set, and nodes load it empty (its peer matches nothing)`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(liveSetsJson(checks, live).checks[0]?.live, {
      kind: 'member',
      slice: `${WEB_SET}-1`,
    });
  });

  it('tells a member the controller has not written yet from one the input does not expect', () => {
    const live: LiveSets = {
      kind: 'listed',
      slices: [slice(SQL_SET, 0, []), slice(CLIENT_SET, 0, ['10.0.0.4']), slice(OTHER_SET, 0, [])],
    };
    const text = (...q: Parameters<typeof ask>): string =>
      formatLiveSets(liveSetChecksOf(decidingSetsOf(CLUSTER, ask(...q)), live), live);
    assert.equal(
      text('a/client', 'b/db', 'sql'),
      [
        'live sets (AddressSets as the API holds them now):',
        `  a/client-out egress rule 0: live set ${SQL_SET}: 10.0.0.4 . tcp . 5432 is NOT a member yet: the controller has not written it, or the pod is not enforceable`,
        '',
      ].join('\n'),
    );
    assert.equal(
      text('b/db', 'a/web', 8080),
      [
        'live sets (AddressSets as the API holds them now):',
        `  a/web-in ingress rule 0: live set ${CLIENT_SET}: 10.0.0.4 is a member (slice ${CLIENT_SET}-0), though by the input it is not: the cluster differs from the input`,
        `  a/web-in ingress rule 0: live set ${OTHER_SET}: 10.0.0.4 is not a member, as in the input`,
        '',
      ].join('\n'),
    );
  });

  it('says in one line that no set decides, or that AddressSets could not be read', () => {
    const listed: LiveSets = { kind: 'listed', slices: [] };
    assert.equal(
      formatLiveSets(liveSetChecksOf([], listed), listed),
      'live sets: no rule deciding this connection names a shared set\n',
    );
    const refused: LiveSets = { kind: 'unreadable', why: '403 Forbidden: no' };
    const checks = liveSetChecksOf(
      decidingSetsOf(CLUSTER, ask('a/client', 'b/db', 'sql')),
      refused,
    );
    assert.equal(
      formatLiveSets(checks, refused),
      'AddressSets not read (403 Forbidden: no): set membership is not shown\n',
    );
    assert.deepEqual(liveSetsJson(checks, refused), {
      readable: false,
      why: '403 Forbidden: no',
      checks: [{ ...checks[0], live: null }],
    });
  });

  it('shows five sets per side and counts the rest', () => {
    const many: DecidingSet[] = Array.from({ length: 7 }, (_, i) => ({
      direction: 'ingress',
      rule: ref('a/p', 'ingress', i),
      decided: 'denied',
      setId: `pods-${String(i).padStart(16, '0')}`,
      member: '10.0.0.4',
      memberInInput: false,
    }));
    const live: LiveSets = { kind: 'listed', slices: many.map((d) => slice(d.setId, 0, [])) };
    const lines = formatLiveSets(liveSetChecksOf(many, live), live).split('\n');
    assert.equal(lines.length, 1 + 5 + 1 + 1);
    assert.equal(lines[6], '  and 2 more ingress sets (-o json lists all)');
  });
});
