/**
 * cluster-policy-from-k8s: ClusterNetworkPolicy JSON → ClusterPolicy as the
 * contract (issue 14) says. One table row per validation rule, each error
 * checked exactly (field and message); one row per fail-closed case, with
 * its warning and the rule's `failClosed`; conversion rows; the
 * equal-priority warning; and loading through clusterFromObjects, where an
 * invalid ClusterNetworkPolicy does not stop the others.
 *
 * The validation table checks its own coverage: every rule of the contract
 * has a row.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  clusterPolicyFromK8s,
  equalPriorityWarnings,
} from '../../../src/policy/cluster-policy-from-k8s.js';
import { clusterFromObjects, type LoadResult, type Problem } from '../../../src/policy/from-k8s.js';
import type {
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  LabelSelector,
} from '../../../src/policy/model.js';
import { expr, sel } from '../../support/builders.js';

// ---- inputs and expected values, kept short

type Json = Record<string, unknown>;

const API_VERSION = 'policy.networking.k8s.io/v1alpha2';
const EVERYTHING = sel();

/** A ClusterNetworkPolicy as YAML gives it; `spec` overrides a minimal valid one. */
function k8sCnp(name: string, spec: Json = {}, extra: Json = {}): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: { tier: 'Admin', priority: 10, subject: { namespaces: {} }, ...spec },
    ...extra,
  };
}

/** An ingress (`from`) rule. */
const inRule = (action: string, from: unknown[], more: Json = {}): Json => ({
  action,
  from,
  ...more,
});
/** An egress (`to`) rule. */
const outRule = (action: string, to: unknown[], more: Json = {}): Json => ({ action, to, ...more });
const tcp = (number: number): Json => ({ tcp: { destinationPort: { number } } });
const ALL_NS = { namespaces: {} };

/** The ClusterPolicy `name` with the defaults of {@link k8sCnp}, overridden. */
function cnp(name: string, over: Partial<ClusterPolicy> = {}): ClusterPolicy {
  return {
    name,
    tier: 'Admin',
    priority: 10,
    subject: { namespaceSelector: EVERYTHING, podSelector: EVERYTHING },
    ingress: [],
    egress: [],
    ...over,
  };
}

function cRule(
  action: ClusterRule['action'],
  peers: ClusterPeer[],
  over: Partial<ClusterRule> = {},
): ClusterRule {
  return { name: '', action, peers, ports: null, failClosed: null, ...over };
}

const podsPeer = (
  namespaceSelector: LabelSelector,
  podSelector: LabelSelector = EVERYTHING,
): ClusterPeer => ({ kind: 'pods', namespaceSelector, podSelector });
const nets = (...cidrs: string[]): ClusterPeer => ({ kind: 'networks', cidrs });
const portOf = (
  first: number,
  protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP',
  last = first,
): ClusterPort => ({ kind: 'port', protocol, first, last });

const OBJECT = 'ClusterNetworkPolicy guard';
const SOURCE = 'in.yaml#1';
const error = (field: string, message: string, object = OBJECT, source = SOURCE): Problem => ({
  severity: 'error',
  source,
  object,
  field,
  message,
});
const warning = (field: string, message: string, object = OBJECT, source = SOURCE): Problem => ({
  severity: 'warning',
  source,
  object,
  field,
  message,
});

/** Loads objects with sources `in.yaml#1`, `in.yaml#2`, … */
function load(...objects: unknown[]): LoadResult {
  return clusterFromObjects(objects.map((object, i) => ({ source: `in.yaml#${i + 1}`, object })));
}

// ---- conversion

