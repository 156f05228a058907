/**
 * Can this host enforce nftpol's ruleset at all? Asked at start and, while
 * the answer is no, again with back-off — because the alternative, an
 * executor that runs but cannot load its table, looks healthy while nothing
 * is enforced. An unusable host becomes `Ready=False` (`HostUnusable`) with
 * the reason, never a silent skip.
 *
 * Checks:
 *  1. `nft --version` runs and is at least 1.0.6 (the dialect render writes);
 *  2. the kernel accepts, in a check-only transaction (`nft -c -f -`, never
 *     committed), an `inet` table with a concatenated interval set, a verdict
 *     map, counters, a `postrouting` base chain at `srcnat - 5` and `fib`:
 *     every feature the real script uses. The probe table is named
 *     `nftpol_probe` and, being check-only, never exists in the kernel;
 *  3. IPv4 forwarding (`/proc/sys/net/ipv4/ip_forward`), read through the
 *     injected `readFile` — i.e. in the executor's own network namespace,
 *     not through the nft command prefix. Off is a warning, not a failure:
 *     the CNI owns forwarding and enforcement still works for what passes.
 */
import { checkScript } from '../nft/apply.js';
import { runNft, type NftOptions } from '../nft/nft.js';

/** The lowest nft release whose dialect render writes. */
export const MIN_NFT_VERSION = [1, 0, 6] as const;

/** A check-only script exercising every kernel feature the ruleset uses. */
export const PROBE_SCRIPT = `table inet nftpol_probe {
	set probe_peers {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		elements = { 10.0.0.0/8 . tcp . 80-90 }
	}
	map probe_dispatch {
		type ipv4_addr : verdict
		elements = { 10.0.0.1 : jump probe_pod }
	}
	chain probe_pod {
		ip saddr . meta l4proto . th dport @probe_peers counter accept comment "probe"
		counter drop
	}
	chain probe_base {
		type filter hook postrouting priority srcnat - 5; policy accept;
		ct state established,related accept
		ip daddr vmap @probe_dispatch
		fib saddr type local accept
	}
}
`;

/** What the probe needs: how to run nft, how to read a file. */
export interface ProbeDeps {
  readonly nft: NftOptions;
  /** Reads a text file (the forwarding sysctl); `fs.promises.readFile` in production. */
  readonly readFile: (path: string) => Promise<string>;
  /** @default '/proc/sys/net/ipv4/ip_forward' */
  readonly forwardingSysctl?: string;
}

/** The probe's verdict. */
export type ProbeResult =
  | {
      readonly usable: true;
      /** e.g. `v1.0.6 (Lester Gooch #5)`. */
      readonly nftVersion: string;
      /** Problems that do not stop enforcement (forwarding off). */
      readonly warnings: readonly string[];
    }
  | {
      readonly usable: false;
      readonly nftVersion: string | null;
      /** One sentence: what is wrong and what to do. */
      readonly message: string;
    };

/**
 * Parses `nft --version` output (`nftables v1.0.6 (Lester Gooch #5)`).
 * @returns the version text after `nftables ` and its numbers, or null.
 */
export function parseNftVersion(
  text: string,
): { readonly text: string; readonly numbers: readonly number[] } | null {
  const m = /v(\d+)\.(\d+)(?:\.(\d+))?[^\n]*/.exec(text);
  if (m === null) return null;
  return { text: m[0].trim(), numbers: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] };
}

/** True when `version` ≥ {@link MIN_NFT_VERSION}. */
export function isSupportedVersion(version: readonly number[]): boolean {
  for (let i = 0; i < MIN_NFT_VERSION.length; i++) {
    const have = version[i] ?? 0;
    const want = MIN_NFT_VERSION[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

/** Runs the checks in order; the first failing one decides the message. Never throws. */
export async function probeHost(deps: ProbeDeps): Promise<ProbeResult> {
  let versionText: string;
  try {
    versionText = await runNft(['--version'], undefined, deps.nft);
  } catch (err) {
    return { usable: false, nftVersion: null, message: `nft --version failed: ${oneLine(err)}` };
  }
  const version = parseNftVersion(versionText);
  if (version === null) {
    return {
      usable: false,
      nftVersion: null,
      message: `could not read the nft version from ${JSON.stringify(versionText.trim())}`,
    };
  }
  if (!isSupportedVersion(version.numbers)) {
    return {
      usable: false,
      nftVersion: version.text,
      message: `nft ${version.text} is older than ${MIN_NFT_VERSION.join('.')}; upgrade nftables`,
    };
  }
  try {
    await checkScript(PROBE_SCRIPT, deps.nft);
  } catch (err) {
    return {
      usable: false,
      nftVersion: version.text,
      message: `the kernel rejected a test table with a concatenated interval set and a verdict map (nf_tables modules missing?): ${oneLine(err)}`,
    };
  }
  const warnings: string[] = [];
  const sysctl = deps.forwardingSysctl ?? '/proc/sys/net/ipv4/ip_forward';
  try {
    const value = (await deps.readFile(sysctl)).trim();
    if (value !== '1') warnings.push(`IPv4 forwarding is off (${sysctl} = ${value})`);
  } catch (err) {
    warnings.push(`could not read ${sysctl}: ${oneLine(err)}`);
  }
  return { usable: true, nftVersion: version.text, warnings };
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').slice(0, 3).join(' | ').slice(0, 500);
}
