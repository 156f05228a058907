/**
 * Manifest bytes → text, as kubectl decodes them: a byte order mark picks
 * the encoding (UTF-8, UTF-16LE or UTF-16BE) and is dropped; without one the
 * bytes are UTF-8. Windows tools (PowerShell's `>` redirection, Notepad) write
 * UTF-16 with a BOM, and kubectl reads such files, so the CLI must too: read
 * as UTF-8 they would be a stream of NULs that no object is found in.
 */

/** The encodings a manifest can come in. */
export type ManifestEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** A decoded manifest. */
export interface DecodedText {
  /** The text, without the byte order mark. */
  readonly text: string;
  readonly encoding: ManifestEncoding;
}

/**
 * Decodes `bytes` by their byte order mark (UTF-8 when there is none).
 * Invalid sequences become U+FFFD, as in kubectl; a UTF-16 file with an odd
 * number of bytes ends in U+FFFD.
 */
export function decodeManifest(bytes: Uint8Array): DecodedText {
  const [b0, b1, b2] = bytes;
  if (b0 === 0xff && b1 === 0xfe) {
    return { text: utf16le(bytes.subarray(2)), encoding: 'utf-16le' };
  }
  if (b0 === 0xfe && b1 === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2, 2 + ((bytes.length - 2) & ~1)));
    const tail = (bytes.length - 2) % 2 === 1 ? '\ufffd' : '';
    return { text: utf16le(swapped.swap16()) + tail, encoding: 'utf-16be' };
  }
  const bom = b0 === 0xef && b1 === 0xbb && b2 === 0xbf ? 3 : 0;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.length - bom);
  return { text: view.toString('utf8'), encoding: 'utf-8' };
}

function utf16le(bytes: Uint8Array): string {
  return new TextDecoder('utf-16le').decode(bytes);
}
