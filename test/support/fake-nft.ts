/**
 * An in-memory `table inet nftpol` behind the executor's {@link NodeTable}
 * port, for unit tests of the reconciler without root or nft: a loaded
 * script's lines become rules of one chain, `nft -j list` is synthesized from
 * them, a script can be made to fail as nft would, and the table can be
 * tampered with (drift) or given packet counts.
 *
 * Shared sets (v2) are modelled as nft has them: a script's `\tset
 * pods_<hex>_4 {` lines declare them, its `add element inet nftpol <set> {
 * … }` lines fill them; a script of only `add element` / `delete element`
 * lines is a member delta, applied to the table in force — all of it, or
 * (deleting an element that is not there, or touching a set that does not
 * exist) none of it.
 */
import type { NodeTable } from '../../src/executor/node-table.js';
import { NftError } from '../../src/nft/nft.js';

/** A loaded line `… comment "<text>"` is a counted rule with that comment. */
const COMMENT = /comment "([^"]*)"/;
const SET_DECLARATION = /^\tset ((?:pods|port)_[0-9a-f]{16}_[46]) \{$/;
const ELEMENT_LINE = /^(add|delete) element inet nftpol (\S+) \{ (.*) \}$/;

/** nft's "No such file or directory" for a missing object. */
const ENOENT = 'Error: Could not process rule: No such file or directory';

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
  /** Number of `list` calls (reads of the table). */
  lists = 0;
  /** The shared sets' elements (member text) by set name. */
  elements = new Map<string, Set<string>>();

  load(script: string): Promise<void> {
    this.loads.push(script);
    const stderr = this.rejects.get(script);
    if (stderr !== undefined) return Promise.reject(nftError(stderr));
    const lines = script.split('\n').filter((line) => line.trim() !== '');
    const isDelta = lines.length > 0 && lines.every((line) => ELEMENT_LINE.test(line));
    const rules = isDelta ? this.rules : lines.filter((line) => !ELEMENT_LINE.test(line));
    const elements = isDelta
      ? new Map([...this.elements].map(([name, set]) => [name, new Set(set)]))
      : new Map(
          lines.flatMap((line) => {
            const name = SET_DECLARATION.exec(line)?.[1];
            return name === undefined ? [] : [[name, new Set<string>()] as const];
          }),
        );
    for (const line of lines) {
      const m = ELEMENT_LINE.exec(line);
      if (m === null) continue;
      const set = elements.get(m[2] ?? '');
      if (set === undefined) return Promise.reject(nftError(ENOENT));
      for (const element of (m[3] ?? '').split(', ')) {
        if (m[1] === 'add') set.add(element);
        else if (!set.delete(element)) return Promise.reject(nftError(ENOENT));
      }
    }
    this.rules = rules;
    this.elements = elements;
    return Promise.resolve();
  }

  list(): Promise<unknown> {
    this.lists += 1;
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
    for (const [name, set] of this.elements) {
      const family = name.endsWith('_4') ? 'ipv4_addr' : 'ipv6_addr';
      const addrPort = name.startsWith('port_');
      const elem = [...set].map((e) => {
        if (!addrPort) return e;
        const [addr, proto, port] = e.split(' . ');
        return { concat: [addr, proto, Number(port)] };
      });
      nftables.push({
        set: {
          family: 'inet',
          table: 'nftpol',
          name,
          handle: 100,
          type: addrPort ? [family, 'inet_proto', 'inet_service'] : family,
          ...(elem.length === 0 ? {} : { elem }),
        },
      });
    }
    return Promise.resolve({ nftables });
  }

  remove(): Promise<boolean> {
    const existed = this.rules !== null;
    this.rules = null;
    this.elements = new Map();
    return Promise.resolve(existed);
  }

  /** The elements of shared set `name`, sorted as text (for assertions). */
  members(name: string): string[] {
    return [...(this.elements.get(name) ?? [])].sort();
  }

  /** Drift: someone deletes an element by hand. */
  deleteElement(name: string, element: string): void {
    this.elements.get(name)?.delete(element);
  }

  /** Drift: someone deletes the last rule by hand. */
  deleteLastRule(): void {
    this.rules = this.rules?.slice(0, -1) ?? null;
  }
}

function nftError(stderr: string): NftError {
  return new NftError(`nft -f - exited with 1: ${stderr}`, {
    failure: 'exited',
    argv: ['nft', '-f', '-'],
    stderr,
    exitCode: 1,
  });
}
