/**
 * Counters by pod and policy: the rule counters of a live table, attributed
 * through the rule comments render writes (comments.ts) to the pod,
 * direction and policy rule they count, then summed per pod (the shape of
 * `NodeFirewall.status.counters`) or per policy (the metrics).
 *
 * An allow line's comment names its policy and rule but not the pod; the pod
 * is named by the deny line that ends every pod chain (`<ns>/<pod>
 * <direction> denied`). So the table alone maps every counter back to pod,
 * direction and (for allows) policy and rule, whatever the chain is called
 * (`in_<ns>_<pod>` or a hashed name for long ones). A pod name cut to fit
 * nft's 128-byte comment keeps its `…` and is reported as cut.
 *
 * PURE: no I/O.
 */
import type { Direction } from '../policy/model.js';
import { parseRuleComment, type RuleComment } from './comments.js';
import { parseRuleset, type RuleCounter } from './ruleset.js';

/** Packets dropped on one pod's deny path in one direction. */
export interface DenyCount {
  /** `namespace/pod`. */
  readonly pod: string;
  readonly direction: Direction;
  readonly packets: number;
  readonly bytes: number;
}

/**
 * The deny-path counters: rules commented `<ns>/<pod> <direction> denied`
 * (render's final `counter drop` of each pod chain), summed per pod and direction.
 */
export function denyCountsOf(counters: readonly RuleCounter[]): DenyCount[] {
  const byKey = new Map<string, DenyCount>();
  for (const c of counters) {
    const said = commentOf(c);
    if (said?.kind !== 'deny') continue;
    const { pod, direction } = said;
    const key = `${pod} ${direction}`;
    const prev = byKey.get(key);
    byKey.set(key, {
      pod,
      direction,
      packets: (prev?.packets ?? 0) + c.packets,
      bytes: (prev?.bytes ?? 0) + c.bytes,
    });
  }
  return [...byKey.values()].sort((a, b) =>
    a.pod === b.pod ? a.direction.localeCompare(b.direction) : a.pod.localeCompare(b.pod),
  );
}

/** Which way a counted rule sent the packet. */
export type CountedVerdict = 'allowed' | 'denied';

/** One counted rule of a pod chain, attributed to its pod and direction. */
export interface RuleCount {
  /** The chain holding the rule. */
  readonly chain: string;
  /** `namespace/pod` from the chain's deny comment; null when the chain has none. */
  readonly pod: string | null;
  readonly direction: Direction;
  readonly verdict: CountedVerdict;
  /** `namespace/name` of the policy, for an allow; null for the deny line. */
  readonly policy: string | null;
  /** Index of the rule in the policy's ingress or egress list, for an allow; else null. */
  readonly rule: number | null;
  readonly packets: number;
  readonly bytes: number;
}

/**
 * Every pod-chain counter in `json` (`nft -j list table inet nftpol`), in
 * chain and rule order, attributed to pod, direction, verdict and policy.
 * Counters of the base chains (fail-closed drops) and of uncommented rules are
 * left out. An allow rule rendered once per address family gives two rows
 * with the same policy and rule: sum them with {@link podCountersOf} or
 * {@link policyCountersOf}.
 *
 * @throws RulesetParseError as {@link parseRuleset}.
 */
export function countersOf(json: unknown): RuleCount[] {
  return attributeCounters(parseRuleset(json).counters);
}

