/**
 * Awaiting the members of a node's shared sets in the kernel. Member changes
 * reach a node as nft element deltas that no API status shows (by design:
 * status is not written per membership change), so a test that needs a
 * remote pod's join or leave in force waits on the kernel itself: it listens
 * to `nft monitor elements` in the node's network namespace and re-reads the
 * table on every element event — never sleeping and polling.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { liveSharedMembers } from '../../../src/nft/live-members.js';
import { parseRuleset } from '../../../src/nft/ruleset.js';

const run = promisify(execFile);

/** The members of every shared set in `netns`'s `table inet nftpol`, by set id (both families). */
export async function kernelMembers(netns: string): Promise<Map<string, string[]>> {
  const { stdout } = await run('ip', [
    'netns',
    'exec',
    netns,
    'nft',
    '-j',
    'list',
    'table',
    'inet',
    'nftpol',
  ]);
  const { table } = parseRuleset(JSON.parse(stdout) as unknown);
  return table === null ? new Map() : liveSharedMembers(table);
}

/**
 * Resolves with the members once `holds(members)` is true in `netns`'s
 * kernel: checked now and after every element event nft reports there.
 * @throws Error (rejects) after `timeoutMs`, naming `what` and the members last seen.
 */
export async function awaitKernelMembers(
  netns: string,
  holds: (members: ReadonlyMap<string, readonly string[]>) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<Map<string, string[]>> {
  const monitor = spawn('ip', ['netns', 'exec', netns, 'nft', 'monitor', 'elements'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let last = new Map<string, string[]>();
  try {
    // Listening before the first read: an event between the two is not lost.
    await new Promise<void>((resolve, reject) => {
      monitor.once('spawn', resolve);
      monitor.once('error', reject);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Map<string, string[]>>((resolve, reject) => {
        let checking = false;
        let again = false;
        const check = async (): Promise<void> => {
          if (checking) {
            again = true; // re-read once the running read is done
            return;
          }
          checking = true;
          try {
            do {
              again = false;
              last = await kernelMembers(netns);
              if (holds(last)) return resolve(last);
            } while (again);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          } finally {
            checking = false;
          }
        };
        timer = setTimeout(() => {
          const seen = JSON.stringify(Object.fromEntries(last));
          reject(new Error(`timed out waiting for ${what} in ${netns}: members ${seen}`));
        }, timeoutMs);
        monitor.stdout.on('data', () => void check());
        monitor.once('exit', () =>
          reject(new Error(`nft monitor in ${netns} exited before ${what}`)),
        );
        void check();
      });
    } finally {
      clearTimeout(timer);
    }
  } finally {
    monitor.kill();
  }
}
