/**
 * The oracle against the spec: one table per bullet of DESIGN.md's
 * "NetworkPolicy semantics that must hold". Every row is a scenario a reader
 * can check by hand against the NetworkPolicy documentation; the tables check
 * their own coverage (every peer kind in both directions, both families with
 * every protocol, every reason on each side), and a last check proves that
 * where pods run never changes a verdict.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { explainConnection, explainerFor, ExplainError } from '../../../src/policy/explain.js';
import type {
  Cluster,
  Direction,
  Family,
  Peer,
  Pod,
  Policy,
  Protocol,
} from '../../../src/policy/model.js';
import type { RuleRef, SideReason, Verdict } from '../../../src/policy/verdict.js';
import {
  cluster,
  expr,
  ipBlock,
  named,
  node,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../../support/builders.js';

// ---------------------------------------------------------------------------
// The scene every row starts from.
//
//   namespace a {team: x}   a/web {app: web} node-1 10.0.1.1 fd00::1:1  http=8080/TCP dns=5353/UDP
//                           a/client {app: client} node-1 10.0.1.2 fd00::1:2
//                           a/db {app: db, tier: data} node-2 10.0.1.3
//   namespace b {team: y}   b/web {app: web} node-2 10.0.2.1  http=9090/TCP
//                           b/client {app: client} node-2 10.0.2.2 fd00::2:2
//   namespace c {env: prod} c/client {app: client} node-1 10.0.3.2
//   node-1 192.168.0.1 fd00:ffff::1, node-2 192.168.0.2
//   outside: 203.0.113.7, 2001:db8::7
// ---------------------------------------------------------------------------

const NAMESPACES = [ns('a', { team: 'x' }), ns('b', { team: 'y' }), ns('c', { env: 'prod' })];

const PODS: readonly Pod[] = [
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
  pod('a/db', { app: 'db', tier: 'data' }, { nodeName: 'node-2', ips: ['10.0.1.3'] }),
  pod(
    'b/web',
    { app: 'web' },
    { nodeName: 'node-2', ips: ['10.0.2.1'], ports: [named('http', 9090)] },
  ),
  pod('b/client', { app: 'client' }, { nodeName: 'node-2', ips: ['10.0.2.2', 'fd00::2:2'] }),
  pod('c/client', { app: 'client' }, { nodeName: 'node-1', ips: ['10.0.3.2'] }),
];

const NODES = [
  node('node-1', { addresses: ['192.168.0.1', 'fd00:ffff::1'] }),
  node('node-2', { addresses: ['192.168.0.2'] }),
];

const EXTERNAL = '203.0.113.7';
const EXTERNAL6 = '2001:db8::7';

/** The scene with these policies, and extra pods if the row needs them. */
function scene(policies: readonly Policy[], extraPods: readonly Pod[] = []): Cluster {
  return cluster(NAMESPACES, [...PODS, ...extraPods], policies, NODES);
}

/** Policy selecting `app: <app>` pods. */
const app = (name: string) => sel({ app: name });

interface Row {
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
  /** Every matching rule, egress side then ingress side, as `ns/policy direction index`. */
  readonly by?: readonly string[];
  readonly egress?: SideReason;
  readonly ingress?: SideReason;
  /** Isolating policies, egress side then ingress side, as `ns/policy direction`. */
  readonly isolating?: readonly string[];
}

// --- A pod is isolated when a policy of its namespace selects it -----------

const denyWeb = policy('a/deny-web', { podSelector: app('web'), ingress: [] });
const allow80 = policy('a/allow-80', {
  podSelector: app('web'),
  ingress: [rule(null, [port(80)])],
});
const allow443 = policy('a/allow-443', {
  podSelector: app('web'),
  ingress: [rule(null, [port(443)])],
});
const clientNoEgress = policy('a/client-no-egress', {
  podSelector: app('client'),
  policyTypes: ['egress'],
});

