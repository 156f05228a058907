/**
 * decideAction as a table: every combination of hash check, what is in
 * force, drift and a pending retry, with the action it must give.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAction, type Action, type KernelState } from '../../../src/executor/reconcile.js';
import { compressScript } from '../../../src/k8s/script-encoding.js';
import { hashScript } from '../../../src/nft/render.js';

const SCRIPT = 'add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n}\n';
const HASH = hashScript(SCRIPT);
const OLD = hashScript('older script');

const state = (over: Partial<KernelState> = {}): KernelState => ({
  appliedHash: null,
  tableInSync: true,
  failedHash: null,
  retryDue: false,
  ...over,
});
const apply = (cause: 'changed' | 'repair' | 'retry'): Action => ({
  kind: 'apply',
  script: SCRIPT,
  hash: HASH,
  cause,
});

const ROWS: ReadonlyArray<{
  readonly name: string;
  readonly scriptHash?: string;
  /** The script field(s) of the spec; `{ script: SCRIPT }` when absent. */
  readonly field?: { readonly script?: string; readonly scriptGzip?: string };
  readonly state: KernelState;
  readonly want: Action;
}> = [
  { name: 'a first script is applied', state: state(), want: apply('changed') },
  {
    name: 'a new script replaces the one in force',
    state: state({ appliedHash: OLD }),
    want: apply('changed'),
  },
  {
    name: 'the script in force with the table in sync needs nothing',
    state: state({ appliedHash: HASH }),
    want: { kind: 'none', why: 'UpToDate' },
  },
  {
    name: 'the script in force on a drifted table is re-applied as a repair',
    state: state({ appliedHash: HASH, tableInSync: false }),
    want: apply('repair'),
  },
  {
    name: 'a script nft rejected waits for its back-off',
    state: state({ appliedHash: OLD, failedHash: HASH }),
    want: { kind: 'none', why: 'RetryPending' },
  },
  {
    name: 'a script nft rejected is retried once the back-off elapsed',
    state: state({ appliedHash: OLD, failedHash: HASH, retryDue: true }),
    want: apply('retry'),
  },
  {
    name: 'a different script after a rejected one is applied at once',
    state: state({ appliedHash: OLD, failedHash: OLD }),
    want: apply('changed'),
  },
  {
    name: 'a script whose hash does not match is refused',
    scriptHash: OLD,
    state: state(),
    want: { kind: 'refuse', reason: 'HashMismatch', declared: OLD, actual: HASH },
  },
  {
    name: 'a mismatch is refused even when the declared hash is the one in force',
    scriptHash: OLD,
    state: state({ appliedHash: OLD }),
    want: { kind: 'refuse', reason: 'HashMismatch', declared: OLD, actual: HASH },
  },
  {
    name: 'a hash without the sha256: prefix is a mismatch',
    scriptHash: HASH.slice('sha256:'.length),
    state: state(),
    want: {
      kind: 'refuse',
      reason: 'HashMismatch',
      declared: HASH.slice('sha256:'.length),
      actual: HASH,
    },
  },
  {
    name: 'a compressed script is decompressed and applied',
    field: { scriptGzip: compressScript(SCRIPT) },
    state: state(),
    want: apply('changed'),
  },
  {
    name: 'a compressed script whose hash is in force needs nothing',
    field: { scriptGzip: compressScript(SCRIPT) },
    state: state({ appliedHash: HASH }),
    want: { kind: 'none', why: 'UpToDate' },
  },
  {
    name: 'a compressed script is hash-checked after decompression',
    field: { scriptGzip: compressScript('older script') },
    state: state(),
    want: { kind: 'refuse', reason: 'HashMismatch', declared: HASH, actual: OLD },
  },
  {
    name: 'a scriptGzip that does not decompress is refused as DecodeFailed',
    field: { scriptGzip: Buffer.from(SCRIPT).toString('base64') },
    state: state({ appliedHash: HASH }),
    want: {
      kind: 'refuse',
      reason: 'DecodeFailed',
      message: 'spec.scriptGzip is not a valid gzip stream: incorrect header check',
    },
  },
];

describe('decideAction', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const spec = { ...(row.field ?? { script: SCRIPT }), scriptHash: row.scriptHash ?? HASH };
      assert.deepEqual(decideAction(spec, row.state), row.want);
    });
  }

  it('covers every action kind and apply cause', () => {
    const kinds = new Set(
      ROWS.map((r) =>
        r.want.kind === 'apply'
          ? `apply:${r.want.cause}`
          : r.want.kind === 'none'
            ? `none:${r.want.why}`
            : `refuse:${r.want.reason}`,
      ),
    );
    for (const k of [
      'apply:changed',
      'apply:repair',
      'apply:retry',
      'none:UpToDate',
      'none:RetryPending',
      'refuse:HashMismatch',
      'refuse:DecodeFailed',
    ]) {
      assert.ok(kinds.has(k), `no row for ${k}`);
    }
  });
});
