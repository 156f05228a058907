/**
 * renderScript: FirewallPlan → the node's rules script (NodeFirewall
 * `spec.script`). Cases are plans built by hand, each with a golden file;
 * the translated cases go through translateNode and also keep the composed
 * script (rules + shared-set members, what the executor loads) as a golden.
 * Every rendered script is also checked by the kernel (nft -c), with and
 * without members added.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Direction, Family, Protocol } from '../../../src/policy/model.js';
import type {
  Allow,
  FailClosed,
  FirewallPlan,
  PeerMatch,
  PodChain,
  PortMatch,
  SharedSetUse,
} from '../../../src/policy/plan.js';
import { FAIL_CLOSED_SETS, RenderError, renderScript } from '../../../src/nft/render.js';
import { composeScript } from '../../../src/nft/compose.js';
import { sharedSetName } from '../../../src/nft/members.js';
import { formatSetType } from '../../../src/nft/syntax.js';
import { listTable, applyScript } from '../../../src/nft/apply.js';
import type { Cluster } from '../../../src/policy/model.js';
import { assertGolden } from '../../support/golden.js';
import { nodeScripter } from '../../../src/nft/node-script.js';
import { NFT_SKIP_REASON, checkInNetns, withNetns } from '../../support/nft-check.js';
import {
  cluster,
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

// ---- a tiny FirewallPlan builder: plans are the input here, not clusters ----

type Port = number | readonly [number, number];
type Addr = string | readonly [string, string];

/** Shared set ids: what translate names by identity (peer-sets.ts), here fixed. */
const CLIENTS = 'pods-00000000000000c1';
const PEERS = 'pods-00000000000000a1';
const LB = 'pods-0000000000001b01';
const DB_PORT = 'port-000000000000db01';

/** `id` declared for `family`; the kind follows the id (pods- → addr, port- → addrPort). */
function use(id: string, family: Family): SharedSetUse {
  return { id, kind: id.startsWith('port-') ? 'addrPort' : 'addr', family };
}

const ANY_PEER: PeerMatch = { kind: 'all' };
const ANY_PORT: PortMatch = { kind: 'all' };

/** Peer: shared set `id`, in the allow's family. */
function peerSet(id: string): PeerMatch {
  return { kind: 'set', set: id };
}

/** Peer: ipBlock ranges inline, each an IP or [first, last]. */
function cidrs(...ranges: Addr[]): PeerMatch {
  return {
    kind: 'cidrs',
    ranges: ranges.map((r) =>
      typeof r === 'string' ? { first: r, last: r } : { first: r[0], last: r[1] },
    ),
  };
}

/** Ports inline: [protocol, port or [first, last]]. */
function ports(...items: (readonly [Protocol, Port])[]): PortMatch {
  return {
    kind: 'ports',
    ports: items.map(([protocol, p]) => ({
      protocol,
      port: typeof p === 'number' ? { first: p, last: p } : { first: p[0], last: p[1] },
    })),
  };
}

/** Ports: egress named-port set `id` (address . protocol . port). */
function namedPort(id: string): PortMatch {
  return { kind: 'namedPort', set: id };
}

/** An allow; with no family, peer or ports it matches everything. */
function allow(
  policyName: string,
  ruleIndex: number,
  family: Family | null = null,
  peer: PeerMatch = ANY_PEER,
  portMatch: PortMatch = ANY_PORT,
): Allow {
  return { policy: policyName, rule: ruleIndex, family, peer, ports: portMatch };
}

function chain(
  qualifiedPod: string,
  direction: Direction,
  ips: readonly string[],
  allows: readonly Allow[],
): PodChain {
  const [namespace = '', name = ''] = qualifiedPod.split('/');
  return {
    name: `${direction === 'ingress' ? 'in' : 'eg'}_${namespace}_${name}`,
    pod: qualifiedPod,
    direction,
    ips,
    policies: [...new Set(allows.map((a) => a.policy))].sort(),
    allows,
  };
}

function plan(over: Partial<FirewallPlan> = {}): FirewallPlan {
  const chains = over.chains ?? [];
  return {
    node: 'node-1',
    chains,
    sets: [],
    policies: [...new Set(chains.flatMap((c) => c.policies))].sort(),
    localPods: new Set(chains.map((c) => c.pod)).size,
    failClosed: null,
    ...over,
  };
}

/** One member of each family for every set `p` declares: enough for nft to type-check elements. */
function sampleMembers(p: FirewallPlan): Map<string, string[]> {
  return new Map(
    p.sets.map((s) => [
      s.id,
      s.kind === 'addr'
        ? ['10.244.2.7', 'fd00:10:244:2::7']
        : ['10.244.2.7 . tcp . 5432', 'fd00:10:244:2::7 . sctp . 3868'],
    ]),
  );
}

