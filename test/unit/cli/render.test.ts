/**
 * `nftpol render`: every node's script under a `# node:` header, one node,
 * fail-closed, and `--out` writing files whose printed hashes are the hashes
 * of their bytes. Scripts themselves are render's business (and its tests);
 * here the golden files pin what the CLI adds around them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertGolden } from '../../support/golden.js';
import { checkInNetns, NFT_SKIP_REASON } from '../../support/nft-check.js';
import { REPO, runNftpol, runNftpolInProcess } from './run-cli.js';

describe('nftpol render prints scripts', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; golden: string }[] = [
    {
      name: 'every node known to the input, sorted, each under "# node: NAME"',
      args: ['-f', 'examples'],
      golden: 'render-examples.txt',
    },
    {
      name: '--node limits the output to that node',
      args: ['-f', 'examples', '--node', 'node-c'],
      golden: 'render-node-c.txt',
    },
    {
      name: '--fail-closed adds the pod-CIDR drop',
      args: ['-f', 'examples', '--node', 'node-a', '--fail-closed'],
      golden: 'render-node-a-fail-closed.txt',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runNftpolInProcess(['render', ...c.args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      await assertGolden(`cli/${c.golden}`, r.stdout);
    });
  }

  it('files given one by one in any order give the same output as the directory', async () => {
    const [dir, files] = await Promise.all([
      runNftpolInProcess(['render', '-f', 'examples']),
      runNftpolInProcess([
        'render',
        '-f',
        'examples/policies.yaml',
        '-f',
        'examples/pods.yaml',
        '-f',
        'examples/cluster-policies.yaml',
        '-f',
        'examples/cluster.yaml',
      ]),
    ]);
    assert.equal(files.code, 0, files.stderr);
    assert.equal(files.stdout, dir.stdout);
  });

  it('an unknown --node exits 1 and lists the nodes', async () => {
    const r = await runNftpolInProcess(['render', '-f', 'examples', '--node', 'node-x']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'nftpol render: no node "node-x" in the input (nodes: node-a, node-b, node-c)\n',
    );
  });
});

describe('nftpol render --out', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nftpol-render-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes DIR/NAME.nft per node (creating DIR) and prints "PATH sha256:HEX" for each', async () => {
    const out = join(dir, 'scripts');
    const [written, printed] = await Promise.all([
      runNftpolInProcess(['render', '-f', 'examples', '--out', out]),
      runNftpolInProcess(['render', '-f', 'examples']),
    ]);
    assert.equal(written.code, 0, written.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['node-a.nft', 'node-b.nft', 'node-c.nft']);
    const lines = written.stdout.trimEnd().split('\n');
    const expectedLines = [];
    const sections = [];
    for (const node of ['node-a', 'node-b', 'node-c']) {
      const path = join(out, `${node}.nft`);
      const bytes = await readFile(path);
      const hash = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      expectedLines.push(`${path} ${hash}`);
      sections.push(`# node: ${node}\n${bytes.toString('utf8')}`);
    }
    assert.deepEqual(lines, expectedLines);
    assert.equal(sections.join('\n'), printed.stdout, 'the files hold exactly the printed scripts');
  });

  it('every written file is accepted by nft -c as it is', { skip: NFT_SKIP_REASON }, async () => {
    const out = join(dir, 'checked');
    const r = await runNftpolInProcess(['render', '-f', 'examples', '--out', out, '--fail-closed']);
    assert.equal(r.code, 0, r.stderr);
    for (const file of await readdir(out)) {
      await checkInNetns(await readFile(join(out, file), 'utf8'));
    }
  });

  it('overwrites an existing file and leaves other files alone', async () => {
    const out = join(dir, 'again');
    await runNftpolInProcess(['render', '-f', 'examples', '--out', out, '--node', 'node-b']);
    await writeFile(join(out, 'node-b.nft'), 'stale');
    await writeFile(join(out, 'notes.txt'), 'mine');
    const r = await runNftpolInProcess([
      'render',
      '-f',
      'examples',
      '--out',
      out,
      '--node',
      'node-b',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      await readFile(join(out, 'node-b.nft'), 'utf8'),
      /^# nftpol ruleset for node node-b/,
    );
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'mine');
  });

  it(
    'a directory under /proc, where a recursive mkdir spins forever, fails at once with exit 1 (#11)',
    { skip: existsSync('/proc/self') ? false : 'no /proc on this system' },
    async () => {
      // Node's mkdir({ recursive: true }) looped at 100% CPU on /proc; the
      // guard kills a child still spinning after a minute (code null). A
      // child process, because a spin in-process would hang the test runner.
      const out = '/proc/nftpol-test-out/scripts';
      const r = await runNftpol(['render', '-f', 'examples', '--out', out], {
        killAfterMs: 60_000,
      });
      assert.equal(r.code, 1, `exit 1 (null: killed while still running); stderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /^nftpol render: cannot create directory \/proc\/nftpol-test-out\/scripts: .*\/proc\/nftpol-test-out/,
      );
    },
  );

  it("relative -f and --out paths are the caller's working directory's, and printed as typed", async () => {
    const cwd = join(dir, 'elsewhere');
    await mkdir(join(cwd, 'input'), { recursive: true });
    await copyFile(join(REPO, 'examples', 'cluster.yaml'), join(cwd, 'input', 'cluster.yaml'));
    await copyFile(join(REPO, 'examples', 'pods.yaml'), join(cwd, 'input', 'pods.yaml'));
    const r = await runNftpolInProcess(
      ['render', '-f', 'input', '--out', 'out', '--node', 'node-a'],
      {
        cwd,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^out\/node-a\.nft sha256:[0-9a-f]{64}\n$/);
    assert.match(await readFile(join(cwd, 'out', 'node-a.nft'), 'utf8'), /^# nftpol ruleset/);
  });

  it('a directory that cannot be created exits 1 with the reason', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, '');
    const r = await runNftpolInProcess(['render', '-f', 'examples', '--out', join(blocker, 'sub')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^nftpol render: cannot create directory .*a-file\/sub: /);
  });
});

describe('nftpol render node list', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nftpol-nodes-'));
    await writeFile(
      join(dir, 'pod.yaml'),
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: { name: a }',
        '---',
        'apiVersion: v1',
        'kind: Pod',
        'metadata: { name: web, namespace: a }',
        'spec: { nodeName: worker-7, containers: [{ name: c, image: nginx }] }',
        'status: { phase: Running, podIPs: [{ ip: 10.1.0.5 }] }',
        '',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("includes a node known only from a pod's nodeName", async () => {
    const r = await runNftpolInProcess(['render', '-f', join(dir, 'pod.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.match(/^# node: .*$/gm), ['# node: worker-7']);
  });
});
