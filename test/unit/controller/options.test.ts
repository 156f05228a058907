/** Options: flags beat the environment, which beats DEFAULTS; validate reports every problem. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS, parseOptions, validate } from '../../../src/controller/options.js';

describe('parseOptions', () => {
  const rows = [
    { name: 'no flags and no environment give the defaults', argv: [], env: {}, want: {} },
    {
      name: 'a flag beats the environment variable',
      argv: ['--debounce-ms', '50'],
      env: { NFTPOL_DEBOUNCE_MS: '70' },
      want: { debounceMs: 50 },
    },
    {
      name: 'the environment beats the default',
      argv: [],
      env: { POD_NAMESPACE: 'nftpol' },
      want: { leaseNamespace: 'nftpol' },
    },
    {
      name: 'a bare boolean flag means true',
      argv: ['--fail-closed'],
      env: {},
      want: { failClosed: true },
    },
    {
      name: '--no-<flag> turns a boolean off',
      argv: ['--no-leader-elect'],
      env: {},
      want: { leaderElect: false },
    },
    {
      name: 'a negative number after a flag is its value',
      argv: ['--health-port', '-1'],
      env: {},
      want: { healthPort: -1 },
    },
    {
      name: '--flag=value works too',
      argv: ['--max-delay-ms=2000'],
      env: {},
      want: { maxDelayMs: 2000 },
    },
  ] as const;
  for (const row of rows) {
    it(row.name, () => {
      const parsed = parseOptions(row.argv, row.env);
      assert.deepEqual(parsed.problems, []);
      assert.deepEqual(parsed.options, { ...DEFAULTS, ...row.want });
    });
  }

  it('reports an unparseable value and an unknown flag, keeping defaults', () => {
    const parsed = parseOptions(['--debounce-ms', 'soon'], { NFTPOL_LOG_LEVEL: 'loud' });
    assert.equal(parsed.problems.length, 2);
    assert.equal(parsed.options.debounceMs, DEFAULTS.debounceMs);
    assert.equal(parseOptions(['--bogus'], {}).problems.length, 1);
  });
});

describe('validate', () => {
  it('accepts the defaults', () => assert.deepEqual(validate(DEFAULTS), []));

  it('returns every broken constraint at once', () => {
    const problems = validate({
      ...DEFAULTS,
      debounceMs: 500,
      maxDelayMs: 100,
      leaseDurationMs: 5_000,
      renewDeadlineMs: 8_000,
      writeConcurrency: 0,
    });
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /maxDelayMs.*debounceMs/);
    assert.match(problems.join('\n'), /leaseDurationMs.*renewDeadlineMs/);
    assert.match(problems.join('\n'), /writeConcurrency/);
  });

  it('accepts a compression threshold of 0 (always compress) and refuses a negative one', () => {
    assert.deepEqual(validate({ ...DEFAULTS, compressThresholdBytes: 0 }), []);
    assert.match(
      validate({ ...DEFAULTS, compressThresholdBytes: -1 }).join('\n'),
      /compressThresholdBytes/,
    );
  });
});