describe('clusterPolicyFromK8s converts a valid ClusterNetworkPolicy', () => {
  const rows: { name: string; spec: Json; want: ClusterPolicy; warnings?: Problem[] }[] = [
    {
      name: 'a namespaces subject selects every pod of those namespaces (empty podSelector)',
      spec: { subject: { namespaces: { matchLabels: { team: 'payments' } } } },
      want: cnp('guard', {
        subject: { namespaceSelector: sel({ team: 'payments' }), podSelector: EVERYTHING },
      }),
    },
    {
      name: 'a pods subject keeps both selectors',
      spec: {
        tier: 'Baseline',
        priority: 0,
        subject: {
          pods: {
            namespaceSelector: { matchLabels: { team: 'shop' } },
            podSelector: {
              matchExpressions: [{ key: 'app', operator: 'In', values: ['cart'] }],
            },
          },
        },
      },
      want: cnp('guard', {
        tier: 'Baseline',
        priority: 0,
        subject: {
          namespaceSelector: sel({ team: 'shop' }),
          podSelector: sel({}, expr('app', 'In', 'cart')),
        },
      }),
    },
    {
      name: 'a pods subject without namespaceSelector covers every namespace',
      spec: { priority: 1000, subject: { pods: { podSelector: { matchLabels: { app: 'db' } } } } },
      want: cnp('guard', {
        priority: 1000,
        subject: { namespaceSelector: EVERYTHING, podSelector: sel({ app: 'db' }) },
      }),
    },
    {
      name: 'rules keep their order, names and actions; a namespaces peer has the empty podSelector',
      spec: {
        ingress: [
          inRule(
            'Accept',
            [
              {
                pods: {
                  namespaceSelector: { matchLabels: { team: 'shop' } },
                  podSelector: { matchLabels: { app: 'checkout' } },
                },
              },
            ],
            { name: 'from-checkout' },
          ),
          inRule('Pass', [{ namespaces: { matchLabels: { team: 'payments' } } }]),
          inRule('Deny', [ALL_NS], { name: 'everyone-else' }),
        ],
      },
      want: cnp('guard', {
        ingress: [
          cRule('Accept', [podsPeer(sel({ team: 'shop' }), sel({ app: 'checkout' }))], {
            name: 'from-checkout',
          }),
          cRule('Pass', [podsPeer(sel({ team: 'payments' }))]),
          cRule('Deny', [podsPeer(EVERYTHING)], { name: 'everyone-else' }),
        ],
      }),
    },
    {
      name: 'a pods peer without namespaceSelector matches pods in every namespace',
      spec: { ingress: [inRule('Deny', [{ pods: { podSelector: {} } }])] },
      want: cnp('guard', { ingress: [cRule('Deny', [podsPeer(EVERYTHING, EVERYTHING)])] }),
    },
    {
      name: 'networks peers keep their CIDRs, IPv4 and IPv6',
      spec: {
        egress: [outRule('Deny', [{ networks: ['169.254.169.254/32', 'fd00:ec2::254/128'] }])],
      },
      want: cnp('guard', {
        egress: [cRule('Deny', [nets('169.254.169.254/32', 'fd00:ec2::254/128')])],
      }),
    },
    {
      name: 'a CIDR with host bits loads with a warning, as the API server accepts it',
      spec: { egress: [outRule('Deny', [{ networks: ['10.1.2.3/8'] }], { name: 'ten' })] },
      want: cnp('guard', { egress: [cRule('Deny', [nets('10.1.2.3/8')], { name: 'ten' })] }),
      warnings: [
        warning(
          'spec.egress[0] ("ten"): to[0].networks[0]',
          '"10.1.2.3/8" has host bits set; it is read as "10.0.0.0/8"',
        ),
      ],
    },
    {
      name: 'protocols: numbers and ranges per protocol, and named ports',
      spec: {
        egress: [
          outRule('Accept', [ALL_NS], {
            protocols: [
              tcp(443),
              { udp: { destinationPort: { range: { start: 5000, end: 5100 } } } },
              { sctp: { destinationPort: { number: 9 } } },
              { destinationNamedPort: 'metrics' },
            ],
          }),
        ],
      },
      want: cnp('guard', {
        egress: [
          cRule('Accept', [podsPeer(EVERYTHING)], {
            ports: [
              portOf(443),
              portOf(5000, 'UDP', 5100),
              portOf(9, 'SCTP'),
              { kind: 'named', name: 'metrics' },
            ],
          }),
        ],
      }),
    },
    {
      name: 'absent protocols: ports null (every protocol and port)',
      spec: { ingress: [inRule('Accept', [ALL_NS])] },
      want: cnp('guard', { ingress: [cRule('Accept', [podsPeer(EVERYTHING)], { ports: null })] }),
    },
    {
      name: 'a status from an implementation is ignored',
      spec: {},
      want: cnp('guard'),
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const extra = row.name.includes('status') ? { status: { conditions: [] } } : {};
      const result = clusterPolicyFromK8s(k8sCnp('guard', row.spec, extra), SOURCE);
      assert.deepEqual(result.problems, row.warnings ?? []);
      assert.deepEqual(result.value, row.want);
    });
  }
});

// ---- validation: each row's policy is skipped with exactly these errors

/** The validation rules of the contract; every one must have a row. */
type Check =
  | 'object'
  | 'unknown field'
  | 'name'
  | 'spec'
  | 'tier'
  | 'priority'
  | 'subject'
  | 'selector'
  | 'rule count'
  | 'rule name'
  | 'action'
  | 'peer count'
  | 'peer one field'
  | 'networks'
  | 'protocol count'
  | 'protocol one field'
  | 'destinationPort'
  | 'port number'
  | 'port range'
  | 'named port'
  | 'named port with networks';

