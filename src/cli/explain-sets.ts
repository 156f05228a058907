/**
 * The shared sets behind an explain verdict, and whether the other end is
 * in them as the API holds them now: what `explain --kubeconfig|--server`
 * adds besides the live counters. The oracle decides from selectors; the
 * kernel decides from set members, which the controller writes into
 * AddressSet slices. When the two disagree — a pod allowed by the policies
 * whose address is not in its peer's set yet — this is where it shows.
 *
 * Which sets: for each side the oracle decided by NetworkPolicy rules
 * (allowed by a rule, or denied because none matched), the rules that
 * allowed it, or, when denied, every rule of the isolating policies whose
 * ports match; for a side an Admin or Baseline ClusterNetworkPolicy rule
 * decided (`decidedBy`; Accept or Deny), that rule. Of each rule, the sets
 * the dataplane consults for this connection, as rule-compiler.ts builds
 * them:
 *  - a `pods` peer: its pods set (peer-sets.ts `podsPeerSet`, or
 *    `clusterPeerSet` for a ClusterNetworkPolicy peer), member = the other
 *    end's address — except for an egress port matched by name;
 *  - an egress named port matched on the destination pod: the named-port set
 *    of each peer (`namedPortSet`: every peer kind, or any destination when
 *    the rule has no `to`; `clusterNamedPortSet`: `pods` peers only),
 *    member = `<address> . <proto> . <port>`.
 * A rule that matched (an allowing NetworkPolicy rule, the deciding tier
 * rule) shows only the sets that, by the input, hold the member (the peer
 * that matched); a NetworkPolicy denial shows them all. A tier rule that
 * fails closed, and the Pass rules gone through, show none.
 *
 * PURE: the AddressSets come in as listed (live-sets.ts).
 */
import { formatIp, parseIp } from '../policy/cidr.js';
import { ClusterIndex } from '../policy/cluster-index.js';
import type {
  Cluster,
  ClusterPort,
  ClusterRule,
  Direction,
  Peer,
  Pod,
  Policy,
  PortSpec,
  Rule,
} from '../policy/model.js';
import { clusterPolicyName, qualifiedName } from '../policy/model.js';
import {
  clusterNamedPortSet,
  clusterPeerSet,
  membersOf,
  namedPortMember,
  namedPortSet,
  podsPeerSet,
  type PeerSet,
} from '../policy/peer-sets.js';
import { resolvePortSpec } from '../policy/ports.js';
import type { ClusterRuleRef, Connection, RuleRef, SideVerdict } from '../policy/verdict.js';
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
  /**
   * The rule whose peer (or named port) the set stands for: a NetworkPolicy
   * rule (`namespace/name`) or a ClusterNetworkPolicy rule (`cnp:<name>`).
   */
  readonly rule: RuleRef;
  /**
   * How the side decided: allowed by this rule, denied because no
   * NetworkPolicy rule matched, or allowed or denied by this tier rule
   * (Accept or Deny).
   */
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
  /** Adds each set once; `matched`: the rule matched, so only the sets that hold the member. */
  const add = (
    side: SideVerdict,
    ref: RuleRef,
    decided: 'allowed' | 'denied',
    matched: boolean,
    used: readonly { readonly set: PeerSet; readonly member: string }[],
  ): void => {
    const seen = new Set<string>();
    for (const { set, member } of used) {
      if (seen.has(set.id)) continue;
      seen.add(set.id);
      const memberInInput = inInput(set, member);
      if (matched && !memberInInput) continue;
      const { direction } = side;
      out.push({ direction, rule: ref, decided, setId: set.id, member, memberInInput });
    }
  };
  for (const side of [verdict.egress, verdict.ingress]) {
    const peerIp = formatIp(parseIp(side.direction === 'egress' ? c.to : c.from));
    const decided = side.allowed ? 'allowed' : 'denied';
    if (side.decidedBy !== null) {
      // An Admin or Baseline rule matched first and decided (Accept or Deny).
      const rule = clusterRuleOf(cluster, side.decidedBy);
      if (rule === undefined || rule.failClosed !== null) continue;
      const used = setsOfClusterRule(rule, side.direction, destination, c, peerIp);
      add(side, ruleRefOf(side.decidedBy), decided, true, used);
      continue;
    }
    if (side.reason !== 'allowed-by-rule' && side.reason !== 'no-rule-matched') continue;
    for (const ref of rulesOf(side, policies)) {
      const policy = policies.get(ref.policy);
      const rule = (side.direction === 'ingress' ? policy?.ingress : policy?.egress)?.[ref.rule];
      if (policy === undefined || rule === undefined) continue;
      const used = setsOfRule(policy, rule, side.direction, destination, c, peerIp);
      add(side, ref, decided, side.allowed, used);
    }
  }
  return out;
}

/** The ClusterNetworkPolicy rule `ref` names, or undefined when the input has none. */
function clusterRuleOf(cluster: Cluster, ref: ClusterRuleRef): ClusterRule | undefined {
  const cnp = (cluster.clusterPolicies ?? []).find((p) => clusterPolicyName(p) === ref.policy);
  return (ref.direction === 'ingress' ? cnp?.ingress : cnp?.egress)?.[ref.rule];
}

function ruleRefOf(ref: ClusterRuleRef): RuleRef {
  return { policy: ref.policy, direction: ref.direction, rule: ref.rule };
}

/**
 * The sets a ClusterNetworkPolicy rule consults for `connection`, with the
 * element the peer would be (rule-compiler.ts `compileCluster`): per `pods`
 * peer, its pods set when the rule has no ports or a numbered one matches
 * (on ingress, a named one resolved on the destination, the chain's own
 * pod); on egress, its named-port set per named port the destination pod
 * declares with the connection's protocol and port. `networks` peers are
 * inline CIDRs: no set.
 */
function setsOfClusterRule(
  rule: ClusterRule,
  direction: Direction,
  destination: Pod | null,
  connection: Connection,
  peerIp: string,
): { readonly set: PeerSet; readonly member: string }[] {
  const namedMatches = (name: string): boolean =>
    (destination?.ports ?? []).some(
      (p) =>
        p.name === name &&
        p.protocol === connection.protocol &&
        p.containerPort === connection.port,
    );
  const inline = (p: ClusterPort): boolean =>
    p.kind === 'port'
      ? p.protocol === connection.protocol &&
        p.first <= connection.port &&
        connection.port <= p.last
      : direction === 'ingress' && namedMatches(p.name);
  const byAddress = rule.ports === null || rule.ports.some(inline);
  const names =
    direction === 'egress'
      ? [
          ...new Set(
            (rule.ports ?? []).flatMap((p) =>
              p.kind === 'named' && namedMatches(p.name) ? [p.name] : [],
            ),
          ),
        ]
      : [];
  const member = namedPortMember(peerIp, connection.protocol, connection.port);
  return rule.peers.flatMap((peer) =>
    peer.kind !== 'pods'
      ? []
      : [
          ...(byAddress ? [{ set: clusterPeerSet(peer), member: peerIp }] : []),
          ...names.map((name) => ({ set: clusterNamedPortSet(peer, name), member })),
        ],
  );
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