// ---- the cases ----

const webFromClients = (policyName = 'shop/allow-clients', ruleIndex = 0): Allow =>
  allow(policyName, ruleIndex, 'ip', peerSet(CLIENTS), ports(['TCP', 8080]));
const dnsOnly = (policyName = 'shop/dns-only'): Allow =>
  allow(policyName, 0, 'ip', cidrs('10.96.0.10'), ports(['TCP', 53], ['UDP', 53]));

interface Case {
  readonly name: string;
  readonly golden: string;
  readonly plan: FirewallPlan;
}

const longNs = 'n'.repeat(63);
const longPod = `p${'o'.repeat(180)}d`;
const longPolicy = `${longNs}/${'allow-'.repeat(30)}x`;

const CASES: readonly Case[] = [
  {
    name: 'a node with no isolated pods has empty dispatch maps and only base chains',
    golden: 'render-empty.nft',
    plan: plan({ localPods: 3 }),
  },
  {
    name: 'an ingress-only pod gets an ingress chain, dispatched by its IP',
    golden: 'render-ingress-only.nft',
    plan: plan({
      sets: [use(CLIENTS, 'ip')],
      chains: [chain('shop/web', 'ingress', ['10.244.1.5'], [webFromClients()])],
      localPods: 2,
    }),
  },
  {
    name: 'an egress-only pod returns on allows so that ingress is still checked',
    golden: 'render-egress-only.nft',
    plan: plan({
      chains: [chain('shop/client', 'egress', ['10.244.1.6'], [dnsOnly()])],
    }),
  },
  {
    name: 'a pod isolated both ways gets two chains and appears in two maps',
    golden: 'render-both.nft',
    plan: plan({
      sets: [use(CLIENTS, 'ip')],
      chains: [
        chain('shop/web', 'egress', ['10.244.1.5'], [dnsOnly('shop/lockdown')]),
        chain('shop/web', 'ingress', ['10.244.1.5'], [webFromClients('shop/lockdown')]),
      ],
    }),
  },
  {
    name: 'a dual-stack pod is dispatched from both families and matches each family of a set',
    golden: 'render-dual-stack.nft',
    plan: plan({
      sets: [use(PEERS, 'ip'), use(PEERS, 'ip6')],
      chains: [
        chain(
          'shop/web',
          'ingress',
          ['10.244.1.5', 'fd00:10:244::1:5'],
          [
            allow('shop/from-pods', 0, 'ip', peerSet(PEERS)),
            allow('shop/from-pods', 0, 'ip6', peerSet(PEERS)),
            allow('shop/from-pods', 1, 'ip6', cidrs(['fd00:10:244::', 'fd00:10:244::ffff:ffff'])),
          ],
        ),
      ],
    }),
  },
  {
    name: 'a set used by two pods is declared once and referenced from both chains',
    golden: 'render-shared-set.nft',
    plan: plan({
      sets: [use(CLIENTS, 'ip')],
      chains: [
        chain('shop/api', 'ingress', ['10.244.1.7'], [webFromClients()]),
        chain('shop/web', 'ingress', ['10.244.1.5'], [webFromClients()]),
      ],
    }),
  },
  {
    name: 'every peer match (any, set, ranges) and port match (any, inline, named-port set) renders its own lookup',
    golden: 'render-match-kinds.nft',
    plan: plan({
      sets: [use(LB, 'ip'), use(DB_PORT, 'ip'), use(DB_PORT, 'ip6')],
      chains: [
        chain(
          'shop/db',
          'egress',
          ['10.244.1.9', 'fd00:10:244::1:9'],
          [
            allow('shop/db-egress', 0, 'ip', ANY_PEER, namedPort(DB_PORT)),
            allow('shop/db-egress', 0, 'ip6', ANY_PEER, namedPort(DB_PORT)),
            allow('shop/db-egress', 1, null, ANY_PEER, ports(['TCP', 80], ['TCP', 443])),
            allow('shop/db-egress', 2, 'ip', cidrs('192.168.0.10')),
            allow('shop/db-egress', 3, 'ip', peerSet(LB), ports(['TCP', [8000, 8080]])),
            allow('shop/db-egress', 4),
          ],
        ),
        chain(
          'shop/db',
          'ingress',
          ['10.244.1.9', 'fd00:10:244::1:9'],
          [
            allow('shop/db-ingress', 0, 'ip', peerSet(LB)),
            allow('shop/db-ingress', 1, null, ANY_PEER, ports(['TCP', 80], ['TCP', 443])),
            allow(
              'shop/db-ingress',
              2,
              'ip',
              cidrs(['10.0.0.0', '10.0.0.255']),
              ports(['UDP', 53]),
            ),
            allow('shop/db-ingress', 3),
          ],
        ),
      ],
    }),
  },
  {
    name: 'SCTP, UDP and port ranges, with address ranges that are and are not prefixes',
    golden: 'render-protocols-ranges.nft',
    plan: plan({
      chains: [
        chain(
          'tel/sbc',
          'ingress',
          ['10.244.1.20'],
          [
            allow(
              'tel/signalling',
              0,
              'ip',
              cidrs(['10.0.0.0', '10.0.0.127']),
              ports(['SCTP', 3868]),
            ),
            allow(
              'tel/signalling',
              0,
              'ip',
              cidrs(['10.0.1.1', '10.0.1.9']),
              ports(['TCP', [8000, 8099]]),
            ),
            allow('tel/signalling', 0, 'ip', cidrs('10.0.2.1'), ports(['UDP', [0, 65535]])),
            allow(
              'tel/signalling',
              1,
              null,
              ANY_PEER,
              ports(['SCTP', 2905], ['UDP', [10000, 20000]]),
            ),
          ],
        ),
      ],
    }),
  },
  {
    name: 'fail-closed drops local pod IPs the plan does not know yet, after ingress dispatch',
    golden: 'render-fail-closed.nft',
    plan: plan({
      sets: [use(CLIENTS, 'ip')],
      chains: [chain('shop/web', 'ingress', ['10.244.1.5'], [webFromClients()])],
      localPods: 3,
      failClosed: {
        podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
        knownPodIPs: ['10.244.1.5', '10.244.1.10', 'fd00:10:244:1::5', '10.244.1.9'],
      } satisfies FailClosed,
    }),
  },
  {
    name: 'long names stay within nft limits: long chain names load, comments are cut to 128 bytes',
    golden: 'render-long-names.nft',
    plan: plan({
      sets: [use(CLIENTS, 'ip')],
      chains: [
        chain(
          `${longNs}/${longPod}`,
          'ingress',
          ['10.244.1.30'],
          [webFromClients(longPolicy, 12), allow(`${longNs}/quote"d-and-ünïcødé-☃`, 0)],
        ),
      ],
    }),
  },
  {
    name: 'map elements are sorted by address, not as text',
    golden: 'render-map-order.nft',
    plan: plan({
      chains: [
        chain('a/p100', 'ingress', ['10.244.1.100', 'fd00::a'], [allow('a/deny', 0)]),
        chain('a/p10', 'ingress', ['10.244.1.10', 'fd00::9'], [allow('a/deny', 0)]),
        chain('a/p9', 'ingress', ['10.244.1.9', 'fd00::10'], [allow('a/deny', 0)]),
      ].sort((x, y) => (x.name < y.name ? -1 : 1)),
    }),
  },
];

