/**
 * How a node's nft script travels in `NodeFirewall.spec`: as text in
 * `spec.script`, or — when it is larger than a threshold — gzip-compressed and
 * base64-encoded in `spec.scriptGzip`. Exactly one of the two is set.
 *
 * Why: an API object is capped at about 1.5 MiB (etcd's request limit), and at
 * 5,000 nodes and 150,000 pods the median node script is already 1.3 MiB and
 * the largest 2.5 MiB. nft scripts are repetitive text and gzip shrinks them
 * about tenfold, which puts the whole envelope back under the limit without
 * splitting one ruleset across several objects (which would cost the
 * executor its single atomic read).
 *
 * `spec.scriptHash` always hashes the *uncompressed* script, so the hash
 * names the ruleset, not its encoding, and the executor's hash check is the
 * same for both fields. Compression is deterministic (fixed level and
 * parameters; Node's gzip header carries no file name and mtime 0), so the
 * same script always gives the same `scriptGzip` and an unchanged script
 * stays a no-op server-side apply.
 *
 * Shared by the controller (encodes) and the executor (decodes); pure apart
 * from CPU.
 */
import { constants, gunzipSync, gzipSync } from 'node:zlib';

/** Scripts larger than this many UTF-8 bytes are compressed by default (256 KiB). */
export const DEFAULT_COMPRESS_THRESHOLD_BYTES = 262_144;

/**
 * The largest server-side apply body the controller sends, in bytes: etcd's
 * 1.5 MiB object limit minus 64 KiB for what the API server adds (managed
 * fields, status with conditions and counters, resourceVersion…).
 */
export const MAX_APPLY_BODY_BYTES = 1_572_864 - 65_536;

/**
 * The largest script a `scriptGzip` may expand to (64 MiB): a bound on what a
 * corrupt or hostile object can make the executor allocate. About 25× the
 * largest script of the 5,000-node envelope.
 */
export const MAX_DECODED_SCRIPT_BYTES = 64 * 1024 * 1024;

/** The script field of a spec: exactly one of the two is present. */
export type EncodedScript = { readonly script: string } | { readonly scriptGzip: string };

/** The result of {@link decodeSpecScript}. */
export type DecodedScript =
  | { readonly kind: 'decoded'; readonly script: string; readonly compressed: boolean }
  | { readonly kind: 'failed'; readonly message: string };

/** Thrown by {@link decompressScript} for input that is not base64 of a gzip stream. */
export class ScriptDecodeError extends Error {
  override readonly name = 'ScriptDecodeError';
}

/**
 * zlib parameters, all fixed so the output depends on the input alone.
 * Level 6, not 9: on the 5,000-node benchmark's scripts level 9 took 126 ms
 * per node for 11.4× and level 6 37 ms for 10.3× (largest scriptGzip 330 KiB,
 * far below the limit), and a policy change can rewrite every node.
 */
const GZIP_OPTIONS = {
  level: 6,
  memLevel: 8,
  windowBits: 15,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Gzips the UTF-8 bytes of `script` (level 6) and returns them in base64.
 *
 * - deterministic: the same script gives the same string, byte for byte;
 * - {@link decompressScript} returns `script` exactly.
 */
export function compressScript(script: string): string {
  return gzipSync(Buffer.from(script, 'utf8'), GZIP_OPTIONS).toString('base64');
}

/**
 * The script inside a `scriptGzip` value.
 *
 * @throws ScriptDecodeError when `encoded` is not canonical base64, not a
 *   gzip stream, truncated, or expands beyond {@link MAX_DECODED_SCRIPT_BYTES}.
 */
export function decompressScript(encoded: string): string {
  if (!BASE64.test(encoded)) throw new ScriptDecodeError('spec.scriptGzip is not valid base64');
  let bytes: Buffer;
  try {
    bytes = gunzipSync(Buffer.from(encoded, 'base64'), {
      maxOutputLength: MAX_DECODED_SCRIPT_BYTES,
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ScriptDecodeError(`spec.scriptGzip is not a valid gzip stream: ${why}`);
  }
  return bytes.toString('utf8');
}

/**
 * The script field for `script`: `{ script }` when its UTF-8 size is at most
 * `thresholdBytes`, `{ scriptGzip }` otherwise. A threshold of 0 compresses
 * every non-empty script.
 */
export function encodeSpecScript(script: string, thresholdBytes: number): EncodedScript {
  return Buffer.byteLength(script, 'utf8') > thresholdBytes
    ? { scriptGzip: compressScript(script) }
    : { script };
}

/**
 * The script a spec carries, whichever field holds it. Never throws.
 *
 * - `scriptGzip` set (a string) and `script` not → its decompression, or
 *   `failed` with the reason;
 * - both set → `failed` (a spec carries exactly one);
 * - otherwise → `script`, or `''` when absent (whose hash then fails the
 *   caller's check against `scriptHash`).
 */
export function decodeSpecScript(spec: {
  readonly script?: unknown;
  readonly scriptGzip?: unknown;
}): DecodedScript {
  const gz = spec.scriptGzip;
  if (typeof gz === 'string') {
    if (typeof spec.script === 'string') {
      return {
        kind: 'failed',
        message: 'spec sets both script and scriptGzip; exactly one is allowed',
      };
    }
    try {
      return { kind: 'decoded', script: decompressScript(gz), compressed: true };
    } catch (err) {
      return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
  }
  return {
    kind: 'decoded',
    script: typeof spec.script === 'string' ? spec.script : '',
    compressed: false,
  };
}