const ISOLATION: readonly Row[] = [
  {
    name: 'a pod no policy selects is unrestricted both ways',
    cluster: scene([]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    egress: 'not-isolated',
    ingress: 'not-isolated',
  },
  {
    name: 'a policy selecting the pod with no ingress rules denies all ingress to it',
    cluster: scene([denyWeb]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'no-rule-matched',
    isolating: ['a/deny-web ingress'],
  },
  {
    name: 'a policy isolates only pods of its own namespace, whatever their labels',
    cluster: scene([denyWeb]),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
    ingress: 'not-isolated',
  },
  {
    name: 'pods the policy podSelector does not match stay unrestricted',
    cluster: scene([denyWeb]),
    from: 'b/client',
    to: 'a/client',
    allowed: true,
    ingress: 'not-isolated',
  },
  {
    name: 'the rules of every isolating policy are united: one allows 443',
    cluster: scene([allow80, allow443]),
    from: 'b/client',
    to: 'a/web',
    port: 443,
    allowed: true,
    by: ['a/allow-443 ingress 0'],
    isolating: ['a/allow-443 ingress', 'a/allow-80 ingress'],
  },
  {
    name: 'the rules of every isolating policy are united: the other allows 80',
    cluster: scene([allow80, allow443]),
    from: 'b/client',
    to: 'a/web',
    port: 80,
    allowed: true,
    by: ['a/allow-80 ingress 0'],
  },
  {
    name: 'a port no isolating policy allows is denied, and every isolating policy is named',
    cluster: scene([allow80, allow443, denyWeb]),
    from: 'b/client',
    to: 'a/web',
    port: 22,
    allowed: false,
    ingress: 'no-rule-matched',
    isolating: ['a/allow-443 ingress', 'a/allow-80 ingress', 'a/deny-web ingress'],
  },
  {
    name: 'every matching rule is listed, sorted by policy then rule, not only the first',
    cluster: scene([
      policy('a/z-any', { podSelector: app('web'), ingress: [rule()] }),
      policy('a/m-two', {
        podSelector: sel(),
        ingress: [rule(null, [port(80)]), rule(null, [port(22)]), rule([podPeer()])],
      }),
    ]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/m-two ingress 0', 'a/m-two ingress 2', 'a/z-any ingress 0'],
  },
  {
    name: 'a policy with egress type isolates the egress of the pods it selects',
    cluster: scene([clientNoEgress]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'no-rule-matched',
    ingress: 'not-isolated',
    isolating: ['a/client-no-egress egress'],
  },
  {
    name: "a policy does not restrict the egress of another namespace's pods",
    cluster: scene([clientNoEgress]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    egress: 'not-isolated',
  },
  {
    name: 'a pod talking to itself must pass its own ingress',
    cluster: scene([denyWeb]),
    from: 'a/web',
    to: 'a/web',
    allowed: false,
    egress: 'not-isolated',
    ingress: 'no-rule-matched',
  },
  {
    name: 'a pod talking to itself is admitted by a rule matching its own labels',
    cluster: scene([
      policy('a/self', { podSelector: app('web'), ingress: [rule([podPeer(app('web'))])] }),
    ]),
    from: 'a/web',
    to: 'a/web',
    allowed: true,
    by: ['a/self ingress 0'],
  },
  {
    name: 'a pod talking to itself must pass its own egress',
    cluster: scene([clientNoEgress]),
    from: 'a/client',
    to: 'a/client',
    allowed: false,
    egress: 'no-rule-matched',
  },
];

// --- policyTypes ------------------------------------------------------------

const POLICY_TYPES: readonly Row[] = [
  {
    name: 'policyTypes [Ingress] leaves egress unrestricted',
    cluster: scene([policy('a/ingress-only', { policyTypes: ['ingress'] })]),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
    egress: 'not-isolated',
  },
  {
    name: 'policyTypes [Egress] ignores ingress rules and leaves ingress unrestricted',
    cluster: scene([
      policy('a/egress-only', {
        policyTypes: ['egress'],
        ingress: [rule([ipBlock('198.51.100.0/24')])],
      }),
    ]),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    ingress: 'not-isolated',
  },
  {
    name: 'policyTypes [Egress] with no egress rules denies all egress',
    cluster: scene([policy('a/egress-only', { policyTypes: ['egress'] })]),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'no-rule-matched',
  },
  {
    name: 'policyTypes defaulted from egress rules isolate ingress as well',
    cluster: scene([policy('a/egress-rules', { egress: [rule()] })]),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
    ingress: 'no-rule-matched',
    isolating: ['a/egress-rules ingress'],
  },
  {
    name: 'policyTypes defaulted from egress rules apply those egress rules',
    cluster: scene([policy('a/egress-rules', { egress: [rule()] })]),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
    by: ['a/egress-rules egress 0'],
  },
  {
    name: 'policyTypes [Ingress, Egress] with only ingress rules denies all egress',
    cluster: scene([policy('a/both', { policyTypes: ['ingress', 'egress'], ingress: [rule()] })]),
    from: 'a/client',
    to: EXTERNAL,
    allowed: false,
    egress: 'no-rule-matched',
    ingress: 'not-a-pod',
  },
];

// --- Rules with no from/to or no ports ---------------------------------------

const EMPTY_PARTS: readonly Row[] = [
  {
    name: 'ingress: [] allows nothing, not even from outside',
    cluster: scene([policy('a/none', { podSelector: app('web'), ingress: [] })]),
    from: EXTERNAL,
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
    ingress: 'no-rule-matched',
  },
  {
    name: 'ingress: [{}] allows every peer, port and protocol',
    cluster: scene([policy('a/all', { podSelector: app('web'), ingress: [rule()] })]),
    from: EXTERNAL,
    to: 'a/web',
    protocol: 'UDP',
    port: 5353,
    allowed: true,
    by: ['a/all ingress 0'],
  },
  {
    name: "ingress: [{}] admits another node's address too",
    cluster: scene([policy('a/all', { podSelector: app('web'), ingress: [rule()] })]),
    from: '192.168.0.2',
    to: 'a/web',
    allowed: true,
    by: ['a/all ingress 0'],
  },
  {
    name: 'a rule with ports and no from admits every peer on those ports',
    cluster: scene([
      policy('a/p80', { podSelector: app('web'), ingress: [rule(null, [port(80)])] }),
    ]),
    from: 'c/client',
    to: 'a/web',
    port: 80,
    allowed: true,
    by: ['a/p80 ingress 0'],
  },
  {
    name: 'a rule with ports and no from denies the other ports',
    cluster: scene([
      policy('a/p80', { podSelector: app('web'), ingress: [rule(null, [port(80)])] }),
    ]),
    from: 'c/client',
    to: 'a/web',
    port: 81,
    allowed: false,
  },
  {
    name: 'a rule with from and no ports admits that peer on every port and protocol',
    cluster: scene([
      policy('a/clients', { podSelector: app('web'), ingress: [rule([podPeer(app('client'))])] }),
    ]),
    from: 'a/client',
    to: 'a/web',
    protocol: 'SCTP',
    port: 9999,
    allowed: true,
    by: ['a/clients ingress 0'],
  },
  {
    name: 'egress: [] denies all egress',
    cluster: scene([policy('a/none', { podSelector: app('client'), policyTypes: ['egress'] })]),
    from: 'a/client',
    to: EXTERNAL,
    protocol: 'UDP',
    port: 53,
    allowed: false,
    egress: 'no-rule-matched',
  },
  {
    name: 'egress: [{}] allows all egress',
    cluster: scene([
      policy('a/all', { podSelector: app('client'), policyTypes: ['egress'], egress: [rule()] }),
    ]),
    from: 'a/client',
    to: EXTERNAL,
    protocol: 'UDP',
    port: 53,
    allowed: true,
    by: ['a/all egress 0'],
  },
  {
    name: 'an egress rule with ports and no to admits every destination on those ports',
    cluster: scene([
      policy('a/dns', {
        podSelector: app('client'),
        policyTypes: ['egress'],
        egress: [rule(null, [port(53, 'UDP')])],
      }),
    ]),
    from: 'a/client',
    to: 'b/web',
    protocol: 'UDP',
    port: 53,
    allowed: true,
    by: ['a/dns egress 0'],
  },
];

// --- Peers --------------------------------------------------------------------

/** a/web admits `peers` (ingress). */
const webFrom = (...peers: Peer[]) =>
  scene([policy('a/web-in', { podSelector: app('web'), ingress: [rule(peers)] })]);
/** a/client may reach `peers` (egress). */
const clientTo = (...peers: Peer[]) =>
  scene([
    policy('a/client-out', {
      podSelector: app('client'),
      policyTypes: ['egress'],
      egress: [rule(peers)],
    }),
  ]);

const PEERS: readonly Row[] = [
  {
    name: "podSelector alone admits matching pods of the policy's namespace",
    cluster: webFrom(podPeer(app('client'))),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'podSelector alone does not admit matching pods of other namespaces',
    cluster: webFrom(podPeer(app('client'))),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'namespaceSelector alone admits every pod of the namespaces it selects',
    cluster: webFrom(nsPeer(sel({ team: 'y' }))),
    from: 'b/web',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: "namespaceSelector alone does not admit the policy's own namespace unless it matches",
    cluster: webFrom(nsPeer(sel({ team: 'y' }))),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: "namespaceSelector matching the policy's own namespace admits its pods",
    cluster: webFrom(nsPeer(sel({ team: 'x' }))),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'namespaceSelector and podSelector in one peer admit a matching pod of a matching namespace',
    cluster: webFrom(nsPeer(sel({ team: 'y' }), app('client'))),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'namespaceSelector and podSelector in one peer: the wrong pod in the right namespace is denied',
    cluster: webFrom(nsPeer(sel({ team: 'y' }), app('client'))),
    from: 'b/web',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'namespaceSelector and podSelector in one peer: the right pod in the wrong namespace is denied',
    cluster: webFrom(nsPeer(sel({ team: 'y' }), app('client'))),
    from: 'c/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'several peers are ORed: the pod peer admits',
    cluster: webFrom(podPeer(app('client')), ipBlock('203.0.113.0/24')),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'several peers are ORed: the ipBlock peer admits',
    cluster: webFrom(podPeer(app('client')), ipBlock('203.0.113.0/24')),
    from: EXTERNAL,
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'several peers are ORed: matching neither is denied',
    cluster: webFrom(podPeer(app('client')), ipBlock('203.0.113.0/24')),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'ipBlock admits an address inside its CIDR and outside its except',
    cluster: webFrom(ipBlock('203.0.113.0/24', '203.0.113.0/28')),
    from: '203.0.113.77',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'ipBlock does not admit an address in its except',
    cluster: webFrom(ipBlock('203.0.113.0/24', '203.0.113.0/28')),
    from: EXTERNAL,
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'ipBlock does not admit an address outside its CIDR',
    cluster: webFrom(ipBlock('203.0.113.0/24', '203.0.113.0/28')),
    from: '198.51.100.1',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'ipBlock matches pod addresses too, by address',
    cluster: webFrom(ipBlock('10.0.2.0/24')),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'pod peers never match an address that is no pod',
    cluster: webFrom(podPeer(), nsPeer(sel())),
    from: EXTERNAL,
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'egress podSelector alone reaches matching pods of its namespace',
    cluster: clientTo(podPeer(app('web'))),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/client-out egress 0'],
  },
  {
    name: 'egress podSelector alone does not reach other namespaces',
    cluster: clientTo(podPeer(app('web'))),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
    egress: 'no-rule-matched',
  },
  {
    name: 'egress namespaceSelector alone reaches every pod of the namespaces it selects',
    cluster: clientTo(nsPeer(sel({ team: 'y' }))),
    from: 'a/client',
    to: 'b/client',
    allowed: true,
    by: ['a/client-out egress 0'],
  },
  {
    name: 'egress namespaceSelector alone does not reach other namespaces',
    cluster: clientTo(nsPeer(sel({ team: 'y' }))),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'egress namespaceSelector and podSelector in one peer reach only the matching pod',
    cluster: clientTo(nsPeer(sel({ team: 'y' }), app('web'))),
    from: 'a/client',
    to: 'b/web',
    allowed: true,
    by: ['a/client-out egress 0'],
  },
  {
    name: 'egress namespaceSelector and podSelector in one peer: another pod there is denied',
    cluster: clientTo(nsPeer(sel({ team: 'y' }), app('web'))),
    from: 'a/client',
    to: 'b/client',
    allowed: false,
  },
  {
    name: 'egress ipBlock with except reaches the outside',
    cluster: clientTo(ipBlock('0.0.0.0/0', '10.0.0.0/8')),
    from: 'a/client',
    to: EXTERNAL,
    allowed: true,
    by: ['a/client-out egress 0'],
    ingress: 'not-a-pod',
  },
  {
    name: 'egress ipBlock with except does not reach the excepted pods',
    cluster: clientTo(ipBlock('0.0.0.0/0', '10.0.0.0/8')),
    from: 'a/client',
    to: 'b/web',
    allowed: false,
  },
  {
    name: 'egress peers are ORed',
    cluster: clientTo(ipBlock('198.51.100.0/24'), podPeer(app('web'))),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/client-out egress 0'],
  },
  {
    name: 'egress pod peers never match an outside address',
    cluster: clientTo(podPeer(), nsPeer(sel())),
    from: 'a/client',
    to: EXTERNAL,
    allowed: false,
  },
];

// --- Label selectors ------------------------------------------------------------

/** a/web admits pods of any namespace matching `podSelector`. */
const webFromPods = (podSelector: ReturnType<typeof sel>) => webFrom(nsPeer(sel(), podSelector));

const SELECTORS: readonly Row[] = [
  {
    name: 'matchLabels requires every label: all present',
    cluster: webFrom(podPeer(sel({ app: 'db', tier: 'data' }))),
    from: 'a/db',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'matchLabels requires every label: one differs',
    cluster: webFrom(podPeer(sel({ app: 'db', tier: 'web' }))),
    from: 'a/db',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'In matches a listed value',
    cluster: webFromPods(sel({}, expr('app', 'In', 'client', 'db'))),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'In does not match an unlisted value',
    cluster: webFromPods(sel({}, expr('app', 'In', 'client', 'db'))),
    from: 'b/web',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'NotIn does not match a listed value',
    cluster: webFromPods(sel({}, expr('app', 'NotIn', 'client'))),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'NotIn matches a pod without the key',
    cluster: webFromPods(sel({}, expr('tier', 'NotIn', 'data'))),
    from: 'b/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'Exists matches a pod with the key',
    cluster: webFromPods(sel({}, expr('tier', 'Exists'))),
    from: 'a/db',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'Exists does not match a pod without the key',
    cluster: webFromPods(sel({}, expr('tier', 'Exists'))),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'DoesNotExist matches a pod without the key',
    cluster: webFromPods(sel({}, expr('tier', 'DoesNotExist'))),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'DoesNotExist does not match a pod with the key',
    cluster: webFromPods(sel({}, expr('tier', 'DoesNotExist'))),
    from: 'a/db',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'empty namespace and pod selectors match every pod of every namespace',
    cluster: webFrom(nsPeer(sel(), sel())),
    from: 'c/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: "an empty policy podSelector isolates every pod of the policy's namespace",
    cluster: scene([policy('a/deny-all', { podSelector: sel(), ingress: [] })]),
    from: 'b/client',
    to: 'a/db',
    allowed: false,
    ingress: 'no-rule-matched',
  },
  {
    name: 'matchExpressions on the policy podSelector choose the isolated pods',
    cluster: scene([
      policy('a/deny-some', { podSelector: sel({}, expr('app', 'In', 'web', 'db')), ingress: [] }),
    ]),
    from: 'b/client',
    to: 'a/client',
    allowed: true,
    ingress: 'not-isolated',
  },
  {
    name: 'kubernetes.io/metadata.name selects a namespace by name',
    cluster: webFrom(nsPeer(sel({ 'kubernetes.io/metadata.name': 'c' }))),
    from: 'c/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'kubernetes.io/metadata.name does not select other namespaces',
    cluster: webFrom(nsPeer(sel({ 'kubernetes.io/metadata.name': 'c' }))),
    from: 'b/client',
    to: 'a/web',
    allowed: false,
  },
  {
    name: 'matchExpressions select namespaces too',
    cluster: webFrom(nsPeer(sel({}, expr('env', 'Exists')))),
    from: 'c/client',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
];

// --- Ports --------------------------------------------------------------------------

/** a/web (and any app=web pod of a) admits everyone on `ports`. */
const webPorts = (...ports: ReturnType<typeof port>[]) =>
  scene(
    [policy('a/web-ports', { podSelector: app('web'), ingress: [rule(null, ports)] })],
    [
      pod(
        'a/web2',
        { app: 'web' },
        { nodeName: 'node-2', ips: ['10.0.1.4'], ports: [named('http', 9090)] },
      ),
    ],
  );
/** a/client may reach anything on `ports`. */
const clientPorts = (...ports: ReturnType<typeof port>[]) =>
  scene([
    policy('a/client-ports', {
      podSelector: app('client'),
      policyTypes: ['egress'],
      egress: [rule(null, ports)],
    }),
  ]);

const PORTS: readonly Row[] = [
  {
    name: 'a port number admits that port',
    cluster: webPorts(port(80)),
    from: 'b/client',
    to: 'a/web',
    port: 80,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a port number admits no other port',
    cluster: webPorts(port(80)),
    from: 'b/client',
    to: 'a/web',
    port: 8080,
    allowed: false,
  },
  {
    name: 'a port with no protocol means TCP: UDP to it is denied',
    cluster: webPorts(port(80)),
    from: 'b/client',
    to: 'a/web',
    protocol: 'UDP',
    port: 80,
    allowed: false,
  },
  {
    name: 'a UDP port admits UDP',
    cluster: webPorts(port(53, 'UDP')),
    from: 'b/client',
    to: 'a/web',
    protocol: 'UDP',
    port: 53,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a UDP port does not admit TCP to the same number',
    cluster: webPorts(port(53, 'UDP')),
    from: 'b/client',
    to: 'a/web',
    protocol: 'TCP',
    port: 53,
    allowed: false,
  },
  {
    name: 'an SCTP port admits SCTP',
    cluster: webPorts(port(3868, 'SCTP')),
    from: 'b/client',
    to: 'a/web',
    protocol: 'SCTP',
    port: 3868,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'an SCTP port does not admit TCP',
    cluster: webPorts(port(3868, 'SCTP')),
    from: 'b/client',
    to: 'a/web',
    port: 3868,
    allowed: false,
  },
  {
    name: 'endPort admits the first port of the range',
    cluster: webPorts(port(8000, 'TCP', 8099)),
    from: 'b/client',
    to: 'a/web',
    port: 8000,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'endPort admits the last port of the range',
    cluster: webPorts(port(8000, 'TCP', 8099)),
    from: 'b/client',
    to: 'a/web',
    port: 8099,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'endPort admits nothing past the range',
    cluster: webPorts(port(8000, 'TCP', 8099)),
    from: 'b/client',
    to: 'a/web',
    port: 8100,
    allowed: false,
  },
  {
    name: 'endPort admits nothing before the range',
    cluster: webPorts(port(8000, 'TCP', 8099)),
    from: 'b/client',
    to: 'a/web',
    port: 7999,
    allowed: false,
  },
  {
    name: 'a protocol without a port admits every port of that protocol',
    cluster: webPorts(port(undefined, 'UDP')),
    from: 'b/client',
    to: 'a/web',
    protocol: 'UDP',
    port: 40000,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a protocol without a port admits no other protocol',
    cluster: webPorts(port(undefined, 'UDP')),
    from: 'b/client',
    to: 'a/web',
    port: 40000,
    allowed: false,
  },
  {
    name: 'a named port resolves on the destination pod: http is 8080 on a/web',
    cluster: webPorts(port('http')),
    from: 'b/client',
    to: 'a/web',
    port: 8080,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a named port resolves on the destination pod: 9090 is not http on a/web',
    cluster: webPorts(port('http')),
    from: 'b/client',
    to: 'a/web',
    port: 9090,
    allowed: false,
  },
  {
    name: 'a named port resolves on the destination pod: http is 9090 on a/web2',
    cluster: webPorts(port('http')),
    from: 'b/client',
    to: '10.0.1.4',
    port: 9090,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a named port resolves on the destination pod: 8080 is not http on a/web2',
    cluster: webPorts(port('http')),
    from: 'b/client',
    to: '10.0.1.4',
    port: 8080,
    allowed: false,
  },
  {
    name: 'a named port must match the container port protocol too',
    cluster: webPorts(port('dns')),
    from: 'b/client',
    to: 'a/web',
    port: 5353,
    allowed: false,
  },
  {
    name: 'a named UDP port resolves to the UDP container port',
    cluster: webPorts(port('dns', 'UDP')),
    from: 'b/client',
    to: 'a/web',
    protocol: 'UDP',
    port: 5353,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'a name that resolves nowhere allows nothing',
    cluster: webPorts(port('grpc')),
    from: 'b/client',
    to: 'a/web',
    port: 8080,
    allowed: false,
    ingress: 'no-rule-matched',
  },
  {
    name: 'an egress named port resolves on the destination pod: http is 8080 on a/web',
    cluster: clientPorts(port('http')),
    from: 'a/client',
    to: 'a/web',
    port: 8080,
    allowed: true,
    by: ['a/client-ports egress 0'],
  },
  {
    name: 'an egress named port resolves on the destination pod: http is 9090 on b/web',
    cluster: clientPorts(port('http')),
    from: 'a/client',
    to: 'b/web',
    port: 9090,
    allowed: true,
    by: ['a/client-ports egress 0'],
  },
  {
    name: 'an egress named port resolves on the destination pod: 8080 is not http on b/web',
    cluster: clientPorts(port('http')),
    from: 'a/client',
    to: 'b/web',
    port: 8080,
    allowed: false,
  },
  {
    name: 'an egress named port resolves to nothing on an address that is no pod',
    cluster: clientPorts(port('http')),
    from: 'a/client',
    to: EXTERNAL,
    port: 8080,
    allowed: false,
    egress: 'no-rule-matched',
  },
  {
    name: 'an egress port range admits a port inside it',
    cluster: clientPorts(port(30000, 'UDP', 32767)),
    from: 'a/client',
    to: EXTERNAL,
    protocol: 'UDP',
    port: 31000,
    allowed: true,
    by: ['a/client-ports egress 0'],
  },
];

// --- Both sides: same node or not ------------------------------------------------------

const clientEgressDenied = policy('a/client-deny', {
  podSelector: app('client'),
  policyTypes: ['egress'],
});
const webIngressAll = policy('a/web-all', { podSelector: app('web'), ingress: [rule()] });
const webIngressDenied = policy('a/web-deny', { podSelector: app('web'), ingress: [] });
const clientEgressAll = policy('a/client-all', {
  podSelector: app('client'),
  policyTypes: ['egress'],
  egress: [rule()],
});

const BOTH_SIDES: readonly Row[] = [
  {
    name: "same-node traffic is denied by the source's egress though the destination admits it",
    cluster: scene([clientEgressDenied, webIngressAll]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    by: ['a/web-all ingress 0'],
    egress: 'no-rule-matched',
    ingress: 'allowed-by-rule',
  },
  {
    name: "same-node traffic is denied by the destination's ingress though the source may send it",
    cluster: scene([clientEgressAll, webIngressDenied]),
    from: 'a/client',
    to: 'a/web',
    allowed: false,
    by: ['a/client-all egress 0'],
    egress: 'allowed-by-rule',
    ingress: 'no-rule-matched',
  },
  {
    name: 'same-node traffic passes when both sides admit it',
    cluster: scene([clientEgressAll, webIngressAll]),
    from: 'a/client',
    to: 'a/web',
    allowed: true,
    by: ['a/client-all egress 0', 'a/web-all ingress 0'],
  },
  {
    name: "cross-node traffic is denied by the source's egress",
    cluster: scene([clientEgressDenied, webIngressAll]),
    from: 'a/client',
    to: 'a/db',
    allowed: false,
    egress: 'no-rule-matched',
    ingress: 'not-isolated',
  },
  {
    name: "cross-node traffic is denied by the destination's ingress",
    cluster: scene([clientEgressAll, policy('a/db-deny', { podSelector: app('db'), ingress: [] })]),
    from: 'a/client',
    to: 'a/db',
    allowed: false,
    by: ['a/client-all egress 0'],
    ingress: 'no-rule-matched',
  },
];

// --- Which pods count -------------------------------------------------------------------

const agent = pod(
  'a/agent',
  { app: 'client' },
  { nodeName: 'node-2', ips: ['192.168.0.2'], hostNetwork: true },
);
const finished = pod('a/finished', { app: 'client' }, { phase: 'Succeeded', ips: ['10.0.1.9'] });
const reuser = pod('a/reuser', { app: 'other' }, { ips: ['10.0.1.9'] });
const failed = pod('a/failed', { app: 'client' }, { phase: 'Failed', ips: ['10.0.1.10'] });
const starting = pod('a/starting', { app: 'client' }, { phase: 'Pending', ips: ['10.0.1.11'] });
const unscheduled = pod('a/unscheduled', { app: 'client' }, { phase: 'Pending', nodeName: '' });
const LIFECYCLE_PODS = [agent, finished, reuser, failed, starting, unscheduled];

const webFromClients = scene(
  [policy('a/web-in', { podSelector: app('web'), ingress: [rule([podPeer(app('client'))])] })],
  LIFECYCLE_PODS,
);
const clientsDenied = scene(
  [policy('a/client-deny', { podSelector: app('client'), ingress: [] })],
  LIFECYCLE_PODS,
);

const WHICH_PODS: readonly Row[] = [
  {
    name: 'a hostNetwork pod is no peer, even when its labels match',
    cluster: webFromClients,
    from: '192.168.0.2',
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
    ingress: 'no-rule-matched',
  },
  {
    name: 'a hostNetwork pod is no target: policies selecting its labels do not apply',
    cluster: clientsDenied,
    from: 'b/client',
    to: '192.168.0.2',
    allowed: true,
    ingress: 'not-a-pod',
  },
  {
    name: "a Succeeded pod is no peer: its reused IP is judged by the running pod's labels",
    cluster: webFromClients,
    from: '10.0.1.9',
    to: 'a/web',
    allowed: false,
    egress: 'not-isolated',
  },
  {
    name: 'a reused IP is admitted when the running pod matches',
    cluster: scene(
      [policy('a/web-in', { podSelector: app('web'), ingress: [rule([podPeer(app('other'))])] })],
      LIFECYCLE_PODS,
    ),
    from: '10.0.1.9',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'a Failed pod is no peer',
    cluster: webFromClients,
    from: '10.0.1.10',
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
  },
  {
    name: 'a Failed pod is no target',
    cluster: clientsDenied,
    from: 'b/client',
    to: '10.0.1.10',
    allowed: true,
    ingress: 'not-a-pod',
  },
  {
    name: 'a Pending pod that has an IP is already a peer',
    cluster: webFromClients,
    from: '10.0.1.11',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'a Pending pod that has an IP is already a target',
    cluster: clientsDenied,
    from: 'b/client',
    to: '10.0.1.11',
    allowed: false,
    ingress: 'no-rule-matched',
  },
  {
    name: 'an address no pod has yet is no peer, though an IP-less pod matches the selector',
    cluster: webFromClients,
    from: '10.0.1.12',
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
  },
];

// --- Dual-stack ------------------------------------------------------------------------------

const DUAL_STACK: readonly Row[] = [
  {
    name: 'a dual-stack pod is a peer by its IPv6 address too',
    cluster: webFrom(podPeer(app('client'))),
    from: 'a/client',
    to: 'a/web',
    family: 'ip6',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'a dual-stack pod is isolated on its IPv6 address too',
    cluster: scene([webIngressDenied]),
    from: 'b/client',
    to: 'a/web',
    family: 'ip6',
    allowed: false,
    ingress: 'no-rule-matched',
  },
  {
    name: 'a dual-stack pod is isolated for egress on its IPv6 address too',
    cluster: scene([clientEgressDenied]),
    from: 'a/client',
    to: EXTERNAL6,
    family: 'ip6',
    allowed: false,
    egress: 'no-rule-matched',
  },
  {
    name: 'an IPv4 ipBlock does not admit the IPv6 address of a pod it covers',
    cluster: webFrom(ipBlock('10.0.0.0/8')),
    from: 'a/client',
    to: 'a/web',
    family: 'ip6',
    allowed: false,
  },
  {
    name: 'an IPv6 ipBlock admits an address inside it',
    cluster: webFrom(ipBlock('fd00::/16', 'fd00::2:0/112')),
    from: 'a/client',
    to: 'a/web',
    family: 'ip6',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'an IPv6 ipBlock does not admit an address in its except',
    cluster: webFrom(ipBlock('fd00::/16', 'fd00::2:0/112')),
    from: 'b/client',
    to: 'a/web',
    family: 'ip6',
    allowed: false,
  },
  {
    name: 'an IPv6 egress ipBlock reaches the outside',
    cluster: clientTo(ipBlock('2001:db8::/32')),
    from: 'a/client',
    to: EXTERNAL6,
    family: 'ip6',
    allowed: true,
    by: ['a/client-out egress 0'],
  },
  {
    name: 'IPv6 UDP is admitted by a UDP port',
    cluster: webPorts(port(53, 'UDP')),
    from: 'b/client',
    to: 'a/web',
    family: 'ip6',
    protocol: 'UDP',
    port: 53,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'IPv6 SCTP is admitted by an SCTP port',
    cluster: webPorts(port(3868, 'SCTP')),
    from: 'b/client',
    to: 'a/web',
    family: 'ip6',
    protocol: 'SCTP',
    port: 3868,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
  {
    name: 'an IPv6 named port resolves on the destination pod like IPv4',
    cluster: webPorts(port('http')),
    from: 'b/client',
    to: 'a/web',
    family: 'ip6',
    port: 8080,
    allowed: true,
    by: ['a/web-ports ingress 0'],
  },
];

// --- The host reaches its own pods -----------------------------------------------------------

const HOST: readonly Row[] = [
  {
    name: "the node's own address reaches its pod even under ingress: []",
    cluster: scene([webIngressDenied]),
    from: '192.168.0.1',
    to: 'a/web',
    port: 8080,
    allowed: true,
    egress: 'not-a-pod',
    ingress: 'host-to-own-pod',
    isolating: ['a/web-deny ingress'],
  },
  {
    name: "the node's own IPv6 address reaches its pod too",
    cluster: scene([webIngressDenied]),
    from: 'fd00:ffff::1',
    to: 'a/web',
    family: 'ip6',
    allowed: true,
    ingress: 'host-to-own-pod',
  },
  {
    name: "the node's own address is credited to no rule, even one that would match",
    cluster: scene([webIngressAll]),
    from: '192.168.0.1',
    to: 'a/web',
    allowed: true,
    by: [],
    ingress: 'host-to-own-pod',
  },
  {
    name: "another node's address is judged by the rules like any outside address",
    cluster: scene([webIngressDenied]),
    from: '192.168.0.2',
    to: 'a/web',
    allowed: false,
    egress: 'not-a-pod',
    ingress: 'no-rule-matched',
  },
  {
    name: "another node's address is admitted by an ipBlock covering it",
    cluster: webFrom(ipBlock('192.168.0.0/24')),
    from: '192.168.0.2',
    to: 'a/web',
    allowed: true,
    by: ['a/web-in ingress 0'],
  },
  {
    name: 'a pod reaching its own node is decided by its egress alone: denied',
    cluster: scene([clientEgressDenied]),
    from: 'a/client',
    to: '192.168.0.1',
    allowed: false,
    egress: 'no-rule-matched',
    ingress: 'not-a-pod',
  },
  {
    name: 'a pod reaching its own node is decided by its egress alone: admitted by ipBlock',
    cluster: clientTo(ipBlock('192.168.0.1/32')),
    from: 'a/client',
    to: '192.168.0.1',
    allowed: true,
    by: ['a/client-out egress 0'],
    ingress: 'not-a-pod',
  },
];

const TABLES: Readonly<Record<string, readonly Row[]>> = {
  'a pod is isolated only by policies of its namespace that select it': ISOLATION,
  'policyTypes decide which directions a policy isolates': POLICY_TYPES,
  'rules without from/to or ports, and empty rule lists': EMPTY_PARTS,
  'peers: podSelector, namespaceSelector, both, several, ipBlock': PEERS,
  'label selectors': SELECTORS,
  'ports: numbers, ranges, protocols, named ports': PORTS,
  'both sides decide, on one node or two': BOTH_SIDES,
  'only running, IP-holding, non-hostNetwork pods count': WHICH_PODS,
  'dual-stack pods': DUAL_STACK,
  'the host reaches its own pods': HOST,
};

// --- Running the rows -------------------------------------------------------------------------

/** The address a row means: an IP as given, or the pod's IP of the row's family. */
function addressOf(c: Cluster, ref: string, family: Family): string {
  if (!ref.includes('/')) return ref;
  const p = c.pods.find((x) => `${x.namespace}/${x.name}` === ref);
  const ip = p?.ips.find((i) => i.includes(':') === (family === 'ip6'));
  if (ip === undefined) throw new Error(`test bug: ${ref} has no ${family} address`);
  return ip;
}

function ask(row: Row, c: Cluster = row.cluster): Verdict {
  const family = row.family ?? 'ip';
  return explainConnection(c, {
    from: addressOf(c, row.from, family),
    to: addressOf(c, row.to, family),
    protocol: row.protocol ?? 'TCP',
    port: row.port ?? 80,
  });
}

const refText = (r: RuleRef) => `${r.policy} ${r.direction} ${r.rule}`;
const decidingRules = (v: Verdict) => [...v.egress.allowedBy, ...v.ingress.allowedBy].map(refText);
const isolatingPolicies = (v: Verdict) => [
  ...v.egress.policies.map((p) => `${p} egress`),
  ...v.ingress.policies.map((p) => `${p} ingress`),
];

for (const [bullet, rows] of Object.entries(TABLES)) {
  describe(bullet, () => {
    for (const row of rows) {
      it(row.name, () => {
        const v = ask(row);
        assert.equal(v.allowed, row.allowed, 'allowed');
        assert.equal(v.allowed, v.egress.allowed && v.ingress.allowed, 'both sides');
        if (row.by !== undefined || row.allowed) {
          assert.deepEqual(decidingRules(v), row.by ?? [], 'deciding rules');
        }
        if (row.egress !== undefined) assert.equal(v.egress.reason, row.egress, 'egress reason');
        if (row.ingress !== undefined)
          assert.equal(v.ingress.reason, row.ingress, 'ingress reason');
        if (row.isolating !== undefined) {
          assert.deepEqual(isolatingPolicies(v), row.isolating, 'isolating policies');
        }
        assert.equal(v.egress.direction, 'egress');
        assert.equal(v.ingress.direction, 'ingress');
      });
    }
  });
}

// --- The tables check their own coverage -------------------------------------------------------

type PeerKind = 'any peer' | 'podSelector' | 'namespaceSelector' | 'both selectors' | 'ipBlock';

function peerKind(peer: Peer | null): PeerKind {
  if (peer === null) return 'any peer';
  if (peer.kind === 'ipBlock') return 'ipBlock';
  if (peer.namespaceSelector === null) return 'podSelector';
  const podSelectorEmpty =
    Object.keys(peer.podSelector.matchLabels).length === 0 &&
    peer.podSelector.matchExpressions.length === 0;
  return podSelectorEmpty ? 'namespaceSelector' : 'both selectors';
}

describe('the tables cover the semantics', () => {
  const rows = Object.values(TABLES).flat();
  const verdicts = rows.map((row) => ({ row, v: ask(row) }));

  it('every peer kind decides some connection in both directions', () => {
    const seen = new Set<string>();
    for (const { row, v } of verdicts) {
      for (const ref of [...v.egress.allowedBy, ...v.ingress.allowedBy]) {
        const p = row.cluster.policies.find((x) => `${x.namespace}/${x.name}` === ref.policy);
        const r = (ref.direction === 'ingress' ? p?.ingress : p?.egress)?.[ref.rule];
        assert.ok(r, `rule ${refText(ref)} exists`);
        for (const peer of r.peers ?? [null]) seen.add(`${peerKind(peer)} × ${ref.direction}`);
      }
    }
    const kinds: PeerKind[] = [
      'any peer',
      'podSelector',
      'namespaceSelector',
      'both selectors',
      'ipBlock',
    ];
    const directions: Direction[] = ['ingress', 'egress'];
    const missing = kinds
      .flatMap((k) => directions.map((d) => `${k} × ${d}`))
      .filter((x) => !seen.has(x));
    assert.deepEqual(missing, []);
  });

  it('every family × protocol is asked, allowed at least once', () => {
    const seen = new Set(
      verdicts
        .filter(({ v }) => v.allowed)
        .map(
          ({ v }) => `${v.connection.from.includes(':') ? 'ip6' : 'ip'} × ${v.connection.protocol}`,
        ),
    );
    const families: Family[] = ['ip', 'ip6'];
    const protocols: Protocol[] = ['TCP', 'UDP', 'SCTP'];
    const missing = families
      .flatMap((f) => protocols.map((p) => `${f} × ${p}`))
      .filter((x) => !seen.has(x));
    assert.deepEqual(missing, []);
  });

  it('every reason appears on each side it can appear on', () => {
    const seen = new Set(
      verdicts.flatMap(({ v }) => [`egress ${v.egress.reason}`, `ingress ${v.ingress.reason}`]),
    );
    const reasons: SideReason[] = [
      'not-a-pod',
      'not-isolated',
      'allowed-by-rule',
      'no-rule-matched',
    ];
    const expected = [
      ...reasons.flatMap((r) => [`egress ${r}`, `ingress ${r}`]),
      'ingress host-to-own-pod',
    ];
    assert.deepEqual(
      expected.filter((x) => !seen.has(x)),
      [],
    );
  });

  it('every table has both an allowed and a denied row', () => {
    for (const [bullet, tableRows] of Object.entries(TABLES)) {
      const outcomes = new Set(tableRows.map((r) => r.allowed));
      assert.equal(outcomes.size, 2, bullet);
    }
  });

  it('row names are unique', () => {
    const names = rows.map((r) => r.name);
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
    );
  });
});

// --- Where pods run never changes a verdict (the host's own traffic aside) --------------------

describe('the oracle ignores placement', () => {
  const onNode = (c: Cluster, place: (p: Pod, i: number) => string): Cluster => ({
    ...c,
    pods: c.pods.map((p, i) => ({ ...p, nodeName: place(p, i) })),
  });
  const rows = Object.entries(TABLES)
    .filter(([, rs]) => rs !== HOST)
    .flatMap(([, rs]) => rs);

  it('every row decides the same with all pods on one node and each on its own', () => {
    for (const row of rows) {
      const expected = ask(row);
      for (const c of [
        onNode(row.cluster, () => 'node-1'),
        onNode(row.cluster, (_p, i) => `node-${i + 10}`),
      ]) {
        const v = ask(row, c);
        assert.equal(v.allowed, expected.allowed, row.name);
        assert.deepEqual(decidingRules(v), decidingRules(expected), row.name);
      }
    }
  });
});

// --- Questions the oracle refuses ---------------------------------------------------------------

describe('questions the oracle refuses', () => {
  const c = scene([]);
  const cases: readonly {
    name: string;
    from: string;
    to: string;
    port: number;
    message: RegExp;
  }[] = [
    {
      name: 'an IPv4 source with an IPv6 destination',
      from: '10.0.1.2',
      to: 'fd00::1:1',
      port: 80,
      message: /different address families/,
    },
    {
      name: 'an address that is no IP',
      from: 'web.a.svc',
      to: '10.0.1.1',
      port: 80,
      message: /invalid source address "web\.a\.svc"/,
    },
    { name: 'port 0', from: '10.0.1.2', to: '10.0.1.1', port: 0, message: /port 0/ },
    { name: 'a port above 65535', from: '10.0.1.2', to: '10.0.1.1', port: 65536, message: /65536/ },
  ];
  for (const x of cases) {
    it(`${x.name} is refused with an ExplainError`, () => {
      assert.throws(
        () => explainConnection(c, { from: x.from, to: x.to, protocol: 'TCP', port: x.port }),
        (err: unknown) => err instanceof ExplainError && x.message.test(err.message),
      );
    });
  }

  it('an IP two running pods claim (an inconsistent snapshot) resolves to the first by name', () => {
    const c = scene(
      [policy('a/deny-web', { podSelector: app('web'), ingress: [] })],
      [pod('a/aaa-web', { app: 'web' }, { ips: ['10.0.1.2'] })],
    );
    const v = explainConnection(c, { from: '10.0.2.2', to: '10.0.1.2', protocol: 'TCP', port: 80 });
    assert.equal(v.ingress.pod, 'a/aaa-web');
    assert.equal(v.allowed, false);
  });

  it('addresses in any valid spelling resolve to the same pod', () => {
    const ask6 = (to: string) =>
      explainConnection(scene([webIngressDenied]), {
        from: 'fd00::2:2',
        to,
        protocol: 'TCP',
        port: 80,
      });
    assert.equal(ask6('fd00:0:0:0:0:0:1:1').ingress.pod, 'a/web');
    assert.equal(ask6('FD00::1:1').ingress.pod, 'a/web');
  });
});

describe('explainerFor', () => {
  it('answers exactly as explainConnection does', () => {
    for (const row of Object.values(TABLES).flat()) {
      const family = row.family ?? 'ip';
      const connection = {
        from: addressOf(row.cluster, row.from, family),
        to: addressOf(row.cluster, row.to, family),
        protocol: row.protocol ?? 'TCP',
        port: row.port ?? 80,
      };
      assert.deepEqual(
        explainerFor(row.cluster)(connection),
        explainConnection(row.cluster, connection),
        row.name,
      );
    }
  });
});