// Built from a cluster through translateNode: the goldens show what a real
// translation renders to — the rules script, and the composed script with the
// members of its shared sets — and change when translate does (review the diff).
const SHOP: Cluster = cluster(
  [ns('shop'), ns('kube-system')],
  [
    pod(
      'shop/web',
      { app: 'web' },
      { ips: ['10.244.1.5', 'fd00:10:244:1::5'], ports: [named('http', 8080)] },
    ),
    pod('shop/client', { app: 'client' }, { ips: ['10.244.1.6', 'fd00:10:244:1::6'] }),
    pod('shop/client2', { app: 'client' }, { ips: ['10.244.2.6'], nodeName: 'node-2' }),
    pod(
      'shop/api',
      { app: 'api' },
      { ips: ['10.244.2.7', 'fd00:10:244:2::7'], nodeName: 'node-2', ports: [named('grpc', 9090)] },
    ),
    pod('kube-system/dns', { app: 'dns' }, { ips: ['10.244.2.10'], nodeName: 'node-2' }),
  ],
  [
    policy('shop/web-from-client', {
      podSelector: sel({ app: 'web' }),
      ingress: [rule([podPeer(sel({ app: 'client' }))], [port('http')])],
    }),
    policy('shop/client-egress', {
      podSelector: sel({ app: 'client' }),
      policyTypes: ['egress'],
      egress: [
        rule(
          [nsPeer(sel({ 'kubernetes.io/metadata.name': 'kube-system' }), sel({ app: 'dns' }))],
          [port(53, 'UDP'), port(53, 'TCP')],
        ),
        rule([ipBlock('10.0.0.0/8', '10.244.0.0/16')], [port(443)]),
        rule([podPeer(sel({ app: 'api' }))], [port('grpc')]),
      ],
    }),
  ],
  [node('node-1', { podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] })],
);
const SHOP_NODE_1 = nodeScripter(SHOP)('node-1', { failClosed: true });

