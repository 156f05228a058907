/**
 * Shared peer set memberships, kept incrementally (v2). Every shared set the
 * policies define (policy/peer-sets.ts) has its members here, updated per
 * event so a pod change costs the sets that could hold it, not every
 * selector against every pod:
 *
 *  - a selector index narrows the sets a pod can be in: sets of `pods` peers
 *    of its own namespace, sets whose namespaceSelector matches its namespace
 *    (cached per namespace), named-port sets on any destination, and
 *    named-port sets on ipBlocks (few; checked by address);
 *  - each pod's contribution (the members it puts in each set) is kept, so a
 *    change re-evaluates that pod only and yields exactly the sets whose
 *    members changed;
 *  - a namespace relabel re-evaluates the pods of that namespace; a policy
 *    change adds or drops the sets it defines (reference counted: identical
 *    peers in many policies are one set).
 *
 * Members are the texts AddressSets carry (peer-sets.ts membersOf computes the
 * same from scratch, and a property test holds the two equal). Which pod an IP
 * is enforced for, when pods share one, comes from the host (the snapshot).
 */
import { formatIp, parseCidr, parseIp, rangeContains, subtractRanges } from '../policy/cidr.js';
import type { ClusterPolicy, Labels, Pod, Policy } from '../policy/model.js';
import { clusterPolicyName, qualifiedName } from '../policy/model.js';
import {
  clusterPolicySets,
  namedPortMembers,
  peerSetsOf,
  type PeerSet,
} from '../policy/peer-sets.js';
import { matchesSelector } from '../policy/selector.js';

/** What memberships read from the snapshot. */
export interface MembershipHost {
  /** Pods of the namespace (any state). */
  podsIn(namespace: string): Iterable<Pod>;
  /** Every pod. */
  allPods(): Iterable<Pod>;
  /** Every namespace that has pods or a Namespace object. */
  namespaceNames(): Iterable<string>;
  /** The namespace's labels (with kubernetes.io/metadata.name even when not seen yet). */
  namespaceLabels(namespace: string): Labels;
  /** The pod's IPs enforced for it (shared-ips.ts), none when it is not enforceable. */
  ownedIps(pod: Pod): readonly string[];
}

/** Members that joined and left one set since changes were last taken. */
export interface MemberDelta {
  readonly added: Set<string>;
  readonly removed: Set<string>;
}

interface SetState {
  readonly set: PeerSet;
  /** Policies defining it. */
  refs: number;
  /** Member → how many pods contribute it (1 but during ownership flips). */
  readonly members: Map<string, number>;
  /** Pods contributing to it. */
  readonly pods: Set<string>;
  /** Parsed block for ipBlock named-port sets. */
  readonly block: ReturnType<typeof subtractRanges> | null;
}

/** Shared set memberships, kept per event. */
export class Memberships {
  private readonly host: MembershipHost;
  private readonly sets = new Map<string, SetState>();
  private readonly definedBy = new Map<string, readonly string[]>();
  /** `pods` peers scoped to one namespace (podSelector alone), by namespace. */
  private readonly byNamespace = new Map<string, Set<string>>();
  /** Sets whose peer has a namespaceSelector. */
  private readonly nsSelectorSets = new Set<string>();
  /** nsSelectorSets matching each namespace, computed on first use. */
  private readonly nsMatch = new Map<string, Set<string>>();
  /** Named-port sets on any destination, or on ipBlocks: every pod is a candidate. */
  private readonly everywhere = new Set<string>();
  /** Pod → set → members it contributes. */
  private readonly contributions = new Map<string, Map<string, readonly string[]>>();
  private changed = new Set<string>();
  private removed = new Set<string>();
  /**
   * Per changed set, the members that joined and left since the last take;
   * null for a set that is new since (its whole membership is the change).
   */
  private deltas = new Map<string, MemberDelta | null>();

  constructor(host: MembershipHost) {
    this.host = host;
  }

  /** Set ids defined now, sorted. */
  ids(): string[] {
    return [...this.sets.keys()].sort();
  }

  /** The set with `id`, if a policy defines it. */
  setOf(id: string): PeerSet | undefined {
    return this.sets.get(id)?.set;
  }

  /** The members of set `id` (unsorted); empty for an unknown id. */
  membersOf(id: string): string[] {
    return [...(this.sets.get(id)?.members.keys() ?? [])];
  }