const CHECKS: readonly Check[] = [
  'object',
  'unknown field',
  'name',
  'spec',
  'tier',
  'priority',
  'subject',
  'selector',
  'rule count',
  'rule name',
  'action',
  'peer count',
  'peer one field',
  'networks',
  'protocol count',
  'protocol one field',
  'destinationPort',
  'port number',
  'port range',
  'named port',
  'named port with networks',
];

const UNKNOWN = 'unknown fields are rejected because ignoring them could widen access';
const rules = (n: number, rule: Json): Json[] => Array.from({ length: n }, () => rule);

const invalid: {
  name: string;
  check: Check;
  object: unknown;
  errors: Problem[];
}[] = [
  {
    name: 'a document that is not an object',
    check: 'object',
    object: ['x'],
    errors: [error('', 'must be an object', 'ClusterNetworkPolicy <no name>')],
  },
  {
    name: 'an unknown top-level spec field',
    check: 'unknown field',
    object: k8sCnp('guard', { priorty: 5 }),
    errors: [
      error('spec.priorty', `unknown field "priorty" (did you mean "priority"?); ${UNKNOWN}`),
    ],
  },
  {
    name: 'an unknown field in a rule, with a hint for from/to swapped',
    check: 'unknown field',
    object: k8sCnp('guard', { egress: [{ action: 'Deny', from: [ALL_NS] }] }),
    errors: [
      error(
        'spec.egress[0].from',
        `unknown field "from" (egress rules name their peers in "to"); ${UNKNOWN}`,
      ),
      error('spec.egress[0]: to', 'Required value: at least one peer'),
    ],
  },
  {
    name: 'no metadata.name',
    check: 'name',
    object: { ...k8sCnp('guard'), metadata: {} },
    errors: [error('metadata.name', 'is required', 'ClusterNetworkPolicy <no name>')],
  },
  {
    name: 'no spec',
    check: 'spec',
    object: { apiVersion: API_VERSION, kind: 'ClusterNetworkPolicy', metadata: { name: 'guard' } },
    errors: [error('spec', 'Required value: tier, priority and subject')],
  },
  {
    name: 'tier Foo',
    check: 'tier',
    object: k8sCnp('guard', { tier: 'Foo' }),
    errors: [error('spec.tier', 'unknown tier "Foo"; use Admin or Baseline')],
  },
  {
    name: 'tier admin (wrong case) says which one was meant',
    check: 'tier',
    object: k8sCnp('guard', { tier: 'admin' }),
    errors: [error('spec.tier', 'unknown tier "admin"; use "Admin" (case-sensitive)')],
  },
  {
    name: 'no tier',
    check: 'tier',
    object: k8sCnp('guard', { tier: null }),
    errors: [error('spec.tier', 'Required value: Admin or Baseline')],
  },
  {
    name: 'priority 1001',
    check: 'priority',
    object: k8sCnp('guard', { priority: 1001 }),
    errors: [error('spec.priority', 'priority 1001 is out of range 0–1000')],
  },
  {
    name: 'priority -1',
    check: 'priority',
    object: k8sCnp('guard', { priority: -1 }),
    errors: [error('spec.priority', 'priority -1 is out of range 0–1000')],
  },
  {
    name: 'priority 1.5',
    check: 'priority',
    object: k8sCnp('guard', { priority: 1.5 }),
    errors: [error('spec.priority', 'priority 1.5 is not an integer')],
  },
  {
    name: 'priority "5" (a string)',
    check: 'priority',
    object: k8sCnp('guard', { priority: '5' }),
    errors: [error('spec.priority', 'must be an integer 0–1000, not "5"')],
  },
  {
    name: 'no priority',
    check: 'priority',
    object: k8sCnp('guard', { priority: null }),
    errors: [error('spec.priority', 'Required value: an integer 0–1000, lower is evaluated first')],
  },
  {
    name: 'no subject',
    check: 'subject',
    object: k8sCnp('guard', { subject: null }),
    errors: [error('spec.subject', 'Required value: exactly one of namespaces or pods')],
  },
  {
    name: 'a subject with neither namespaces nor pods',
    check: 'subject',
    object: k8sCnp('guard', { subject: {} }),
    errors: [
      error('spec.subject', 'exactly one of namespaces or pods must be set; neither is set'),
    ],
  },
  {
    name: 'a subject with both namespaces and pods',
    check: 'subject',
    object: k8sCnp('guard', { subject: { namespaces: {}, pods: { podSelector: {} } } }),
    errors: [error('spec.subject', 'exactly one of namespaces or pods must be set; both are set')],
  },
  {
    name: 'a pods subject without podSelector',
    check: 'subject',
    object: k8sCnp('guard', { subject: { pods: { namespaceSelector: {} } } }),
    errors: [
      error('spec.subject.pods.podSelector', 'Required value: use podSelector: {} for every pod'),
    ],
  },
  {
    name: 'a selector is checked as a NetworkPolicy selector is (operator)',
    check: 'selector',
    object: k8sCnp('guard', {
      ingress: [
        inRule('Deny', [{ namespaces: { matchExpressions: [{ key: 'a', operator: 'in' }] } }], {
          name: 'x',
        }),
      ],
    }),
    errors: [
      error(
        'spec.ingress[0] ("x"): from[0].namespaces.matchExpressions[0].operator',
        'unknown operator "in"; use In, NotIn, Exists or DoesNotExist',
      ),
    ],
  },
  {
    name: 'a subject selector with an invalid label value',
    check: 'selector',
    object: k8sCnp('guard', { subject: { namespaces: { matchLabels: { team: 'a b' } } } }),
    errors: [
      error(
        'spec.subject.namespaces.matchLabels.team',
        `invalid label value "a b": at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      ),
    ],
  },
  {
    name: '26 ingress rules',
    check: 'rule count',
    object: k8sCnp('guard', { ingress: rules(26, inRule('Deny', [ALL_NS])) }),
    errors: [error('spec.ingress', 'Too many: 26: must have at most 25 rules')],
  },
  {
    name: '26 egress rules',
    check: 'rule count',
    object: k8sCnp('guard', { egress: rules(26, outRule('Deny', [ALL_NS])) }),
    errors: [error('spec.egress', 'Too many: 26: must have at most 25 rules')],
  },
  {
    name: 'a rule name of 101 characters',
    check: 'rule name',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { name: 'n'.repeat(101) })] }),
    errors: [
      error(
        `spec.ingress[0] ("${'n'.repeat(101)}"): name`,
        'Too long: 101 characters: at most 100',
      ),
    ],
  },
  {
    name: 'a rule name that is not a string',
    check: 'rule name',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { name: 7 })] }),
    errors: [error('spec.ingress[0]: name', 'must be a string, not 7')],
  },
  {
    name: 'action Allow (the v1alpha1 name) says to use Accept',
    check: 'action',
    object: k8sCnp('guard', { ingress: [inRule('Allow', [ALL_NS], { name: 'ok' })] }),
    errors: [
      error(
        'spec.ingress[0] ("ok"): action',
        'unknown action "Allow"; use "Accept" ("Allow" is the v1alpha1 AdminNetworkPolicy action)',
      ),
    ],
  },
  {
    name: 'action deny (wrong case)',
    check: 'action',
    object: k8sCnp('guard', { egress: [outRule('deny', [ALL_NS])] }),
    errors: [error('spec.egress[0]: action', 'unknown action "deny"; use "Deny" (case-sensitive)')],
  },
  {
    name: 'no action',
    check: 'action',
    object: k8sCnp('guard', { egress: [{ to: [ALL_NS] }] }),
    errors: [error('spec.egress[0]: action', 'Required value: Accept, Deny or Pass')],
  },
  {
    name: 'a rule with no from',
    check: 'peer count',
    object: k8sCnp('guard', { ingress: [{ action: 'Deny', name: 'x' }] }),
    errors: [error('spec.ingress[0] ("x"): from', 'Required value: at least one peer')],
  },
  {
    name: 'a rule with an empty to',
    check: 'peer count',
    object: k8sCnp('guard', { egress: [outRule('Deny', [])] }),
    errors: [error('spec.egress[0]: to', 'must have at least 1 peer, not an empty list')],
  },
  {
    name: 'a rule with 26 peers',
    check: 'peer count',
    object: k8sCnp('guard', { egress: [outRule('Deny', rules(26, ALL_NS))] }),
    errors: [error('spec.egress[0]: to', 'Too many: 26: must have at most 25 peers')],
  },
  {
    name: 'a peer with two fields',
    check: 'peer one field',
    object: k8sCnp('guard', {
      egress: [outRule('Deny', [{ namespaces: {}, networks: ['10.0.0.0/8'] }], { name: 'x' })],
    }),
    errors: [
      error(
        'spec.egress[0] ("x"): to[0]',
        'exactly one of namespaces, pods, networks, nodes, domainNames may be set in a peer, not namespaces and networks; use separate peers',
      ),
    ],
  },
  {
    name: 'a peer that is not an object',
    check: 'peer one field',
    object: k8sCnp('guard', { ingress: [inRule('Deny', ['everyone'])] }),
    errors: [
      error('spec.ingress[0]: from[0]', 'must be an object with exactly one of namespaces, pods'),
    ],
  },
  {
    name: 'networks with an invalid CIDR',
    check: 'networks',
    object: k8sCnp('guard', { egress: [outRule('Deny', [{ networks: ['10.0.0.0'] }])] }),
    errors: [
      error(
        'spec.egress[0]: to[0].networks[0]',
        '"10.0.0.0" is not a CIDR: add a prefix length, e.g. "10.0.0.0/32"',
      ),
    ],
  },
  {
    name: 'networks empty',
    check: 'networks',
    object: k8sCnp('guard', { egress: [outRule('Deny', [{ networks: [] }])] }),
    errors: [
      error('spec.egress[0]: to[0].networks', 'must have at least 1 CIDR, not an empty list'),
    ],
  },
  {
    name: 'networks with 26 CIDRs',
    check: 'networks',
    object: k8sCnp('guard', {
      egress: [
        outRule('Deny', [{ networks: Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`) }]),
      ],
    }),
    errors: [error('spec.egress[0]: to[0].networks', 'Too many: 26: must have at most 25 CIDRs')],
  },
  {
    name: 'networks with a CIDR twice',
    check: 'networks',
    object: k8sCnp('guard', {
      egress: [outRule('Deny', [{ networks: ['10.0.0.0/8', '10.0.0.0/8'] }])],
    }),
    errors: [error('spec.egress[0]: to[0].networks[1]', 'Duplicate value: "10.0.0.0/8"')],
  },
  {
    name: 'empty protocols',
    check: 'protocol count',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [] })] }),
    errors: [
      error('spec.ingress[0]: protocols', 'must have at least 1 protocol, not an empty list'),
    ],
  },
  {
    name: '26 protocols',
    check: 'protocol count',
    object: k8sCnp('guard', {
      ingress: [inRule('Deny', [ALL_NS], { protocols: rules(26, tcp(80)) })],
    }),
    errors: [error('spec.ingress[0]: protocols', 'Too many: 26: must have at most 25 protocols')],
  },
  {
    name: 'a protocol entry with tcp and udp',
    check: 'protocol one field',
    object: k8sCnp('guard', {
      ingress: [inRule('Deny', [ALL_NS], { protocols: [{ ...tcp(80), udp: tcp(80)['tcp'] }] })],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0]',
        'exactly one of tcp, udp, sctp, destinationNamedPort must be set; tcp and udp are set; use separate entries',
      ),
    ],
  },
  {
    name: 'a protocol entry with no field',
    check: 'protocol one field',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [{}] })] }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0]',
        'exactly one of tcp, udp, sctp, destinationNamedPort must be set; none is set',
      ),
    ],
  },
  {
    name: 'an unknown protocol (icmp)',
    check: 'protocol one field',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [{ icmp: {} }] })] }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].icmp',
        `unknown field "icmp" (a rule without protocols matches every protocol, ICMP included); ${UNKNOWN}`,
      ),
      error(
        'spec.ingress[0]: protocols[0]',
        'exactly one of tcp, udp, sctp, destinationNamedPort must be set; none is set',
      ),
    ],
  },
  {
    name: 'tcp without destinationPort',
    check: 'destinationPort',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [{ tcp: {} }] })] }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].tcp.destinationPort',
        'Required value: a number or a range',
      ),
    ],
  },
  {
    name: 'a destinationPort with number and range',
    check: 'destinationPort',
    object: k8sCnp('guard', {
      ingress: [
        inRule('Deny', [ALL_NS], {
          protocols: [{ udp: { destinationPort: { number: 53, range: { start: 1, end: 2 } } } }],
        }),
      ],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].udp.destinationPort',
        'exactly one of number or range must be set; both are set',
      ),
    ],
  },
  {
    name: 'port number 0',
    check: 'port number',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [tcp(0)] })] }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].tcp.destinationPort.number',
        'port 0 is out of range 1–65535',
      ),
    ],
  },
  {
    name: 'port number 65536',
    check: 'port number',
    object: k8sCnp('guard', { ingress: [inRule('Deny', [ALL_NS], { protocols: [tcp(65536)] })] }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].tcp.destinationPort.number',
        'port 65536 is out of range 1–65535',
      ),
    ],
  },
  {
    name: 'a range whose start is not less than its end (the contract example)',
    check: 'port range',
    object: k8sCnp('guard', {
      egress: [
        outRule('Deny', [ALL_NS], { name: 'deny-dns', protocols: [tcp(53), tcp(53)] }),
        outRule('Deny', [ALL_NS]),
        outRule('Deny', [ALL_NS], {
          name: 'deny-dns',
          protocols: [{ tcp: { destinationPort: { range: { start: 90, end: 80 } } } }],
        }),
      ],
    }),
    errors: [
      error(
        'spec.egress[2] ("deny-dns"): protocols[0].tcp.destinationPort.range',
        'start 90 must be less than end 80',
      ),
    ],
  },
  {
    name: 'a range of one port (start equal to end)',
    check: 'port range',
    object: k8sCnp('guard', {
      ingress: [
        inRule('Deny', [ALL_NS], {
          protocols: [{ sctp: { destinationPort: { range: { start: 80, end: 80 } } } }],
        }),
      ],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].sctp.destinationPort.range',
        'start 80 must be less than end 80',
      ),
    ],
  },
  {
    name: 'a range end out of range and a missing start',
    check: 'port range',
    object: k8sCnp('guard', {
      ingress: [
        inRule('Deny', [ALL_NS], {
          protocols: [{ tcp: { destinationPort: { range: { end: 70000 } } } }],
        }),
      ],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].tcp.destinationPort.range.start',
        'Required value: a port 1–65535',
      ),
      error(
        'spec.ingress[0]: protocols[0].tcp.destinationPort.range.end',
        'end 70000 is out of range 1–65535',
      ),
    ],
  },
  {
    name: 'an invalid named port',
    check: 'named port',
    object: k8sCnp('guard', {
      ingress: [inRule('Deny', [ALL_NS], { protocols: [{ destinationNamedPort: 'HTTP_Alt' }] })],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].destinationNamedPort',
        `invalid port name "HTTP_Alt": at most 15 lower-case letters, digits and '-', with a letter, not starting or ending with '-'`,
      ),
    ],
  },
  {
    name: 'a number as a named port',
    check: 'named port',
    object: k8sCnp('guard', {
      ingress: [inRule('Deny', [ALL_NS], { protocols: [{ destinationNamedPort: '8080' }] })],
    }),
    errors: [
      error(
        'spec.ingress[0]: protocols[0].destinationNamedPort',
        '"8080" is a number; match it with tcp, udp or sctp: destinationPort: {number: 8080}',
      ),
    ],
  },
  {
    name: 'a named port in an egress rule with a networks peer',
    check: 'named port with networks',
    object: k8sCnp('guard', {
      egress: [
        outRule('Accept', [ALL_NS, { networks: ['10.0.0.0/8'] }], {
          name: 'web',
          protocols: [tcp(80), { destinationNamedPort: 'http' }],
        }),
      ],
    }),
    errors: [
      error(
        'spec.egress[0] ("web"): protocols[1].destinationNamedPort',
        'a named port cannot be used in a rule with a networks peer (to[1].networks): only pods have named ports',
      ),
    ],
  },
  {
    name: 'a named port in an egress rule with a nodes peer (which also fails closed)',
    check: 'named port with networks',
    object: k8sCnp('guard', {
      egress: [outRule('Deny', [{ nodes: {} }], { protocols: [{ destinationNamedPort: 'http' }] })],
    }),
    errors: [
      warning(
        'spec.egress[0]: to[0].nodes',
        'nodes peers (experimental) are not supported by nftpol; the rule fails closed: as a Deny rule it denies all traffic',
      ),
      error(
        'spec.egress[0]: protocols[0].destinationNamedPort',
        'a named port cannot be used in a rule with a nodes peer (to[0].nodes): only pods have named ports',
      ),
    ],
  },
];

