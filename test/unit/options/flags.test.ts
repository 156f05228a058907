/**
 * The shared option machinery: a spec's kind is tied to its field's type
 * (checked by `tsc --noEmit`, which `make test` runs, through the
 * `@ts-expect-error` lines below), flags and environment parse by kind, and
 * `--help` says what each binary's docs table says — the same flags,
 * variables, defaults and meanings, from the one spec.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as controller from '../../../src/controller/options.js';
import * as executor from '../../../src/executor/options.js';
import {
  flagsOf,
  parseFlags,
  shownDefault,
  usageText,
  type FlagSpec,
  type LogLevel,
  type OptionSpecs,
} from '../../../src/options/flags.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface Sample {
  readonly port: number;
  readonly host: string;
  readonly verbose: boolean;
  readonly level: LogLevel;
}

const SAMPLE: OptionSpecs<Sample> = {
  port: { flag: 'port', env: 'PORT', kind: 'number', help: 'a port' },
  host: { flag: 'host', env: 'HOST', kind: 'string', help: 'a host' },
  verbose: { flag: 'verbose', env: 'VERBOSE', kind: 'boolean', help: 'say more' },
  level: { flag: 'level', env: 'LEVEL', kind: 'level', help: 'how much' },
};

describe('option specs are typed by their fields', () => {
  it('refuses, at compile time, a kind that does not read the field’s type', () => {
    // Each line is a compile error; `tsc --noEmit` fails if one compiles.
    const mismatched: readonly OptionSpecs<Sample>[] = [
      // @ts-expect-error a number field declared as a string
      { ...SAMPLE, port: { flag: 'port', env: 'PORT', kind: 'string', help: '' } },
      // @ts-expect-error a boolean field declared as a number
      { ...SAMPLE, verbose: { flag: 'verbose', env: 'VERBOSE', kind: 'number', help: '' } },
      // @ts-expect-error a log level declared as any string
      { ...SAMPLE, level: { flag: 'level', env: 'LEVEL', kind: 'string', help: '' } },
      // @ts-expect-error a string field declared as a log level (it would refuse most strings)
      { ...SAMPLE, host: { flag: 'host', env: 'HOST', kind: 'level', help: '' } },
    ];
    // @ts-expect-error every field needs a spec
    const missing: OptionSpecs<Sample> = { port: SAMPLE.port };
    interface Narrow {
      readonly mode: 'a' | 'b';
    }
    // @ts-expect-error no kind reads exactly a union of literals
    const narrow: OptionSpecs<Narrow> = { mode: { flag: 'm', env: 'M', kind: 'string', help: '' } };
    assert.equal(mismatched.length + Object.keys(missing).length + Object.keys(narrow).length, 6);
  });

  it('parses each kind into its field’s type, flags over environment over defaults', () => {
    const defaults: Sample = { port: 1, host: 'h', verbose: false, level: 'info' };
    const parsed = parseFlags(flagsOf(SAMPLE), defaults, ['--port', '-1', '--verbose'], {
      PORT: '9',
      HOST: '',
      LEVEL: 'debug',
    });
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.options, { port: -1, host: '', verbose: true, level: 'debug' });
  });

  it('reports every value its kind cannot read and keeps the default', () => {
    const defaults: Sample = { port: 1, host: 'h', verbose: false, level: 'info' };
    const parsed = parseFlags(flagsOf(SAMPLE), defaults, ['--port=1.5'], {
      VERBOSE: 'yes',
      LEVEL: 'loud',
    });
    assert.deepEqual(parsed.problems, [
      '--port: "1.5" is not a valid number',
      'environment variable VERBOSE: "yes" is not a valid boolean',
      'environment variable LEVEL: "loud" is not a valid level',
    ]);
    assert.deepEqual(parsed.options, defaults);
  });
});

/** A docs table row, markdown removed: `[text](url)` → text, no backticks or emphasis. */
function plain(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/\\\|/g, '|')
    .replace(/\s+/g, ' ')
    .trim();
}

interface Row {
  readonly flag: string;
  readonly env: string;
  readonly shown: string;
  readonly help: string;
}

/** The rows of the flag table in a doc: `| `--flag` … | `ENV` | default | meaning |`. */
function docsRows(doc: string): Row[] {
  return readFileSync(`${ROOT}${doc}`, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      assert.equal(cells.length, 4, `${doc}: a flag row has 4 cells: ${line}`);
      return {
        flag: /--([a-z0-9-]+)/.exec(cells[0]!)![1]!,
        env: plain(cells[1]!),
        shown: plain(cells[2]!),
        help: plain(cells[3]!),
      };
    });
}

/** The flags `--help` lists, each with its variable, default and (unwrapped) help. */
function helpRows(text: string): Row[] {
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const head = /^ {2}--([a-z0-9-]+)\S* +\$(\S+) +default (.*)$/.exec(line);
    if (head !== null) rows.push({ flag: head[1]!, env: head[2]!, shown: head[3]!, help: '' });
    else if (line.startsWith('      ') && rows.length > 0) {
      const last = rows.pop()!;
      rows.push({ ...last, help: `${last.help} ${line.trim()}`.trim() });
    }
  }
  return rows;
}

const BINARIES = [
  {
    binary: 'nftpol-controller',
    doc: 'docs/controller.md',
    flags: controller.FLAGS as readonly FlagSpec<object>[],
    defaults: controller.DEFAULTS as object,
  },
  {
    binary: 'nftpol-executor',
    doc: 'docs/executor.md',
    flags: executor.FLAGS as readonly FlagSpec<object>[],
    defaults: executor.DEFAULTS as object,
  },
];

for (const b of BINARIES) {
  describe(`${b.binary} --help and ${b.doc}`, () => {
    const spec: Row[] = b.flags.map((f) => ({
      flag: f.flag,
      env: f.env,
      shown: shownDefault(f, b.defaults),
      help: f.help,
    }));

    it('the docs table lists every flag of the spec, in order, with its variable, default and meaning', () => {
      assert.deepEqual(docsRows(b.doc), spec);
    });

    it('--help lists every flag with the same variable, default and meaning', () => {
      assert.deepEqual(helpRows(usageText(b.binary, b.flags, b.defaults, b.doc)), spec);
    });

    it('--help keeps to 80 columns except for a long default', () => {
      const text = usageText(b.binary, b.flags, b.defaults, b.doc);
      const long = text.split('\n').filter((l) => l.length > 80 && !/default \S+$/.test(l));
      assert.deepEqual(long, []);
    });
  });
}