const TRANSLATED: readonly Case[] = [
  {
    name: 'a translated cluster: web accepts clients on a named port; clients reach DNS, an ipBlock and the api’s named port',
    golden: 'render-translated-shop.nft',
    plan: SHOP_NODE_1.plan,
  },
];

// The table checks its own coverage: every shared set kind per family, every
// peer and port match, both directions, every protocol, fail-closed.
describe('renderScript cases cover', () => {
  const plans = CASES.map((c) => c.plan);
  const sets = plans.flatMap((p) => p.sets);
  const allows = plans.flatMap((p) => p.chains.flatMap((c) => c.allows));
  const protocols = new Set(
    allows.flatMap((a) => (a.ports.kind === 'ports' ? a.ports.ports.map((p) => p.protocol) : [])),
  );
  const required: Record<string, boolean> = {
    'addr ip': sets.some((s) => s.kind === 'addr' && s.family === 'ip'),
    'addr ip6': sets.some((s) => s.kind === 'addr' && s.family === 'ip6'),
    'addrPort ip': sets.some((s) => s.kind === 'addrPort' && s.family === 'ip'),
    'addrPort ip6': sets.some((s) => s.kind === 'addrPort' && s.family === 'ip6'),
    'peer all': allows.some((a) => a.peer.kind === 'all'),
    'peer set': allows.some((a) => a.peer.kind === 'set'),
    'peer cidrs ip': allows.some((a) => a.peer.kind === 'cidrs' && a.family === 'ip'),
    'peer cidrs ip6': allows.some((a) => a.peer.kind === 'cidrs' && a.family === 'ip6'),
    'ports all': allows.some((a) => a.ports.kind === 'all'),
    'ports inline': allows.some((a) => a.ports.kind === 'ports'),
    'ports named': allows.some((a) => a.ports.kind === 'namedPort'),
    'peer set with ports': allows.some((a) => a.peer.kind === 'set' && a.ports.kind === 'ports'),
    TCP: protocols.has('TCP'),
    UDP: protocols.has('UDP'),
    SCTP: protocols.has('SCTP'),
    ingress: plans.some((p) => p.chains.some((c) => c.direction === 'ingress')),
    egress: plans.some((p) => p.chains.some((c) => c.direction === 'egress')),
    failClosed: plans.some((p) => p.failClosed !== null),
  };
  for (const [what, covered] of Object.entries(required)) {
    it(what, () => assert.ok(covered, `no case covers ${what}`));
  }
});

describe('renderScript', () => {
  for (const c of [...CASES, ...TRANSLATED]) {
    describe(c.name, () => {
      const rendered = renderScript(c.plan);

      it(`matches test/golden/${c.golden}`, () => assertGolden(c.golden, rendered.script));

      it('loads in the kernel (nft -c in a throwaway netns)', { skip: NFT_SKIP_REASON }, () =>
        checkInNetns(rendered.script),
      );

      it(
        'loads in the kernel with members added to its shared sets',
        { skip: NFT_SKIP_REASON },
        () => checkInNetns(composeScript(rendered.script, sampleMembers(c.plan))),
      );

      it('is well-formed text: final newline, no trailing spaces, no `;` before `}`', () => {
        assert.ok(rendered.script.endsWith('}\n'));
        assert.doesNotMatch(rendered.script, /[ \t]$/m);
        assert.doesNotMatch(rendered.script, /;\s*}/);
      });

      it('renders the same bytes and hash twice, the hash being sha256 of the script', () => {
        const again = renderScript(structuredClone(c.plan));
        assert.equal(again.script, rendered.script);
        const hex = createHash('sha256').update(Buffer.from(rendered.script, 'utf8')).digest('hex');
        assert.equal(rendered.scriptHash, `sha256:${hex}`);
      });

      it('declares each shared set once per family, its type only, and every chain once', () => {
        for (const s of c.plan.sets) {
          const name = sharedSetName(s.id, s.family);
          const declaration = `\tset ${name} {\n\t\ttype ${formatSetType(s.kind, s.family)}\n\t}\n`;
          assert.equal(rendered.script.split(declaration).length - 1, 1, name);
        }
        const failClosedSets = c.plan.failClosed
          ? Object.values(FAIL_CLOSED_SETS).flatMap((m) => Object.values(m)).length
          : 0;
        assert.equal(
          rendered.script.match(/^\tset /gm)?.length ?? 0,
          c.plan.sets.length + failClosedSets,
        );
        for (const ch of c.plan.chains) {
          assert.equal(rendered.script.split(`\tchain ${ch.name} {\n`).length - 1, 1, ch.name);
        }
      });
    });
  }
});

