/**
 * The rule comments that tie a pod chain back to Kubernetes, written by
 * render.ts and parsed back by counters.ts to attribute each counter to its
 * pod, direction and policy rule. Both directions live here so that the
 * format the renderer writes and the one the read-back expects cannot drift:
 *
 *  - a pod chain's final drop: `<namespace>/<pod> <direction> denied`;
 *  - an allow: `<namespace>/<policy> <direction> rule <index>`.
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
    };

const DENY_COMMENT = /^(\S+\/\S+) (ingress|egress) denied$/;
const ALLOW_COMMENT = /^(\S+\/\S+) (ingress|egress) rule (\d+)$/;

/** The quoted comment of a pod chain's final drop: `"<ns>/<pod> <direction> denied"`. */
export function formatDenyComment(pod: string, direction: Direction): string {
  return quoteComment(pod, ` ${direction} denied`);
}

/** The quoted comment of an allow: `"<ns>/<policy> <direction> rule <index>"`. */
export function formatAllowComment(policy: string, direction: Direction, rule: number): string {
  return quoteComment(policy, ` ${direction} rule ${rule}`);
}

/**
 * A rule comment as nft lists it (unquoted) → what it says.
 * @returns null when the comment is neither a deny nor an allow comment
 *   (the fail-closed drops, rules nftpol did not write).
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
  return null;
}

function toDirection(text: string | undefined): Direction {
  return text === 'egress' ? 'egress' : 'ingress';
}
