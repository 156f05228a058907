/**
 * The plan's shape, row by row: which chains exist, which allows they hold,
 * and which shared sets the node's script declares. Each row prints its plan
 * as short lines so that the expected value reads like the policy it came
 * from:
 *
 *   in_a_web 10.0.0.5 ← a/p                                   chain, its IPs, its policies
 *     a/p#0 ip from [pods {app=client} in namespace a: 10.0.0.1] ports tcp.80
 *     a/p#1 ip from {10.1.0.0-10.1.0.255} ports *              ipBlock ranges, inline
 *     a/q#0 ip to * ports [any pod, port http/TCP: 10.0.0.7 . tcp . 8080]
 *   set ip pods {app=client} in namespace a                   one declared set (family, peer)
 *
 * A shared set is printed by its meaning, not its id: the peer it stands for
 * (peer-sets.ts describePeerSet) and its current members of the allow's
 * family (membersOf). Members are not in the plan — they are what compose.ts
 * adds to the script — so the rows show both halves of what the node loads.
 * Semantics are checked against the oracle in plan-vs-oracle.property.test.ts;
 * here we pin what render and operators rely on: set identity, inline
 * ranges and ports, ordering, omissions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterIndex } from '../../../src/policy/cluster-index.js';
import type { Cluster, Direction, Family } from '../../../src/policy/model.js';
import {
  describePeerSet,
  membersOf,
  peerSetsOf,
  type PeerSet,
} from '../../../src/policy/peer-sets.js';
import type {
  Allow,
  FirewallPlan,
  PeerMatch,
  PortMatch,
  SharedSetUse,
} from '../../../src/policy/plan.js';
import {
  MAX_CHAIN_NAME,
  translateNode,
  type TranslateOptions,
} from '../../../src/policy/translate.js';
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

/** The family of a member text: its address is the part before the first space. */
function memberFamily(member: string): Family {
  return (member.split(' ')[0] ?? '').includes(':') ? 'ip6' : 'ip';
}

const range = (r: { first: string | number; last: string | number }): string =>
  r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;

/**
 * The plan as lines: one per chain, one per allow (family, peer, ports), then
 * one per shared set the plan declares. `c` is the cluster the plan came
 * from, for the sets' meaning and members.
 */
function showPlan(plan: FirewallPlan, c: Cluster): string[] {
  const defined = peerSetsOf(c.policies);
  const index = new ClusterIndex(c);
  const showSet = (id: string, family: Family | null): string => {
    const set = defined.get(id);
    if (set === undefined) return `UNDEFINED ${id}`;
    const members = membersOf(set, index).filter((m) => memberFamily(m) === family);
    return `[${describePeerSet(set)}: ${members.length === 0 ? 'none' : members.join(', ')}]`;
  };
  const showPeer = (a: Allow, peer: PeerMatch): string => {
    switch (peer.kind) {
      case 'all':
        return '*';
      case 'set':
        return showSet(peer.set, a.family);
      case 'cidrs':
        return `{${peer.ranges.map(range).join(', ')}}`;
    }
  };
  const showPorts = (a: Allow, ports: PortMatch): string => {
    switch (ports.kind) {
      case 'all':
        return '*';
      case 'ports':
        return ports.ports.map((p) => `${p.protocol.toLowerCase()}.${range(p.port)}`).join(', ');
      case 'namedPort':
        return showSet(ports.set, a.family);
    }
  };
  const side: Record<Direction, string> = { ingress: 'from', egress: 'to' };
  return [
    ...plan.chains.flatMap((ch) => [
      `${ch.name} ${ch.ips.join(',')} ← ${ch.policies.join(',')}`,
      ...ch.allows.map(
        (a) =>
          `  ${a.policy}#${a.rule} ${a.family ?? 'any'} ${side[ch.direction]} ${showPeer(a, a.peer)} ports ${showPorts(a, a.ports)}`,
      ),
    ]),
    // By meaning (ids are hashes); setsUsedBy checks the plan's own order.
    ...plan.sets
      .map((s) => {
        const set = defined.get(s.id);
        return `set ${s.family} ${set === undefined ? `UNDEFINED ${s.id}` : describePeerSet(set)}`;
      })
      .sort(),
  ];
}

/** What `plan.sets` must be: every (set, family) an allow uses, once, sorted by id then family. */
function setsUsedBy(plan: FirewallPlan): SharedSetUse[] {
  const uses = new Map<string, SharedSetUse>();
  for (const a of plan.chains.flatMap((ch) => ch.allows)) {
    if (a.family === null) continue;
    if (a.peer.kind === 'set') {
      uses.set(`${a.peer.set} ${a.family}`, { id: a.peer.set, kind: 'addr', family: a.family });
    }
    if (a.ports.kind === 'namedPort') {
      uses.set(`${a.ports.set} ${a.family}`, {
        id: a.ports.set,
        kind: 'addrPort',
        family: a.family,
      });
    }
  }
  return [...uses.values()].sort((x, y) =>
    x.id !== y.id ? (x.id < y.id ? -1 : 1) : x.family === y.family ? 0 : x.family === 'ip' ? -1 : 1,
  );
}

