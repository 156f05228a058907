/**
 * The oracle's ClusterNetworkPolicy tiers against the API text
 * (policy.networking.k8s.io/v1alpha2, network-policy-api v0.2): one row per
 * rule the text states — tier order, priority and name order, rule order and
 * first match, Accept / Deny / Pass, NetworkPolicy isolation between the
 * tiers, subjects, peers, ports, named ports, fail closed, both sides, the
 * node's own traffic. Each table names the cases it covers and checks that
 * its rows cover exactly those.
 *
 * A side's answer is written as `Tier reason [rule] [after passed…]`:
 *   'Admin admin-deny cnp:guard[1]'
 *   'NetworkPolicy allowed-by-rule a/web-from-clients[0] after cnp:pass[0]'
 *   'Default not-isolated', 'not-a-pod', 'host-to-own-pod'
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { explainConnection, explainerFor } from '../../../src/policy/explain.js';
import type {
  Cluster,
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  Family,
  Policy,
  Protocol,
} from '../../../src/policy/model.js';
import type { ClusterRuleRef, SideVerdict, Verdict } from '../../../src/policy/verdict.js';
import {
  cluster,
  clusterNamedPort,
  clusterNamespaces,
  clusterNetworks,
  clusterPods,
  clusterPolicy,
  clusterPort,
  clusterRule,
  named,
  node,
  ns,
  pod,
  podPeer,
  policy,
  rule,
  sel,
  withClusterPolicies,
} from '../../support/builders.js';

// ---------------------------------------------------------------------------
// The scene every row starts from.
//
//   namespace a {team: x}  a/web {app: web} node-1 10.0.1.1 fd00::1:1  http=8080/TCP dns=5353/UDP
//                          a/client {app: client} node-1 10.0.1.2 fd00::1:2
//   namespace b {team: y}  b/web {app: web} node-2 10.0.2.1 fd00::2:1  http=9090/TCP
//                          b/client {app: client} node-2 10.0.2.2
//                          b/host hostNetwork node-2 192.168.0.2
//   node-1 192.168.0.1, node-2 192.168.0.2; outside: 203.0.113.7, 2001:db8::7
// ---------------------------------------------------------------------------

const NAMESPACES = [ns('a', { team: 'x' }), ns('b', { team: 'y' })];

const PODS = [
  pod(
    'a/web',
    { app: 'web' },
    {
      nodeName: 'node-1',
      ips: ['10.0.1.1', 'fd00::1:1'],
      ports: [named('http', 8080), named('dns', 5353, 'UDP')],
    },
  ),
  pod('a/client', { app: 'client' }, { nodeName: 'node-1', ips: ['10.0.1.2', 'fd00::1:2'] }),
  pod(
    'b/web',
    { app: 'web' },
    { nodeName: 'node-2', ips: ['10.0.2.1', 'fd00::2:1'], ports: [named('http', 9090)] },
  ),
  pod('b/client', { app: 'client' }, { nodeName: 'node-2', ips: ['10.0.2.2'] }),
  pod('b/host', { app: 'host' }, { nodeName: 'node-2', ips: ['192.168.0.2'], hostNetwork: true }),
];

const NODES = [
  node('node-1', { addresses: ['192.168.0.1'] }),
  node('node-2', { addresses: ['192.168.0.2'] }),
];

const EXTERNAL = '203.0.113.7';
const EXTERNAL6 = '2001:db8::7';
const NODE1 = '192.168.0.1';
const NODE2 = '192.168.0.2';

function scene(cnps: readonly ClusterPolicy[], nps: readonly Policy[] = []): Cluster {
  return withClusterPolicies(cluster(NAMESPACES, PODS, nps, NODES), ...cnps);
}

const TEAM_X = sel({ team: 'x' });
const TEAM_Y = sel({ team: 'y' });
const WEB = sel({ app: 'web' });
const CLIENT = sel({ app: 'client' });
/** A `namespaces: {}` peer: every pod. */
const ANY_POD = [clusterNamespaces()];

/** Subjects: every web pod, every client pod. */
const WEB_PODS = { podSelector: WEB };
const CLIENT_PODS = { podSelector: CLIENT };

const accept = (
  peers: readonly ClusterPeer[] = ANY_POD,
  ports: readonly ClusterPort[] | null = null,
  over: Partial<Pick<ClusterRule, 'name' | 'failClosed'>> = {},
) => clusterRule('Accept', peers, ports, over);
const deny = (
  peers: readonly ClusterPeer[] = ANY_POD,
  ports: readonly ClusterPort[] | null = null,
  over: Partial<Pick<ClusterRule, 'name' | 'failClosed'>> = {},
) => clusterRule('Deny', peers, ports, over);
const pass = (
  peers: readonly ClusterPeer[] = ANY_POD,
  ports: readonly ClusterPort[] | null = null,
  over: Partial<Pick<ClusterRule, 'name' | 'failClosed'>> = {},
) => clusterRule('Pass', peers, ports, over);

const FAILS = { failClosed: 'peer 1: nodes is not supported' };

/** An Admin policy on web pods' ingress. */
const adminIn = (name: string, ingress: readonly ClusterRule[], priority = 0) =>
  clusterPolicy(name, { priority, subject: WEB_PODS, ingress });
/** An Admin policy on client pods' egress. */
const adminOut = (name: string, egress: readonly ClusterRule[], priority = 0) =>
  clusterPolicy(name, { priority, subject: CLIENT_PODS, egress });
