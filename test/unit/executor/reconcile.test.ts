/**
 * decideAction as a table: every combination of hash check, what is in
 * force, drift, a pending retry and a missing NodeFirewall, with the action
 * it must give — including when the last good script is restored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideAction,
  type Action,
  type KernelState,
  type RestoreAction,
  type RestoreWhy,
} from '../../../src/executor/reconcile.js';
import { compressScript } from '../../../src/k8s/script-encoding.js';
import { hashScript } from '../../../src/nft/hash.js';

const SCRIPT = 'add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n}\n';
const HASH = hashScript(SCRIPT);
const OLD = hashScript('older script');

const GOOD_OLD = 'the older script that loaded';
/** A table that drifted, with the older script to restore. */
const drifted = { appliedHash: OLD, appliedScript: GOOD_OLD, tableInSync: false } as const;
const restore = (why: RestoreWhy): RestoreAction => ({
  kind: 'restore',
  script: GOOD_OLD,
  hash: OLD,
  why,
});

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
  /** The script field(s) of the spec; `{ script: SCRIPT }` when absent; null: no NodeFirewall. */
  readonly field?: { readonly script?: string; readonly scriptGzip?: string } | null;
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
  {
    name: 'a drifted table with a rejected script pending its retry gets the last good script back',
    state: state({ ...drifted, failedHash: HASH }),
    want: restore('RetryPending'),
  },
  {
    name: 'a drifted table with a rejected script whose retry is due retries it, not a restore',
    state: state({ ...drifted, failedHash: HASH, retryDue: true }),
    want: apply('retry'),
  },
  {
    name: 'a drifted table with a new script loads the new script, not the old one',
    state: state(drifted),
    want: apply('changed'),
  },
  {
    name: 'a hash mismatch on a drifted table is refused and the last good script restored',
    scriptHash: OLD,
    state: state(drifted),
    want: {
      kind: 'refuse',
      reason: 'HashMismatch',
      declared: OLD,
      actual: HASH,
      restore: restore('HashMismatch'),
    },
  },
  {
    name: 'a scriptGzip that does not decode on a drifted table is refused and the last good script restored',
    field: { scriptGzip: 'bm90IGd6aXA=' },
    state: state(drifted),
    want: {
      kind: 'refuse',
      reason: 'DecodeFailed',
      message: 'spec.scriptGzip is not a valid gzip stream: incorrect header check',
      restore: restore('DecodeFailed'),
    },
  },
  {
    name: 'without a NodeFirewall a drifted table gets the last good script back',
    field: null,
    state: state(drifted),
    want: restore('NoNodeFirewall'),
  },
  {
    name: 'without a NodeFirewall a table in sync is left alone',
    field: null,
    state: state({ appliedHash: OLD, appliedScript: GOOD_OLD }),
    want: { kind: 'none', why: 'NoNodeFirewall' },
  },
  {
    name: 'without a NodeFirewall or a script loaded before there is nothing to do',
    field: null,
    state: state(),
    want: { kind: 'none', why: 'NoNodeFirewall' },
  },
  {
    name: 'a drifted table is not restored when the script that loaded is unknown',
    scriptHash: OLD,
    state: state({ appliedHash: OLD, tableInSync: false }),
    want: { kind: 'refuse', reason: 'HashMismatch', declared: OLD, actual: HASH },
  },
];

describe('decideAction', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const spec =
        row.field === null
          ? null
          : { ...(row.field ?? { script: SCRIPT }), scriptHash: row.scriptHash ?? HASH };
      assert.deepEqual(decideAction(spec, row.state), row.want);
    });
  }

  it('covers every action kind and apply cause', () => {
    const kinds = new Set(
      ROWS.map((r) => {
        switch (r.want.kind) {
          case 'apply':
            return `apply:${r.want.cause}`;
          case 'none':
            return `none:${r.want.why}`;
          case 'restore':
            return `restore:${r.want.why}`;
          case 'refuse':
            return `refuse:${r.want.reason}${r.want.restore === undefined ? '' : '+restore'}`;
        }
      }),
    );
    for (const k of [
      'apply:changed',
      'apply:repair',
      'apply:retry',
      'none:UpToDate',
      'none:RetryPending',
      'none:NoNodeFirewall',
      'refuse:HashMismatch',
      'refuse:DecodeFailed',
      'refuse:HashMismatch+restore',
      'refuse:DecodeFailed+restore',
      'restore:RetryPending',
      'restore:NoNodeFirewall',
    ]) {
      assert.ok(kinds.has(k), `no row for ${k}`);
    }
  });
});
