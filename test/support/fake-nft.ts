/**
 * An in-memory `table inet nftpol` behind the executor's {@link NodeTable}
 * port, for unit tests of the reconciler without root or nft: a loaded
 * script's lines become rules of one chain, `nft -j list` is synthesized from
 * them, a script can be made to fail as nft would, and the table can be
 * tampered with (drift) or given packet counts.
 */
import type { NodeTable } from '../../src/executor/node-table.js';
import { NftError } from '../../src/nft/nft.js';

/** A loaded line `… comment "<text>"` is a counted rule with that comment. */
const COMMENT = /comment "([^"]*)"/;

/** The fake table; every method is async like the real one. */
export class FakeTable implements NodeTable {
  /** Rules of the table's one chain (the script's non-empty lines), or null: no table. */
  rules: string[] | null = null;
  /** Every script passed to load, accepted or not, in order. */
  readonly loads: string[] = [];
  /** Scripts nft "rejects" (exact text), with the stderr it prints. */
  readonly rejects = new Map<string, string>();
  /** Packets counted per rule comment. */
  readonly packets = new Map<string, number>();
  /** When set, `list` throws it (nft cannot list). */
  listError: Error | null = null;

  load(script: string): Promise<void> {
    this.loads.push(script);
    const stderr = this.rejects.get(script);
    if (stderr !== undefined) {
      return Promise.reject(
        new NftError(`nft -f - exited with 1: ${stderr}`, {
          failure: 'exited',
          argv: ['nft', '-f', '-'],
          stderr,
          exitCode: 1,
        }),
      );
    }
    this.rules = script.split('\n').filter((line) => line.trim() !== '');
    return Promise.resolve();
  }

  list(): Promise<unknown> {
    if (this.listError !== null) return Promise.reject(this.listError);
    if (this.rules === null) return Promise.resolve(null);
    const nftables: unknown[] = [
      { table: { family: 'inet', name: 'nftpol', handle: 1 } },
      { chain: { family: 'inet', table: 'nftpol', name: 'main', handle: 2 } },
    ];
    this.rules.forEach((line, i) => {
      const comment = COMMENT.exec(line)?.[1];
      nftables.push({
        rule: {
          family: 'inet',
          table: 'nftpol',
          chain: 'main',
          handle: 10 + i,
          expr:
            comment === undefined
              ? [{ line }]
              : [{ line }, { counter: { packets: this.packets.get(comment) ?? 0, bytes: 0 } }],
          ...(comment === undefined ? {} : { comment }),
        },
      });
    });
    return Promise.resolve({ nftables });
  }

  remove(): Promise<boolean> {
    const existed = this.rules !== null;
    this.rules = null;
    return Promise.resolve(existed);
  }

  /** Drift: someone deletes the last rule by hand. */
  deleteLastRule(): void {
    this.rules = this.rules?.slice(0, -1) ?? null;
  }
}
