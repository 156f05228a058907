/**
 * Executor options: flags over environment over defaults, and validate()
 * listing every problem at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS, nftArgv, parseOptions, validate } from '../../../src/executor/options.js';

describe('parseOptions', () => {
  const ROWS: ReadonlyArray<{
    name: string;
    argv: string[];
    env: Record<string, string>;
    want: Record<string, unknown>;
  }> = [
    {
      name: 'the node name comes from NODE_NAME',
      argv: [],
      env: { NODE_NAME: 'n1' },
      want: { nodeName: 'n1' },
    },
    {
      name: 'a flag wins over the environment',
      argv: ['--node-name', 'n2'],
      env: { NODE_NAME: 'n1' },
      want: { nodeName: 'n2' },
    },
    {
      name: 'the nft command keeps its spaces',
      argv: ['--nft-command', 'ip netns exec ns1 nft'],
      env: {},
      want: { nftCommand: 'ip netns exec ns1 nft' },
    },
    {
      name: 'a bare boolean flag is true',
      argv: ['--cleanup-on-exit'],
      env: {},
      want: { cleanupOnExit: true },
    },
    {
      name: '--no- negates a boolean set in the environment',
      argv: ['--no-cleanup-on-exit'],
      env: { NFTPOL_CLEANUP_ON_EXIT: 'true' },
      want: { cleanupOnExit: false },
    },
    {
      name: 'numbers parse with = as well',
      argv: ['--drift-interval-ms=5000'],
      env: {},
      want: { driftIntervalMs: 5000 },
    },
    { name: 'nothing given keeps the defaults', argv: [], env: {}, want: { ...DEFAULTS } },
  ];
  for (const row of ROWS) {
    it(row.name, () => {
      const parsed = parseOptions(row.argv, row.env);
      assert.deepEqual(parsed.problems, []);
      for (const [k, v] of Object.entries(row.want))
        assert.deepEqual(parsed.options[k as keyof typeof DEFAULTS], v, k);
    });
  }

  it('reports unparseable values and unknown flags, keeping defaults', () => {
    const parsed = parseOptions(['--drift-interval-ms', 'soon', '--log-level', 'loud'], {
      NFTPOL_UNINSTALL: 'maybe',
    });
    assert.equal(parsed.problems.length, 3);
    assert.equal(parsed.options.driftIntervalMs, DEFAULTS.driftIntervalMs);
    assert.match(parseOptions(['--no-such-flag'], {}).problems.join(), /no-such-flag/);
  });

  it('splits the nft command into an argv', () => {
    assert.deepEqual(nftArgv({ nftCommand: ' ip  netns exec ns nft ' }), [
      'ip',
      'netns',
      'exec',
      'ns',
      'nft',
    ]);
  });
});

describe('validate', () => {
  it('accepts the defaults with a node name', () => {
    assert.deepEqual(validate({ ...DEFAULTS, nodeName: 'n1' }), []);
  });

  it('accepts --uninstall without a node name', () => {
    assert.deepEqual(validate({ ...DEFAULTS, uninstall: true }), []);
  });

  it('lists every problem at once', () => {
    const problems = validate({
      ...DEFAULTS,
      nodeName: '',
      nftCommand: '  ',
      nftTimeoutMs: 0,
      driftIntervalMs: 0,
      retryBackoffMs: 0,
      retryMaxBackoffMs: -1,
      informerBackoffMs: 0,
      informerMaxBackoffMs: -1,
      healthPort: 70000,
      forwardingSysctl: '',
    });
    for (const word of [
      'nodeName',
      'nftCommand',
      'nftTimeoutMs',
      'driftIntervalMs',
      'retryBackoffMs',
      'retryMaxBackoffMs',
      'informerBackoffMs',
      'informerMaxBackoffMs',
      'healthPort',
      'forwardingSysctl',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(word)),
        `no problem about ${word}: ${problems.join(' | ')}`,
      );
    }
    assert.equal(problems.length, 10);
  });

  it('rejects uninstall together with cleanupOnExit', () => {
    assert.equal(validate({ ...DEFAULTS, uninstall: true, cleanupOnExit: true }).length, 1);
  });
});
