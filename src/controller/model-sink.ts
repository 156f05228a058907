/**
 * Where informer events meet the controller's model: each Pod, Namespace,
 * Node, NetworkPolicy or NodeFirewall change updates the cluster snapshot and
 * marks the nodes it touches dirty (level-based: the engine re-reads current
 * state), records the uids Events and owner references need, and warns on a
 * policy that is skipped as invalid or names a port no pod declares. A
 * NodeFirewall deleted or edited by hand marks its node so the engine writes
 * it again; AddressSet slices go to the set publisher, which rewrites one
 * changed by someone else. Kept apart from main.ts so the composition root
 * only wires.
 */
import { clusterPolicyObject, policyObject, type WarningEvents } from '../k8s/events.js';
import type { Logger } from '../telemetry/log.js';
import type { ControllerMetrics } from '../telemetry/metrics.js';
import type { Engine } from './engine.js';
import type { ModelSink } from './informers.js';
import type { Publisher } from './publisher.js';
import type { SetPublisher } from './set-publisher.js';
import { findUnresolvedNamedPorts, type ClusterSnapshot } from './snapshot.js';
import { isEnforceable, qualifiedName, type Pod } from '../policy/model.js';
import { claimReason, compareIpClaims } from '../policy/shared-ips.js';

/** What the sink updates and reports to. */
export interface ModelSinkDeps {
  readonly snapshot: ClusterSnapshot;
  readonly engine: Engine;
  readonly publisher: Publisher;
  readonly setPublisher: SetPublisher;
  readonly events: WarningEvents;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** Node name → uid, for owner references and Node Events (kept up to date here). */
  readonly nodeUids: Map<string, string>;
  /** True while this replica renders and writes (leader, informers synced). */
  readonly active: () => boolean;
  /** After nodes were marked dirty (e.g. to update the queue gauge). */
  readonly onMarked: () => void;
}