describe('the composed script of a translated cluster', () => {
  it('matches test/golden/composed-translated-shop.nft: the rules, then the members', () =>
    assertGolden('composed-translated-shop.nft', SHOP_NODE_1.script));

  it('is the rules script followed by add element lines only', () => {
    assert.ok(SHOP_NODE_1.script.startsWith(SHOP_NODE_1.rules.script));
    const added = SHOP_NODE_1.script
      .slice(SHOP_NODE_1.rules.script.length)
      .split('\n')
      .slice(0, -1);
    assert.ok(added.length > 0);
    for (const line of added)
      assert.match(line, /^add element inet nftpol (pods|port)_[0-9a-f]{16}_[46] \{ .+ \}$/);
  });

  it('loads in the kernel (nft -c in a throwaway netns)', { skip: NFT_SKIP_REASON }, () =>
    checkInNetns(SHOP_NODE_1.script),
  );
});

/** The lines of a pod chain in `script` whose comment is `comment`, without their indent. */
function allowLines(script: string, comment: string): string[] {
  return script
    .split('\n')
    .filter((l) => l.startsWith('\t\t') && l.endsWith(`comment "${comment}"`))
    .map((l) => l.slice(2));
}

describe('renderScript allow lines', () => {
  const hex = (id: string): string => id.slice(5);
  const rows: readonly {
    name: string;
    direction: Direction;
    allow: Allow;
    sets?: readonly SharedSetUse[];
    want: string;
  }[] = [
    {
      name: 'match-all: only the counter and the verdict',
      direction: 'ingress',
      allow: allow('a/p', 0),
      want: 'counter accept comment "a/p ingress rule 0"',
    },
    {
      name: 'an ipBlock: its ranges inline on the source address',
      direction: 'ingress',
      allow: allow('a/p', 1, 'ip', cidrs(['10.0.0.0', '10.255.255.255'])),
      want: 'ip saddr { 10.0.0.0/8 } counter accept comment "a/p ingress rule 1"',
    },
    {
      name: 'an IPv6 ipBlock with an except: a prefix and a range, on the destination for egress',
      direction: 'egress',
      allow: allow(
        'a/p',
        2,
        'ip6',
        cidrs(['fd00::', 'fd00::ffff:ffff:ffff:ffff'], ['fd01::1', 'fd01::9']),
      ),
      want: 'ip6 daddr { fd00::/64, fd01::1-fd01::9 } counter return comment "a/p egress rule 2"',
    },
    {
      name: 'ports without peers: protocol . port inline, for both families',
      direction: 'ingress',
      allow: allow('a/p', 3, null, ANY_PEER, ports(['TCP', 80], ['UDP', 53])),
      want: 'meta l4proto . th dport { tcp . 80, udp . 53 } counter accept comment "a/p ingress rule 3"',
    },
    {
      name: 'a pods peer: its shared set in the allow’s family',
      direction: 'ingress',
      allow: allow('a/p', 4, 'ip6', peerSet(CLIENTS)),
      sets: [use(CLIENTS, 'ip6')],
      want: `ip6 saddr @pods_${hex(CLIENTS)}_6 counter accept comment "a/p ingress rule 4"`,
    },
    {
      name: 'a pods peer with ports: the set, then the ports inline',
      direction: 'egress',
      allow: allow('a/p', 5, 'ip', peerSet(CLIENTS), ports(['SCTP', 3868], ['TCP', [8000, 8080]])),
      sets: [use(CLIENTS, 'ip')],
      want: `ip daddr @pods_${hex(CLIENTS)}_4 meta l4proto . th dport { sctp . 3868, tcp . 8000-8080 } counter return comment "a/p egress rule 5"`,
    },
    {
      name: 'an egress named port: destination . protocol . port looked up in its set',
      direction: 'egress',
      allow: allow('a/p', 6, 'ip', ANY_PEER, namedPort(DB_PORT)),
      sets: [use(DB_PORT, 'ip')],
      want: `ip daddr . meta l4proto . th dport @port_${hex(DB_PORT)}_4 counter return comment "a/p egress rule 6"`,
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const { script } = renderScript(
        plan({
          sets: r.sets ?? [],
          chains: [chain('a/web', r.direction, ['10.0.0.5', 'fd00::5'], [r.allow])],
        }),
      );
      assert.deepEqual(allowLines(script, `a/p ${r.direction} rule ${r.allow.rule}`), [r.want]);
    });
  }

  it('declares shared sets in plan order, one block per family, typed by kind, without elements or flags', () => {
    const { script } = renderScript(
      plan({
        sets: [use(CLIENTS, 'ip'), use(CLIENTS, 'ip6'), use(DB_PORT, 'ip'), use(DB_PORT, 'ip6')],
        chains: [
          chain(
            'a/web',
            'egress',
            ['10.0.0.5', 'fd00::5'],
            [
              allow('a/p', 0, 'ip', peerSet(CLIENTS)),
              allow('a/p', 0, 'ip6', peerSet(CLIENTS)),
              allow('a/p', 1, 'ip', ANY_PEER, namedPort(DB_PORT)),
              allow('a/p', 1, 'ip6', ANY_PEER, namedPort(DB_PORT)),
            ],
          ),
        ],
      }),
    );
    const declarations = script.slice(script.indexOf('\tset '), script.indexOf('\tmap ')).trimEnd();
    assert.equal(
      declarations,
      [
        '\tset pods_00000000000000c1_4 {\n\t\ttype ipv4_addr\n\t}',
        '\tset pods_00000000000000c1_6 {\n\t\ttype ipv6_addr\n\t}',
        '\tset port_000000000000db01_4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t}',
        '\tset port_000000000000db01_6 {\n\t\ttype ipv6_addr . inet_proto . inet_service\n\t}',
      ].join('\n\n'),
    );
  });
});

