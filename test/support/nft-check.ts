/**
 * Real nft for unit tests, safely: every call runs inside a throwaway
 * network namespace, so the host's ruleset is never read or changed. Needs
 * root, `ip` and `nft`; tests skip with `NFT_SKIP_REASON` otherwise.
 */
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkScript } from '../../src/nft/apply.js';
import type { NftOptions } from '../../src/nft/nft.js';

const run = promisify(execFile);

function probeNft(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces for nft';
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
  } catch {
    return "needs nftables ('nft' not found)";
  }
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return "needs iproute2 ('ip netns' not usable)";
  }
  return false;
}

/** Why nft tests cannot run here, or false when they can; pass as `{ skip: NFT_SKIP_REASON }`. */
export const NFT_SKIP_REASON: string | false = probeNft();

/** True when running as root with nft and ip available. */
export const canUseNft: boolean = NFT_SKIP_REASON === false;

let created = 0;

/**
 * Runs `body` with nft options pointing into a fresh network namespace, and
 * deletes the namespace afterwards whatever happens.
 */
export async function withNetns<T>(
  body: (nft: NftOptions, netns: string) => Promise<T>,
): Promise<T> {
  const name = `nftpol-test-${process.pid}-${++created}`;
  await run('ip', ['netns', 'add', name]);
  try {
    return await body({ command: ['ip', 'netns', 'exec', name, 'nft'] }, name);
  } finally {
    await run('ip', ['netns', 'delete', name]);
  }
}

/**
 * Checks `script` with `nft -c -f -` in a throwaway namespace.
 * @throws NftError with nft's stderr when the kernel would reject it.
 */
export async function checkInNetns(script: string): Promise<void> {
  await withNetns((nft) => checkScript(script, nft));
}
