/**
 * The script field of a NodeFirewall spec: text below the threshold, gzip +
 * base64 above it; byte-stable compression (so an unchanged script is a no-op
 * apply); and every way a `scriptGzip` can be broken is a `failed` decode,
 * never a throw or a partial script.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  compressScript,
  decodeSpecScript,
  decompressScript,
  encodeSpecScript,
  MAX_DECODED_SCRIPT_BYTES,
  ScriptDecodeError,
  type DecodedScript,
} from '../../../src/k8s/script-encoding.js';

const SMALL = 'add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n}\n';
/** A script shaped like a real one: many similar set elements and rules. */
const LARGE = [
  'add table inet nftpol',
  'delete table inet nftpol',
  'table inet nftpol {',
  '  set s_1 {',
  '    type ipv4_addr . inet_proto . inet_service',
  '    flags interval',
  `    elements = { ${Array.from({ length: 5000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24 . tcp . ${1000 + (i % 50)}`).join(', ')} }`,
  '  }',
  ...Array.from(
    { length: 2000 },
    (_, i) =>
      `  chain in_ns${i}_pod${i} {\n    ip saddr . meta l4proto . th dport @s_1 counter accept comment "ns${i}/allow ingress rule 0"\n    counter drop\n  }`,
  ),
  '}',
  '',
].join('\n');

describe('compressScript / decompressScript', () => {
  const rows = [
    { name: 'a small script survives the round trip', script: SMALL },
    { name: 'a large script survives the round trip', script: LARGE },
    { name: 'the empty script survives the round trip', script: '' },
    { name: 'non-ASCII text survives the round trip as UTF-8', script: '# ünïcødé — 名前\n' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.equal(decompressScript(compressScript(row.script)), row.script);
    });
  }

  it('gives byte-identical output for the same script (no timestamp, fixed parameters)', () => {
    const first = compressScript(LARGE);
    assert.equal(compressScript(`${LARGE}`), first);
    const header = Buffer.from(first, 'base64').subarray(0, 10);
    assert.deepEqual([...header.subarray(0, 3)], [0x1f, 0x8b, 8], 'a gzip member, deflate');
    assert.equal(header.readUInt32LE(4), 0, 'mtime is 0');
  });

  it('shrinks a repetitive script at least fivefold', () => {
    const ratio = Buffer.byteLength(LARGE) / Buffer.byteLength(compressScript(LARGE));
    assert.ok(ratio > 5, `ratio ${ratio.toFixed(1)}`);
  });
});

describe('decompressScript refuses broken input', () => {
  const gz = compressScript(LARGE);
  const rows: ReadonlyArray<{ name: string; input: string; message: RegExp }> = [
    { name: 'text that is not base64', input: 'not base64!', message: /not valid base64/ },
    {
      name: 'base64 without its padding',
      input: Buffer.from('abcd').toString('base64').replace(/=+$/, '').slice(0, 5),
      message: /not valid base64/,
    },
    {
      name: 'base64 of something that is not gzip',
      input: Buffer.from(SMALL).toString('base64'),
      message: /not a valid gzip stream: incorrect header check/,
    },
    {
      name: 'a truncated gzip stream',
      input: Buffer.from(gz, 'base64').subarray(0, 200).toString('base64'),
      message: /not a valid gzip stream: unexpected end of file/,
    },
    {
      name: 'a gzip stream with a flipped byte in the middle',
      input: (() => {
        const bytes = Buffer.from(gz, 'base64');
        const at = bytes.length >> 1;
        bytes[at] = bytes[at]! ^ 0xff;
        return bytes.toString('base64');
      })(),
      message: /not a valid gzip stream/,
    },
    {
      name: 'a stream that expands beyond the 64 MiB bound',
      input: gzipSync(Buffer.alloc(MAX_DECODED_SCRIPT_BYTES + 1, 0x61), { level: 1 }).toString(
        'base64',
      ),
      message: /not a valid gzip stream: .*larger than/,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.throws(
        () => decompressScript(row.input),
        (err) => err instanceof ScriptDecodeError && row.message.test(err.message),
      );
    });
  }
});

describe('encodeSpecScript', () => {
  const size = Buffer.byteLength(SMALL);
  const rows: ReadonlyArray<{ name: string; script: string; threshold: number; gzip: boolean }> = [
    {
      name: 'a script below the threshold stays text',
      script: SMALL,
      threshold: size + 1,
      gzip: false,
    },
    {
      name: 'a script exactly at the threshold stays text',
      script: SMALL,
      threshold: size,
      gzip: false,
    },
    {
      name: 'a script one byte over the threshold is compressed',
      script: SMALL,
      threshold: size - 1,
      gzip: true,
    },
    { name: 'threshold 0 compresses every script', script: SMALL, threshold: 0, gzip: true },
    {
      name: 'the threshold counts UTF-8 bytes, not characters',
      script: 'é'.repeat(10),
      threshold: 15,
      gzip: true,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const field = encodeSpecScript(row.script, row.threshold);
      assert.deepEqual(Object.keys(field), [row.gzip ? 'scriptGzip' : 'script']);
      assert.deepEqual(decodeSpecScript(field), {
        kind: 'decoded',
        script: row.script,
        compressed: row.gzip,
      });
    });
  }
});

describe('decodeSpecScript', () => {
  const rows: ReadonlyArray<{
    name: string;
    spec: { script?: unknown; scriptGzip?: unknown };
    want: DecodedScript | RegExp;
  }> = [
    {
      name: 'script alone is taken as it is',
      spec: { script: SMALL },
      want: { kind: 'decoded', script: SMALL, compressed: false },
    },
    {
      name: 'scriptGzip alone is decompressed',
      spec: { scriptGzip: compressScript(SMALL) },
      want: { kind: 'decoded', script: SMALL, compressed: true },
    },
    {
      name: 'neither field gives the empty script (the hash check then refuses it)',
      spec: {},
      want: { kind: 'decoded', script: '', compressed: false },
    },
    {
      name: 'both fields at once fail: exactly one is allowed',
      spec: { script: SMALL, scriptGzip: compressScript(SMALL) },
      want: /both script and scriptGzip/,
    },
    {
      name: 'a corrupt scriptGzip fails with the reason instead of throwing',
      spec: { scriptGzip: Buffer.from(SMALL).toString('base64') },
      want: /incorrect header check/,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = decodeSpecScript(row.spec);
      if (row.want instanceof RegExp) {
        assert.equal(got.kind, 'failed');
        assert.match(got.kind === 'failed' ? got.message : '', row.want);
      } else {
        assert.deepEqual(got, row.want);
      }
    });
  }
});
