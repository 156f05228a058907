/**
 * The pure parts of `nftpol history` and `nftpol diff`: argument parsing
 * (what is a usage error), which two revisions a diff compares, and the text
 * table. The commands against a running controller are in
 * test/integration/history-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseRevisions, parseDiffArgs } from '../../../src/cli/commands/diff.js';
import {
  formatHistoryText,
  parseHistoryArgs,
  shortHash,
} from '../../../src/cli/commands/history.js';
import { InputError, UsageError } from '../../../src/cli/errors.js';
import type { HistorySummary } from '../../../src/history/store.js';

const URL_FLAG = { controller: 'http://localhost:8081/' };

describe('history and diff arguments', () => {
  const rows: ReadonlyArray<{
    readonly name: string;
    readonly parse: () => unknown;
    readonly error: RegExp | null;
  }> = [
    {
      name: 'a node and a controller URL are enough; the URL loses its trailing slash',
      parse: () => parseHistoryArgs(URL_FLAG, ['n1']),
      error: null,
    },
    {
      name: 'no NODE is a usage error',
      parse: () => parseHistoryArgs(URL_FLAG, []),
      error: /exactly one NODE/,
    },
    {
      name: 'two NODEs are a usage error',
      parse: () => parseDiffArgs(URL_FLAG, ['n1', 'n2']),
      error: /exactly one NODE/,
    },
    {
      name: 'a controller that is not an http URL is a usage error',
      parse: () => parseHistoryArgs({ controller: 'localhost:8081' }, ['n1']),
      error: /http:\/\/ or https:\/\//,
    },
    {
      name: 'a limit of 0 is a usage error',
      parse: () => parseHistoryArgs({ ...URL_FLAG, limit: '0' }, ['n1']),
      error: /--limit/,
    },
    {
      name: 'a limit that is not a number is a usage error',
      parse: () => parseHistoryArgs({ ...URL_FLAG, limit: 'ten' }, ['n1']),
      error: /--limit/,
    },
    {
      name: 'an unknown output format is a usage error',
      parse: () => parseHistoryArgs({ ...URL_FLAG, output: 'yaml' }, ['n1']),
      error: /-o\/--output/,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.error === null) assert.doesNotThrow(row.parse);
      else
        assert.throws(
          row.parse,
          (err: unknown) => err instanceof UsageError && row.error!.test(err.message),
        );
    });
  }

  it('keeps the URL without its trailing slash', () => {
    assert.equal(parseHistoryArgs(URL_FLAG, ['n1']).controller, 'http://localhost:8081');
  });
});

const summary = (rev: string, causes: string[] = []): HistorySummary => ({
  node: 'n1',
  rev,
  time: '2026-01-01T00:00:00.000Z',
  oldHash: null,
  newHash: `sha256:${rev.padStart(64, 'a')}`,
  causes,
});

describe('chooseRevisions', () => {
  const newestFirst = [summary('3'), summary('2'), summary('1')];
  const rows: ReadonlyArray<{
    readonly name: string;
    readonly from: string | null;
    readonly to: string | null;
    readonly want: { from: string | null; to: string } | RegExp;
  }> = [
    {
      name: 'by default, the newest against the one before it',
      from: null,
      to: null,
      want: { from: '2', to: '3' },
    },
    {
      name: '--to alone: that revision against its predecessor',
      from: null,
      to: '2',
      want: { from: '1', to: '2' },
    },
    {
      name: '--to the oldest: against the empty script',
      from: null,
      to: '1',
      want: { from: null, to: '1' },
    },
    {
      name: '--from alone: that revision against the newest',
      from: '1',
      to: null,
      want: { from: '1', to: '3' },
    },
    { name: 'both: as given, even backwards', from: '3', to: '1', want: { from: '3', to: '1' } },
    {
      name: 'an unknown --from is invalid input',
      from: '9',
      to: null,
      want: /revision 9 is not in the history/,
    },
    {
      name: 'an unknown --to is invalid input',
      from: null,
      to: '9',
      want: /revision 9 is not in the history/,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.want instanceof RegExp) {
        const pattern = row.want;
        assert.throws(
          () => chooseRevisions(newestFirst, row.from, row.to),
          (err: unknown) => err instanceof InputError && pattern.test(err.message),
        );
      } else {
        assert.deepEqual(chooseRevisions(newestFirst, row.from, row.to), row.want);
      }
    });
  }

  it('refuses a node without history', () => {
    assert.throws(() => chooseRevisions([], null, null), InputError);
  });
});

describe('formatHistoryText', () => {
  it('prints one aligned row per entry with short hashes and the causes', () => {
    const text = formatHistoryText({
      node: 'n1',
      entries: [summary('12', ['Pod shop/a', 'Node n1']), summary('2', [])],
    });
    assert.equal(
      text,
      [
        'REV  TIME                      OLD HASH  NEW HASH             CAUSES',
        `12   2026-01-01T00:00:00.000Z  -         ${shortHash(summary('12').newHash)}  Pod shop/a, Node n1`,
        `2    2026-01-01T00:00:00.000Z  -         ${shortHash(summary('2').newHash)}  -`,
        '',
      ].join('\n'),
    );
  });

  it('says when a node has no recorded changes', () => {
    assert.equal(
      formatHistoryText({ node: 'n9', entries: [] }),
      'no recorded changes for node n9\n',
    );
  });
});
