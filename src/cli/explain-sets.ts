/**
 * The shared sets behind an explain verdict, and whether the other end is
 * in them as the API holds them now: what `explain --kubeconfig|--server`
 * adds besides the live counters. The oracle decides from selectors; the
 * kernel decides from set members, which the controller writes into
 * AddressSet slices. When the two disagree — a pod allowed by the policies
 * whose address is not in its peer's set yet — this is where it shows.
 *
 * Which sets: for each side the oracle decided by rules (allowed by a rule,
 * or denied because none matched), the rules that allowed it, or, when
 * denied, every rule of the isolating policies whose ports match; of each
 * rule, the sets the dataplane consults for this connection, as
 * rule-compiler.ts builds them:
 *  - a `pods` peer: its pods set (peer-sets.ts `podsPeerSet`), member = the
 *    other end's address — except for an egress port matched by name;
 *  - an egress named port matched on the destination pod: the named-port set
 *    of each peer (`namedPortSet`; every peer kind, or any destination when
 *    the rule has no `to`), member = `<address> . <proto> . <port>`.
 * An allowing rule shows only the sets that, by the input, hold the member
 * (the peer that matched); a denial shows them all.
 *
 * PURE: the AddressSets come in as listed (live-sets.ts).
 */
import { formatIp, parseIp } from '../policy/cidr.js';
import { ClusterIndex } from '../policy/cluster-index.js';
import type { Cluster, Direction, Peer, Pod, Policy, PortSpec, Rule } from '../policy/model.js';
import { qualifiedName } from '../policy/model.js';
import {
  membersOf,
  namedPortMember,
  namedPortSet,
  podsPeerSet,
  type PeerSet,
} from '../policy/peer-sets.js';
import { resolvePortSpec } from '../policy/ports.js';
import type { Connection, RuleRef, SideVerdict } from '../policy/verdict.js';
import type { Explanation } from './commands/explain.js';
import { HANDFUL } from './format.js';
import {
  membershipOf,
  slicesBySet,
  unreadableLine,
  type LiveMembership,
  type LiveSets,
} from './live-sets.js';

/** One shared set a rule of one side uses for this connection. */
export interface DecidingSet {
  /** The side: the source's egress or the destination's ingress. */
  readonly direction: Direction;
  /** The rule whose peer (or named port) the set stands for. */
  readonly rule: RuleRef;
  /** Whether the side allowed the connection (by this rule) or denied it (no rule matched). */
  readonly decided: 'allowed' | 'denied';
  /** `pods-<16 hex>` or `port-<16 hex>`. */
  readonly setId: string;
  /** The element the other end is in the set as: `10.0.0.7`, `10.0.0.7 . tcp . 8080`. */
  readonly member: string;
  /** Whether the set's members, computed from the input, hold {@link member}. */
  readonly memberInInput: boolean;
}

/** A deciding set with its live membership; `live` null when AddressSets could not be read. */
export interface LiveSetCheck extends DecidingSet {
  readonly live: LiveMembership | null;
}

/** explain's `liveSets` in JSON. */
export type LiveSetsJson =
  | { readonly readable: true; readonly checks: readonly LiveSetCheck[] }
  | { readonly readable: false; readonly why: string; readonly checks: readonly LiveSetCheck[] };

/**
 * The shared sets deciding each side of `explanation` (see the file header),
 * egress then ingress, in rule order, each set once per rule.
 */
export function decidingSetsOf(cluster: Cluster, explanation: Explanation): DecidingSet[] {
  const { verdict } = explanation;
  const c = verdict.connection;
  const index = new ClusterIndex(cluster);
  const members = new Map<string, ReadonlySet<string>>();
  const inInput = (set: PeerSet, member: string): boolean => {
    let found = members.get(set.id);
    if (found === undefined) {
      found = new Set(membersOf(set, index));
      members.set(set.id, found);
    }
    return found.has(member);
  };
  const podNamed = (name: string | null | undefined): Pod | null =>
    name === null || name === undefined
      ? null
      : (cluster.pods.find((p) => qualifiedName(p) === name) ?? null);
  const policies = new Map(cluster.policies.map((p) => [qualifiedName(p), p]));
  // Named ports resolve on the destination: the pod the destination address is enforced for.
  const destination = podNamed(verdict.ingress.sharedIp?.enforced ?? explanation.to.pod);

  const out: DecidingSet[] = [];
  for (const side of [verdict.egress, verdict.ingress]) {
    if (side.reason !== 'allowed-by-rule' && side.reason !== 'no-rule-matched') continue;
    const decided = side.reason === 'allowed-by-rule' ? 'allowed' : 'denied';
    const peerIp = formatIp(parseIp(side.direction === 'egress' ? c.to : c.from));
    for (const ref of rulesOf(side, policies)) {
      const policy = policies.get(ref.policy);
      const rule = (side.direction === 'ingress' ? policy?.ingress : policy?.egress)?.[ref.rule];
      if (policy === undefined || rule === undefined) continue;
      const seen = new Set<string>();
      const used = setsOfRule(policy, rule, side.direction, destination, c, peerIp);
      for (const { set, member } of used) {
        if (seen.has(set.id)) continue;
        seen.add(set.id);
        const expected = inInput(set, member);
        // An allowing rule: only the peer that matched, whose set holds the member.
        if (decided === 'allowed' && !expected) continue;
        out.push({
          direction: side.direction,
          rule: ref,
          decided,
          setId: set.id,
          member,
          memberInInput: expected,
        });
      }
    }
  }
  return out;
}

