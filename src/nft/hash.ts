/**
 * The script hash: the identity of a rendered script, which the controller
 * publishes beside it and the executor checks before applying, reports as
 * applied, and compares to skip writes that change nothing.
 *
 * Apart from render.ts so that the executor, which only verifies scripts,
 * does not link the renderer.
 *
 * PURE: no I/O.
 */
import { createHash } from 'node:crypto';

/** `sha256:` + lowercase hex of the script's UTF-8 bytes. */
export function hashScript(script: string): string {
  return `sha256:${createHash('sha256').update(script, 'utf8').digest('hex')}`;
}
