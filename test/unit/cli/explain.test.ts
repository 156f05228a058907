/**
 * `nftpol explain` on the example cluster: one row per kind of answer the
 * text must give — allowed by a rule (naming policy and rule index), denied
 * by isolation (naming the policies none of whose rules match), not isolated,
 * not a pod, host to its own pod, decided by a ClusterNetworkPolicy tier
 * (examples/cluster-policies.yaml: an Admin Accept, Deny and Pass, a Baseline
 * Accept and Deny) — and the resolution rules: named ports per destination
 * pod, dual-stack family choice, and the errors when a name or a family
 * resolves nowhere.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExplain } from '../../../src/cli/commands/explain.js';
import type { Cluster } from '../../../src/policy/model.js';
import { cluster, ns, pod, podPeer, policy, port, rule, sel } from '../../support/builders.js';
import { assertGolden } from '../../support/golden.js';
import { runNftpolInProcess } from './run-cli.js';

const explain = (...args: string[]): string[] => ['explain', '-f', 'examples', ...args];

describe('nftpol explain answers', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; verdict: RegExp; golden: string }[] = [
    {
      name: "frontend to cart on the named port http resolves to cart's 8081 and is allowed by rule 0",
      args: explain('--from', 'shop/frontend-0', '--to', 'shop/cart-0', '--port', 'http'),
      verdict: /^ALLOWED .* TCP\/8081 \(http\)$/m,
      golden: 'explain-frontend-cart-http.txt',
    },
    {
      name: "frontend to the database is denied by the Admin guardrail's last rule, before NetworkPolicy",
      args: explain('--from', 'shop/frontend-0', '--to', 'payments/db-0', '--port', '5432'),
      verdict: /^DENIED /,
      golden: 'explain-frontend-db.txt',
    },
    {
      name: "checkout to the payments API passes checkout's egress rule 1 and the Admin guardrail's Accept (NetworkPolicy not consulted)",
      args: explain('--from', 'shop/checkout-0', '--to', 'payments/api-0', '--port', 'https'),
      verdict: /^ALLOWED .* TCP\/8443 \(https\)$/m,
      golden: 'explain-checkout-api.txt',
    },
    {
      name: 'checkout to an internet address on 443 is allowed by the ipBlock rule',
      args: explain('--from', 'shop/checkout-0', '--to', '203.0.113.10', '--port', '443'),
      verdict: /^ALLOWED /,
      golden: 'explain-checkout-internet.txt',
    },
    {
      name: "checkout to a private address on 443 is denied: it is in the ipBlock's except",
      args: explain('--from', 'shop/checkout-0', '--to', '10.1.2.3', '--port', '443'),
      verdict: /^DENIED /,
      golden: 'explain-checkout-private.txt',
    },
    {
      name: 'checkout to any address on UDP 53 is allowed by the ports-only DNS rule',
      args: explain(
        '--from',
        'shop/checkout-0',
        '--to',
        '10.96.0.10',
        '--port',
        '53',
        '--protocol',
        'udp',
      ),
      verdict: /^ALLOWED .* UDP\/53$/m,
      golden: 'explain-checkout-dns.txt',
    },
    {
      name: 'prometheus scraping the database exporter is passed by the Admin tier, then falls in the endPort range',
      args: explain(
        '--from',
        'monitoring/prometheus-0',
        '--to',
        'payments/db-0',
        '--port',
        'metrics',
      ),
      verdict: /^ALLOWED .* TCP\/9187 \(metrics\)$/m,
      golden: 'explain-prometheus-db-metrics.txt',
    },
    {
      name: 'a node reaching its own pod is always allowed',
      args: explain('--from', '192.168.10.12', '--to', 'payments/db-0', '--port', '5432'),
      verdict: /^ALLOWED /,
      golden: 'explain-node-to-own-pod.txt',
    },
    {
      name: 'another node reaching the same pod is denied',
      args: explain('--from', '192.168.10.11', '--to', 'payments/db-0', '--port', '5432'),
      verdict: /^DENIED /,
      golden: 'explain-other-node-to-pod.txt',
    },
    {
      name: "--family ip6 uses the dual-stack pods' IPv6 addresses",
      args: explain(
        '--from',
        'shop/frontend-0',
        '--to',
        'payments/api-0',
        '--port',
        'https',
        '--family',
        'ip6',
      ),
      // Denied by the Admin guardrail, although allow-api-from-shop admits the frontends.
      verdict: /^DENIED shop\/frontend-0 \(fd00:10:244::a\) -> payments\/api-0 \(fd00:10:244::28\)/,
      golden: 'explain-frontend-api-ip6.txt',
    },
    {
      name: 'the payments API to a frontend is denied by the Baseline isolation of shop (no NetworkPolicy isolates the frontend)',
      args: explain('--from', 'payments/api-0', '--to', 'shop/frontend-0', '--port', '80'),
      verdict: /^DENIED /,
      golden: 'explain-api-frontend-baseline.txt',
    },
    {
      name: "prometheus to a frontend on 9090 is accepted by the Baseline's metrics rule",
      args: explain(
        '--from',
        'monitoring/prometheus-0',
        '--to',
        'shop/frontend-0',
        '--port',
        '9090',
      ),
      verdict: /^ALLOWED /,
      golden: 'explain-prometheus-frontend-baseline.txt',
    },
    {
      name: 'a pod IP given as an address is named as that pod',
      args: explain('--from', '10.244.0.10', '--to', '10.244.1.20', '--port', 'http'),
      verdict:
        /^ALLOWED shop\/frontend-0 \(10\.244\.0\.10\) -> shop\/cart-0 \(10\.244\.1\.20\) TCP\/8081/,
      golden: 'explain-by-address.txt',
    },
    {
      name: '-o json is the Verdict plus the resolved names',
      args: explain(
        '--from',
        'shop/frontend-0',
        '--to',
        'shop/cart-0',
        '--port',
        'http',
        '-o',
        'json',
      ),
      verdict: /^\{/,
      golden: 'explain-frontend-cart-http.json',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runNftpolInProcess(c.args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, c.verdict);
      await assertGolden(`cli/${c.golden}`, r.stdout);
    });
  }

  it('the JSON answer carries the allowing rule and the resolved port', async () => {
    const r = await runNftpolInProcess(
      explain('--from', 'shop/frontend-1', '--to', 'shop/cart-0', '--port', 'http', '-o', 'json'),
    );
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['connection', 'allowed', 'egress', 'ingress', 'resolved']);
    assert.deepEqual(json['connection'], {
      from: '10.244.1.10',
      to: '10.244.1.20',
      protocol: 'TCP',
      port: 8081,
    });
    assert.deepEqual((json['ingress'] as Record<string, unknown>)['allowedBy'], [
      { policy: 'shop/allow-frontend-to-cart', direction: 'ingress', rule: 0 },
    ]);
  });
});

describe(
  'nftpol explain refuses what the input cannot answer (exit 1)',
  { concurrency: true },
  () => {
    const cases: { name: string; args: string[]; stderr: string }[] = [
      {
        name: 'a named port the destination pod does not declare',
        args: explain('--from', 'shop/frontend-0', '--to', 'payments/db-0', '--port', 'http'),
        stderr:
          'nftpol explain: named port "http" (TCP) resolves nowhere: pod payments/db-0 declares no TCP container port of that name (its named ports: postgres 5432/TCP, metrics 9187/TCP)\n',
      },
      {
        name: 'a named port declared for another protocol only',
        args: explain(
          '--from',
          'shop/frontend-0',
          '--to',
          'shop/cart-0',
          '--port',
          'http',
          '--protocol',
          'UDP',
        ),
        stderr:
          'nftpol explain: named port "http" (UDP) resolves nowhere: pod shop/cart-0 declares no UDP container port of that name (its named ports: http 8081/TCP, metrics 9090/TCP)\n',
      },
      {
        name: 'a named port towards an address that is no pod',
        args: explain('--from', 'shop/frontend-0', '--to', '203.0.113.10', '--port', 'http'),
        stderr:
          'nftpol explain: named port "http" (TCP) resolves nowhere: 203.0.113.10 is not the address of a pod that policies select, so it has no container ports to name\n',
      },
      {
        name: 'IPv6 asked of a pod that has only IPv4',
        args: explain(
          '--from',
          'shop/frontend-0',
          '--to',
          'shop/checkout-0',
          '--port',
          '80',
          '--family',
          'ip6',
        ),
        stderr:
          'nftpol explain: not both ends have an IPv6 address: shop/frontend-0 has IPv4 10.244.0.10, IPv6 fd00:10:244::a; shop/checkout-0 has IPv4 10.244.2.30\n',
      },
      {
        name: 'an IPv4 pod and an IPv6 address share no family',
        args: explain('--from', 'shop/checkout-0', '--to', '2001:db8::1', '--port', '443'),
        stderr:
          'nftpol explain: no common address family: shop/checkout-0 has IPv4 10.244.2.30; 2001:db8::1 has IPv6 2001:db8::1\n',
      },
      {
        name: 'a finished pod, whose address may be reused',
        args: explain('--from', 'shop/migrate-db-x7k2p', '--to', 'payments/db-0', '--port', '5432'),
        stderr:
          'nftpol explain: pod shop/migrate-db-x7k2p is Succeeded: policies no longer apply to it and its address may belong to another pod; ask by address instead\n',
      },
      {
        name: 'a pod that is not in the input',
        args: explain('--from', 'shop/frontend-0', '--to', 'payments/ledger-0', '--port', '80'),
        stderr: 'nftpol explain: no pod payments/ledger-0 in the input\n',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const r = await runNftpolInProcess(c.args);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, c.stderr);
      });
    }
  },
);

describe("explain's verdict line summarises past a handful of policies (#11)", () => {
  // `count` policies in a: each isolates a/web for ingress, and every
  // `allowEvery`-th one allows port 80 from a/client.
  function manyPolicies(count: number, allowEvery: number): Cluster {
    const policies = Array.from({ length: count }, (_, i) =>
      policy(`a/p${String(i).padStart(4, '0')}`, {
        podSelector: sel({ app: 'web' }),
        ingress: i % allowEvery === 0 ? [rule([podPeer(sel({ app: 'client' }))], [port(80)])] : [],
      }),
    );
    return cluster(
      [ns('a')],
      [
        pod('a/client', { app: 'client' }, { ips: ['10.0.0.1'] }),
        pod('a/web', { app: 'web' }, { ips: ['10.0.0.2'] }),
      ],
      policies,
    );
  }
  const ask = (c: Cluster, output: 'text' | 'json', p = 80): Promise<string> =>
    runExplain(c, {
      files: [],
      from: { kind: 'pod', namespace: 'a', name: 'client' },
      to: { kind: 'pod', namespace: 'a', name: 'web' },
      port: p,
      protocol: 'TCP',
      family: null,
      output,
    });
  const ingressLine = (text: string): string =>
    text.split('\n').find((l) => l.startsWith('  ingress of ')) ?? '';

  const rows: { name: string; count: number; allowEvery: number; port: number; line: string }[] = [
    {
      name: 'five isolating policies are all named',
      count: 5,
      allowEvery: 1000,
      port: 80,
      line: '  ingress of a/web: allowed by a/p0000 ingress rule 0; isolated by a/p0000, a/p0001, a/p0002, a/p0003, a/p0004',
    },
    {
      name: '2,500 isolating policies, none allowing: five named and the rest counted, once',
      count: 2500,
      allowEvery: 5000,
      port: 443,
      line: '  ingress of a/web: denied: isolated by a/p0000, a/p0001, a/p0002, a/p0003, a/p0004 and 2,495 more (-o json lists all); no rule of these 2,500 policies allows it',
    },
    {
      name: 'many allowing rules are summarised too',
      count: 12,
      allowEvery: 1,
      port: 80,
      line: '  ingress of a/web: allowed by a/p0000 ingress rule 0, a/p0001 ingress rule 0, a/p0002 ingress rule 0, a/p0003 ingress rule 0, a/p0004 ingress rule 0 and 7 more; isolated by a/p0000, a/p0001, a/p0002, a/p0003, a/p0004 and 7 more (-o json lists all)',
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const text = await ask(manyPolicies(row.count, row.allowEvery), 'text', row.port);
      assert.equal(ingressLine(text), row.line);
    });
  }

  it('-o json lists every policy', async () => {
    const json = JSON.parse(await ask(manyPolicies(2500, 5000), 'json', 443)) as {
      ingress: { policies: string[] };
    };
    assert.equal(json.ingress.policies.length, 2500);
    assert.equal(json.ingress.policies[2499], 'a/p2499');
  });
});
