/**
 * The plan's shape, row by row: which chains exist, which allows they hold and
 * what the sets contain. Each row prints its plan as short lines
 * (`in_a_web 10.0.0.5 ← a/deny`, `  a/allow#0 addrPort4 10.0.0.1 TCP 80`) so
 * that the expected value reads like the policy it came from. Semantics are
 * checked against the oracle in plan-vs-oracle.property.test.ts; here we pin
 * what render and operators rely on: dedup, naming, ordering, omissions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/policy/model.js';
import type { FirewallPlan, SetElement } from '../../../src/policy/plan.js';
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

/** The plan as lines: one per chain, one per allow with its set's content. */
function showPlan(plan: FirewallPlan): string[] {
  const sets = new Map(plan.sets.map((s) => [s.name, s]));
  return plan.chains.flatMap((c) => [
    `${c.name} ${c.ips.join(',')} ← ${c.policies.join(',')}`,
    ...c.allows.map((a) => {
      if (a.match.kind === 'all') return `  ${a.policy}#${a.rule} all`;
      const set = sets.get(a.match.set);
      if (!set) return `  ${a.policy}#${a.rule} MISSING ${a.match.set}`;
      const family = set.family === 'ip' ? '4' : set.family === 'ip6' ? '6' : '';
      return `  ${a.policy}#${a.rule} ${set.kind}${family} ${set.elements.map(showElement).join(', ')}`;
    }),
  ]);
}

function showElement(e: SetElement): string {
  const range = (r: { first: string | number; last: string | number }): string =>
    r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;
  return [e.addr && range(e.addr), e.protocol, e.port && range(e.port)]
    .filter((x) => x !== undefined)
    .join(' ');
}

interface Row {
  readonly name: string;
  readonly cluster: Cluster;
  readonly node?: string;
  readonly options?: TranslateOptions;
  readonly expected: readonly string[];
  /** Number of distinct sets, when the row is about deduplication. */
  readonly sets?: number;
}

const web = (over: Parameters<typeof pod>[2] = {}) =>
  pod('a/web', { app: 'web' }, { ips: ['10.0.0.5'], ...over });
const client = (over: Parameters<typeof pod>[2] = {}) =>
  pod('a/client', { app: 'client' }, { ips: ['10.0.0.1'], nodeName: 'node-2', ...over });
const isolateWeb = { podSelector: sel({ app: 'web' }) };

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
    expected: ['in_a_web 10.0.0.5 ← a/all', '  a/all#0 all'],
  },
  {
    name: 'a rule with ports but no peers becomes one family-independent port set',
    cluster: cluster(
      [ns('a')],
      [web({ ips: ['10.0.0.5', 'fd00::5'] })],
      [
        policy('a/p', {
          ingress: [rule(null, [port(80), port(53, 'UDP'), port(8000, 'TCP', 8080)])],
        }),
      ],
    ),
    expected: ['in_a_web 10.0.0.5,fd00::5 ← a/p', '  a/p#0 port TCP 80, TCP 8000-8080, UDP 53'],
  },
  {
    name: 'a rule with peers but no ports becomes one addr set per family of the pod',
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
      '  a/p#0 addr4 10.0.0.1-10.0.0.2',
      '  a/p#0 addr6 fd00::1',
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
    expected: ['in_a_web 10.0.0.5 ← a/p', '  a/p#0 addr4 10.0.0.1'],
  },
  {
    name: 'peers and ports become address . protocol . port elements',
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
    expected: ['in_a_web 10.0.0.5 ← a/p', '  a/p#0 addrPort4 10.0.0.1 SCTP 53, 10.0.0.1 TCP 443'],
  },
  {
    name: 'ipBlock except is subtracted into disjoint ranges',
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
      '  a/p#0 addr4 10.1.0.0-10.1.0.255, 10.1.2.0-10.1.127.255',
    ],
  },
  {
    name: 'overlapping peers with different ports decompose into disjoint elements',
    cluster: cluster(
      [ns('a')],
      [web()],
      [
        policy('a/p', {
          ingress: [
            rule([ipBlock('10.1.0.0/30')], [port(80)]),
            rule([ipBlock('10.1.0.0/30'), ipBlock('10.1.0.2/31')], [port(80, 'TCP', 90)]),
          ],
        }),
        policy('a/q', {
          ingress: [
            rule([ipBlock('10.1.0.0/29'), ipBlock('10.1.0.2/32')], [port(80), port(81)]),
            rule([ipBlock('10.1.0.0/29'), ipBlock('10.1.0.2/32')], [port(443)]),
          ],
        }),
      ],
    ),
    expected: [
      'in_a_web 10.0.0.5 ← a/p,a/q',
      '  a/p#0 addrPort4 10.1.0.0-10.1.0.3 TCP 80',
      '  a/p#1 addrPort4 10.1.0.0-10.1.0.3 TCP 80-90',
      '  a/q#0 addrPort4 10.1.0.0-10.1.0.7 TCP 80-81',
      '  a/q#1 addrPort4 10.1.0.0-10.1.0.7 TCP 443',
    ],
  },
  {
    name: 'a pods peer lists pods on every node, not only local ones',
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
    expected: ['in_a_web 10.0.0.5 ← a/p', '  a/p#0 addr4 10.0.1.1, 10.0.2.1'],
  },
  {
    name: 'pods that are not enforceable are neither targets nor peers',
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
    expected: ['in_a_web 10.0.0.5 ← a/p', '  a/p#0 addr4 10.0.0.5'],
  },
  {
    name: 'ingress named ports resolve on each local pod, giving each pod its own set',
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
      '  a/p#0 port TCP 80',
      'in_a_web2 10.0.0.6 ← a/p',
      '  a/p#0 port TCP 8080',
      'in_a_web3 10.0.0.7 ← a/p',
      '  a/p#0 port TCP 8080',
    ],
    sets: 2,
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
    expected: ['in_a_web 10.0.0.5 ← a/p', '  a/p#2 addrPort4 10.0.0.1 UDP 53, 10.0.0.5 UDP 53'],
  },
  {
    name: 'egress named ports resolve on each peer pod',
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
      '  a/p#0 addrPort4 10.0.0.11 TCP 80, 10.0.0.11 TCP 443, 10.0.0.12 TCP 443, 10.0.0.12 TCP 8080, 10.0.0.13 TCP 443',
    ],
  },
  {
    name: 'an ipBlock peer with an egress named port holds only the pods inside the block',
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
    expected: ['eg_a_client 10.0.0.1 ← a/p', '  a/p#0 addrPort4 10.0.2.1 TCP 80'],
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
      '  a/p#0 port UDP 53',
      '  a/p#0 addrPort4 10.0.0.11 TCP 8080',
      '  a/p#0 addrPort6 fd00::11 TCP 8080',
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
      '  a/a#0 all',
      'in_a_b 10.0.0.2 ← a/a,a/z',
      '  a/a#0 port TCP 1',
      '  a/z#0 port TCP 2',
      'in_z_b 10.0.0.3 ← z/p',
      '  z/p#0 addr4 10.9.0.0-10.9.255.255',
      '  z/p#1 all',
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
      assert.deepEqual(showPlan(plan), row.expected);
      if (row.sets !== undefined) assert.equal(plan.sets.length, row.sets);
    });
  }
});