describe('renderScript shape', () => {
  it('replaces the table in one transaction: add, delete, then the full table', () => {
    const lines = renderScript(plan())
      .script.split('\n')
      .filter((l) => !l.startsWith('#'));
    assert.deepEqual(lines.slice(0, 3), [
      'add table inet nftpol',
      'delete table inet nftpol',
      'table inet nftpol {',
    ]);
  });

  it('states the pod and policy counts and the node in the header, without a timestamp', () => {
    const { script } = renderScript(
      plan({ node: 'worker-7', localPods: 1, policies: ['a/x', 'a/y'] }),
    );
    assert.match(
      script,
      /^# nftpol ruleset for node worker-7\n# generated; do not edit — 1 pod, 2 policies\n/,
    );
    assert.doesNotMatch(script, /\d{4}-\d{2}-\d{2}/);
  });

  it('never lets a name start a line of its own, whatever line breaks it holds', () => {
    const breaks = ['\n', '\r', '\u0085', '\u2028', '\u2029', '\u001b[2J'];
    for (const b of breaks) {
      const dirty = (text: string): string => `${text}${b}flush ruleset${b}#`;
      const { script } = renderScript(
        plan({
          node: dirty('n2'),
          chains: [
            {
              ...chain('a/web', 'ingress', ['10.0.0.1'], [allow(dirty('a/allow'), 0)]),
              pod: dirty('a/web'),
            },
          ],
        }),
      );
      const lines = script.split(/\r\n|[\n\r\u0085\u2028\u2029]/);
      assert.ok(!lines.some((l) => l.trim().startsWith('flush')), JSON.stringify(b));
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(script, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    }
  });

  it('always declares the four dispatch maps, even with no isolated pod', () => {
    const { script } = renderScript(plan());
    for (const m of ['ingress4', 'ingress6', 'egress4', 'egress6']) {
      assert.match(
        script,
        new RegExp(
          `\\tmap ${m} \\{\\n\\t\\ttype ipv${m.endsWith('4') ? 4 : 6}_addr : verdict\\n\\t\\}`,
        ),
      );
    }
  });

  it('dispatches egress before the host exception and ingress after it in postrouting', () => {
    const { script } = renderScript(plan());
    const order = [
      'ct state established,related accept',
      'meta l4proto ipv6-icmp icmpv6 type { 133-137 } accept',
      'ip saddr vmap @egress4',
      'ip6 saddr vmap @egress6',
      'fib saddr type local accept',
      'ip daddr vmap @ingress4',
      'ip6 daddr vmap @ingress6',
    ];
    const post = script.slice(script.indexOf('chain postrouting'), script.indexOf('chain input'));
    const at = order.map((l) => post.indexOf(`\t\t${l}\n`));
    assert.ok(
      at.every((i) => i >= 0),
      `missing: ${order.filter((_, k) => (at[k] ?? -1) < 0).join(', ')}`,
    );
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
    );
  });

  it('input only dispatches egress: a pod reaching its own host is that pod’s egress', () => {
    const { script } = renderScript(plan());
    const input = script.slice(script.indexOf('chain input'));
    assert.match(input, /ip saddr vmap @egress4/);
    assert.doesNotMatch(input, /daddr vmap/);
  });

  it('does not accept ct state invalid anywhere (invalid packets meet the pod chains)', () => {
    const { script } = renderScript(CASES[3]?.plan ?? plan());
    assert.doesNotMatch(script.replace(/^#.*$/gm, ''), /invalid/);
  });

  it('ends each pod chain with a counted drop naming the pod and direction', () => {
    const { script } = renderScript(CASES[3]?.plan ?? plan());
    assert.match(script, /\t\tcounter drop comment "shop\/web egress denied"\n\t\}/);
    assert.match(script, /\t\tcounter drop comment "shop\/web ingress denied"\n\t\}/);
  });

  it('cuts a long policy name in a comment, keeping the rule number, within 128 bytes', () => {
    const { script } = renderScript(
      CASES.find((c) => c.golden === 'render-long-names.nft')?.plan ?? plan(),
    );
    const comments = [...script.matchAll(/comment "([^"]*)"/g)].map((m) => m[1] ?? '');
    assert.ok(
      comments.some((c) => c.endsWith('… ingress rule 12')),
      comments.join('\n'),
    );
    for (const c of comments) assert.ok(Buffer.byteLength(c) <= 128, c);
  });
});