/** The rules to look at: those that allowed the side, or every rule of the isolating policies. */
function rulesOf(side: SideVerdict, policies: ReadonlyMap<string, Policy>): RuleRef[] {
  if (side.reason === 'allowed-by-rule') return [...side.allowedBy];
  return side.policies.flatMap((name) => {
    const policy = policies.get(name);
    const rules = (side.direction === 'ingress' ? policy?.ingress : policy?.egress) ?? [];
    return rules.map((_, rule) => ({ policy: name, direction: side.direction, rule }));
  });
}

/** The sets `rule` consults for `connection`, with the element the peer would be. */
function setsOfRule(
  policy: Policy,
  rule: Rule,
  direction: Direction,
  destination: Pod | null,
  connection: Connection,
  peerIp: string,
): { readonly set: PeerSet; readonly member: string }[] {
  const peers = rule.peers === null || rule.peers.length === 0 ? null : rule.peers;
  const ports = rule.ports === null || rule.ports.length === 0 ? null : rule.ports;
  const matches = (spec: PortSpec): boolean => {
    if (spec.protocol !== connection.protocol) return false;
    const range = resolvePortSpec(spec, destination);
    return range !== null && range.first <= connection.port && connection.port <= range.last;
  };
  const podsSets = (): { set: PeerSet; member: string }[] =>
    (peers ?? [])
      .filter((p): p is Extract<Peer, { kind: 'pods' }> => p.kind === 'pods')
      .map((p) => ({ set: podsPeerSet(policy, p), member: peerIp }));
  // Ingress: every port, named too, resolves on the chain's own pod; the peer is a set lookup.
  if (direction === 'ingress') return ports === null || ports.some(matches) ? podsSets() : [];
  const out: { set: PeerSet; member: string }[] = [];
  if (ports === null || ports.some((s) => typeof s.port !== 'string' && matches(s))) {
    out.push(...podsSets());
  }
  for (const spec of ports ?? []) {
    if (typeof spec.port !== 'string' || !matches(spec)) continue;
    const member = namedPortMember(peerIp, spec.protocol, connection.port);
    for (const peer of peers ?? [null]) {
      out.push({ set: namedPortSet(policy, peer, spec.port, spec.protocol), member });
    }
  }
  return out;
}

/** Each deciding set with its membership in `live` (null for all when unreadable). */
export function liveSetChecksOf(sets: readonly DecidingSet[], live: LiveSets): LiveSetCheck[] {
  if (live.kind === 'unreadable') return sets.map((s) => ({ ...s, live: null }));
  const bySet = slicesBySet(live.slices);
  return sets.map((s) => ({ ...s, live: membershipOf(bySet, s.setId, s.member) }));
}

/** The `liveSets` JSON field. */
export function liveSetsJson(checks: readonly LiveSetCheck[], live: LiveSets): LiveSetsJson {
  return live.kind === 'unreadable'
    ? { readable: false, why: live.why, checks }
    : { readable: true, checks };
}

function checkText(c: LiveSetCheck): string {
  const what = `live set ${c.setId}: ${c.member}`;
  const live = c.live;
  if (live === null) return `${what}: not read`;
  switch (live.kind) {
    case 'no-set':
      return `live set ${c.setId}: no AddressSet slice at all: the controller has not written this set, and nodes load it empty (its peer matches nothing)`;
    case 'member':
      return c.memberInInput
        ? `${what} is a member (slice ${live.slice})`
        : `${what} is a member (slice ${live.slice}), though by the input it is not: the cluster differs from the input`;
    case 'absent':
      return c.memberInInput
        ? `${what} is NOT a member yet: the controller has not written it, or the pod is not enforceable`
        : `${what} is not a member, as in the input`;
  }
}

/**
 * The text after explain's answer: a header, then per side at most
 * {@link HANDFUL} lines `<rule>: live set <id>: <member> is …`, counting the
 * rest; or one line when AddressSets could not be read, or no set decides.
 */
export function formatLiveSets(checks: readonly LiveSetCheck[], live: LiveSets): string {
  const unreadable = unreadableLine(live, 'set membership is not shown');
  if (unreadable !== null) return `${unreadable}\n`;
  if (checks.length === 0)
    return 'live sets: no rule deciding this connection names a shared set\n';
  const lines = (['egress', 'ingress'] as const).flatMap((direction) => {
    const own = checks.filter((c) => c.direction === direction);
    const shown = own
      .slice(0, HANDFUL)
      .map((c) => `  ${c.rule.policy} ${c.rule.direction} rule ${c.rule.rule}: ${checkText(c)}`);
    return own.length > HANDFUL
      ? [...shown, `  and ${own.length - HANDFUL} more ${direction} sets (-o json lists all)`]
      : shown;
  });
  return `live sets (AddressSets as the API holds them now):\n${lines.join('\n')}\n`;
}
