import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Direction, Family, Protocol } from '../../../src/policy/model.js';
import type {
  Allow,
  FailClosed,
  FirewallPlan,
  NamedSet,
  PodChain,
  SetElement,
  SetKind,
} from '../../../src/policy/plan.js';
import { translateNode } from '../../../src/policy/translate.js';
import { RenderError, renderScript } from '../../../src/nft/render.js';
import { listTable, applyScript } from '../../../src/nft/apply.js';
import { assertGolden } from '../../support/golden.js';
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

/** An element: `addr` as an IP or [first, last]; `proto` and `port` for port kinds. */
function el(
  addr: string | readonly [string, string] | null,
  proto?: Protocol,
  p?: Port,
): SetElement {
  const range =
    typeof p === 'number' ? { first: p, last: p } : p ? { first: p[0], last: p[1] } : null;
  return {
    ...(addr === null
      ? {}
      : {
          addr:
            typeof addr === 'string'
              ? { first: addr, last: addr }
              : { first: addr[0], last: addr[1] },
        }),
    ...(proto ? { protocol: proto } : {}),
    ...(range ? { port: range } : {}),
  };
}

function set(
  name: string,
  kind: SetKind,
  family: Family | null,
  ...elements: SetElement[]
): NamedSet {
  return { name, kind, family, elements };
}