describe('renderScript rejects plans nft would reject', () => {
  const ingress = (...allows: Allow[]): PodChain[] => [
    chain('a/p', 'ingress', ['10.0.0.1'], allows),
  ];
  const egress = (...allows: Allow[]): PodChain[] => [chain('a/p', 'egress', ['10.0.0.1'], allows)];
  const cases: readonly { name: string; plan: FirewallPlan; error: RegExp }[] = [
    {
      name: 'an allow naming a set the plan does not declare',
      plan: plan({ chains: ingress(allow('a/x', 0, 'ip', peerSet(CLIENTS))) }),
      error: /set pods-00000000000000c1 \(ip\), which the plan does not have/,
    },
    {
      name: 'an allow naming a set the plan declares only for the other family',
      plan: plan({
        sets: [use(CLIENTS, 'ip')],
        chains: ingress(allow('a/x', 0, 'ip6', peerSet(CLIENTS))),
      }),
      error: /set pods-00000000000000c1 \(ip6\), which the plan does not have/,
    },
    {
      name: 'a named-port set on ingress (ingress named ports resolve on the pod, inline)',
      plan: plan({
        sets: [use(DB_PORT, 'ip')],
        chains: ingress(allow('a/x', 0, 'ip', ANY_PEER, namedPort(DB_PORT))),
      }),
      error: /a named-port set is only an egress allow's whole match \(a\/x\)/,
    },
    {
      name: 'a named-port set with a peer besides (the set holds the addresses)',
      plan: plan({
        sets: [use(DB_PORT, 'ip'), use(CLIENTS, 'ip')],
        chains: egress(allow('a/x', 0, 'ip', peerSet(CLIENTS), namedPort(DB_PORT))),
      }),
      error: /a named-port set is only an egress allow's whole match \(a\/x\)/,
    },
    {
      name: 'a set peer without a family',
      plan: plan({
        sets: [use(CLIENTS, 'ip')],
        chains: ingress(allow('a/x', 0, null, peerSet(CLIENTS))),
      }),
      error: /an allow of a\/x matches addresses but has no family/,
    },
    {
      name: 'inline ranges without a family',
      plan: plan({ chains: ingress(allow('a/x', 0, null, cidrs('10.0.0.1'))) }),
      error: /an allow of a\/x matches addresses but has no family/,
    },
    {
      name: 'a named port without a family',
      plan: plan({
        sets: [use(DB_PORT, 'ip')],
        chains: egress(allow('a/x', 0, null, ANY_PEER, namedPort(DB_PORT))),
      }),
      error: /an allow of a\/x matches addresses but has no family/,
    },
    {
      name: 'inline ranges with no range (nft rejects an empty anonymous set)',
      plan: plan({ chains: ingress(allow('a/x', 0, 'ip', cidrs())) }),
      error: /an allow of a\/x has no ranges/,
    },
    {
      name: 'inline ports with no port',
      plan: plan({ chains: ingress(allow('a/x', 0, null, ANY_PEER, ports())) }),
      error: /an allow of a\/x has no ports/,
    },
    {
      name: 'a shared set id that is not pods-/port-<16 hex>',
      plan: plan({
        sets: [{ id: 'ingress4', kind: 'addr', family: 'ip' }],
        chains: ingress(allow('a/x', 0, 'ip', peerSet('ingress4'))),
      }),
      error: /"ingress4" is not a shared set id/,
    },
    {
      name: 'a set declared with a kind its id does not hold',
      plan: plan({
        sets: [{ id: CLIENTS, kind: 'addrPort', family: 'ip' }],
        chains: egress(allow('a/x', 0, 'ip', ANY_PEER, namedPort(CLIENTS))),
      }),
      error: /set pods-00000000000000c1 is declared as addrPort, but its id holds addr/,
    },
    {
      name: 'a peer naming a named-port set (nft: datatype mismatch)',
      plan: plan({
        sets: [use(DB_PORT, 'ip')],
        chains: ingress(allow('a/x', 0, 'ip', peerSet(DB_PORT))),
      }),
      error: /a\/x uses set port-000000000000db01 \(addrPort\) where a addr set belongs/,
    },
    {
      name: 'a named port naming a pods set (nft: datatype mismatch)',
      plan: plan({
        sets: [use(CLIENTS, 'ip')],
        chains: egress(allow('a/x', 0, 'ip', ANY_PEER, namedPort(CLIENTS))),
      }),
      error: /a\/x uses set pods-00000000000000c1 \(addr\) where a addrPort set belongs/,
    },
    {
      name: 'one IP dispatched to two chains of one direction',
      plan: plan({
        chains: [
          chain('a/p', 'ingress', ['10.0.0.1'], [allow('a/x', 0)]),
          chain('a/q', 'ingress', ['10.0.0.1'], [allow('a/x', 0)]),
        ],
      }),
      error: /10\.0\.0\.1 is dispatched to both in_a_p and in_a_q in map ingress4/,
    },
    {
      name: 'a chain name nft cannot parse',
      plan: plan({ chains: [{ ...chain('a/p', 'ingress', ['10.0.0.1'], []), name: 'in a p' }] }),
      error: /not a valid nft name/,
    },
    {
      name: 'a chain name longer than 255 bytes',
      plan: plan({
        chains: [{ ...chain('a/p', 'ingress', ['10.0.0.1'], []), name: `in_${'x'.repeat(253)}` }],
      }),
      error: /longer than 255 bytes/,
    },
  ];
  for (const c of cases) {
    it(c.name, () =>
      assert.throws(
        () => renderScript(c.plan),
        (e) => e instanceof RenderError && c.error.test(e.message),
      ),
    );
  }
});

