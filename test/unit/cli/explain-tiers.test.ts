/**
 * `nftpol explain` when ClusterNetworkPolicies decide: each side's line names
 * the tier, the policy (`cnp:<name>`), the rule's index and name, and the Pass
 * rules it went through; a rule that fails closed says so and why. The JSON
 * answer carries the same as `tier`, `decidedBy`, `passed` and
 * `clusterPolicies`. One row per kind of answer. With a cluster to read,
 * the live counts come from every pod chain that decides: a pod no
 * NetworkPolicy isolates has one when ClusterNetworkPolicy rules apply to it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  explainQuery,
  formatLiveCounts,
  liveCountsFor,
  type ExplainOptions,
} from '../../../src/cli/commands/explain.js';
import { formatExplanationJson, formatExplanationText } from '../../../src/cli/format.js';
import type { NodeFirewallObject } from '../../../src/cli/status-report.js';
import type { ClusterPolicy, Policy } from '../../../src/policy/model.js';
import {
  cluster,
  clusterNamespaces,
  clusterPods,
  clusterPolicy,
  clusterRule,
  named,
  ns,
  pod,
  nsPeer,
  policy,
  rule,
  sel,
  withClusterPolicies,
} from '../../support/builders.js';

const PAYMENTS = sel({ 'kubernetes.io/metadata.name': 'payments' });
const SHOP = sel({ 'kubernetes.io/metadata.name': 'shop' });
const FAILS = 'peer 0: nodes is not supported';

const guard = clusterPolicy('payments-guard', {
  priority: 10,
  subject: { namespaceSelector: PAYMENTS },
  ingress: [
    clusterRule('Accept', [clusterPods(SHOP, sel({ app: 'frontend' }))], null, {
      name: 'allow-frontend',
    }),
    clusterRule('Deny', [clusterNamespaces()], null, { name: 'deny-others' }),
  ],
});
const teams = clusterPolicy('teams', {
  priority: 5,
  ingress: [clusterRule('Pass', [clusterNamespaces(SHOP)], null, { name: 'to-teams' })],
});
const floor = clusterPolicy('floor', {
  tier: 'Baseline',
  ingress: [clusterRule('Deny', [clusterNamespaces()], null, { name: 'deny-all' })],
});
const floorPass = clusterPolicy('floor', {
  tier: 'Baseline',
  ingress: [clusterRule('Pass', [clusterNamespaces()])],
});
const broken = clusterPolicy('broken', {
  egress: [
    clusterRule('Pass', [clusterNamespaces()], null, { name: 'to-nodes', failClosed: FAILS }),
  ],
});
const quoted = clusterPolicy('quoted', {
  ingress: [clusterRule('Deny', [clusterNamespaces()], null, { name: 'say "no"\nnow' })],
});
const allowShop = policy('payments/allow-shop', {
  podSelector: sel({ app: 'api' }),
  ingress: [rule([nsPeer(SHOP)])],
});

function scene(cnps: readonly ClusterPolicy[], nps: readonly Policy[] = []) {
  return withClusterPolicies(
    cluster(
      [ns('payments'), ns('shop')],
      [
        pod(
          'payments/api',
          { app: 'api' },
          { nodeName: 'n1', ips: ['10.0.0.10'], ports: [named('https', 8443)] },
        ),
        pod('shop/frontend', { app: 'frontend' }, { nodeName: 'n2', ips: ['10.0.0.20'] }),
        pod('shop/cart', { app: 'cart' }, { nodeName: 'n2', ips: ['10.0.0.21'] }),
      ],
      nps,
    ),
    ...cnps,
  );
}

function options(from: string, to: string, output: 'text' | 'json' = 'text'): ExplainOptions {
  const ref = (text: string) => {
    const [namespace = '', name = ''] = text.split('/');
    return { kind: 'pod', namespace, name } as const;
  };
  return {
    files: [],
    from: ref(from),
    to: ref(to),
    port: 'https',
    protocol: 'TCP',
    family: null,
    output,
  };
}

const FROM_FRONTEND = 'shop/frontend (10.0.0.20) -> payments/api (10.0.0.10) TCP/8443 (https)';
const FROM_CART = 'shop/cart (10.0.0.21) -> payments/api (10.0.0.10) TCP/8443 (https)';
const NO_EGRESS =
  '  egress of shop/frontend: allowed: not isolated (no policy selects it for egress)\n';

describe('explain names the tier, policy and rule that decided', () => {
  const rows: {
    name: string;
    cnps: readonly ClusterPolicy[];
    nps?: readonly Policy[];
    from: string;
    text: string;
  }[] = [
    {
      name: 'an Admin Accept: tier, policy, rule index and name',
      cnps: [guard],
      from: 'shop/frontend',
      text:
        `ALLOWED ${FROM_FRONTEND}\n` +
        NO_EGRESS +
        '  ingress of payments/api: allowed by Admin cnp:payments-guard ingress rule 0 ("allow-frontend")\n',
    },
    {
      name: 'an Admin Deny',
      cnps: [guard],
      from: 'shop/cart',
      text:
        `DENIED ${FROM_CART}\n` +
        '  egress of shop/cart: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of payments/api: denied by Admin cnp:payments-guard ingress rule 1 ("deny-others")\n',
    },
    {
      name: 'NetworkPolicy after an Admin Pass: the pass is named',
      cnps: [teams, guard],
      nps: [allowShop],
      from: 'shop/cart',
      text:
        `ALLOWED ${FROM_CART}\n` +
        '  egress of shop/cart: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of payments/api: allowed by payments/allow-shop ingress rule 0; isolated by payments/allow-shop, after passing Admin cnp:teams ingress rule 0 ("to-teams")\n',
    },
    {
      name: 'a Baseline Deny after an Admin Pass',
      cnps: [teams, floor],
      from: 'shop/cart',
      text:
        `DENIED ${FROM_CART}\n` +
        '  egress of shop/cart: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of payments/api: denied by Baseline cnp:floor ingress rule 0 ("deny-all"), after passing Admin cnp:teams ingress rule 0 ("to-teams")\n',
    },
    {
      name: 'the default after a Baseline Pass of an unnamed rule',
      cnps: [floorPass],
      from: 'shop/cart',
      text:
        `ALLOWED ${FROM_CART}\n` +
        '  egress of shop/cart: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of payments/api: allowed: not isolated (no NetworkPolicy selects it for ingress) and no rule of cnp:floor decides, after passing Baseline cnp:floor ingress rule 0\n',
    },
    {
      name: 'a rule that fails closed: its written action and why',
      cnps: [broken],
      from: 'shop/frontend',
      text:
        `DENIED ${FROM_FRONTEND}\n` +
        `  egress of shop/frontend: denied by Admin cnp:broken egress rule 0 ("to-nodes"), a Pass rule that fails closed (${FAILS})\n` +
        '  ingress of payments/api: allowed: not isolated (no policy selects it for ingress)\n',
    },
    {
      name: 'a rule name is quoted on one line',
      cnps: [quoted],
      from: 'shop/frontend',
      text:
        `DENIED ${FROM_FRONTEND}\n` +
        NO_EGRESS +
        '  ingress of payments/api: denied by Admin cnp:quoted ingress rule 0 ("say \\"no\\" now")\n',
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const c = scene(row.cnps, row.nps ?? []);
      assert.equal(
        formatExplanationText(explainQuery(c, options(row.from, 'payments/api'))),
        row.text,
      );
    });
  }

  it('the JSON answer carries tier, decidedBy, passed and clusterPolicies', () => {
    const c = scene([teams, floor]);
    const json = JSON.parse(
      formatExplanationJson(explainQuery(c, options('shop/cart', 'payments/api', 'json'))),
    ) as { ingress: Record<string, unknown>; egress: Record<string, unknown> };
    assert.equal(json.ingress['reason'], 'baseline-deny');
    assert.equal(json.ingress['tier'], 'Baseline');
    assert.deepEqual(json.ingress['decidedBy'], {
      policy: 'cnp:floor',
      tier: 'Baseline',
      priority: 0,
      direction: 'ingress',
      rule: 0,
      name: 'deny-all',
      action: 'Deny',
      failClosed: null,
    });
    assert.deepEqual(json.ingress['passed'], [
      {
        policy: 'cnp:teams',
        tier: 'Admin',
        priority: 5,
        direction: 'ingress',
        rule: 0,
        name: 'to-teams',
        action: 'Pass',
        failClosed: null,
      },
    ]);
    assert.deepEqual(json.ingress['clusterPolicies'], ['cnp:teams', 'cnp:floor']);
    assert.deepEqual(json.ingress['allowedBy'], []);
    assert.equal(json.egress['tier'], 'Default');
  });
});

describe('live counts when ClusterNetworkPolicies give a pod its chain', () => {
  /** n1 (payments/api) and n2 (shop's pods) with per-pod counters, as executors report them. */
  const NODES: NodeFirewallObject[] = [
    {
      metadata: { name: 'n1' },
      status: {
        counters: {
          'payments/api': {
            ingressAllowed: 40,
            ingressDenied: 7,
            egressAllowed: 0,
            egressDenied: 0,
          },
        },
      },
    },
    {
      metadata: { name: 'n2' },
      status: {
        counters: {
          'shop/frontend': {
            ingressAllowed: 0,
            ingressDenied: 0,
            egressAllowed: 3,
            egressDenied: 9,
          },
        },
      },
    },
  ];
  const HEADER = 'live counts (NodeFirewall status.counters, since each script was loaded):';
  const API_INGRESS = [
    '  denied packets on payments/api ingress: 7 (node n1)',
    '  allowed packets on payments/api ingress: 40 (node n1)',
  ];
  const rows: {
    name: string;
    cnps: readonly ClusterPolicy[];
    nps?: readonly Policy[];
    nodes?: NodeFirewallObject[];
    want: string[];
  }[] = [
    {
      name: 'an Admin Accept on a pod no NetworkPolicy isolates: its ingress chain counts',
      cnps: [guard],
      want: [HEADER, ...API_INGRESS],
    },
    {
      name: 'the default after a Baseline Pass: the chain ends in its default allow, which counts',
      cnps: [floorPass],
      want: [HEADER, ...API_INGRESS],
    },
    {
      name: "an egress rule that fails closed: the source's egress chain counts",
      cnps: [broken],
      want: [
        HEADER,
        '  denied packets on shop/frontend egress: 9 (node n2)',
        '  allowed packets on shop/frontend egress: 3 (node n2)',
      ],
    },
    {
      name: 'isolated by a NetworkPolicy, no CNP: counts as before',
      cnps: [],
      nps: [allowShop],
      want: [HEADER, ...API_INGRESS],
    },
    {
      name: 'a chain whose node reports no counters yet says so',
      cnps: [guard],
      nodes: [],
      want: [HEADER, '  payments/api ingress: no counters reported yet (node n1)'],
    },
    {
      name: 'no NetworkPolicy and no CNP: no chain counts it, in one line',
      cnps: [],
      want: [
        "live counts: no pod chain counts this connection (no NetworkPolicy isolates the source's egress or the destination's ingress, and no ClusterNetworkPolicy applies to them)",
      ],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const c = scene(row.cnps, row.nps ?? []);
      const explanation = explainQuery(c, options('shop/frontend', 'payments/api'));
      const counts = liveCountsFor(c, explanation, row.nodes ?? NODES);
      assert.equal(formatLiveCounts(counts), [...row.want, ''].join('\n'));
    });
  }
});
