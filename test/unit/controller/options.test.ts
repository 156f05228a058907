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
      name: 'the history is served on its own port, on localhost, by default',
      argv: [],
      env: {},
      want: { historyPort: 8081, historyHost: '127.0.0.1' },
    },
    {
      name: '--history-port -1 turns the history server off',
      argv: ['--history-port', '-1'],
      env: {},
      want: { historyPort: -1 },
    },
    {
      name: 'the history port and address come from the environment too',
      argv: ['--history-host=0.0.0.0'],
      env: { NFTPOL_HISTORY_PORT: '9091', NFTPOL_HISTORY_HOST: '::1' },
      want: { historyPort: 9091, historyHost: '0.0.0.0' },
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

  const historyRows: ReadonlyArray<{
    readonly name: string;
    readonly over: Partial<typeof DEFAULTS>;
    readonly problem: RegExp | null;
  }> = [
    { name: 'the history off (-1) is valid', over: { historyPort: -1 }, problem: null },
    {
      name: 'both on any free port (0) is valid',
      over: { historyPort: 0, healthPort: 0 },
      problem: null,
    },
    {
      name: 'the history on the health port is refused: it stays off the metrics port',
      over: { historyPort: 8080, healthPort: 8080 },
      problem: /historyPort must differ from healthPort/,
    },
    {
      name: 'a history port out of range is refused',
      over: { historyPort: 70000 },
      problem: /historyPort must be -1 \(off\), 0 \(any\) or a port/,
    },
    {
      name: 'an empty history address is refused',
      over: { historyHost: '' },
      problem: /historyHost must not be empty/,
    },
  ];
  for (const row of historyRows) {
    it(row.name, () => {
      const problems = validate({ ...DEFAULTS, ...row.over });
      if (row.problem === null) assert.deepEqual(problems, []);
      else {
        assert.equal(problems.length, 1, problems.join('\n'));
        assert.match(problems[0]!, row.problem);
      }
    });
  }
});