/** A Baseline policy on web pods' ingress. */
const baselineIn = (name: string, ingress: readonly ClusterRule[], priority = 0) =>
  clusterPolicy(name, { tier: 'Baseline', priority, subject: WEB_PODS, ingress });

// NetworkPolicies.
const npDenyWeb = policy('a/deny-web', { podSelector: WEB, ingress: [] });
const npWebFromClients = policy('a/web-from-clients', {
  podSelector: WEB,
  ingress: [rule([podPeer(CLIENT)])],
});
const npClientNoEgress = policy('a/client-no-egress', {
  podSelector: CLIENT,
  policyTypes: ['egress'],
});
const npClientToWeb = policy('a/client-to-web', {
  podSelector: CLIENT,
  egress: [rule([podPeer(WEB)])],
});

// ---------------------------------------------------------------------------

interface Row<C extends string> {
  readonly case: C;
  readonly name: string;
  readonly cluster: Cluster;
  /** `ns/pod` (its address of `family`) or an IP. */
  readonly from: string;
  readonly to: string;
  /** @default 'ip' */
  readonly family?: Family;
  /** @default 'TCP' */
  readonly protocol?: Protocol;
  /** @default 80 */
  readonly port?: number;
  readonly allowed: boolean;
  /** The egress answer (see the header); @default 'Default not-isolated' */
  readonly egress?: string;
  /** The ingress answer; @default 'Default not-isolated' */
  readonly ingress?: string;
}

const DEFAULT = 'Default not-isolated';

function refText(ref: { readonly policy: string; readonly rule: number }): string {
  return `${ref.policy}[${ref.rule}]`;
}

/** One side's answer as `Tier reason [rule] [after passed…]`. */
function story(side: SideVerdict): string {
  const parts: string[] = side.tier === null ? [] : [side.tier];
  parts.push(side.reason);
  if (side.decidedBy !== null) parts.push(refText(side.decidedBy));
  parts.push(...side.allowedBy.map(refText));
  if (side.passed.length > 0) parts.push('after', ...side.passed.map(refText));
  return parts.join(' ');
}

function addressOf(c: Cluster, ref: string, family: Family): string {
  if (!ref.includes('/')) return ref;
  const p = c.pods.find((x) => `${x.namespace}/${x.name}` === ref);
  const ip = p?.ips.find((a) => a.includes(':') === (family === 'ip6'));
  if (ip === undefined) throw new Error(`no ${family} address for ${ref}`);
  return ip;
}

function ask<C extends string>(row: Row<C>): Verdict {
  const family = row.family ?? 'ip';
  return explainConnection(row.cluster, {
    from: addressOf(row.cluster, row.from, family),
    to: addressOf(row.cluster, row.to, family),
    protocol: row.protocol ?? 'TCP',
    port: row.port ?? 80,
  });
}

/** Runs a table's rows, and checks that they cover exactly the cases it names. */
function specTable<C extends string>(
  title: string,
  cases: readonly C[],
  rows: readonly Row<C>[],
): void {
  describe(title, () => {
    for (const row of rows) {
      it(`${row.case}: ${row.name}`, () => {
        const v = ask(row);
        assert.equal(v.allowed, row.allowed, 'verdict');
        assert.equal(story(v.egress), row.egress ?? DEFAULT, 'egress');
        assert.equal(story(v.ingress), row.ingress ?? DEFAULT, 'ingress');
      });
    }
    it('covers every case it names, and no other', () => {
      const covered = [...new Set(rows.map((r) => r.case))].sort();
      assert.deepEqual(covered, [...cases].sort());
    });
  });
}

// --- Tiers: Admin, then NetworkPolicy, then Baseline, then allow ------------

const TIER_CASES = [
  'admin-before-networkpolicy',
  'admin-accept-skips-networkpolicy-ingress',
  'admin-accept-skips-networkpolicy-egress',
  'admin-deny',
  'isolated-pod-never-reaches-baseline',
  'isolation-is-per-direction',
  'baseline-accept',
  'baseline-deny',
  'baseline-no-match-then-default',
  'default-allow',
  'tier-before-priority',
] as const;