describe('clusterPolicyFromK8s rejects what the contract rejects, naming the object, rule and field', () => {
  it('every validation rule has a row', () => {
    const covered = new Set(invalid.map((r) => r.check));
    assert.deepEqual(
      CHECKS.filter((c) => !covered.has(c)),
      [],
    );
  });
  for (const row of invalid) {
    it(`${row.check}: ${row.name}`, () => {
      const result = clusterPolicyFromK8s(row.object, SOURCE);
      assert.deepEqual(result.problems, row.errors);
      assert.equal(result.value, null);
    });
  }
});

// ---- fail closed: warnings, never errors; the rule carries the reason

describe('clusterPolicyFromK8s fails closed on peers it cannot honour', () => {
  const rows: {
    name: string;
    rule: Json;
    direction: 'ingress' | 'egress';
    want: ClusterRule;
    warnings: Problem[];
  }[] = [
    {
      name: 'a nodes peer in a Deny rule: the rule denies everything',
      direction: 'egress',
      rule: outRule('Deny', [{ nodes: { matchLabels: { role: 'control-plane' } } }], {
        name: 'no-nodes',
      }),
      want: cRule('Deny', [], {
        name: 'no-nodes',
        failClosed: 'to[0]: nodes peers are not supported',
      }),
      warnings: [
        warning(
          'spec.egress[0] ("no-nodes"): to[0].nodes',
          'nodes peers (experimental) are not supported by nftpol; the rule fails closed: as a Deny rule it denies all traffic',
        ),
      ],
    },
    {
      name: 'a domainNames peer in an Accept rule matches nothing; the supported peers are kept',
      direction: 'egress',
      rule: outRule('Accept', [ALL_NS, { domainNames: ['*.example.com'] }]),
      want: cRule('Accept', [podsPeer(EVERYTHING)], {
        failClosed: 'to[1]: domainNames peers are not supported',
      }),
      warnings: [
        warning(
          'spec.egress[0]: to[1].domainNames',
          'domainNames peers (experimental) are not supported by nftpol; the rule fails closed: as an Accept rule it matches no traffic',
        ),
      ],
    },
    {
      name: 'networks in an ingress peer (the ingress type has no networks)',
      direction: 'ingress',
      rule: inRule('Accept', [{ networks: ['10.0.0.0/8'] }], { name: 'office' }),
      want: cRule('Accept', [], {
        name: 'office',
        failClosed:
          'from[0]: "networks" is not a field of an ingress peer (only egress peers have it)',
      }),
      warnings: [
        warning(
          'spec.ingress[0] ("office"): from[0]',
          '"networks" is not a field of an ingress peer (only egress peers have it); the rule fails closed: as an Accept rule it matches no traffic',
        ),
      ],
    },
    {
      name: 'a peer with only an unknown field (a newer CRD) in a Pass rule denies everything',
      direction: 'egress',
      rule: outRule('Pass', [{ services: { name: 'x' } }]),
      want: cRule('Pass', [], {
        failClosed: 'to[0]: unknown field "services" (a newer CRD?)',
      }),
      warnings: [
        warning(
          'spec.egress[0]: to[0]',
          'unknown field "services" (a newer CRD?); the rule fails closed: as a Pass rule it denies all traffic',
        ),
      ],
    },
    {
      name: 'a misspelt peer field fails closed and suggests the field',
      direction: 'ingress',
      rule: inRule('Deny', [{ namespace: {} }]),
      want: cRule('Deny', [], {
        failClosed: 'from[0]: unknown field "namespace" (did you mean "namespaces"?)',
      }),
      warnings: [
        warning(
          'spec.ingress[0]: from[0]',
          'unknown field "namespace" (did you mean "namespaces"?); the rule fails closed: as a Deny rule it denies all traffic',
        ),
      ],
    },
    {
      name: 'a peer with no field at all',
      direction: 'ingress',
      rule: inRule('Accept', [{}]),
      want: cRule('Accept', [], {
        failClosed: "from[0]: sets no field (a newer CRD's peer that this reader dropped?)",
      }),
      warnings: [
        warning(
          'spec.ingress[0]: from[0]',
          "sets no field (a newer CRD's peer that this reader dropped?); the rule fails closed: as an Accept rule it matches no traffic",
        ),
      ],
    },
    {
      name: 'two unsupported peers: both reasons, one warning each',
      direction: 'egress',
      rule: outRule('Deny', [{ nodes: {} }, { domainNames: ['example.com'] }]),
      want: cRule('Deny', [], {
        failClosed:
          'to[0]: nodes peers are not supported; to[1]: domainNames peers are not supported',
      }),
      warnings: [
        warning(
          'spec.egress[0]: to[0].nodes',
          'nodes peers (experimental) are not supported by nftpol; the rule fails closed: as a Deny rule it denies all traffic',
        ),
        warning(
          'spec.egress[0]: to[1].domainNames',
          'domainNames peers (experimental) are not supported by nftpol; the rule fails closed: as a Deny rule it denies all traffic',
        ),
      ],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const result = clusterPolicyFromK8s(k8sCnp('guard', { [row.direction]: [row.rule] }), SOURCE);
      assert.deepEqual(result.problems, row.warnings);
      assert.deepEqual(result.value, cnp('guard', { [row.direction]: [row.want] }));
    });
  }
});