  /** True when {@link takeChanges} has something to return. */
  hasChanges(): boolean {
    return this.changed.size > 0 || this.removed.size > 0;
  }

  /**
   * Sets whose members changed, and sets no longer defined, since the last
   * call; both cleared. A set both added and removed in between is in neither
   * or in `removed` only.
   */
  takeChanges(): {
    readonly changed: Set<string>;
    readonly removed: Set<string>;
    /** Per changed set, what joined and left; null for a set new since the last take. */
    readonly deltas: ReadonlyMap<string, MemberDelta | null>;
  } {
    const out = { changed: this.changed, removed: this.removed, deltas: this.deltas };
    this.changed = new Set();
    this.removed = new Set();
    this.deltas = new Map();
    return out;
  }

  /** A policy was added, changed (`policy` its new version) or deleted (`policy` undefined). */
  setPolicy(key: string, policy: Policy | undefined): void {
    this.define(key, policy === undefined ? [] : [...peerSetsOf([policy]).values()]);
  }

  /** ClusterNetworkPolicy `name` was added, changed or deleted (`policy` undefined). */
  setClusterPolicy(name: string, policy: ClusterPolicy | undefined): void {
    const sets = policy === undefined ? [] : clusterPolicySets(policy);
    this.define(clusterPolicyName({ name }), [...new Map(sets.map((x) => [x.id, x])).values()]);
  }

  /** The sets defined under `key` are now `now` (unique by id): retain the new, release the old. */
  private define(key: string, now: readonly PeerSet[]): void {
    const before = this.definedBy.get(key) ?? [];
    if (now.length === 0) this.definedBy.delete(key);
    else
      this.definedBy.set(
        key,
        now.map((s) => s.id),
      );
    for (const set of now) this.retain(set);
    for (const id of before) this.release(id);
  }

  /** The pods (by `namespace/name`, current version or undefined when gone) may have changed. */
  refreshPods(pods: Iterable<readonly [string, Pod | undefined]>): void {
    for (const [key, pod] of pods) this.refreshPod(key, pod, null);
  }

  /** The namespace's labels changed (or it came or went). */
  refreshNamespace(namespace: string): void {
    this.nsMatch.delete(namespace);
    for (const pod of this.host.podsIn(namespace)) this.refreshPod(qualifiedName(pod), pod, null);
  }

  private retain(set: PeerSet): void {
    const state = this.sets.get(set.id);
    if (state !== undefined) {
      state.refs++;
      return;
    }
    const peer = set.peer;
    this.sets.set(set.id, {
      set,
      refs: 1,
      members: new Map(),
      pods: new Set(),
      block:
        peer.kind === 'ipBlock'
          ? subtractRanges(parseCidr(peer.cidr), peer.except.map(parseCidr))
          : null,
    });
    this.removed.delete(set.id);
    this.changed.add(set.id); // a new set is written even when empty
    this.deltas.set(set.id, null);
    let candidates: Iterable<Pod>;
    if (peer.kind === 'pods' && peer.namespaceSelector === null) {
      addTo(this.byNamespace, peer.namespace ?? '', set.id);
      candidates = this.host.podsIn(peer.namespace ?? '');
    } else if (peer.kind === 'pods') {
      const selector = peer.namespaceSelector;
      this.nsSelectorSets.add(set.id);
      const matching: Pod[] = [];
      for (const ns of this.host.namespaceNames()) {
        const hit = selector !== null && matchesSelector(selector, this.host.namespaceLabels(ns));
        const cached = this.nsMatch.get(ns);
        if (hit) {
          cached?.add(set.id);
          matching.push(...this.host.podsIn(ns));
        }
      }
      candidates = matching;
    } else {
      this.everywhere.add(set.id);
      candidates = this.host.allPods();
    }
    for (const pod of candidates) this.refreshPod(qualifiedName(pod), pod, set.id);
  }

  private release(id: string): void {
    const state = this.sets.get(id);
    if (state === undefined) return;
    if (--state.refs > 0) return;
    this.sets.delete(id);
    const peer = state.set.peer;
    if (peer.kind === 'pods' && peer.namespaceSelector === null) {
      removeFrom(this.byNamespace, peer.namespace ?? '', id);
    } else if (peer.kind === 'pods') {
      this.nsSelectorSets.delete(id);
      for (const cached of this.nsMatch.values()) cached.delete(id);
    } else {
      this.everywhere.delete(id);
    }
    for (const podKey of state.pods) this.contributions.get(podKey)?.delete(id);
    this.changed.delete(id);
    this.deltas.delete(id);
    this.removed.add(id);
  }