/** {@link countersOf} on counters already parsed by {@link parseRuleset}. */
export function attributeCounters(counters: readonly RuleCounter[]): RuleCount[] {
  const said = counters.map(commentOf);
  // A pod's chains are `<entry>` and its tier stages `<entry>/np`, `<entry>/baseline`.
  const entryOf = (chain: string): string => chain.split('/')[0] ?? chain;
  const podOfChain = new Map<string, { pod: string; direction: Direction }>();
  counters.forEach((c, i) => {
    const comment = said[i];
    if (comment?.kind === 'deny' || comment?.kind === 'default') {
      podOfChain.set(entryOf(c.chain), { pod: comment.pod, direction: comment.direction });
    }
  });
  const out: RuleCount[] = [];
  counters.forEach((c, i) => {
    const comment = said[i];
    const owner = podOfChain.get(entryOf(c.chain));
    if (comment?.kind === 'tier' && comment.action !== 'pass') {
      out.push({
        chain: c.chain,
        pod: owner?.pod ?? null,
        direction: comment.direction,
        verdict: comment.action === 'accept' ? 'allowed' : 'denied',
        policy: comment.policy,
        rule: comment.rule,
        packets: c.packets,
        bytes: c.bytes,
      });
    } else if (comment?.kind === 'default' && owner !== undefined) {
      out.push({
        chain: c.chain,
        pod: owner.pod,
        direction: owner.direction,
        verdict: 'allowed',
        policy: null,
        rule: null,
        packets: c.packets,
        bytes: c.bytes,
      });
    } else if (comment?.kind === 'deny' && owner !== undefined) {
      out.push({
        chain: c.chain,
        pod: owner.pod,
        direction: owner.direction,
        verdict: 'denied',
        policy: null,
        rule: null,
        packets: c.packets,
        bytes: c.bytes,
      });
    } else if (comment?.kind === 'allow') {
      out.push({
        chain: c.chain,
        pod: owner?.pod ?? null,
        direction: comment.direction,
        verdict: 'allowed',
        policy: comment.policy,
        rule: comment.rule,
        packets: c.packets,
        bytes: c.bytes,
      });
    }
  });
  return out;
}

/** What a counted rule's comment says; null when it has none or it is not a pod chain's. */
function commentOf(counter: RuleCounter): RuleComment | null {
  return counter.comment === null ? null : parseRuleComment(counter.comment);
}

/**
 * Packets counted for one local pod, by direction and verdict: the compact
 * shape of `NodeFirewall.status.counters["<ns>/<pod>"]`. Allowed packets are
 * new connections' packets that matched an allow rule of the pod's chain
 * (replies pass `ct state established` before any pod chain and are not
 * counted); denied packets hit the chain's final drop.
 */
export interface PodCounters {
  readonly ingressAllowed: number;
  readonly ingressDenied: number;
  readonly egressAllowed: number;
  readonly egressDenied: number;
}

/** Per `namespace/pod`, the sums of its counters; keys sorted. Rows without a pod are left out. */
export function podCountersOf(counts: readonly RuleCount[]): Record<string, PodCounters> {
  const sums = new Map<string, PodCounters>();
  for (const c of counts) {
    if (c.pod === null) continue;
    const prev = sums.get(c.pod) ?? {
      ingressAllowed: 0,
      ingressDenied: 0,
      egressAllowed: 0,
      egressDenied: 0,
    };
    const key = `${c.direction}${c.verdict === 'allowed' ? 'Allowed' : 'Denied'}` as const;
    sums.set(c.pod, { ...prev, [key]: prev[key] + c.packets });
  }
  return Object.fromEntries([...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Packets allowed by one policy in one direction, summed over its rules and the node's pods. */
export interface PolicyCount {
  /** `namespace/name`. */
  readonly policy: string;
  readonly direction: Direction;
  readonly packets: number;
}

/** The allow counters summed per policy and direction, sorted by policy then direction. */
export function policyCountersOf(counts: readonly RuleCount[]): PolicyCount[] {
  const sums = new Map<string, PolicyCount>();
  for (const c of counts) {
    if (c.verdict !== 'allowed' || c.policy === null) continue;
    const key = `${c.policy} ${c.direction}`;
    const prev = sums.get(key);
    sums.set(key, {
      policy: c.policy,
      direction: c.direction,
      packets: (prev?.packets ?? 0) + c.packets,
    });
  }
  return [...sums.values()].sort((a, b) =>
    a.policy === b.policy ? a.direction.localeCompare(b.direction) : a.policy < b.policy ? -1 : 1,
  );
}