// ---- equal priorities

describe('equalPriorityWarnings', () => {
  const at = (name: string, tier: ClusterPolicy['tier'], priority: number): ClusterPolicy =>
    cnp(name, { tier, priority });

  it('one warning per group of one tier and priority, naming them in evaluation order', () => {
    const warnings = equalPriorityWarnings([
      at('zeta', 'Admin', 5),
      at('alpha', 'Admin', 5),
      at('mid', 'Admin', 5),
      at('solo', 'Admin', 6),
      at('b', 'Baseline', 5),
      at('a', 'Baseline', 5),
    ]);
    assert.deepEqual(warnings, [
      warning(
        'spec.priority',
        'ClusterNetworkPolicies "alpha", "mid", "zeta" all 3 have tier Admin and priority 5, which leaves their order open; nftpol evaluates them by name: "alpha" before "mid" before "zeta"',
        'ClusterNetworkPolicy alpha',
        '',
      ),
      warning(
        'spec.priority',
        'ClusterNetworkPolicies "a", "b" both have tier Baseline and priority 5, which leaves their order open; nftpol evaluates them by name: "a" before "b"',
        'ClusterNetworkPolicy a',
        '',
      ),
    ]);
  });

  it('the same priority in different tiers is no warning', () => {
    assert.deepEqual(equalPriorityWarnings([at('a', 'Admin', 5), at('b', 'Baseline', 5)]), []);
  });
});

