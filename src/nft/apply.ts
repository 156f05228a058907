/**
 * The nft operations nftpol needs, each a thin wrapper over runNft: load a
 * script (atomically: nft applies `-f` input as one transaction), check a
 * script without committing it, read the table back as JSON, remove the
 * table. They touch `table inet nftpol` and nothing else.
 */
import { NftError, runNft, type NftOptions } from './nft.js';
import { TABLE_FAMILY, TABLE_NAME } from './syntax.js';

export type { NftOptions } from './nft.js';
export { NftError } from './nft.js';

/**
 * Loads `script` with `nft -f -`: one transaction, so on failure the previous
 * ruleset stays in place untouched.
 * @throws NftError with nft's stderr when the kernel rejects the script.
 */
export async function applyScript(script: string, opts: NftOptions = {}): Promise<void> {
  await runNft(['-f', '-'], script, opts);
}

/**
 * Checks `script` with `nft -c -f -`: parsed and validated by the kernel in a
 * transaction that is never committed. Needs the same privileges as apply.
 * @throws NftError with nft's stderr when the script would be rejected.
 */
export async function checkScript(script: string, opts: NftOptions = {}): Promise<void> {
  await runNft(['-c', '-f', '-'], script, opts);
}

/**
 * Reads `table inet nftpol` with `nft -j list table`.
 * @returns nft's JSON document (`{ nftables: [...] }`), or null when the
 *   table does not exist.
 * @throws NftError for any other nft failure; SyntaxError if nft printed
 *   something that is not JSON.
 */
export async function listTable(opts: NftOptions = {}): Promise<unknown> {
  try {
    const out = await runNft(['-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME], undefined, opts);
    return JSON.parse(out) as unknown;
  } catch (e) {
    if (e instanceof NftError && e.isNotFound) return null;
    throw e;
  }
}

/**
 * Deletes `table inet nftpol` (uninstall).
 * @returns true when it was deleted, false when it did not exist.
 * @throws NftError for any other nft failure.
 */
export async function deleteTable(opts: NftOptions = {}): Promise<boolean> {
  try {
    await runNft(['delete', 'table', TABLE_FAMILY, TABLE_NAME], undefined, opts);
    return true;
  } catch (e) {
    if (e instanceof NftError && e.isNotFound) return false;
    throw e;
  }
}
