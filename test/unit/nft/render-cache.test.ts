/**
 * The caches that make rendering thousands of nodes affordable must never
 * change a byte: a shared RenderCache, the NamedSet objects one translator
 * shares between plans, and the rule contents shared between policies that
 * say the same thing. Each test compares against the uncached path or spells
 * out the elements a wrongly shared cache would get wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCluster, SIZES } from '../../../bench/generate.js';
import { renderScript, type RenderCache } from '../../../src/nft/render.js';
import type { Cluster } from '../../../src/policy/model.js';
import type { FirewallPlan, NamedSet } from '../../../src/policy/plan.js';
import { translateNode, translatorFor } from '../../../src/policy/translate.js';
import {
  cluster,
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
} from '../../support/builders.js';

/** Two namespaces with look-alike policies, pods spread over two nodes. */
function lookAlikes(): Cluster {
  const web = (q: string, ip: string, nodeName: string): ReturnType<typeof pod> =>
    pod(q, { app: 'web' }, { ips: [ip], nodeName, ports: [named('http', 8080)] });
  const sameRules = {
    podSelector: sel({ app: 'web' }),
    ingress: [
      rule([podPeer(sel({ app: 'web' }))], [port('http')]),
      rule([nsPeer(sel({ team: 'ops' }))], [port(9090)]),
    ],
    egress: [rule([ipBlock('192.168.0.0/16', '192.168.10.0/24')], [port(443)])],
  };
  return cluster(
    [ns('a', { team: 'ops' }), ns('b', { team: 'dev' })],
    [
      web('a/web-1', '10.0.1.1', 'n1'),
      web('a/web-2', '10.0.2.1', 'n2'),
      web('b/web-1', '10.0.1.2', 'n1'),
      web('b/web-2', '10.0.2.2', 'n2'),
      pod('a/mon', { app: 'mon' }, { ips: ['10.0.1.3', 'fd00::3'], nodeName: 'n1' }),
    ],
    [policy('a/web', sameRules), policy('b/web', sameRules)],
  );
}

const CLUSTERS: readonly { readonly name: string; readonly cluster: () => Cluster }[] = [
  { name: 'look-alike policies in two namespaces', cluster: lookAlikes },
  { name: 'the small generated cluster', cluster: () => generateCluster(SIZES['small']!, 3) },
];

function setsByName(plan: FirewallPlan): Map<string, NamedSet> {
  return new Map(plan.sets.map((s) => [s.name, s]));
}

describe('render cache', () => {
  for (const c of CLUSTERS) {
    it(`${c.name}: every node renders byte-identically with one shared cache as without`, () => {
      const input = c.cluster();
      const translate = translatorFor(input);
      const cache: RenderCache = new WeakMap();
      for (const n of input.nodes) {
        const plan = translate(n.name);
        const cached = renderScript(plan, cache);
        assert.equal(cached.script, renderScript(translateNode(input, n.name)).script, n.name);
        assert.equal(cached.scriptHash, renderScript(plan).scriptHash, n.name);
      }
    });
  }

  it('one translator hands every plan the same set object for the same content', () => {
    const input = lookAlikes();
    const translate = translatorFor(input);
    const [one, two] = [setsByName(translate('n1')), setsByName(translate('n2'))];
    const shared = [...one.keys()].filter((name) => two.has(name));
    assert.ok(shared.length > 0, 'the two nodes share no set');
    for (const name of shared) assert.equal(one.get(name), two.get(name), name);
  });

  it('a cache never hands a set the text of another set with the same name', () => {
    const plan = (set: NamedSet): FirewallPlan => ({
      node: 'n1',
      chains: [
        {
          name: 'in_a_web',
          pod: 'a/web',
          direction: 'ingress',
          ips: ['10.0.0.1'],
          policies: ['a/p'],
          allows: [{ policy: 'a/p', rule: 0, match: { kind: 'set', set: set.name } }],
        },
      ],
      sets: [set],
      policies: ['a/p'],
      localPods: 1,
      failClosed: null,
    });
    const addrSet = (ip: string): NamedSet => ({
      name: 'addr4_same',
      kind: 'addr',
      family: 'ip',
      elements: [{ addr: { first: ip, last: ip } }],
    });
    const cache: RenderCache = new WeakMap();
    assert.match(renderScript(plan(addrSet('10.9.9.1')), cache).script, /10\.9\.9\.1/);
    const second = renderScript(plan(addrSet('10.9.9.2')), cache).script;
    assert.match(second, /10\.9\.9\.2/);
    assert.doesNotMatch(second, /10\.9\.9\.1/);
  });
});

describe('rule contents shared between policies', () => {
  const cases: readonly {
    readonly name: string;
    readonly chain: string;
    readonly rule: number;
    readonly elements: readonly string[];
  }[] = [
    {
      name: 'a same-namespace peer of b selects the pods of b, not those of a',
      chain: 'in_b_web-1',
      rule: 0,
      elements: ['10.0.1.2-10.0.1.2 TCP 8080-8080', '10.0.2.2-10.0.2.2 TCP 8080-8080'],
    },
    {
      name: 'a same-namespace peer of a selects the pods of a',
      chain: 'in_a_web-1',
      rule: 0,
      elements: ['10.0.1.1-10.0.1.1 TCP 8080-8080', '10.0.2.1-10.0.2.1 TCP 8080-8080'],
    },
    {
      name: 'a namespace-selector peer means the same pods in both namespaces',
      chain: 'in_b_web-1',
      rule: 1,
      elements: [
        '10.0.1.1-10.0.1.1 TCP 9090-9090',
        '10.0.1.3-10.0.1.3 TCP 9090-9090',
        '10.0.2.1-10.0.2.1 TCP 9090-9090',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = translatorFor(lookAlikes())('n1');
      const chain = plan.chains.find((x) => x.name === c.chain);
      const allow = chain?.allows.find((a) => a.rule === c.rule && a.match.kind === 'set');
      const setName = allow?.match.kind === 'set' ? allow.match.set : '';
      const set = plan.sets.find((s) => s.name === setName);
      assert.ok(set, `no set for ${c.chain} rule ${c.rule}`);
      assert.deepEqual(
        set.elements.map(
          (e) =>
            `${e.addr?.first ?? ''}-${e.addr?.last ?? ''} ${e.protocol ?? ''} ${e.port?.first ?? ''}-${e.port?.last ?? ''}`,
        ),
        c.elements,
      );
    });
  }
});