interface Row {
  readonly name: string;
  readonly cluster: Cluster;
  readonly node?: string;
  readonly options?: TranslateOptions;
  readonly expected: readonly string[];
}

const web = (over: Parameters<typeof pod>[2] = {}) =>
  pod('a/web', { app: 'web' }, { ips: ['10.0.0.5'], ...over });
const client = (over: Parameters<typeof pod>[2] = {}) =>
  pod('a/client', { app: 'client' }, { ips: ['10.0.0.1'], nodeName: 'node-2', ...over });
const isolateWeb = { podSelector: sel({ app: 'web' }) };
const clientsOfA = 'pods {app=client} in namespace a';

const rows: readonly Row[] = [
  {
    name: 'a pod no policy selects gets no chain',
    cluster: cluster([ns('a')], [web()], [policy('a/other', { podSelector: sel({ app: 'db' }) })]),
    expected: [],
  },
  {
    name: 'ingress: [] isolates the pod and allows nothing',
    cluster: cluster([ns('a')], [web()], [policy('a/deny', { ...isolateWeb, ingress: [] })]),
    expected: ['in_a_web 10.0.0.5 ← a/deny'],
  },
  {
    name: 'ingress: [{}] allows everything with one match-all allow',
    cluster: cluster([ns('a')], [web()], [policy('a/all', { ingress: [rule()] })]),
    expected: ['in_a_web 10.0.0.5 ← a/all', '  a/all#0 any from * ports *'],
  },
  {
    name: 'a rule with ports but no peers is one family-independent line, ports inline',
    cluster: cluster(
      [ns('a')],
      [web({ ips: ['10.0.0.5', 'fd00::5'] })],
      [
        policy('a/p', {
          ingress: [rule(null, [port(80), port(53, 'UDP'), port(8000, 'TCP', 8080)])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5,fd00::5 ← a/p',
      '  a/p#0 any from * ports tcp.80, tcp.8000-8080, udp.53',
    ],
  },
  {
    name: 'a pods peer is one shared set, used once per family of the pod, with members on every node',
    cluster: cluster(
      [ns('a')],
      [
        web({ ips: ['fd00::5', '10.0.0.5'] }),
        client({ ips: ['10.0.0.1', 'fd00::1'] }),
        pod('a/client2', { app: 'client' }, { ips: ['10.0.0.2'], nodeName: 'node-3' }),
      ],
      [policy('a/p', { ...isolateWeb, ingress: [rule([podPeer(sel({ app: 'client' }))])] })],
    ),
    expected: [
      'in_a_web 10.0.0.5,fd00::5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: 10.0.0.1, 10.0.0.2] ports *`,
      `  a/p#0 ip6 from [${clientsOfA}: fd00::1] ports *`,
      `set ip ${clientsOfA}`,
      `set ip6 ${clientsOfA}`,
    ],
  },
  {
    name: 'an IPv4-only pod gets no allow for IPv6 peers',
    cluster: cluster(
      [ns('a')],
      [web(), client({ ips: ['10.0.0.1', 'fd00::1'] })],
      [
        policy('a/p', {
          ...isolateWeb,
          ingress: [rule([podPeer(sel({ app: 'client' })), ipBlock('::/0')])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: 10.0.0.1] ports *`,
      `set ip ${clientsOfA}`,
    ],
  },
  {
    name: 'a pods peer on an IPv4-only pod declares only the IPv4 set, whatever families its members have',
    cluster: cluster(
      [ns('a')],
      [
        web(),
        client({ ips: ['fd00::1', '10.0.0.1'] }),
        pod('a/client6', { app: 'client' }, { ips: ['fd00::2'], nodeName: 'node-3' }),
      ],
      [
        policy('a/p', {
          ...isolateWeb,
          ingress: [rule([podPeer(sel({ app: 'client' }))], [port(80)])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: 10.0.0.1] ports tcp.80`,
      `set ip ${clientsOfA}`,
    ],
  },
  {
    name: 'peers and ports: the peers as a set, the ports inline on the same line',
    cluster: cluster(
      [ns('a')],
      [web(), client()],
      [
        policy('a/p', {
          ...isolateWeb,
          ingress: [rule([podPeer(sel({ app: 'client' }))], [port(443), port(53, 'SCTP')])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: 10.0.0.1] ports sctp.53, tcp.443`,
      `set ip ${clientsOfA}`,
    ],
  },
  {
    name: 'ipBlock except is subtracted into disjoint ranges, inline',
    cluster: cluster(
      [ns('a')],
      [web()],
      [
        policy('a/p', {
          ingress: [rule([ipBlock('10.1.0.0/16', '10.1.1.0/24', '10.1.128.0/17')])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      '  a/p#0 ip from {10.1.0.0-10.1.0.255, 10.1.2.0-10.1.127.255} ports *',
    ],
  },
  {
    name: 'overlapping ports of a rule merge into disjoint ranges; overlapping peers are lines of their own',
    cluster: cluster(
      [ns('a')],
      [web()],
      [
        policy('a/p', {
          ingress: [
            rule([ipBlock('10.1.0.0/30')], [port(80)]),
            rule(
              [ipBlock('10.1.0.0/30'), ipBlock('10.1.0.2/31')],
              [port(80, 'TCP', 90), port(85), port(91), port(95, 'TCP', 99)],
            ),
          ],
        }),
        policy('a/q', {
          ingress: [rule([ipBlock('10.1.0.0/29'), ipBlock('10.1.0.2/32')], [port(80), port(81)])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p,a/q',
      '  a/p#0 ip from {10.1.0.0-10.1.0.3} ports tcp.80',
      '  a/p#1 ip from {10.1.0.0-10.1.0.3} ports tcp.80-91, tcp.95-99',
      '  a/p#1 ip from {10.1.0.2-10.1.0.3} ports tcp.80-91, tcp.95-99',
      '  a/q#0 ip from {10.1.0.0-10.1.0.7} ports tcp.80-81',
      '  a/q#0 ip from {10.1.0.2} ports tcp.80-81',
    ],
  },
  {
    name: 'a peer repeated within a rule is one line',
    cluster: cluster(
      [ns('a')],
      [web(), client()],
      [
        policy('a/p', {
          ingress: [
            rule([
              podPeer(sel({ app: 'client' })),
              ipBlock('10.2.0.0/16'),
              podPeer(sel({ app: 'client' })),
              ipBlock('10.2.0.0/16'),
            ]),
          ],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: 10.0.0.1] ports *`,
      '  a/p#0 ip from {10.2.0.0-10.2.255.255} ports *',
      `set ip ${clientsOfA}`,
    ],
  },
  {
    name: 'a namespaceSelector peer is one set of the pods of the selected namespaces, on every node',
    cluster: cluster(
      [ns('a'), ns('b', { team: 'x' })],
      [
        web(),
        pod('b/x1', {}, { ips: ['10.0.1.1'], nodeName: 'node-2' }),
        pod('b/x2', {}, { ips: ['10.0.2.1'], nodeName: 'node-3' }),
        pod('a/same-ns', {}, { ips: ['10.0.0.9'] }),
      ],
      [policy('a/p', { ...isolateWeb, ingress: [rule([nsPeer(sel({ team: 'x' }))])] })],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      '  a/p#0 ip from [pods {} in namespaces {team=x}: 10.0.1.1, 10.0.2.1] ports *',
      'set ip pods {} in namespaces {team=x}',
    ],
  },
  {
    name: 'pods that are not enforceable are neither targets nor set members',
    cluster: cluster(
      [ns('a')],
      [
        web(),
        pod('a/host', { app: 'web' }, { ips: ['192.168.0.1'], hostNetwork: true }),
        pod('a/done', { app: 'web' }, { ips: ['10.0.0.7'], phase: 'Succeeded' }),
        pod('a/failed', { app: 'web' }, { ips: ['10.0.0.8'], phase: 'Failed' }),
        pod('a/new', { app: 'web' }, { ips: [] }),
      ],
      [policy('a/p', { ingress: [rule([podPeer()])] })],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      '  a/p#0 ip from [pods {} in namespace a: 10.0.0.5] ports *',
      'set ip pods {} in namespace a',
    ],
  },
  {
    name: 'an IP two live pods claim is a member only of the sets of the pod it is enforced for',
    cluster: cluster(
      [ns('a')],
      [
        web(),
        pod(
          'a/old',
          { app: 'client' },
          { ips: ['10.0.0.7'], nodeName: 'node-2', terminating: true },
        ),
        pod('a/successor', { app: 'other' }, { ips: ['10.0.0.7'], nodeName: 'node-3' }),
      ],
      [
        policy('a/p', {
          ...isolateWeb,
          ingress: [rule([podPeer(sel({ app: 'client' })), podPeer(sel({ app: 'other' }))])],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [${clientsOfA}: none] ports *`,
      '  a/p#0 ip from [pods {app=other} in namespace a: 10.0.0.7] ports *',
      `set ip ${clientsOfA}`,
      'set ip pods {app=other} in namespace a',
    ],
  },
  {
    name: 'ingress named ports resolve on each local pod, inline in its own chain',
    cluster: cluster(
      [ns('a')],
      [
        pod('a/web1', { app: 'web' }, { ips: ['10.0.0.5'], ports: [named('http', 80)] }),
        pod('a/web2', { app: 'web' }, { ips: ['10.0.0.6'], ports: [named('http', 8080)] }),
        pod('a/web3', { app: 'web' }, { ips: ['10.0.0.7'], ports: [named('http', 8080)] }),
      ],
      [policy('a/p', { ingress: [rule(null, [port('http')])] })],
    ),
    expected: [
      'in_a_web1 10.0.0.5 ← a/p',
      '  a/p#0 any from * ports tcp.80',
      'in_a_web2 10.0.0.6 ← a/p',
      '  a/p#0 any from * ports tcp.8080',
      'in_a_web3 10.0.0.7 ← a/p',
      '  a/p#0 any from * ports tcp.8080',
    ],
  },
  {
    name: 'a named port the pod does not declare (or declares for another protocol) emits no allow',
    cluster: cluster(
      [ns('a')],
      [web({ ports: [named('dns', 53, 'UDP')] }), client()],
      [
        policy('a/p', {
          ...isolateWeb,
          ingress: [
            rule([podPeer()], [port('dns', 'TCP'), port('missing')]),
            rule(null, [port('dns', 'TCP')]),
            rule([podPeer()], [port('dns', 'UDP')]),
          ],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p',
      '  a/p#2 ip from [pods {} in namespace a: 10.0.0.1, 10.0.0.5] ports udp.53',
      'set ip pods {} in namespace a',
    ],
  },
  {
    name: 'egress named ports resolve on each peer pod: a set of address . protocol . port',
    cluster: cluster(
      [ns('a')],
      [
        client({ nodeName: 'node-1' }),
        pod(
          'a/api1',
          { app: 'api' },
          { ips: ['10.0.0.11'], nodeName: 'node-2', ports: [named('http', 80)] },
        ),
        pod(
          'a/api2',
          { app: 'api' },
          { ips: ['10.0.0.12'], nodeName: 'node-3', ports: [named('http', 8080)] },
        ),
        pod('a/api3', { app: 'api' }, { ips: ['10.0.0.13'], nodeName: 'node-3' }),
      ],
      [
        policy('a/p', {
          podSelector: sel({ app: 'client' }),
          policyTypes: ['egress'],
          egress: [rule([podPeer(sel({ app: 'api' }))], [port('http'), port(443)])],
        }),
      ],
    ),
    expected: [
      'eg_a_client 10.0.0.1 ← a/p',
      '  a/p#0 ip to [pods {app=api} in namespace a: 10.0.0.11, 10.0.0.12, 10.0.0.13] ports tcp.443',
      '  a/p#0 ip to * ports [pods {app=api} in namespace a, port http/TCP: 10.0.0.11 . tcp . 80, 10.0.0.12 . tcp . 8080]',
      'set ip pods {app=api} in namespace a',
      'set ip pods {app=api} in namespace a, port http/TCP',
    ],
  },
  {
    name: 'an ipBlock peer with an egress named port: a set of the pods inside the block',
    cluster: cluster(
      [ns('a'), ns('b')],
      [
        client({ nodeName: 'node-1' }),
        pod('b/in', {}, { ips: ['10.0.2.1'], nodeName: 'node-2', ports: [named('http', 80)] }),
        pod(
          'b/excepted',
          {},
          { ips: ['10.0.2.9'], nodeName: 'node-2', ports: [named('http', 81)] },
        ),
        pod('b/out', {}, { ips: ['10.0.3.1'], nodeName: 'node-2', ports: [named('http', 82)] }),
      ],
      [
        policy('a/p', {
          podSelector: sel({ app: 'client' }),
          policyTypes: ['egress'],
          egress: [rule([ipBlock('10.0.2.0/24', '10.0.2.8/29')], [port('http')])],
        }),
      ],
    ),
    expected: [
      'eg_a_client 10.0.0.1 ← a/p',
      '  a/p#0 ip to * ports [pods in 10.0.2.0/24 except 10.0.2.8/29, port http/TCP: 10.0.2.1 . tcp . 80]',
      'set ip pods in 10.0.2.0/24 except 10.0.2.8/29, port http/TCP',
    ],
  },
  {
    name: 'an ipBlock peer with numbered and named egress ports: ranges inline, the named port per pod inside',
    cluster: cluster(
      [ns('a'), ns('b')],
      [
        client({ nodeName: 'node-1' }),
        pod(
          'b/in',
          {},
          { ips: ['10.0.2.1'], nodeName: 'node-2', ports: [named('dns', 53, 'UDP')] },
        ),
        pod(
          'b/out',
          {},
          { ips: ['10.0.3.1'], nodeName: 'node-2', ports: [named('dns', 54, 'UDP')] },
        ),
      ],
      [
        policy('a/p', {
          podSelector: sel({ app: 'client' }),
          policyTypes: ['egress'],
          egress: [
            rule([ipBlock('10.0.2.0/24', '10.0.2.128/25')], [port(443), port('dns', 'UDP')]),
          ],
        }),
      ],
    ),
    expected: [
      'eg_a_client 10.0.0.1 ← a/p',
      '  a/p#0 ip to {10.0.2.0-10.0.2.127} ports tcp.443',
      '  a/p#0 ip to * ports [pods in 10.0.2.0/24 except 10.0.2.128/25, port dns/UDP: 10.0.2.1 . udp . 53]',
      'set ip pods in 10.0.2.0/24 except 10.0.2.128/25, port dns/UDP',
    ],
  },
  {
    name: 'an egress rule without peers splits numbered ports (any address) from named ports (per pod)',
    cluster: cluster(
      [ns('a')],
      [
        client({ nodeName: 'node-1', ips: ['10.0.0.1', 'fd00::1'] }),
        pod(
          'a/api',
          {},
          { ips: ['10.0.0.11', 'fd00::11'], nodeName: 'node-2', ports: [named('http', 8080)] },
        ),
      ],
      [
        policy('a/p', {
          podSelector: sel({ app: 'client' }),
          policyTypes: ['egress'],
          egress: [rule(null, [port(53, 'UDP'), port('http')])],
        }),
      ],
    ),
    expected: [
      'eg_a_client 10.0.0.1,fd00::1 ← a/p',
      '  a/p#0 any to * ports udp.53',
      '  a/p#0 ip to * ports [any pod, port http/TCP: 10.0.0.11 . tcp . 8080]',
      '  a/p#0 ip6 to * ports [any pod, port http/TCP: fd00::11 . tcp . 8080]',
      'set ip any pod, port http/TCP',
      'set ip6 any pod, port http/TCP',
    ],
  },
  {
    name: 'an egress named port without `to` is a set over every pod of every namespace that declares it',
    cluster: cluster(
      [ns('a'), ns('b')],
      [
        client({ nodeName: 'node-1', ports: [named('metrics', 9090)] }),
        pod(
          'b/api',
          {},
          { ips: ['10.0.1.1'], nodeName: 'node-2', ports: [named('metrics', 8080)] },
        ),
        pod(
          'b/udp',
          {},
          { ips: ['10.0.1.2'], nodeName: 'node-2', ports: [named('metrics', 53, 'UDP')] },
        ),
        pod('b/none', {}, { ips: ['10.0.1.3'], nodeName: 'node-3' }),
      ],
      [
        policy('a/p', {
          podSelector: sel({ app: 'client' }),
          policyTypes: ['egress'],
          egress: [rule(null, [port('metrics')])],
        }),
      ],
    ),
    expected: [
      'eg_a_client 10.0.0.1 ← a/p',
      '  a/p#0 ip to * ports [any pod, port metrics/TCP: 10.0.0.1 . tcp . 9090, 10.0.1.1 . tcp . 8080]',
      'set ip any pod, port metrics/TCP',
    ],
  },
  {
    name: 'policyTypes decide the direction: an egress-only policy leaves ingress open',
    cluster: cluster(
      [ns('a')],
      [web()],
      [policy('a/eg', { ...isolateWeb, policyTypes: ['egress'], ingress: [rule()], egress: [] })],
    ),
    expected: ['eg_a_web 10.0.0.5 ← a/eg'],
  },
  {
    name: 'chains, policies and allows are sorted by name, then by rule order',
    cluster: cluster(
      [ns('a'), ns('z')],
      [pod('z/b', {}, { ips: ['10.0.0.3'] }), pod('a/b', {}, { ips: ['10.0.0.2'] })],
      [
        policy('z/p', { ingress: [rule([ipBlock('10.9.0.0/16')]), rule()] }),
        policy('a/z', { ingress: [rule(null, [port(2)])] }),
        policy('a/a', { ingress: [rule(null, [port(1)])], egress: [rule()] }),
      ],
    ),
    expected: [
      'eg_a_b 10.0.0.2 ← a/a',
      '  a/a#0 any to * ports *',
      'in_a_b 10.0.0.2 ← a/a,a/z',
      '  a/a#0 any from * ports tcp.1',
      '  a/z#0 any from * ports tcp.2',
      'in_z_b 10.0.0.3 ← z/p',
      '  z/p#0 ip from {10.9.0.0-10.9.255.255} ports *',
      '  z/p#1 any from * ports *',
    ],
  },
  {
    name: 'selectors with expressions pick the isolated pods',
    cluster: cluster(
      [ns('a')],
      [
        pod('a/prod', { env: 'prod' }, { ips: ['10.0.0.2'] }),
        pod('a/dev', { env: 'dev' }, { ips: ['10.0.0.3'] }),
        pod('a/none', {}, { ips: ['10.0.0.4'] }),
      ],
      [policy('a/p', { podSelector: sel({}, expr('env', 'NotIn', 'dev')) })],
    ),
    expected: ['in_a_none 10.0.0.4 ← a/p', 'in_a_prod 10.0.0.2 ← a/p'],
  },
  {
    name: 'only pods on the requested node get chains',
    cluster: cluster([ns('a')], [web(), client()], [policy('a/deny')]),
    node: 'node-2',
    expected: ['in_a_client 10.0.0.1 ← a/deny'],
  },
];

describe('translateNode: plan shape', () => {
  for (const row of rows) {
    it(row.name, () => {
      const plan = translateNode(row.cluster, row.node ?? 'node-1', row.options);
      assert.deepEqual(showPlan(plan, row.cluster), row.expected);
      assert.deepEqual(plan.sets, setsUsedBy(plan), 'plan.sets: exactly the sets the allows use');
    });
  }
});

describe('translateNode: the table above', () => {
  it('covers both directions, every peer and port match, every family, set kind and protocol', () => {
    const seen = new Set<string>();
    for (const row of rows) {
      const plan = translateNode(row.cluster, row.node ?? 'node-1', row.options);
      const defined = peerSetsOf(row.cluster.policies);
      for (const c of plan.chains) {
        seen.add(c.direction);
        for (const a of c.allows) {
          seen.add(`peer ${a.peer.kind}`);
          seen.add(`ports ${a.ports.kind}`);
          seen.add(`family ${a.family ?? 'any'}`);
          if (a.ports.kind === 'ports') for (const p of a.ports.ports) seen.add(p.protocol);
        }
      }
      for (const s of plan.sets) {
        seen.add(`${s.kind}/${s.family}`);
        const protocol = defined.get(s.id)?.namedPort?.protocol;
        if (protocol !== undefined && protocol !== null) seen.add(protocol);
      }
    }
    const wanted = [
      'ingress',
      'egress',
      'peer all',
      'peer set',
      'peer cidrs',
      'ports all',
      'ports ports',
      'ports namedPort',
      'family any',
      'family ip',
      'family ip6',
      'addr/ip',
      'addr/ip6',
      'addrPort/ip',
      'addrPort/ip6',
      'TCP',
      'UDP',
      'SCTP',
    ];
    assert.deepEqual(
      wanted.filter((w) => !seen.has(w)),
      [],
    );
  });
});

describe('translateNode: shared sets are named by identity, not by members', () => {
  /** The set ids the allows of `plan` use, per `policy#rule`, in line order. */
  const idsByRule = (plan: FirewallPlan): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const a of plan.chains.flatMap((ch) => ch.allows)) {
      const id =
        a.peer.kind === 'set' ? a.peer.set : a.ports.kind === 'namedPort' ? a.ports.set : null;
      if (id === null) continue;
      const key = `${a.policy}#${a.rule}`;
      out.set(key, [...(out.get(key) ?? []), id]);
    }
    return out;
  };

  it('identical peers in two policies are one set; the same selector in another namespace is another', () => {
    const c = cluster(
      [ns('a'), ns('b')],
      [web(), pod('b/web', { app: 'web' }, { ips: ['10.0.0.6'] }), client()],
      [
        policy('a/p', { ingress: [rule([podPeer(sel({ app: 'client', tier: 'x' }))])] }),
        // Same peer, labels and expression values written in another order.
        policy('a/q', {
          ingress: [
            rule([podPeer(sel({ tier: 'x', app: 'client' }))]),
            rule([podPeer(sel({}, expr('env', 'In', 'a', 'b')))]),
            rule([podPeer(sel({}, expr('env', 'In', 'b', 'a')))]),
          ],
        }),
        policy('b/r', { ingress: [rule([podPeer(sel({ app: 'client', tier: 'x' }))])] }),
      ],
    );
    const ids = idsByRule(translateNode(c, 'node-1'));
    assert.equal(ids.get('a/p#0')?.[0], ids.get('a/q#0')?.[0]);
    assert.equal(ids.get('a/q#1')?.[0], ids.get('a/q#2')?.[0]);
    assert.notEqual(ids.get('a/p#0')?.[0], ids.get('b/r#0')?.[0]);
    assert.notEqual(ids.get('a/p#0')?.[0], ids.get('a/q#1')?.[0]);
    assert.equal(translateNode(c, 'node-1').sets.length, 3);
    // peerSetsOf defines the same three sets, whichever pods they hold.
    assert.deepEqual(
      [...peerSetsOf(c.policies).keys()].sort(),
      [...new Set([...ids.values()].flat())].sort(),
    );
  });

  it('a peer selecting the same pods in other words is another set: identity, not content', () => {
    const c = cluster(
      [ns('a')],
      [web(), client()],
      [
        policy('a/p', {
          ingress: [
            rule([podPeer(sel({ app: 'client' }))]),
            rule([nsPeer(sel({ 'kubernetes.io/metadata.name': 'a' }), sel({ app: 'client' }))]),
          ],
        }),
      ],
    );
    const plan = translateNode(c, 'node-1');
    const ids = idsByRule(plan);
    assert.notEqual(ids.get('a/p#0')?.[0], ids.get('a/p#1')?.[0]);
    const index = new ClusterIndex(c);
    const members = plan.sets.map((s) =>
      membersOf(peerSetsOf(c.policies).get(s.id) as PeerSet, index),
    );
    assert.deepEqual(members, [['10.0.0.1'], ['10.0.0.1']]);
  });

  it('set ids are pods-<16 hex> for peers and port-<16 hex> for egress named ports', () => {
    const c = cluster(
      [ns('a')],
      [web({ ips: ['10.0.0.5', 'fd00::5'] })],
      [
        policy('a/p', {
          ingress: [rule([podPeer(sel({ app: 'client' })), ipBlock('10.1.0.0/16')], [port(1)])],
          egress: [rule([podPeer(sel({ app: 'db' }))], [port('sql'), port(2)])],
        }),
      ],
    );
    const sets = translateNode(c, 'node-1').sets.map(
      (s) => `${s.id.replace(/^(pods|port)-[0-9a-f]{16}$/, '$1-#')} ${s.kind} ${s.family}`,
    );
    assert.deepEqual(sets.sort(), [
      'pods-# addr ip',
      'pods-# addr ip',
      'pods-# addr ip6',
      'pods-# addr ip6',
      'port-# addrPort ip',
      'port-# addrPort ip6',
    ]);
  });

  it('a set id does not change when its members do, and changes when its peer does', () => {
    const idFor = (
      pods: Parameters<typeof cluster>[1],
      egress: Parameters<typeof rule>,
    ): string => {
      const c = cluster(
        [ns('a'), ns('b', { team: 'x' })],
        [web(), ...(pods ?? [])],
        [policy('a/p', { ...isolateWeb, policyTypes: ['egress'], egress: [rule(...egress)] })],
      );
      const [use] = translateNode(c, 'node-1').sets;
      assert.ok(use);
      return use.id;
    };
    const peer = [nsPeer(sel({ team: 'x' }), sel({ app: 'api' }))];
    const api = (ip: string, http: number) =>
      pod(
        `b/api-${ip}`,
        { app: 'api' },
        { ips: [ip], nodeName: 'node-2', ports: [named('http', http)] },
      );
    const base = idFor([api('10.0.1.1', 80)], [peer, [port('http')]]);
    assert.equal(idFor([], [peer, [port('http')]]), base, 'no member at all');
    assert.equal(
      idFor([api('10.0.1.1', 8080), api('10.0.1.2', 80)], [peer, [port('http')]]),
      base,
      'other members, other ports',
    );
    assert.notEqual(idFor([api('10.0.1.1', 80)], [peer, [port('web')]]), base, 'another port name');
    assert.notEqual(idFor([api('10.0.1.1', 80)], [peer, [port('http', 'UDP')]]), base, 'protocol');
    assert.notEqual(
      idFor(
        [api('10.0.1.1', 80)],
        [[nsPeer(sel({ team: 'y' }), sel({ app: 'api' }))], [port('http')]],
      ),
      base,
      'another namespace selector',
    );
    assert.notEqual(
      idFor([api('10.0.1.1', 80)], [peer, null]),
      base,
      'the peer set, not the port set',
    );
  });

  it('a remote pod or a namespace label changing leaves the node’s plan as it was; only members change', () => {
    const policies = [
      policy('a/p', {
        ...isolateWeb,
        ingress: [rule([nsPeer(sel({ team: 'x' }), sel({ app: 'client' }))])],
        egress: [rule([podPeer(sel({ app: 'api' }))], [port('http')])],
      }),
    ];
    const before = cluster(
      [ns('a'), ns('b', { team: 'x' })],
      [
        web(),
        pod('b/client', { app: 'client' }, { ips: ['10.0.1.1'], nodeName: 'node-2' }),
        pod(
          'a/api',
          { app: 'api' },
          { ips: ['10.0.0.9'], nodeName: 'node-2', ports: [named('http', 80)] },
        ),
      ],
      policies,
    );
    const after = cluster(
      [ns('a'), ns('b'), ns('c', { team: 'x' })],
      [
        web(),
        pod('b/client', { app: 'client' }, { ips: ['10.0.1.1'], nodeName: 'node-2' }),
        pod('c/client', { app: 'client' }, { ips: ['10.0.2.1'], nodeName: 'node-3' }),
        pod(
          'a/api',
          { app: 'api' },
          { ips: ['10.0.0.9'], nodeName: 'node-2', ports: [named('http', 8080)] },
        ),
        pod(
          'a/api2',
          { app: 'api' },
          { ips: ['10.0.0.10'], nodeName: 'node-3', ports: [named('http', 80)] },
        ),
      ],
      policies,
    );
    const plan = translateNode(before, 'node-1');
    assert.deepEqual(translateNode(after, 'node-1'), plan);
    const lines = (egressMembers: string, ingressMembers: string): string[] => [
      'eg_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip to * ports [pods {app=api} in namespace a, port http/TCP: ${egressMembers}]`,
      'in_a_web 10.0.0.5 ← a/p',
      `  a/p#0 ip from [pods {app=client} in namespaces {team=x}: ${ingressMembers}] ports *`,
      'set ip pods {app=api} in namespace a, port http/TCP',
      'set ip pods {app=client} in namespaces {team=x}',
    ];
    assert.deepEqual(showPlan(plan, before), lines('10.0.0.9 . tcp . 80', '10.0.1.1'));
    assert.deepEqual(
      showPlan(plan, after),
      lines('10.0.0.9 . tcp . 8080, 10.0.0.10 . tcp . 80', '10.0.2.1'),
    );
  });
});

describe('translateNode: chain names', () => {
  it('names longer than the limit are shortened with a hash and stay unique', () => {
    const nsName = 'n'.repeat(63);
    const long = (suffix: string): string => `${'p'.repeat(200)}${suffix}`;
    const c = cluster(
      [ns(nsName)],
      [
        pod(`${nsName}/${long('a')}`, {}, { ips: ['10.0.0.2'] }),
        pod(`${nsName}/${long('b')}`, {}, { ips: ['10.0.0.3'] }),
        pod(`${nsName}/short`, {}, { ips: ['10.0.0.4'] }),
      ],
      [policy(`${nsName}/deny`, { egress: [rule()] })],
    );
    const names = translateNode(c, 'node-1').chains.map((ch) => ch.name);
    assert.equal(names.length, 6);
    assert.equal(new Set(names).size, 6);
    for (const name of names) assert.ok(name.length <= MAX_CHAIN_NAME, `${name.length} chars`);
    const shortened = names.filter((n) => n.length === MAX_CHAIN_NAME);
    assert.equal(shortened.length, 4);
    for (const name of shortened) assert.match(name, /^(in|eg)_n{63}_p+_[0-9a-f]{16}$/);
    assert.ok(names.includes(`in_${nsName}_short`));
  });
});

describe('translateNode: node-level fields', () => {
  it('failClosed lists the node pod CIDRs and every enforceable local pod IP, isolated or not', () => {
    const c = cluster(
      [ns('a')],
      [
        web({ ips: ['10.0.0.5', 'fd00::5'] }),
        pod('a/open', { app: 'open' }, { ips: ['10.0.0.10'] }),
        pod('a/done', {}, { ips: ['10.0.0.3'], phase: 'Succeeded' }),
        client(),
      ],
      [policy('a/deny', isolateWeb)],
      [node('node-1', { podCIDRs: ['fd00::/64', '10.0.0.0/24'] })],
    );
    const plan = translateNode(c, 'node-1', { failClosed: true });
    assert.deepEqual(plan.failClosed, {
      podCIDRs: ['10.0.0.0/24', 'fd00::/64'],
      knownPodIPs: ['10.0.0.5', '10.0.0.10', 'fd00::5'],
    });
    assert.equal(plan.localPods, 2);
    assert.deepEqual(plan.policies, ['a/deny']);
  });

  it('without failClosed the plan has none', () => {
    const c = cluster([ns('a')], [web()], [], [node('node-1', { podCIDRs: ['10.0.0.0/24'] })]);
    assert.equal(translateNode(c, 'node-1').failClosed, null);
    assert.equal(translateNode(c, 'node-1', { failClosed: false }).failClosed, null);
  });

  it('policies lists only those selecting a local pod in one of their policy types', () => {
    const c = cluster(
      [ns('a')],
      [web(), client()],
      [
        policy('a/local', isolateWeb),
        policy('a/remote', { podSelector: sel({ app: 'client' }) }),
        policy('a/wrong-type', { ...isolateWeb, policyTypes: [] }),
      ],
    );
    assert.deepEqual(translateNode(c, 'node-1').policies, ['a/local']);
  });

  it('the same cluster in any array order gives a deep-equal plan', () => {
    const pods = [
      web({ ips: ['fd00::5', '10.0.0.5'], ports: [named('http', 80)] }),
      client(),
      pod('b/x', { app: 'x' }, { ips: ['10.0.0.9'], ports: [named('http', 81)] }),
    ];
    const policies = [
      policy('a/p', {
        ingress: [rule([podPeer(), ipBlock('10.0.0.0/28', '10.0.0.8/30')], [port('http')])],
      }),
      policy('b/q', { egress: [rule([nsPeer(sel())], [port('http'), port(53, 'UDP')])] }),
      policy('a/r', { ingress: [rule(null, [port(1, 'TCP', 100)])] }),
    ];
    const c = cluster([ns('a'), ns('b')], pods, policies, [
      node('node-1', { podCIDRs: ['10.0.0.0/24'] }),
    ]);
    const reversed: Cluster = {
      namespaces: [...c.namespaces].reverse(),
      pods: [...c.pods].reverse(),
      policies: [...c.policies].reverse(),
      nodes: [...c.nodes].reverse(),
    };
    assert.deepEqual(
      translateNode(reversed, 'node-1', { failClosed: true }),
      translateNode(c, 'node-1', { failClosed: true }),
    );
  });
});