/** An allow; `setName` omitted matches everything. */
function allow(policyName: string, ruleIndex: number, setName?: string): Allow {
  return {
    policy: policyName,
    rule: ruleIndex,
    match: setName === undefined ? { kind: 'all' } : { kind: 'set', set: setName },
  };
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

// ---- the cases ----

const webClients = set(
  'addrPort4_web',
  'addrPort',
  'ip',
  el(['10.244.2.0', '10.244.2.255'], 'TCP', 8080),
);
const dns = set(
  'addrPort4_dns',
  'addrPort',
  'ip',
  el('10.96.0.10', 'TCP', 53),
  el('10.96.0.10', 'UDP', 53),
);

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
      sets: [webClients],
      chains: [
        chain(
          'shop/web',
          'ingress',
          ['10.244.1.5'],
          [allow('shop/allow-clients', 0, webClients.name)],
        ),
      ],
      localPods: 2,
    }),
  },
  {
    name: 'an egress-only pod returns on allows so that ingress is still checked',
    golden: 'render-egress-only.nft',
    plan: plan({
      sets: [dns],
      chains: [
        chain('shop/client', 'egress', ['10.244.1.6'], [allow('shop/dns-only', 0, dns.name)]),
      ],
    }),
  },
  {
    name: 'a pod isolated both ways gets two chains and appears in two maps',
    golden: 'render-both.nft',
    plan: plan({
      sets: [dns, webClients],
      chains: [
        chain('shop/web', 'egress', ['10.244.1.5'], [allow('shop/lockdown', 0, dns.name)]),
        chain('shop/web', 'ingress', ['10.244.1.5'], [allow('shop/lockdown', 0, webClients.name)]),
      ],
    }),
  },
  {
    name: 'a dual-stack pod is dispatched from both families and matches both families of sets',
    golden: 'render-dual-stack.nft',
    plan: plan({
      sets: [
        set('addr4_peers', 'addr', 'ip', el(['10.244.0.0', '10.244.255.255'])),
        set('addr6_peers', 'addr', 'ip6', el(['fd00:10:244::', 'fd00:10:244::ffff:ffff'])),
      ],
      chains: [
        chain(
          'shop/web',
          'ingress',
          ['10.244.1.5', 'fd00:10:244::1:5'],
          [allow('shop/from-pods', 0, 'addr4_peers'), allow('shop/from-pods', 0, 'addr6_peers')],
        ),
      ],
    }),
  },
  {
    name: 'a set shared by two pods is rendered once and referenced from both chains',
    golden: 'render-shared-set.nft',
    plan: plan({
      sets: [webClients],
      chains: [
        chain(
          'shop/api',
          'ingress',
          ['10.244.1.7'],
          [allow('shop/allow-clients', 0, webClients.name)],
        ),
        chain(
          'shop/web',
          'ingress',
          ['10.244.1.5'],
          [allow('shop/allow-clients', 0, webClients.name)],
        ),
      ],
    }),
  },
  {
    name: 'all four match kinds render their own lookups: all, addr, port, addrPort',
    golden: 'render-match-kinds.nft',
    plan: plan({
      sets: [
        set('addr4_lb', 'addr', 'ip', el('192.168.0.10')),
        set('addrPort6_db', 'addrPort', 'ip6', el('fd00:10:244::2:9', 'TCP', 5432)),
        set('port_web', 'port', null, el(null, 'TCP', 80), el(null, 'TCP', 443)),
      ],
      chains: [
        chain(
          'shop/db',
          'egress',
          ['10.244.1.9', 'fd00:10:244::1:9'],
          [
            allow('shop/db-egress', 0, 'addrPort6_db'),
            allow('shop/db-egress', 1, 'port_web'),
            allow('shop/db-egress', 2, 'addr4_lb'),
            allow('shop/db-egress', 3),
          ],
        ),
        chain(
          'shop/db',
          'ingress',
          ['10.244.1.9', 'fd00:10:244::1:9'],
          [
            allow('shop/db-ingress', 0, 'addr4_lb'),
            allow('shop/db-ingress', 1, 'port_web'),
            allow('shop/db-ingress', 2),
          ],
        ),
      ],
    }),
  },
  {
    name: 'SCTP, UDP and port ranges, with ranges that are and are not prefixes',
    golden: 'render-protocols-ranges.nft',
    plan: plan({
      sets: [
        set(
          'addrPort4_mixed',
          'addrPort',
          'ip',
          el(['10.0.0.0', '10.0.0.127'], 'SCTP', 3868),
          el(['10.0.1.1', '10.0.1.9'], 'TCP', [8000, 8099]),
          el('10.0.2.1', 'UDP', [0, 65535]),
        ),
        set('port_voice', 'port', null, el(null, 'UDP', [10000, 20000]), el(null, 'SCTP', 2905)),
      ],
      chains: [
        chain(
          'tel/sbc',
          'ingress',
          ['10.244.1.20'],
          [allow('tel/signalling', 0, 'addrPort4_mixed'), allow('tel/signalling', 1, 'port_voice')],
        ),
      ],
    }),
  },
  {
    name: 'fail-closed drops local pod IPs the plan does not know yet, after ingress dispatch',
    golden: 'render-fail-closed.nft',
    plan: plan({
      sets: [webClients],
      chains: [
        chain(
          'shop/web',
          'ingress',
          ['10.244.1.5'],
          [allow('shop/allow-clients', 0, webClients.name)],
        ),
      ],
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
      sets: [webClients],
      chains: [
        chain(
          `${longNs}/${longPod}`,
          'ingress',
          ['10.244.1.30'],
          [allow(longPolicy, 12, webClients.name), allow(`${longNs}/quote"d-and-ünïcødé-☃`, 0)],
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

// Rows built from clusters through translateNode: the golden shows what a real
// translation renders to (and changes when translate does; review the diff).
const TRANSLATED: readonly Case[] = [
  {
    name: 'a translated cluster: web accepts clients on a named port, client egress only to DNS',
    golden: 'render-translated-shop.nft',
    plan: translateNode(
      cluster(
        [ns('shop'), ns('kube-system')],
        [
          pod(
            'shop/web',
            { app: 'web' },
            { ips: ['10.244.1.5', 'fd00:10:244:1::5'], ports: [named('http', 8080)] },
          ),
          pod('shop/client', { app: 'client' }, { ips: ['10.244.1.6', 'fd00:10:244:1::6'] }),
          pod('kube-system/dns', { app: 'dns' }, { ips: ['10.244.2.10'], nodeName: 'node-2' }),
        ],
        [
          policy('shop/web-from-client', {
            podSelector: sel({ app: 'web' }),
            ingress: [rule([podPeer(sel({ app: 'client' }))], [port('http')])],
          }),
          policy('shop/client-dns', {
            podSelector: sel({ app: 'client' }),
            policyTypes: ['egress'],
            egress: [
              rule(
                [
                  nsPeer(
                    sel({ 'kubernetes.io/metadata.name': 'kube-system' }),
                    sel({ app: 'dns' }),
                  ),
                ],
                [port(53, 'UDP'), port(53, 'TCP')],
              ),
              rule([ipBlock('10.0.0.0/8', '10.244.0.0/16')], [port(443)]),
            ],
          }),
        ],
        [node('node-1', { podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] })],
      ),
      'node-1',
      { failClosed: true },
    ),
  },
];

// The table checks its own coverage: every set kind per family, both
// directions, every protocol, the catch-all match, fail-closed.
describe('renderScript cases cover', () => {
  const plans = CASES.map((c) => c.plan);
  const sets = plans.flatMap((p) => p.sets);
  const required: Record<string, boolean> = {
    'addr ip': sets.some((s) => s.kind === 'addr' && s.family === 'ip'),
    'addr ip6': sets.some((s) => s.kind === 'addr' && s.family === 'ip6'),
    'addrPort ip': sets.some((s) => s.kind === 'addrPort' && s.family === 'ip'),
    'addrPort ip6': sets.some((s) => s.kind === 'addrPort' && s.family === 'ip6'),
    port: sets.some((s) => s.kind === 'port'),
    TCP: sets.some((s) => s.elements.some((e) => e.protocol === 'TCP')),
    UDP: sets.some((s) => s.elements.some((e) => e.protocol === 'UDP')),
    SCTP: sets.some((s) => s.elements.some((e) => e.protocol === 'SCTP')),
    ingress: plans.some((p) => p.chains.some((c) => c.direction === 'ingress')),
    egress: plans.some((p) => p.chains.some((c) => c.direction === 'egress')),
    'match all': plans.some((p) =>
      p.chains.some((c) => c.allows.some((a) => a.match.kind === 'all')),
    ),
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

      it('declares every set once and every chain once', () => {
        for (const s of c.plan.sets) {
          assert.equal(rendered.script.split(`\tset ${s.name} {\n`).length - 1, 1, s.name);
        }
        for (const ch of c.plan.chains) {
          assert.equal(rendered.script.split(`\tchain ${ch.name} {\n`).length - 1, 1, ch.name);
        }
      });
    });
  }
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
  const cases: readonly { name: string; plan: FirewallPlan; error: RegExp }[] = [
    {
      name: 'an allow naming a set the plan lacks',
      plan: plan({
        chains: [chain('a/p', 'ingress', ['10.0.0.1'], [allow('a/x', 0, 'addr4_missing')])],
      }),
      error: /set addr4_missing, which the plan does not have/,
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
    {
      name: 'a set named like a dispatch map',
      plan: plan({ sets: [set('ingress4', 'addr', 'ip', el('10.0.0.1'))] }),
      error: /set name ingress4 is reserved/,
    },
    {
      name: 'an address set without a family',
      plan: plan({ sets: [set('addr_x', 'addr', null, el('10.0.0.1'))] }),
      error: /needs an address family/,
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
  it('loads with nft -f and lists back as JSON with its sets, maps, chains and elements', () =>
    withNetns(async (nft) => {
      const matchKinds = CASES.find((c) => c.golden === 'render-match-kinds.nft');
      assert.ok(matchKinds);
      await applyScript(renderScript(matchKinds.plan).script, nft);
      const listed = (await listTable(nft)) as { nftables: Record<string, { name?: string }>[] };
      const names = (kind: string): string[] =>
        listed.nftables.flatMap((o) => (o[kind]?.name === undefined ? [] : [o[kind].name]));
      assert.deepEqual(names('set').sort(), ['addr4_lb', 'addrPort6_db', 'port_web']);
      assert.deepEqual(names('map').sort(), ['egress4', 'egress6', 'ingress4', 'ingress6']);
      assert.deepEqual(names('chain').sort(), ['eg_shop_db', 'in_shop_db', 'input', 'postrouting']);
      assert.match(
        JSON.stringify(listed),
        /"elem":\[\["10\.244\.1\.9",\{"jump":\{"target":"in_shop_db"\}\}\]\]/,
      );
    }));

  it('replaces the previous ruleset as a whole on the next apply', () =>
    withNetns(async (nft) => {
      await applyScript(renderScript(CASES[3]?.plan ?? plan()).script, nft);
      await applyScript(renderScript(plan()).script, nft);
      const listed = JSON.stringify(await listTable(nft));
      assert.doesNotMatch(listed, /in_shop_web|addrPort4_dns/);
      assert.match(listed, /"name":"postrouting"/);
    }));
});
