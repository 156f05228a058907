/**
 * `nftpol matrix`: the grid and the JSON contract other tools parse, named
 * ports resolved per destination pod (a destination without the name is
 * marked `-` and false), and agreement with `explain` on every pair.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainQuery } from '../../../src/cli/commands/explain.js';
import { computeMatrix } from '../../../src/cli/commands/matrix.js';
import { readClusterYaml } from '../../../src/cli/load-yaml.js';
import type { Cluster } from '../../../src/policy/model.js';
import { assertGolden } from '../../support/golden.js';
import { REPO, runNftpolInProcess } from './run-cli.js';

describe('nftpol matrix output', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; golden: string }[] = [
    { name: 'default port 80/TCP as a grid', args: [], golden: 'matrix-80.txt' },
    { name: 'default port 80/TCP as JSON', args: ['-o', 'json'], golden: 'matrix-80.json' },
    {
      name: 'a named port marks destinations without it "-"',
      args: ['--port', 'http'],
      golden: 'matrix-http.txt',
    },
    {
      name: 'a named port as JSON',
      args: ['--port', 'http', '-o', 'json'],
      golden: 'matrix-http.json',
    },
    { name: 'UDP 53', args: ['--port', '53', '--protocol', 'UDP'], golden: 'matrix-udp-53.txt' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runNftpolInProcess(['matrix', '-f', 'examples', ...c.args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      await assertGolden(`cli/${c.golden}`, r.stdout);
    });
  }

  it('JSON has exactly port, protocol, pods and allowed, with every ordered pair', async () => {
    const r = await runNftpolInProcess([
      'matrix',
      '-f',
      'examples',
      '--port',
      'http',
      '-o',
      'json',
    ]);
    const json = JSON.parse(r.stdout) as {
      port: unknown;
      protocol: unknown;
      pods: string[];
      allowed: Record<string, Record<string, boolean>>;
    };
    assert.deepEqual(Object.keys(json), ['port', 'protocol', 'pods', 'allowed']);
    assert.equal(json.port, 'http');
    assert.equal(json.protocol, 'TCP');
    assert.deepEqual(json.pods, [
      'monitoring/prometheus-0',
      'payments/api-0',
      'payments/db-0',
      'shop/cart-0',
      'shop/checkout-0',
      'shop/frontend-0',
      'shop/frontend-1',
    ]);
    assert.deepEqual(Object.keys(json.allowed), json.pods);
    for (const from of json.pods)
      assert.deepEqual(Object.keys(json.allowed[from] ?? {}), json.pods);
    // db-0 declares no "http": denied from everyone, even where port 80 would be allowed.
    for (const from of json.pods) assert.equal(json.allowed[from]?.['payments/db-0'], false);
    assert.equal(json.allowed['shop/frontend-0']?.['shop/cart-0'], true);
    assert.equal(json.allowed['shop/checkout-0']?.['shop/cart-0'], false);
  });

  it('an input without pods says so instead of printing an empty grid', async () => {
    const r = await runNftpolInProcess(['matrix', '-f', 'examples/cluster.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'TCP/80: no pods with IPs in the input\n');
  });
});

describe('matrix and explain agree', () => {
  async function loadExamples(): Promise<Cluster> {
    const { cluster, problems } = await readClusterYaml([`${REPO}/examples`]);
    assert.deepEqual(problems, []);
    return cluster;
  }

  const ports: { port: number | string; protocol: 'TCP' | 'UDP' }[] = [
    { port: 80, protocol: 'TCP' },
    { port: 'http', protocol: 'TCP' },
    { port: 'metrics', protocol: 'TCP' },
    { port: 'https', protocol: 'TCP' },
    { port: 5432, protocol: 'TCP' },
    { port: 53, protocol: 'UDP' },
  ];
  for (const { port, protocol } of ports) {
    it(`on ${protocol}/${port}, every cell is explain's verdict for that pair`, async () => {
      const cluster = await loadExamples();
      const matrix = computeMatrix(cluster, port, protocol);
      matrix.pods.forEach((from, i) => {
        matrix.pods.forEach((to, j) => {
          const cell = matrix.cells[i]?.[j];
          const ref = (q: string): { kind: 'pod'; namespace: string; name: string } => {
            const [namespace = '', name = ''] = q.split('/');
            return { kind: 'pod', namespace, name };
          };
          const options = {
            files: [],
            from: ref(from),
            to: ref(to),
            port,
            protocol,
            family: null,
            output: 'text' as const,
          };
          if (cell === 'no-port') {
            assert.throws(() => explainQuery(cluster, options), /resolves nowhere/);
            return;
          }
          const { verdict } = explainQuery(cluster, options);
          assert.equal(cell, verdict.allowed ? 'allowed' : 'denied', `${from} -> ${to}`);
        });
      });
    });
  }
});

describe('nftpol matrix with a port name that resolves nowhere exits 1, like explain (#11)', () => {
  const cases: { name: string; args: string[]; stderr: string }[] = [
    {
      name: 'a name no pod declares',
      args: ['--port', 'nosuch'],
      stderr:
        'nftpol matrix: named port "nosuch" (TCP) resolves nowhere: no pod in the input declares a TCP container port of that name\n',
    },
    {
      name: 'a name declared for another protocol only',
      args: ['--port', 'http', '--protocol', 'UDP'],
      stderr:
        'nftpol matrix: named port "http" (UDP) resolves nowhere: no pod in the input declares a UDP container port of that name\n',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: nothing on stdout, the reason on stderr`, async () => {
      const r = await runNftpolInProcess(['matrix', '-f', 'examples', ...c.args]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, c.stderr);
    });
  }

  it('--help says a destination without the name is "-", as the grid shows it, not denied', async () => {
    const [help, grid] = await Promise.all([
      runNftpolInProcess(['matrix', '--help']),
      runNftpolInProcess(['matrix', '-f', 'examples', '--port', 'http']),
    ]);
    assert.match(grid.stdout, /^\s*0 {2}- /m, 'a destination without "http" shows "-"');
    assert.match(help.stdout, /has no such port the pair is not\s+evaluated \(-\)/);
    assert.doesNotMatch(help.stdout, /the pair is denied/);
  });
});