describe('translateNode: the table above', () => {
  it('covers every set kind and family, both directions, every protocol and match-all', () => {
    const seen = new Set<string>();
    for (const row of rows) {
      const plan = translateNode(row.cluster, row.node ?? 'node-1', row.options);
      for (const c of plan.chains) seen.add(c.direction);
      for (const c of plan.chains) for (const a of c.allows) seen.add(a.match.kind);
      for (const set of plan.sets) {
        seen.add(`${set.kind}/${set.family ?? 'any'}`);
        for (const e of set.elements) if (e.protocol) seen.add(e.protocol);
      }
    }
    const wanted = [
      'ingress',
      'egress',
      'all',
      'set',
      'addr/ip',
      'addr/ip6',
      'addrPort/ip',
      'addrPort/ip6',
      'port/any',
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

describe('translateNode: sets', () => {
  it('identical content across pods, rules and policies is one set', () => {
    const c = cluster(
      [ns('a')],
      [web(), pod('a/web2', { app: 'web' }, { ips: ['10.0.0.6'] }), client()],
      [
        policy('a/p', {
          ingress: [rule([podPeer(sel({ app: 'client' }))]), rule([ipBlock('10.0.0.1/32')])],
        }),
        policy('a/q', { ingress: [rule([ipBlock('10.0.0.1/32')])] }),
      ],
    );
    const plan = translateNode(c, 'node-1');
    const used = plan.chains.flatMap((ch) =>
      ch.allows.map((a) => (a.match.kind === 'set' ? a.match.set : '')),
    );
    assert.equal(used.length, 6);
    assert.equal(new Set(used).size, 1);
    assert.equal(plan.sets.length, 1);
  });

  it('set names carry kind and family and a 16-hex content hash', () => {
    const c = cluster(
      [ns('a')],
      [web({ ips: ['10.0.0.5', 'fd00::5'] })],
      [
        policy('a/p', {
          ingress: [rule([ipBlock('10.1.0.0/16'), ipBlock('fd01::/64')]), rule(null, [port(1)])],
          egress: [rule([ipBlock('10.1.0.0/16'), ipBlock('fd01::/64')], [port(2)])],
        }),
      ],
    );
    const names = translateNode(c, 'node-1').sets.map((s) =>
      s.name.replace(/_[0-9a-f]{16}$/, '_#'),
    );
    assert.deepEqual(names, ['addr4_#', 'addr6_#', 'addrPort4_#', 'addrPort6_#', 'port_#']);
  });

  it('a set name changes exactly when its content does', () => {
    const planFor = (cidr: string): FirewallPlan =>
      translateNode(
        cluster([ns('a')], [web()], [policy('a/p', { ingress: [rule([ipBlock(cidr)])] })]),
        'node-1',
      );
    const [a, b, c] = ['10.1.0.0/16', '10.1.0.0/16', '10.2.0.0/16'].map(
      (x) => planFor(x).sets[0]?.name,
    );
    assert.equal(a, b);
    assert.notEqual(a, c);
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