const TIERS: readonly Row<(typeof TIER_CASES)[number]>[] = [
  {
    case: 'admin-before-networkpolicy',
    name: 'an Admin Deny drops what a NetworkPolicy allows',
    cluster: scene([adminIn('guard', [deny([clusterNamespaces(TEAM_X)])])], [npWebFromClients]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'admin-accept-skips-networkpolicy-ingress',
    name: 'an Admin ingress Accept allows what an isolating NetworkPolicy would drop',
    cluster: scene([adminIn('let-in', [accept([clusterNamespaces(TEAM_Y)])])], [npDenyWeb]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:let-in[0]',
  },
  {
    case: 'admin-accept-skips-networkpolicy-egress',
    name: 'an Admin egress Accept allows what an egress-isolating NetworkPolicy would drop',
    cluster: scene(
      [adminOut('let-out', [accept([clusterNamespaces(TEAM_Y)])])],
      [npClientNoEgress],
    ),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
    egress: 'Admin admin-accept cnp:let-out[0]',
  },
  {
    case: 'admin-deny',
    name: 'an Admin ingress Deny drops the connection at the destination',
    cluster: scene([adminIn('guard', [deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'admin-deny',
    name: 'an Admin egress Deny drops the connection at the source',
    cluster: scene([adminOut('no-out', [deny()])]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
  },
  {
    case: 'isolated-pod-never-reaches-baseline',
    name: 'a NetworkPolicy allow stands against a Baseline Deny',
    cluster: scene([baselineIn('floor', [deny()])], [npWebFromClients]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    ingress: 'NetworkPolicy allowed-by-rule a/web-from-clients[0]',
  },
  {
    case: 'isolated-pod-never-reaches-baseline',
    name: 'an isolated pod is denied what its NetworkPolicies do not allow, whatever Baseline accepts',
    cluster: scene([baselineIn('floor', [accept()])], [npWebFromClients]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'NetworkPolicy no-rule-matched',
  },
  {
    case: 'isolation-is-per-direction',
    name: 'a pod isolated for ingress only reaches Baseline for its egress',
    cluster: scene(
      [clusterPolicy('floor', { tier: 'Baseline', subject: WEB_PODS, egress: [deny()] })],
      [npDenyWeb],
    ),
    from: 'a/web',
    to: 'b/web',
    allowed: false,
    egress: 'Baseline baseline-deny cnp:floor[0]',
  },
  {
    case: 'baseline-accept',
    name: 'a Baseline Accept allows a pod no NetworkPolicy isolates',
    cluster: scene([baselineIn('floor', [accept([clusterNamespaces(TEAM_Y)]), deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Baseline baseline-accept cnp:floor[0]',
  },
  {
    case: 'baseline-deny',
    name: 'a Baseline Deny drops what no NetworkPolicy speaks about',
    cluster: scene([baselineIn('floor', [accept([clusterNamespaces(TEAM_Y)]), deny()])]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Baseline baseline-deny cnp:floor[1]',
  },
  {
    case: 'baseline-no-match-then-default',
    name: 'when no Baseline rule matches, the default allows',
    cluster: scene([baselineIn('floor', [deny([clusterNamespaces(TEAM_Y)])])]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'default-allow',
    name: 'with no policy at all, pods can communicate',
    cluster: scene([]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'tier-before-priority',
    name: 'an Admin policy of priority 1000 comes before a Baseline policy of priority 0',
    cluster: scene([baselineIn('floor', [accept()], 0), adminIn('guard', [deny()], 1000)]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
];

specTable('tiers: Admin, then NetworkPolicy, then Baseline, then allow', TIER_CASES, TIERS);

// --- Order within a tier: priority, then name; rules in order; first match ---

const ORDER_CASES = [
  'priority-order',
  'name-order-on-equal-priority',
  'rule-order',
  'first-match-wins',
  'non-matching-rule-skipped',
  'other-direction-rules-ignored',
] as const;

const ORDER: readonly Row<(typeof ORDER_CASES)[number]>[] = [
  {
    case: 'priority-order',
    name: 'the lower priority is checked first, whatever the names',
    cluster: scene([adminIn('a-accept', [accept()], 20), adminIn('z-deny', [deny()], 10)]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:z-deny[0]',
  },
  {
    case: 'priority-order',
    name: 'priority orders the Baseline tier too',
    cluster: scene([baselineIn('a-deny', [deny()], 20), baselineIn('z-accept', [accept()], 10)]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Baseline baseline-accept cnp:z-accept[0]',
  },
  {
    case: 'name-order-on-equal-priority',
    name: 'equal priorities are checked by name (Accept first)',
    cluster: scene([adminIn('b-deny', [deny()], 5), adminIn('a-accept', [accept()], 5)]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:a-accept[0]',
  },
  {
    case: 'name-order-on-equal-priority',
    name: 'equal priorities are checked by name (Deny first), whatever the input order',
    cluster: scene([adminIn('b-accept', [accept()], 5), adminIn('a-deny', [deny()], 5)]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:a-deny[0]',
  },
  {
    case: 'name-order-on-equal-priority',
    name: 'equal Baseline priorities are checked by name',
    cluster: scene([baselineIn('b-accept', [accept()], 5), baselineIn('a-deny', [deny()], 5)]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Baseline baseline-deny cnp:a-deny[0]',
  },
  {
    case: 'rule-order',
    name: 'within a policy the rule written first wins (Deny, then Accept)',
    cluster: scene([adminIn('guard', [deny(), accept()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'rule-order',
    name: 'within a policy the rule written first wins (Accept, then Deny)',
    cluster: scene([adminIn('guard', [accept(), deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:guard[0]',
  },
  {
    case: 'first-match-wins',
    name: 'the first matching policy decides; later ones are not consulted',
    cluster: scene([
      adminIn('first', [deny([clusterNamespaces(TEAM_X)])], 1),
      adminIn('second', [accept()], 2),
      adminIn('third', [deny()], 3),
    ]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:second[0]',
  },
  {
    case: 'non-matching-rule-skipped',
    name: 'a rule that does not match is skipped for the next one',
    cluster: scene([adminIn('guard', [deny([clusterNamespaces(TEAM_X)]), accept()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:guard[1]',
  },
  {
    case: 'other-direction-rules-ignored',
    name: 'a policy with egress rules only does not affect ingress',
    cluster: scene([clusterPolicy('out-only', { subject: WEB_PODS, egress: [deny()] })]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
  },
];

specTable('order within a tier: priority, then name, then rules as written', ORDER_CASES, ORDER);

// --- Pass: skip the rest of the tier ------------------------------------------

const PASS_CASES = [
  'admin-pass-to-networkpolicy',
  'admin-pass-networkpolicy-denies',
  'admin-pass-skips-rest-of-policy',
  'admin-pass-skips-later-policies',
  'admin-pass-to-baseline',
  'baseline-pass-to-default',
  'pass-in-both-tiers',
  'admin-pass-egress',
] as const;

const PASSES: readonly Row<(typeof PASS_CASES)[number]>[] = [
  {
    case: 'admin-pass-to-networkpolicy',
    name: 'an Admin Pass hands the connection to NetworkPolicy, which allows it',
    cluster: scene(
      [adminIn('pass-a', [pass([clusterNamespaces(TEAM_X)])], 1), adminIn('guard', [deny()], 2)],
      [npWebFromClients],
    ),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    ingress: 'NetworkPolicy allowed-by-rule a/web-from-clients[0] after cnp:pass-a[0]',
  },
  {
    case: 'admin-pass-networkpolicy-denies',
    name: 'after an Admin Pass, an isolating NetworkPolicy that allows nothing denies',
    cluster: scene([adminIn('pass-all', [pass()])], [npWebFromClients]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'NetworkPolicy no-rule-matched after cnp:pass-all[0]',
  },
  {
    case: 'admin-pass-skips-rest-of-policy',
    name: 'a Pass skips the later rules of its own policy',
    cluster: scene([adminIn('pass-first', [pass(), deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Default not-isolated after cnp:pass-first[0]',
  },
  {
    case: 'admin-pass-skips-later-policies',
    name: 'a Pass skips the later policies of the Admin tier',
    cluster: scene([adminIn('pass', [pass()], 1), adminIn('guard', [deny()], 2)]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Default not-isolated after cnp:pass[0]',
  },
  {
    case: 'admin-pass-to-baseline',
    name: 'an Admin Pass for a pod no NetworkPolicy isolates goes on to Baseline',
    cluster: scene([adminIn('pass', [pass()]), baselineIn('floor', [deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Baseline baseline-deny cnp:floor[0] after cnp:pass[0]',
  },
  {
    case: 'baseline-pass-to-default',
    name: 'a Baseline Pass skips the rest of the Baseline tier: the default allows',
    cluster: scene([
      baselineIn('floor-pass', [pass([clusterNamespaces(TEAM_Y)]), deny()], 1),
      baselineIn('floor', [deny()], 2),
    ]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Default not-isolated after cnp:floor-pass[0]',
  },
  {
    case: 'pass-in-both-tiers',
    name: 'a Pass in each tier: both are reported, in order, and the default allows',
    cluster: scene([baselineIn('floor-pass', [pass()]), adminIn('pass', [pass()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Default not-isolated after cnp:pass[0] cnp:floor-pass[0]',
  },
  {
    case: 'admin-pass-egress',
    name: 'an Admin egress Pass hands the source to its egress NetworkPolicy',
    cluster: scene(
      [adminOut('pass-out', [pass()], 1), adminOut('no-out', [deny()], 2)],
      [npClientToWeb],
    ),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    egress: 'NetworkPolicy allowed-by-rule a/client-to-web[0] after cnp:pass-out[0]',
  },
];

specTable('Pass: skip the rest of the tier, on to the next', PASS_CASES, PASSES);

// --- Subjects: the pods a policy applies to ---------------------------------

const SUBJECT_CASES = [
  'subject-namespaces',
  'subject-pods',
  'subject-everything',
  'subject-never-host-network',
  'subject-of-egress-is-source',
] as const;

const inTeamX = clusterPolicy('ns-x', {
  subject: { namespaceSelector: TEAM_X },
  ingress: [deny()],
});
const webInTeamX = clusterPolicy('web-x', {
  subject: { namespaceSelector: TEAM_X, podSelector: WEB },
  ingress: [deny()],
});

const SUBJECTS: readonly Row<(typeof SUBJECT_CASES)[number]>[] = [
  {
    case: 'subject-namespaces',
    name: 'a namespaces subject applies to every pod of a selected namespace',
    cluster: scene([inTeamX]),
    from: 'b/client',
    to: 'a/client',
    allowed: false,
    ingress: 'Admin admin-deny cnp:ns-x[0]',
  },
  {
    case: 'subject-namespaces',
    name: 'a namespaces subject leaves other namespaces alone',
    cluster: scene([inTeamX]),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
  },
  {
    case: 'subject-pods',
    name: 'a pods subject applies to a selected pod of a selected namespace',
    cluster: scene([webInTeamX]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:web-x[0]',
  },
  {
    case: 'subject-pods',
    name: 'a pods subject leaves other pods of the namespace alone',
    cluster: scene([webInTeamX]),
    from: 'b/client',
    to: 'a/client',
    allowed: true,
  },
  {
    case: 'subject-pods',
    name: 'a pods subject leaves matching pods of other namespaces alone',
    cluster: scene([webInTeamX]),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
  },
  {
    case: 'subject-everything',
    name: 'empty selectors apply to every pod',
    cluster: scene([clusterPolicy('all', { ingress: [deny()] })]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:all[0]',
  },
  {
    case: 'subject-never-host-network',
    name: 'a host-network pod is no subject, even of a policy selecting every pod',
    cluster: scene([clusterPolicy('all-out', { egress: [deny([clusterNetworks('0.0.0.0/0')])] })]),
    from: 'b/host',
    to: 'a/web',
    allowed: true,
    egress: 'not-a-pod',
  },
  {
    case: 'subject-of-egress-is-source',
    name: 'egress rules apply to the source when it is a subject',
    cluster: scene([adminOut('no-out', [deny()])]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
  },
  {
    case: 'subject-of-egress-is-source',
    name: 'egress rules of a policy whose subject is the destination do not apply',
    cluster: scene([adminOut('no-out', [deny()])]),
    from: 'a/web',
    to: 'b/client',
    allowed: true,
  },
];

specTable('subjects: the pods a policy applies to', SUBJECT_CASES, SUBJECTS);

// --- Peers: namespaces, pods, networks ----------------------------------------

const PEER_CASES = [
  'peer-namespaces',
  'peer-pods',
  'pods-peers-never-match-non-pods',
  'networks-external',
  'networks-pod',
  'networks-node',
  'networks-outside',
  'networks-other-family',
  'networks-any-protocol',
  'any-of-several-peers',
] as const;

const guardFrom = (...peers: ClusterPeer[]) => adminIn('guard', [deny(peers)]);
const noOutTo = (...peers: ClusterPeer[]) => adminOut('no-out', [deny(peers)]);

const PEERS: readonly Row<(typeof PEER_CASES)[number]>[] = [
  {
    case: 'peer-namespaces',
    name: 'a namespaces peer matches the pods of a selected namespace',
    cluster: scene([guardFrom(clusterNamespaces(TEAM_Y))]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'peer-namespaces',
    name: 'a namespaces peer does not match pods of other namespaces',
    cluster: scene([guardFrom(clusterNamespaces(TEAM_Y))]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'peer-pods',
    name: 'a pods peer matches a selected pod of a selected namespace',
    cluster: scene([guardFrom(clusterPods(TEAM_Y, CLIENT))]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'peer-pods',
    name: 'a pods peer does not match other pods of the namespace',
    cluster: scene([guardFrom(clusterPods(TEAM_Y, CLIENT))]),
    from: 'b/web',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'peer-pods',
    name: 'a pods peer does not match matching pods of other namespaces',
    cluster: scene([guardFrom(clusterPods(TEAM_Y, CLIENT))]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'pods-peers-never-match-non-pods',
    name: 'namespaces: {} does not match an external address',
    cluster: scene([noOutTo(clusterNamespaces())]),
    from: 'a/client',
    to: EXTERNAL,
    allowed: true,
    ingress: 'not-a-pod',
  },
  {
    case: 'pods-peers-never-match-non-pods',
    name: 'namespaces: {} does not match a node or host-network pod',
    cluster: scene([guardFrom(clusterNamespaces())]),
    from: NODE2,
    to: 'a/web',
    allowed: true,
    egress: 'not-a-pod',
  },
  {
    case: 'networks-external',
    name: 'a networks peer matches an external address inside it',
    cluster: scene([noOutTo(clusterNetworks('203.0.113.0/24'))]),
    from: 'a/client',
    to: EXTERNAL,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'not-a-pod',
  },
  {
    case: 'networks-pod',
    name: 'a networks peer matches a pod inside it',
    cluster: scene([noOutTo(clusterNetworks('10.0.2.0/24'))]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
  },
  {
    case: 'networks-node',
    name: "a networks peer matches a node's address inside it",
    cluster: scene([noOutTo(clusterNetworks('192.168.0.0/16'))]),
    from: 'a/client',
    to: NODE2,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'not-a-pod',
  },
  {
    case: 'networks-outside',
    name: 'a networks peer does not match a pod outside it',
    cluster: scene([noOutTo(clusterNetworks('10.0.2.0/24'))]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
  },
  {
    case: 'networks-other-family',
    name: 'an IPv4 network does not match an IPv6 address',
    cluster: scene([noOutTo(clusterNetworks('0.0.0.0/0'))]),
    from: 'a/client',
    to: EXTERNAL6,
    family: 'ip6',
    allowed: true,
    ingress: 'not-a-pod',
  },
  {
    case: 'networks-other-family',
    name: 'an IPv6 network matches an IPv6 pod address',
    cluster: scene([noOutTo(clusterNetworks('0.0.0.0/0', '::/0'))]),
    from: 'a/client',
    to: 'b/web',
    family: 'ip6',
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
  },
  {
    case: 'networks-any-protocol',
    name: 'a networks peer without protocols matches UDP',
    cluster: scene([noOutTo(clusterNetworks('203.0.113.0/24'))]),
    from: 'a/client',
    to: EXTERNAL,
    protocol: 'UDP',
    port: 53,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'not-a-pod',
  },
  {
    case: 'networks-any-protocol',
    name: 'a networks peer without protocols matches SCTP',
    cluster: scene([noOutTo(clusterNetworks('203.0.113.0/24'))]),
    from: 'a/client',
    to: EXTERNAL,
    protocol: 'SCTP',
    port: 3868,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'not-a-pod',
  },
  {
    case: 'any-of-several-peers',
    name: 'a rule matches when any one of its peers does',
    cluster: scene([noOutTo(clusterNamespaces(TEAM_X), clusterNetworks('203.0.113.0/24'))]),
    from: 'a/client',
    to: EXTERNAL,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'not-a-pod',
  },
];

specTable('peers: namespaces, pods, networks', PEER_CASES, PEERS);

// --- Ports: protocols entries ------------------------------------------------

const PORT_CASES = [
  'port-number',
  'port-number-other',
  'port-range',
  'port-range-outside',
  'protocol-mismatch',
  'any-of-several-ports',
  'no-protocols-any-port',
] as const;

const guardOn = (...ports: ClusterPort[]) => adminIn('guard', [deny(ANY_POD, ports)]);

const PORTS: readonly Row<(typeof PORT_CASES)[number]>[] = [
  {
    case: 'port-number',
    name: 'a destination port number matches that port',
    cluster: scene([guardOn(clusterPort(80))]),
    from: 'b/client',
    to: 'a/web',
    port: 80,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'port-number-other',
    name: 'a destination port number does not match another port',
    cluster: scene([guardOn(clusterPort(80))]),
    from: 'b/client',
    to: 'a/web',
    port: 81,
    allowed: true,
  },
  {
    case: 'port-range',
    name: 'a range matches its start',
    cluster: scene([guardOn(clusterPort(8000, 'TCP', 8100))]),
    from: 'b/client',
    to: 'a/web',
    port: 8000,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'port-range',
    name: 'a range matches its end',
    cluster: scene([guardOn(clusterPort(8000, 'TCP', 8100))]),
    from: 'b/client',
    to: 'a/web',
    port: 8100,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'port-range-outside',
    name: 'a range does not match below its start',
    cluster: scene([guardOn(clusterPort(8000, 'TCP', 8100))]),
    from: 'b/client',
    to: 'a/web',
    port: 7999,
    allowed: true,
  },
  {
    case: 'port-range-outside',
    name: 'a range does not match past its end',
    cluster: scene([guardOn(clusterPort(8000, 'TCP', 8100))]),
    from: 'b/client',
    to: 'a/web',
    port: 8101,
    allowed: true,
  },
  {
    case: 'protocol-mismatch',
    name: 'a UDP port does not match TCP to the same number',
    cluster: scene([guardOn(clusterPort(53, 'UDP'))]),
    from: 'b/client',
    to: 'a/web',
    port: 53,
    allowed: true,
  },
  {
    case: 'protocol-mismatch',
    name: 'an SCTP port matches SCTP only',
    cluster: scene([guardOn(clusterPort(3868, 'SCTP'))]),
    from: 'b/client',
    to: 'a/web',
    protocol: 'SCTP',
    port: 3868,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'any-of-several-ports',
    name: 'a rule matches when any one of its protocols entries does',
    cluster: scene([guardOn(clusterPort(443), clusterPort(80))]),
    from: 'b/client',
    to: 'a/web',
    port: 80,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'no-protocols-any-port',
    name: 'a rule without protocols matches every protocol and port',
    cluster: scene([adminIn('guard', [deny()])]),
    from: 'b/client',
    to: 'a/web',
    protocol: 'SCTP',
    port: 9999,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
];

specTable('ports: number, range, protocol', PORT_CASES, PORTS);

// --- Named ports: resolved on the destination pod -------------------------------

const NAMED_CASES = [
  'named-ingress-local-pod',
  'named-ingress-not-the-peer-number',
  'named-egress-peer-pod',
  'named-egress-not-the-local-number',
  'named-egress-not-a-pod',
  'named-unresolved',
  'named-any-declared-protocol',
  'named-protocol-mismatch',
] as const;

const guardNamed = (name: string) => adminIn('guard', [deny(ANY_POD, [clusterNamedPort(name)])]);
const noOutNamed = (name: string, peers: readonly ClusterPeer[] = ANY_POD) =>
  adminOut('no-out', [deny(peers, [clusterNamedPort(name)])]);

const NAMED: readonly Row<(typeof NAMED_CASES)[number]>[] = [
  {
    case: 'named-ingress-local-pod',
    name: "an ingress named port is the destination pod's own port (a/web http = 8080)",
    cluster: scene([guardNamed('http')]),
    from: 'b/client',
    to: 'a/web',
    port: 8080,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'named-ingress-local-pod',
    name: 'the same name is another number on another destination pod (b/web http = 9090)',
    cluster: scene([guardNamed('http')]),
    from: 'a/client',
    to: 'b/web',
    port: 9090,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'named-ingress-not-the-peer-number',
    name: "an ingress named port does not match another pod's number for the name",
    cluster: scene([guardNamed('http')]),
    from: 'b/web',
    to: 'a/web',
    port: 9090,
    allowed: true,
  },
  {
    case: 'named-egress-peer-pod',
    name: "an egress named port is the destination (peer) pod's port",
    cluster: scene([noOutNamed('http')]),
    from: 'a/client',
    to: 'b/web',
    port: 9090,
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
  },
  {
    case: 'named-egress-not-the-local-number',
    name: 'an egress named port is not resolved on another pod (a/web http = 8080, not 9090)',
    cluster: scene([noOutNamed('http')]),
    from: 'a/client',
    to: 'a/web',
    port: 9090,
    allowed: true,
  },
  {
    case: 'named-egress-not-a-pod',
    name: 'an egress named port matches nothing towards an address that is no pod',
    cluster: scene([noOutNamed('http', [clusterNetworks('0.0.0.0/0')])]),
    from: 'a/client',
    to: EXTERNAL,
    port: 8080,
    allowed: true,
    ingress: 'not-a-pod',
  },
  {
    case: 'named-unresolved',
    name: 'a name the destination pod does not declare matches nothing',
    cluster: scene([guardNamed('metrics')]),
    from: 'b/client',
    to: 'a/web',
    port: 8080,
    allowed: true,
  },
  {
    case: 'named-any-declared-protocol',
    name: 'a named port matches the protocol its container port declares (dns = 5353/UDP)',
    cluster: scene([guardNamed('dns')]),
    from: 'b/client',
    to: 'a/web',
    protocol: 'UDP',
    port: 5353,
    allowed: false,
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'named-protocol-mismatch',
    name: 'a named port does not match another protocol on the same number (dns over TCP)',
    cluster: scene([guardNamed('dns')]),
    from: 'b/client',
    to: 'a/web',
    protocol: 'TCP',
    port: 5353,
    allowed: true,
  },
];

specTable('named ports: resolved on the destination pod', NAMED_CASES, NAMED);

// --- Fail closed: Accept matches nothing, Deny and Pass deny all -------------------

const FAIL_CASES = [
  'fail-closed-accept-matches-nothing',
  'fail-closed-accept-later-rule-decides',
  'fail-closed-deny-denies-all',
  'fail-closed-pass-denies-all',
  'fail-closed-baseline',
] as const;

const FAIL: readonly Row<(typeof FAIL_CASES)[number]>[] = [
  {
    case: 'fail-closed-accept-matches-nothing',
    name: 'an Accept that fails closed matches nothing: NetworkPolicy decides',
    cluster: scene([adminIn('broken', [accept(ANY_POD, null, FAILS)])], [npDenyWeb]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'NetworkPolicy no-rule-matched',
  },
  {
    case: 'fail-closed-accept-matches-nothing',
    name: 'an Accept that fails closed matches nothing: a Baseline Deny decides',
    cluster: scene([baselineIn('broken', [accept(ANY_POD, null, FAILS), deny()])]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Baseline baseline-deny cnp:broken[1]',
  },
  {
    case: 'fail-closed-accept-later-rule-decides',
    name: 'the rule after an Accept that fails closed is next',
    cluster: scene([adminIn('broken', [accept(ANY_POD, null, FAILS), accept()])], [npDenyWeb]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'Admin admin-accept cnp:broken[1]',
  },
  {
    case: 'fail-closed-deny-denies-all',
    name: 'a Deny that fails closed denies traffic its peers would not match',
    cluster: scene([
      adminIn('broken', [deny([clusterNamespaces(sel({ team: 'none' }))], null, FAILS)]),
    ]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin failed-closed cnp:broken[0]',
  },
  {
    case: 'fail-closed-deny-denies-all',
    name: 'a Deny that fails closed denies ports its protocols would not match',
    cluster: scene([adminIn('broken', [deny(ANY_POD, [clusterPort(443)], FAILS)])]),
    from: 'b/client',
    to: 'a/web',
    port: 80,
    allowed: false,
    ingress: 'Admin failed-closed cnp:broken[0]',
  },
  {
    case: 'fail-closed-deny-denies-all',
    name: 'a Deny that fails closed denies addresses that are no pod',
    cluster: scene([adminIn('broken', [deny(ANY_POD, null, FAILS)])]),
    from: EXTERNAL,
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
    ingress: 'Admin failed-closed cnp:broken[0]',
  },
  {
    case: 'fail-closed-pass-denies-all',
    name: 'a Pass that fails closed denies instead of passing',
    cluster: scene(
      [adminIn('broken', [pass(ANY_POD, null, FAILS)], 1), adminIn('let-in', [accept()], 2)],
      [npWebFromClients],
    ),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Admin failed-closed cnp:broken[0]',
  },
  {
    case: 'fail-closed-baseline',
    name: 'a Baseline Deny that fails closed denies a pod no NetworkPolicy isolates',
    cluster: scene([baselineIn('broken', [deny([clusterNamespaces(TEAM_X)], null, FAILS)])]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'Baseline failed-closed cnp:broken[0]',
  },
  {
    case: 'fail-closed-baseline',
    name: 'a Baseline rule that fails closed never reaches an isolated pod',
    cluster: scene([baselineIn('broken', [deny(ANY_POD, null, FAILS)])], [npWebFromClients]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    ingress: 'NetworkPolicy allowed-by-rule a/web-from-clients[0]',
  },
];

specTable('fail closed: Accept matches nothing, Deny and Pass deny all', FAIL_CASES, FAIL);

// --- Both sides; the node's own traffic --------------------------------------------

const SIDE_CASES = [
  'egress-accept-still-needs-ingress-admin',
  'egress-accept-still-needs-ingress-networkpolicy',
  'ingress-accept-still-needs-egress',
  'host-to-own-pod-first',
  'host-to-other-pod',
  'external-source-has-no-egress-side',
] as const;

const sealed = adminIn('sealed', [deny(ANY_POD, null, FAILS)]);

const SIDES: readonly Row<(typeof SIDE_CASES)[number]>[] = [
  {
    case: 'egress-accept-still-needs-ingress-admin',
    name: "an egress Accept does not override the destination's Admin ingress Deny",
    cluster: scene([adminOut('let-out', [accept()]), adminIn('guard', [deny()])]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    egress: 'Admin admin-accept cnp:let-out[0]',
    ingress: 'Admin admin-deny cnp:guard[0]',
  },
  {
    case: 'egress-accept-still-needs-ingress-networkpolicy',
    name: "an egress Accept does not override the destination's isolating NetworkPolicy",
    cluster: scene([adminOut('let-out', [accept()])], [npDenyWeb]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    egress: 'Admin admin-accept cnp:let-out[0]',
    ingress: 'NetworkPolicy no-rule-matched',
  },
  {
    case: 'ingress-accept-still-needs-egress',
    name: "an ingress Accept does not override the source's egress Deny",
    cluster: scene([adminIn('let-in', [accept()]), adminOut('no-out', [deny()])]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    egress: 'Admin admin-deny cnp:no-out[0]',
    ingress: 'Admin admin-accept cnp:let-in[0]',
  },
  {
    case: 'host-to-own-pod-first',
    name: "the node's own address reaches its pod before any tier, even a deny-all",
    cluster: scene([sealed]),
    from: NODE1,
    to: 'a/web',
    allowed: true,
    egress: 'not-a-pod',
    ingress: 'host-to-own-pod',
  },
  {
    case: 'host-to-other-pod',
    name: "another node's address is subject to the tiers",
    cluster: scene([sealed]),
    from: NODE2,
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
    ingress: 'Admin failed-closed cnp:sealed[0]',
  },
  {
    case: 'external-source-has-no-egress-side',
    name: 'an external source has no egress to evaluate, even under an egress deny-all',
    cluster: scene([clusterPolicy('all-out', { egress: [deny([clusterNetworks('0.0.0.0/0')])] })]),
    from: EXTERNAL,
    to: 'a/web',
    allowed: true,
    egress: 'not-a-pod',
  },
];

specTable('both sides decide; the node reaches its own pods', SIDE_CASES, SIDES);

// --- What the answer names -------------------------------------------------------

describe('the answer names the tier, policy and rule', () => {
  it('decidedBy carries policy, tier, priority, direction, index, name, action', () => {
    const c = scene([
      adminIn(
        'payments-guard',
        [accept([clusterNamespaces(TEAM_X)]), deny(ANY_POD, null, { name: 'deny-others' })],
        7,
      ),
    ]);
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 });
    const expected: ClusterRuleRef = {
      policy: 'cnp:payments-guard',
      tier: 'Admin',
      priority: 7,
      direction: 'ingress',
      rule: 1,
      name: 'deny-others',
      action: 'Deny',
      failClosed: null,
    };
    assert.deepEqual(v.ingress.decidedBy, expected);
    assert.equal(v.ingress.tier, 'Admin');
    assert.deepEqual(v.ingress.allowedBy, [], 'allowedBy is NetworkPolicy rules only');
  });

  it('a rule that fails closed is named with its written action and why', () => {
    const c = scene([adminIn('broken', [pass(ANY_POD, null, { name: 'pass-dns', ...FAILS })])]);
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 });
    assert.equal(v.ingress.reason, 'failed-closed');
    assert.equal(v.ingress.decidedBy?.action, 'Pass');
    assert.equal(v.ingress.decidedBy?.failClosed, FAILS.failClosed);
    assert.deepEqual(v.ingress.passed, []);
  });

  it('passed names each Pass rule in full, Admin first', () => {
    const c = scene([
      baselineIn('floor', [pass(ANY_POD, null, { name: 'to-default' })], 3),
      adminIn('guard', [pass(ANY_POD, null, { name: 'to-teams' })], 1),
    ]);
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 });
    assert.deepEqual(
      v.ingress.passed.map((r) => [r.tier, r.policy, r.priority, r.rule, r.name, r.action]),
      [
        ['Admin', 'cnp:guard', 1, 0, 'to-teams', 'Pass'],
        ['Baseline', 'cnp:floor', 3, 0, 'to-default', 'Pass'],
      ],
    );
    assert.equal(v.ingress.decidedBy, null);
    assert.equal(v.ingress.tier, 'Default');
  });

  it('an Admin decision keeps the NetworkPolicy facts: isolated and policies', () => {
    const c = scene([adminIn('let-in', [accept()])], [npDenyWeb]);
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 });
    assert.equal(v.ingress.reason, 'admin-accept');
    assert.equal(v.ingress.isolated, true);
    assert.deepEqual(v.ingress.policies, ['a/deny-web']);
  });

  it('clusterPolicies lists the policies applying to the side, in evaluation order', () => {
    const c = scene([
      baselineIn('floor', [deny([clusterNamespaces(TEAM_X)])], 0),
      adminIn('z-late', [deny([clusterNamespaces(TEAM_X)])], 9),
      adminIn('b-same', [deny([clusterNamespaces(TEAM_X)])], 2),
      adminIn('a-same', [deny([clusterNamespaces(TEAM_X)])], 2),
      clusterPolicy('clients-only', { subject: CLIENT_PODS, ingress: [deny()] }),
      clusterPolicy('egress-only', { subject: WEB_PODS, egress: [deny()] }),
    ]);
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 });
    assert.deepEqual(v.ingress.clusterPolicies, [
      'cnp:a-same',
      'cnp:b-same',
      'cnp:z-late',
      'cnp:floor',
    ]);
    assert.deepEqual(v.egress.clusterPolicies, [], 'b/client is no subject of an egress rule');
  });

  it('the input order of the policies is left alone, and explainerFor agrees', () => {
    const cnps = [adminIn('b', [accept()], 1), adminIn('a', [deny()], 1)];
    const c = scene(cnps);
    const before = c.clusterPolicies?.map((p) => p.name);
    const q = { from: '10.0.2.2', to: '10.0.1.1', protocol: 'TCP', port: 80 } as const;
    const v = explainConnection(c, q);
    assert.deepEqual(
      c.clusterPolicies?.map((p) => p.name),
      before,
    );
    assert.deepEqual(explainerFor(c)(q), v);
    assert.equal(v.ingress.decidedBy?.policy, 'cnp:a');
  });
});