describe('a rendered script applied for real', { skip: NFT_SKIP_REASON }, () => {
  it('loads with its members (nft -f) and lists back as JSON with its sets, maps, chains and elements', () =>
    withNetns(async (nft) => {
      const matchKinds = CASES.find((c) => c.golden === 'render-match-kinds.nft');
      assert.ok(matchKinds);
      const rules = renderScript(matchKinds.plan).script;
      await applyScript(composeScript(rules, sampleMembers(matchKinds.plan)), nft);
      const listed = (await listTable(nft)) as { nftables: Record<string, { name?: string }>[] };
      const names = (kind: string): string[] =>
        listed.nftables.flatMap((o) => (o[kind]?.name === undefined ? [] : [o[kind].name]));
      assert.deepEqual(names('set').sort(), [
        'pods_0000000000001b01_4',
        'port_000000000000db01_4',
        'port_000000000000db01_6',
      ]);
      assert.deepEqual(names('map').sort(), ['egress4', 'egress6', 'ingress4', 'ingress6']);
      assert.deepEqual(names('chain').sort(), ['eg_shop_db', 'in_shop_db', 'input', 'postrouting']);
      const text = JSON.stringify(listed);
      assert.match(text, /"elem":\[\["10\.244\.1\.9",\{"jump":\{"target":"in_shop_db"\}\}\]\]/);
      assert.match(text, /"name":"pods_0000000000001b01_4"[^}]*"elem":\["10\.244\.2\.7"\]/);
      assert.match(
        text,
        /"name":"port_000000000000db01_6"[^}]*"elem":\[\{"concat":\["fd00:10:244:2::7","sctp",3868\]\}\]/,
      );
    }));

  it('replaces the previous ruleset as a whole on the next apply', () =>
    withNetns(async (nft) => {
      await applyScript(renderScript(CASES[3]?.plan ?? plan()).script, nft);
      await applyScript(renderScript(plan()).script, nft);
      const listed = JSON.stringify(await listTable(nft));
      assert.doesNotMatch(listed, /in_shop_web|pods_00000000000000c1_4/);
      assert.match(listed, /"name":"postrouting"/);
    }));
});
