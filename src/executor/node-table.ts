/**
 * The executor's only handle on the kernel: its own `table inet nftpol`.
 * The reconciler loads, lists and (on exit) deletes that table through this
 * port, never through nft directly, so its unit tests run against an
 * in-memory table (test/support/fake-nft.ts) without root; production uses
 * {@link nftNodeTable}, thin calls of nft/apply.ts.
 */
import { applyScript, deleteTable, listTable, type NftOptions } from '../nft/apply.js';

/** The node's table, as the executor sees it. */
export interface NodeTable {
  /**
   * Loads `script` in one transaction (`nft -f -`): on failure the previous
   * ruleset stays untouched.
   * @throws NftError with nft's stderr when the kernel rejects the script.
   */
  load(script: string): Promise<void>;
  /**
   * `nft -j list table inet nftpol`.
   * @returns nft's JSON document, or null when the table does not exist.
   * @throws NftError for any other failure.
   */
  list(): Promise<unknown>;
  /**
   * Deletes the table and nothing else.
   * @returns true when it was deleted, false when it did not exist.
   */
  remove(): Promise<boolean>;
}

/** {@link NodeTable} over the real nft (`nft` options: command prefix, timeout). */
export function nftNodeTable(nft: NftOptions): NodeTable {
  return {
    load: (script) => applyScript(script, nft),
    list: () => listTable(nft),
    remove: () => deleteTable(nft),
  };
}
