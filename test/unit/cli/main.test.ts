/**
 * The command line as a contract: help on every command, and the exit codes
 * scripts rely on — 0 success, 1 invalid input (results still printed), 2
 * usage error — each with what it prints where. Run in-process through
 * runCli; the last block spawns the real binary once per exit code, so that
 * the shim (main.ts) is held to the same contract.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertGolden } from '../../support/golden.js';
import { runNftpol, runNftpolInProcess } from './run-cli.js';

describe('nftpol --help', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; golden: string }[] = [
    { name: 'top-level --help lists the commands', args: ['--help'], golden: 'help.txt' },
    { name: 'top-level -h is the same help', args: ['-h'], golden: 'help.txt' },
    {
      name: '"help render" shows render help',
      args: ['help', 'render'],
      golden: 'help-render.txt',
    },
    { name: 'render --help', args: ['render', '--help'], golden: 'help-render.txt' },
    { name: 'render -h', args: ['render', '-h'], golden: 'help-render.txt' },
    { name: 'explain --help', args: ['explain', '--help'], golden: 'help-explain.txt' },
    { name: 'explain -h', args: ['explain', '-h'], golden: 'help-explain.txt' },
    { name: 'matrix --help', args: ['matrix', '--help'], golden: 'help-matrix.txt' },
    { name: 'matrix -h', args: ['matrix', '-h'], golden: 'help-matrix.txt' },
    {
      name: '--help wins over otherwise invalid flags',
      args: ['explain', '--bogus', '--help'],
      golden: 'help-explain.txt',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: prints it on stdout and exits 0`, async () => {
      const r = await runNftpolInProcess(c.args);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      await assertGolden(`cli/${c.golden}`, r.stdout);
    });
  }
});

describe('usage errors exit 2 with a pointer to --help', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; stderr: RegExp }[] = [
    { name: 'no command at all', args: [], stderr: /^Usage: nftpol COMMAND/ },
    { name: 'an unknown command', args: ['apply'], stderr: /unknown command "apply"/ },
    { name: 'an unknown flag', args: ['render', '-f', 'examples', '--bogus'], stderr: /'--bogus'/ },
    { name: 'a positional argument', args: ['render', 'examples'], stderr: /examples/ },
    { name: 'no -f', args: ['matrix'], stderr: /at least one -f PATH is required/ },
    { name: '-f without a value', args: ['matrix', '-f'], stderr: /-f/ },
    {
      name: 'explain without --port',
      args: ['explain', '-f', 'examples', '--from', 'shop/cart-0', '--to', 'shop/cart-0'],
      stderr: /--port N\|NAME is required/,
    },
    {
      name: 'explain without --to',
      args: ['explain', '-f', 'examples', '--from', 'shop/cart-0', '--port', '80'],
      stderr: /--to NS\/POD\|IP is required/,
    },
    {
      name: 'a --from that is neither NS/POD nor an IP',
      args: ['explain', '-f', 'examples', '--from', 'cart', '--to', '10.0.0.1', '--port', '80'],
      stderr: /--from: expected NAMESPACE\/POD or an IP address, got "cart"/,
    },
    {
      name: 'port 0',
      args: ['matrix', '-f', 'examples', '--port', '0'],
      stderr: /outside 1-65535/,
    },
    {
      name: 'port 65536',
      args: ['matrix', '-f', 'examples', '--port', '65536'],
      stderr: /outside 1-65535/,
    },
    {
      name: 'a port name Kubernetes would reject',
      args: ['matrix', '-f', 'examples', '--port', 'HTTP_alt'],
      stderr: /expected a number 1-65535 or a port name/,
    },
    {
      name: 'an unknown protocol',
      args: ['matrix', '-f', 'examples', '--protocol', 'ICMP'],
      stderr: /--protocol: expected TCP, UDP or SCTP, got "ICMP"/,
    },
    {
      name: '--port N/PROTO disagreeing with --protocol',
      args: ['matrix', '-f', 'examples', '--port', '53/UDP', '--protocol', 'TCP'],
      stderr: /disagree/,
    },
    {
      name: 'an unknown output format',
      args: ['matrix', '-f', 'examples', '-o', 'yaml'],
      stderr: /-o\/--output: expected text or json, got "yaml"/,
    },
    {
      name: 'a bad --family',
      args: [
        'explain',
        '-f',
        'examples',
        '--from',
        '10.0.0.1',
        '--to',
        '10.0.0.2',
        '--port',
        '80',
        '--family',
        'inet',
      ],
      stderr: /--family: expected ip or ip6, got "inet"/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}`, async () => {
      const r = await runNftpolInProcess(c.args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, c.stderr);
      assert.match(r.stderr, /--help/);
    });
  }
});

const explainGhost = [
  ...['explain', '-f', 'examples'],
  ...['--from', 'shop/ghost', '--to', 'shop/cart-0', '--port', '80'],
];

describe('invalid input exits 1', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nftpol-cli-'));
    // A typo'd field: the loader skips this policy with an error problem.
    await writeFile(
      join(dir, 'broken.yaml'),
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata: { name: typo, namespace: shop }',
        'spec:',
        '  podSelecter: {}',
        '',
      ].join('\n'),
    );
    // A pod in a namespace no Namespace object declares: a warning only.
    await writeFile(
      join(dir, 'orphan.yaml'),
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata: { name: lonely, namespace: elsewhere }',
        'spec: { nodeName: node-z, containers: [{ name: c, image: busybox }] }',
        'status: { phase: Running, podIPs: [{ ip: 10.9.0.1 }] }',
        '',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a skipped policy is reported as source: object: field: message, the rest still printed', async () => {
    const broken = join(dir, 'broken.yaml');
    const [withBroken, without] = await Promise.all([
      runNftpolInProcess(['matrix', '-f', 'examples', '-f', broken]),
      runNftpolInProcess(['matrix', '-f', 'examples']),
    ]);
    assert.equal(withBroken.code, 1);
    assert.equal(without.code, 0);
    assert.equal(withBroken.stdout, without.stdout, 'the valid objects still give the full matrix');
    const lines = withBroken.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 1);
    for (const line of lines) {
      assert.ok(line.startsWith(`${broken}#1: NetworkPolicy shop/typo: `), line);
      assert.equal(
        line.split(': ').length >= 4,
        true,
        `source: object: field: message in "${line}"`,
      );
    }
    assert.match(withBroken.stderr, /podSelecter/);
  });

  it('a warning alone is printed on stderr and keeps exit 0', async () => {
    const r = await runNftpolInProcess([
      'render',
      '-f',
      join(dir, 'orphan.yaml'),
      '--node',
      'node-z',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /: warning: /);
    assert.match(r.stdout, /^# node: node-z\n/);
  });

  it('a path that does not exist is an error problem, exit 1', async () => {
    const r = await runNftpolInProcess(['render', '-f', 'examples', '-f', 'no/such/file.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^no\/such\/file\.yaml: .*no such file or directory/m);
    assert.match(r.stdout, /^# node: node-a$/m, 'what did load is still rendered');
  });

  it('a question the input cannot answer names the reason, exit 1, nothing on stdout', async () => {
    const r = await runNftpolInProcess(explainGhost);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'nftpol explain: no pod shop/ghost in the input\n');
  });
});

describe('the nftpol binary: process exit codes and streams', { concurrency: true }, () => {
  it('--help: the help on stdout, nothing on stderr, exit 0', async () => {
    const r = await runNftpol(['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    await assertGolden('cli/help.txt', r.stdout);
  });

  it('a successful render: the scripts on stdout, nothing on stderr, exit 0', async () => {
    const r = await runNftpol(['render', '-f', 'examples']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    await assertGolden('cli/render-examples.txt', r.stdout);
  });

  it('a question the input cannot answer: the reason on stderr, exit 1', async () => {
    const r = await runNftpol(explainGhost);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'nftpol explain: no pod shop/ghost in the input\n');
  });

  it('an unknown command: usage on stderr, exit 2', async () => {
    const r = await runNftpol(['apply']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'nftpol: unknown command "apply" (commands: render, explain, matrix, status, history, diff)\nRun "nftpol --help" for usage.\n',
    );
  });
});