// ---- through the loader

describe('clusterFromObjects loads ClusterNetworkPolicies', () => {
  it('fills clusterPolicies sorted by name; an invalid one is skipped and the others load', () => {
    const result = load(
      k8sCnp('zeta', { priority: 20 }),
      k8sCnp('bad', { tier: 'Foo' }),
      k8sCnp('alpha', { tier: 'Baseline', priority: 20 }),
      k8sCnp('mid', { priority: 30, egress: [outRule('Deny', [{ nodes: {} }])] }),
    );
    assert.deepEqual(result.problems, [
      error(
        'spec.tier',
        'unknown tier "Foo"; use Admin or Baseline',
        'ClusterNetworkPolicy bad',
        'in.yaml#2',
      ),
      warning(
        'spec.egress[0]: to[0].nodes',
        'nodes peers (experimental) are not supported by nftpol; the rule fails closed: as a Deny rule it denies all traffic',
        'ClusterNetworkPolicy mid',
        'in.yaml#4',
      ),
    ]);
    assert.deepEqual(
      result.cluster.clusterPolicies?.map((p) => p.name),
      ['alpha', 'mid', 'zeta'],
    );
  });

  it('an invalid ClusterNetworkPolicy does not stop NetworkPolicies and pods loading', () => {
    const result = load(
      k8sCnp('bad', { priority: 1001 }),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'p', namespace: 'a' },
        spec: { podSelector: {} },
      },
    );
    assert.deepEqual(result.problems, [
      error('spec.priority', 'priority 1001 is out of range 0–1000', 'ClusterNetworkPolicy bad'),
    ]);
    assert.equal(result.cluster.clusterPolicies, undefined);
    assert.deepEqual(
      result.cluster.policies.map((p) => p.name),
      ['p'],
    );
  });

  it('equal priorities: a warning after the objects, on the first by name, with its source', () => {
    const result = load(k8sCnp('b'), k8sCnp('a'));
    assert.deepEqual(result.problems, [
      warning(
        'spec.priority',
        'ClusterNetworkPolicies "a", "b" both have tier Admin and priority 10, which leaves their order open; nftpol evaluates them by name: "a" before "b"',
        'ClusterNetworkPolicy a',
        'in.yaml#2',
      ),
    ]);
  });

  it('reads a ClusterNetworkPolicyList; a second object of one name is a duplicate', () => {
    const result = load({
      apiVersion: API_VERSION,
      kind: 'ClusterNetworkPolicyList',
      items: [
        { metadata: { name: 'guard' }, spec: k8sCnp('guard')['spec'] },
        { metadata: { name: 'guard', namespace: 'x' }, spec: k8sCnp('guard')['spec'] },
      ],
    });
    assert.deepEqual(result.problems, [
      error(
        'metadata.name',
        'duplicate of the ClusterNetworkPolicy guard in in.yaml#1/items[0]; this one is ignored',
        OBJECT,
        'in.yaml#1/items[1]',
      ),
    ]);
    assert.deepEqual(result.cluster.clusterPolicies, [cnp('guard')]);
  });

  it('a namespace on the cluster-scoped object is ignored with a warning', () => {
    const result = load(k8sCnp('guard', {}, { metadata: { name: 'guard', namespace: 'a' } }));
    assert.deepEqual(result.problems, [
      warning(
        'metadata.namespace',
        'a ClusterNetworkPolicy is cluster-scoped; namespace "a" is ignored',
      ),
    ]);
    assert.deepEqual(result.cluster.clusterPolicies, [cnp('guard')]);
  });

  it('the wrong apiVersion (v1alpha1) is an error', () => {
    const result = load({ ...k8sCnp('guard'), apiVersion: 'policy.networking.k8s.io/v1alpha1' });
    assert.deepEqual(result.problems, [
      error(
        'apiVersion',
        'a ClusterNetworkPolicy must have apiVersion "policy.networking.k8s.io/v1alpha2", but it is "policy.networking.k8s.io/v1alpha1"',
      ),
    ]);
  });
});
