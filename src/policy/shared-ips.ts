/**
 * Shared pod IPs: which pod an IP is enforced for when several enforceable
 * pods claim it. This happens in healthy clusters — a Terminating pod still
 * Running whose IP was already reused, or a status not yet updated — and the
 * dataplane cannot honour both: its dispatch maps key by IP, so one IP has
 * one ingress chain and one egress chain. One rule decides, and translate,
 * the oracle and the loaders' warnings all apply this same rule:
 *
 *   1. a pod that is not terminating wins over one that is;
 *   2. then the newest by `creationTimestamp` (unknown counts as oldest);
 *   3. then the first by namespace/name, so the choice is always total.
 *
 * The other claimants are, at that IP, no pod at all: their policies are not
 * enforced there and their selectors do not pick the IP as a peer. This is
 * the rule, like `isEnforceable`, that the oracle and translate share; how
 * each evaluates policies stays independent.
 *
 * Pure: no clock — "newest" compares the pods' own timestamps.
 */
import { isEnforceable, qualifiedName } from './model.js';
import type { Pod } from './model.js';

/** One IP several enforceable pods claim. */
export interface SharedIp {
  /** The IP, as the pods give it (canonical text). */
  readonly ip: string;
  /** Every enforceable pod claiming it, the one it is enforced for first. */
  readonly pods: readonly Pod[];
}

/**
 * Orders two pods claiming one IP: negative when `a` is the one the IP is
 * enforced for, positive when `b` is, 0 only for the same namespace/name.
 */
export function compareIpClaims(a: Pod, b: Pod): number {
  const terminating = Number(a.terminating === true) - Number(b.terminating === true);
  if (terminating !== 0) return terminating;
  const newer = (b.created ?? -Infinity) - (a.created ?? -Infinity);
  if (newer !== 0 && !Number.isNaN(newer)) return newer < 0 ? -1 : 1;
  const x = qualifiedName(a);
  const y = qualifiedName(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Why `winner` holds the IP rather than `loser` (for {@link compareIpClaims}
 * ordered pods), as a short clause: `b/twin is terminating`.
 */
export function claimReason(winner: Pod, loser: Pod): string {
  if (loser.terminating === true && winner.terminating !== true) {
    return `${qualifiedName(loser)} is terminating`;
  }
  if ((winner.created ?? -Infinity) > (loser.created ?? -Infinity)) {
    return `${qualifiedName(winner)} is newer`;
  }
  return `${qualifiedName(winner)} comes first by namespace/name`;
}

/**
 * Every IP that two or more enforceable pods claim, in order of first
 * appearance in `pods`; the pods of each sorted by {@link compareIpClaims}.
 * IPs are compared as text: the model holds them canonical.
 */
export function sharedPodIps(pods: readonly Pod[]): SharedIp[] {
  const byIp = new Map<string, Pod[]>();
  for (const pod of pods) {
    if (!isEnforceable(pod)) continue;
    for (const ip of pod.ips) {
      const list = byIp.get(ip);
      if (list === undefined) byIp.set(ip, [pod]);
      else if (!list.includes(pod)) list.push(pod);
    }
  }
  const shared: SharedIp[] = [];
  for (const [ip, claimants] of byIp) {
    if (claimants.length > 1) shared.push({ ip, pods: claimants.sort(compareIpClaims) });
  }
  return shared;
}
