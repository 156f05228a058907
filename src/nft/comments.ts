/**
 * The rule comments that tie a pod chain back to Kubernetes, written by
 * render.ts and parsed back by counters.ts to attribute each counter to its
 * pod, direction and policy rule. Both directions live here so that the
 * format the renderer writes and the one the read-back expects cannot drift:
 *
 *  - a pod chain's final drop: `<namespace>/<pod> <direction> denied`;
 *  - an allow: `<namespace>/<policy> <direction> rule <index>`;
 *  - a ClusterNetworkPolicy line: `cnp:<name> <direction> rule <index>
 *    <tier> <action>` (`admin`/`baseline`; `accept`, `deny`, `pass`, or
 *    `fail-closed` for a rule that cannot be honoured and denies);
 *  - the end of a chain no NetworkPolicy isolates, reached when no tier
 *    decided: `<namespace>/<pod> <direction> default allow`.
 *
 * A name too long for nft's 128-byte comment is cut and ends in `…`
 * (syntax.ts `quoteComment`); the tail after it is kept whole, so a cut
 * comment still parses, with the cut name.
 *
 * PURE: no I/O.
 */
import type { Direction } from '../policy/model.js';
import { quoteComment } from './syntax.js';

/** What a rule comment of a pod chain says, as parsed by {@link parseRuleComment}. */
export type RuleComment =
  | {
      readonly kind: 'deny';
      /** `namespace/pod`, possibly cut (ending in `…`). */
      readonly pod: string;
      readonly direction: Direction;
    }
  | {
      readonly kind: 'allow';
      /** `namespace/name` of the policy, possibly cut (ending in `…`). */
      readonly policy: string;
      readonly direction: Direction;
      /** Index of the rule in the policy's ingress or egress list. */
      readonly rule: number;
    }
  | {
      readonly kind: 'tier';
      /** `cnp:<name>`, possibly cut. */
      readonly policy: string;
      readonly direction: Direction;
      readonly rule: number;
      readonly tier: 'admin' | 'baseline';
      readonly action: TierCommentAction;
    }
  | {
      readonly kind: 'default';
      /** `namespace/pod`, possibly cut. */
      readonly pod: string;
      readonly direction: Direction;
    };

/** What a ClusterNetworkPolicy line does, as its comment says. */
export type TierCommentAction = 'accept' | 'deny' | 'pass' | 'fail-closed';

const DENY_COMMENT = /^(\S+\/\S+) (ingress|egress) denied$/;
const ALLOW_COMMENT = /^(\S+\/\S+) (ingress|egress) rule (\d+)$/;
const TIER_COMMENT =
  /^(\S+) (ingress|egress) rule (\d+) (admin|baseline) (accept|deny|pass|fail-closed)$/;
const DEFAULT_COMMENT = /^(\S+\/\S+) (ingress|egress) default allow$/;

/** The quoted comment of a pod chain's final drop: `"<ns>/<pod> <direction> denied"`. */
export function formatDenyComment(pod: string, direction: Direction): string {
  return quoteComment(pod, ` ${direction} denied`);
}

/** The quoted comment of an allow: `"<ns>/<policy> <direction> rule <index>"`. */
export function formatAllowComment(policy: string, direction: Direction, rule: number): string {
  return quoteComment(policy, ` ${direction} rule ${rule}`);
}

/** The quoted comment of a ClusterNetworkPolicy line: `"cnp:<name> <direction> rule <i> <tier> <action>"`. */
export function formatTierComment(
  policy: string,
  direction: Direction,
  rule: number,
  tier: 'admin' | 'baseline',
  action: TierCommentAction,
): string {
  return quoteComment(policy, ` ${direction} rule ${rule} ${tier} ${action}`);
}

/** The quoted comment of the last line of a chain no NetworkPolicy isolates: `"<ns>/<pod> <direction> default allow"`. */
export function formatDefaultComment(pod: string, direction: Direction): string {
  return quoteComment(pod, ` ${direction} default allow`);
}

/**
 * A rule comment as nft lists it (unquoted) → what it says.
 * @returns null when the comment is none of these (the fail-closed mode's
 *   drops, rules nftpol did not write).
 */
export function parseRuleComment(comment: string): RuleComment | null {
  const deny = DENY_COMMENT.exec(comment);
  if (deny !== null) {
    return { kind: 'deny', pod: deny[1] ?? '', direction: toDirection(deny[2]) };
  }
  const allow = ALLOW_COMMENT.exec(comment);
  if (allow !== null) {
    return {
      kind: 'allow',
      policy: allow[1] ?? '',
      direction: toDirection(allow[2]),
      rule: Number(allow[3]),
    };
  }
  const tier = TIER_COMMENT.exec(comment);
  if (tier !== null) {
    return {
      kind: 'tier',
      policy: tier[1] ?? '',
      direction: toDirection(tier[2]),
      rule: Number(tier[3]),
      tier: tier[4] === 'baseline' ? 'baseline' : 'admin',
      action: (tier[5] ?? 'deny') as TierCommentAction,
    };
  }
  const fallback = DEFAULT_COMMENT.exec(comment);
  if (fallback !== null) {
    return { kind: 'default', pod: fallback[1] ?? '', direction: toDirection(fallback[2]) };
  }
  return null;
}

function toDirection(text: string | undefined): Direction {
  return text === 'egress' ? 'egress' : 'ingress';
}