  /** The delta being recorded for `id` (created empty), or null when the set is new. */
  private deltaFor(id: string): MemberDelta | null {
    if (this.deltas.has(id)) return this.deltas.get(id) ?? null;
    const delta: MemberDelta = { added: new Set(), removed: new Set() };
    this.deltas.set(id, delta);
    return delta;
  }

  /** Sets whose peer namespaceSelector matches `namespace`. */
  private nsSetsOf(namespace: string): Set<string> {
    let found = this.nsMatch.get(namespace);
    if (found === undefined) {
      const labels = this.host.namespaceLabels(namespace);
      found = new Set();
      for (const id of this.nsSelectorSets) {
        const peer = this.sets.get(id)?.set.peer;
        if (peer?.kind === 'pods' && peer.namespaceSelector !== null) {
          if (matchesSelector(peer.namespaceSelector, labels)) found.add(id);
        }
      }
      this.nsMatch.set(namespace, found);
    }
    return found;
  }

  /**
   * Re-evaluates `pod`'s contributions: to every candidate set, or to `only`.
   * Sets it left are updated too (its old contributions are remembered).
   */
  private refreshPod(key: string, pod: Pod | undefined, only: string | null): void {
    const before = this.contributions.get(key) ?? new Map<string, readonly string[]>();
    const after = new Map<string, readonly string[]>();
    const ips = pod === undefined ? [] : this.host.ownedIps(pod).map((ip) => formatIp(parseIp(ip)));
    if (pod !== undefined && ips.length > 0) {
      const candidates =
        only !== null
          ? [only]
          : [
              ...(this.byNamespace.get(pod.namespace) ?? []),
              ...this.nsSetsOf(pod.namespace),
              ...this.everywhere,
            ];
      for (const id of candidates) {
        const state = this.sets.get(id);
        if (state === undefined) continue;
        const members = contribution(state, pod, ips);
        if (members.length > 0) after.set(id, members);
      }
    }
    const touched = only !== null ? [only] : new Set([...before.keys(), ...after.keys()]);
    for (const id of touched) {
      const state = this.sets.get(id);
      if (state === undefined) continue;
      const was = before.get(id) ?? [];
      const is = after.get(id) ?? [];
      if (sameList(was, is)) continue;
      const delta = this.deltaFor(id);
      for (const m of was) {
        const n = (state.members.get(m) ?? 0) - 1;
        if (n > 0) state.members.set(m, n);
        else {
          state.members.delete(m);
          if (delta !== null && !delta.added.delete(m)) delta.removed.add(m);
        }
      }
      for (const m of is) {
        const n = (state.members.get(m) ?? 0) + 1;
        state.members.set(m, n);
        if (n === 1 && delta !== null && !delta.removed.delete(m)) delta.added.add(m);
      }
      if (is.length > 0) state.pods.add(key);
      else state.pods.delete(key);
      this.changed.add(id);
    }
    // Keep the pod's record: the sets evaluated now, plus (with `only`) the rest as they were.
    const record = only !== null ? new Map(before) : after;
    if (only !== null) {
      const is = after.get(only);
      if (is === undefined) record.delete(only);
      else record.set(only, is);
    }
    if (record.size === 0) this.contributions.delete(key);
    else this.contributions.set(key, record);
  }
}

/** The members `pod` (at its owned `ips`) puts in the set, or none when the peer misses it. */
function contribution(state: SetState, pod: Pod, ips: readonly string[]): readonly string[] {
  const { set, block } = state;
  const peer = set.peer;
  let at = ips;
  if (peer.kind === 'pods') {
    if (peer.namespaceSelector === null && peer.namespace !== pod.namespace) return [];
    if (!matchesSelector(peer.podSelector, pod.labels)) return [];
  } else if (block !== null) {
    at = ips.filter((ip) => block.some((r) => rangeContains(r, parseIp(ip))));
  }
  return set.namedPort === null ? at : namedPortMembers(set.namedPort, pod, at);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}