/** The controller's model sink, and a re-check of every policy's named ports (on activation). */
export function controllerModelSink(deps: ModelSinkDeps): {
  readonly sink: ModelSink;
  checkAllNamedPorts(): void;
} {
  const { snapshot, engine, publisher, events, log, metrics, nodeUids, active } = deps;
  let crdMissingSaid = false;
  let crdSeen = false;
  /** `namespace/name` → uid of every valid policy, for its Events. */
  const policyUids = new Map<string, string>();
  const mark = (nodes: Iterable<string>, cause: string): void => {
    engine.markDirty(nodes, [cause]);
    deps.onMarked();
  };
  const checkNamedPorts = (key: string): void => {
    const policy = snapshot.policy(key);
    if (policy === undefined || !active()) return;
    const misses = findUnresolvedNamedPorts(snapshot, policy);
    if (misses.length > 0) {
      events.warn(
        policyObject(policy, policyUids.get(key) ?? ''),
        'NamedPortUnresolved',
        misses.join('; '),
      );
    }
  };

  /** Logs each IP `pod` shares with another pod, and whose policies the node enforces for it. */
  const warnSharedIps = (pod: Pod): void => {
    for (const { ip, pod: other } of snapshot.sharersOf(pod)) {
      const [winner, loser] = compareIpClaims(pod, other) <= 0 ? [pod, other] : [other, pod];
      log.warn(
        {
          ip,
          pods: [qualifiedName(pod), qualifiedName(other)],
          enforcedFor: qualifiedName(winner),
          why: claimReason(winner, loser),
        },
        'two pods claim one IP; only one pod’s policies can be enforced for it',
      );
    }
  };

  const sink: ModelSink = {
    event: (kind) => metrics.events.inc({ kind }),
    namespace: (ref, ns) =>
      mark(
        ns === null ? snapshot.deleteNamespace(ref.name) : snapshot.setNamespace(ns),
        `Namespace ${ref.name}`,
      ),
    pod: (ref, pod) => {
      mark(
        pod === null ? snapshot.deletePod(ref.namespace, ref.name) : snapshot.setPod(pod),
        `Pod ${ref.namespace}/${ref.name}`,
      );
      if (pod !== null && isEnforceable(pod)) warnSharedIps(pod);
    },
    node: (ref, node) => {
      if (node === null) nodeUids.delete(ref.name);
      else nodeUids.set(ref.name, ref.uid);
      mark(
        node === null ? snapshot.deleteNode(ref.name) : snapshot.setNode(node),
        `Node ${ref.name}`,
      );
    },
    policy: (ref, policy, problems) => {
      const key = `${ref.namespace}/${ref.name}`;
      const cause = `NetworkPolicy ${key}`;
      if (policy === null) {
        policyUids.delete(key);
        mark(snapshot.deletePolicy(ref.namespace, ref.name), cause);
        const errors = problems.filter((p) => p.severity === 'error');
        if (errors.length > 0) {
          log.warn(
            { policy: key, problems: errors.map((p) => p.message) },
            'skipped invalid policy',
          );
          if (active()) {
            events.warn(
              policyObject(ref, ref.uid),
              'InvalidPolicy',
              `not enforced: ${errors.map((p) => `${p.field} ${p.message}`.trim()).join('; ')}`,
            );
          }
        }
        return;
      }
      policyUids.set(key, ref.uid);
      mark(snapshot.setPolicy(policy), cause);
      checkNamedPorts(key);
    },
    nodeFirewall: (ref, observed) => {
      const fingerprint = observed?.fingerprint ?? null;
      publisher.observe(ref.name, fingerprint);
      if (!active()) return;
      const exists = snapshot.hasNode(ref.name);
      if (fingerprint === null) {
        if (exists) mark([ref.name], `NodeFirewall ${ref.name}`); // deleted by hand: recreate
      } else if (!exists || engine.lastHash(ref.name) !== fingerprint) {
        mark([ref.name], `NodeFirewall ${ref.name}`); // orphan, or edited by hand: restore
      }
    },
    addressSet: (ref, slice) => {
      deps.setPublisher.observe(ref.name, slice);
    },
    clusterPolicy: (ref, policy, problems) => {
      const cause = `ClusterNetworkPolicy ${ref.name}`;
      const say = (level: 'error' | 'warning'): string[] =>
        problems.filter((p) => p.severity === level).map((p) => `${p.field} ${p.message}`.trim());
      if (crdMissingSaid && !crdSeen) {
        crdSeen = true;
        log.info('ClusterNetworkPolicy CRD appeared; enforcing the admin and baseline tiers');
      }
      if (policy === null) {
        mark(snapshot.deleteClusterPolicy(ref.name), cause);
        const errors = say('error');
        if (errors.length === 0) return;
        log.warn(
          { clusterPolicy: ref.name, problems: errors },
          'skipped invalid ClusterNetworkPolicy',
        );
        if (active()) {
          events.warn(
            clusterPolicyObject(ref.name, ref.uid),
            'InvalidClusterPolicy',
            `not enforced: ${errors.join('; ')}`,
          );
        }
        return;
      }
      mark(snapshot.setClusterPolicy(policy), cause);
      const warnings = say('warning');
      if (warnings.length === 0) return;
      log.warn(
        { clusterPolicy: ref.name, problems: warnings },
        'ClusterNetworkPolicy partly unsupported',
      );
      if (active()) {
        events.warn(
          clusterPolicyObject(ref.name, ref.uid),
          'PartlyUnsupported',
          `enforced, with rules that fail closed: ${warnings.join('; ')}`,
        );
      }
    },
    clusterPolicyCrdMissing: () => {
      if (crdMissingSaid) return;
      crdMissingSaid = true;
      log.info(
        'ClusterNetworkPolicy CRD (policy.networking.k8s.io/v1alpha2) is not installed; running without the admin and baseline tiers, and watching for it',
      );
    },
  };
  return {
    sink,
    checkAllNamedPorts: () => {
      for (const key of policyUids.keys()) checkNamedPorts(key);
    },
  };
}
