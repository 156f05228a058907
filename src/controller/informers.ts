/**
 * The controller's five informers — Pods, Namespaces, NetworkPolicies, Nodes
 * and NodeFirewalls — and the conversion of what they see into model objects
 * (policy/from-k8s) handed to a {@link ModelSink}. Objects are stripped to
 * the fields from-k8s reads as they arrive, so 150k pods cost kilobytes each
 * less than the API objects would; a NodeFirewall keeps only its hash, or
 * `tampered` when its script does not hash to it.
 */
import type { ApiClients } from '../k8s/client.js';
import {
  startInformer,
  type InformerSpec,
  type KubernetesObject,
  type RunningInformer,
} from '../k8s/informer.js';
import { GROUP, PLURAL, VERSION } from '../k8s/nodefirewall.js';
import { ADDRESS_SET_PLURAL, type AddressSet } from '../k8s/addressset.js';
import { observedSlice, type ObservedSlice } from './slices.js';
import { statusCode } from '../k8s/errors.js';
import { CNP_GROUP, CNP_PLURAL, CNP_VERSION } from '../k8s/cluster-network-policy.js';
import { clusterPolicyFromK8s } from '../policy/cluster-policy-from-k8s.js';
import { decodeSpecScript } from '../k8s/script-encoding.js';
import { hashScript } from '../nft/hash.js';
import type { Problem } from '../policy/from-k8s.js';
import { namespaceFromK8s } from '../policy/namespace-from-k8s.js';
import { nodeFromK8s } from '../policy/node-from-k8s.js';
import { podFromK8s } from '../policy/pod-from-k8s.js';
import { policyFromK8s } from '../policy/policy-from-k8s.js';
import type { ClusterPolicy, Namespace, Node, Pod, Policy } from '../policy/model.js';
import type { WatchedKind } from '../telemetry/metrics.js';
import { TAMPERED } from './publisher.js';

/** Identity of a namespaced or cluster-scoped object. */
export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** Receives the model as the informers see it; `null` means deleted (or unusable). */
export interface ModelSink {
  pod(ref: ObjectRef, pod: Pod | null): void;
  namespace(ref: ObjectRef, namespace: Namespace | null): void;
  /** `problems` holds why a policy is null although it exists (failed validation). */
  policy(ref: ObjectRef, policy: Policy | null, problems: readonly Problem[]): void;
  node(ref: ObjectRef, node: Node | null): void;
  /** What the informer observed of a NodeFirewall; `null` when it was deleted. */
  nodeFirewall(ref: ObjectRef, observed: NodeFirewallObservation | null): void;
  /** An AddressSet slice as observed; `null` when deleted or not a slice nftpol writes. */
  addressSet(ref: ObjectRef, slice: ObservedSlice | null): void;
  /**
   * A ClusterNetworkPolicy as converted (null: deleted, or invalid with
   * `problems` saying why); `problems` also carries the warnings of a valid
   * one (fail-closed rules).
   */
  clusterPolicy(ref: ObjectRef, policy: ClusterPolicy | null, problems: readonly Problem[]): void;
  /** The ClusterNetworkPolicy CRD is not installed (404 on list); called on every failed list. */
  clusterPolicyCrdMissing?(): void;
  /** Every informer event, for the events metric. */
  event?(kind: WatchedKind): void;
}

/** What the controller keeps of a NodeFirewall: its hash and what its executor reported. */
export interface NodeFirewallObservation {
  /** `spec.scriptHash`, or `tampered` when the script does not hash to it. */
  readonly fingerprint: string;
  /** `spec.summary.policyNames` (absent means none). */
  readonly policyNames: readonly string[];
  /** `status.appliedHash`, or null. */
  readonly appliedHash: string | null;
  /** The `Applied` condition is True. */
  readonly applied: boolean;
}

/** The running informers. */
export interface ControllerInformers {
  /** Resolves once every informer delivered its first list. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/** Back-off settings and error reporters. */
export interface InformerSettings {
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly onError: (kind: WatchedKind, err: unknown, retryInMs: number) => void;
  /**
   * Converting or handling one object threw (a bug, or an object nothing
   * expected): that event was skipped, the informer goes on. `ref` is the
   * object's identity as far as it could be read.
   */
  readonly onHandlerError?: (kind: WatchedKind, err: unknown, ref: ObjectRef) => void;
}

type Json = Record<string, unknown>;

/** Starts all seven informers, feeding `sink`. */
export function startControllerInformers(
  clients: ApiClients,
  sink: ModelSink,
  settings: InformerSettings,
): ControllerInformers {
  const { core, networking, custom } = clients;
  const running: RunningInformer[] = [];
  const watch = <T extends KubernetesObject>(
    kind: WatchedKind,
    spec: InformerSpec<T>,
    onUpsert: (obj: T) => void,
    onDelete: (obj: T) => void,
  ): void => {
    running.push(
      startInformer(
        clients.kubeConfig,
        spec,
        {
          onUpsert: (obj) => {
            sink.event?.(kind);
            onUpsert(obj);
          },
          onDelete: (obj) => {
            sink.event?.(kind);
            onDelete(obj);
          },
        },
        {
          backoffMs: settings.backoffMs,
          maxBackoffMs: settings.maxBackoffMs,
          onError: (err, retryInMs) => {
            // A missing ClusterNetworkPolicy CRD is said once, by the sink, not at every retry.
            if (kind === 'ClusterNetworkPolicy' && statusCode(err) === 404) return;
            settings.onError(kind, err, retryInMs);
          },
          onHandlerError: (err, obj) =>
            settings.onHandlerError?.(kind, err, refOf(obj as KubernetesObject)),
        },
      ),
    );
  };

  watch<KubernetesObject>(
    'Namespace',
    {
      path: '/api/v1/namespaces',
      list: () => core.listNamespace(),
      strip: stripNamespace,
    },
    (obj) => sink.namespace(refOf(obj), namespaceFromK8s(obj).value),
    (obj) => sink.namespace(refOf(obj), null),
  );
  watch<KubernetesObject>(
    'Node',
    { path: '/api/v1/nodes', list: () => core.listNode(), strip: stripNode },
    (obj) => sink.node(refOf(obj), nodeFromK8s(obj).value),
    (obj) => sink.node(refOf(obj), null),
  );
  watch<KubernetesObject>(
    'Pod',
    {
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      strip: stripPod,
    },
    (obj) => sink.pod(refOf(obj), podFromK8s(obj).value),
    (obj) => sink.pod(refOf(obj), null),
  );
  watch<KubernetesObject>(
    'NetworkPolicy',
    {
      path: '/apis/networking.k8s.io/v1/networkpolicies',
      list: () => networking.listNetworkPolicyForAllNamespaces(),
      strip: stripPolicy,
    },
    (obj) => {
      const ref = refOf(obj);
      const converted = policyFromK8s(obj, `NetworkPolicy ${ref.namespace}/${ref.name}`);
      sink.policy(ref, converted.value, converted.problems);
    },
    (obj) => sink.policy(refOf(obj), null, []),
  );
  watch<StrippedNodeFirewall>(
    'NodeFirewall',
    {
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      list: async () =>
        (await custom.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
        })) as {
          items: unknown[];
        },
      strip: stripNodeFirewall,
    },
    (obj) => sink.nodeFirewall(refOf(obj), obj.observed),
    (obj) => sink.nodeFirewall(refOf(obj), null),
  );

  watch<KubernetesObject>(
    'AddressSet',
    {
      path: `/apis/${GROUP}/${VERSION}/${ADDRESS_SET_PLURAL}`,
      list: async () =>
        (await custom.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: ADDRESS_SET_PLURAL,
        })) as {
          items: unknown[];
        },
      strip: (obj) => ({ metadata: meta(obj), spec: plain(get(obj, 'spec')) }) as KubernetesObject,
    },
    (obj) => sink.addressSet(refOf(obj), observedSlice(obj as unknown as AddressSet)),
    (obj) => sink.addressSet(refOf(obj), null),
  );

  // ClusterNetworkPolicies are optional: without their CRD the list fails
  // with 404 and the informer retries with its back-off (at most
  // maxBackoffMs), so it starts when the CRD appears; it does not hold up
  // `synced` meanwhile.
  let crdMissing: () => void = () => undefined;
  const cnpAbsent = new Promise<void>((resolve) => (crdMissing = resolve));
  const required = running.length;
  watch<KubernetesObject>(
    'ClusterNetworkPolicy',
    {
      path: `/apis/${CNP_GROUP}/${CNP_VERSION}/${CNP_PLURAL}`,
      list: async () => {
        try {
          return (await custom.listClusterCustomObject({
            group: CNP_GROUP,
            version: CNP_VERSION,
            plural: CNP_PLURAL,
          })) as { items: unknown[] };
        } catch (err) {
          if (statusCode(err) === 404) {
            crdMissing();
            sink.clusterPolicyCrdMissing?.();
          }
          throw err;
        }
      },
      strip: (obj) => plain(obj) as KubernetesObject,
    },
    (obj) => {
      const ref = refOf(obj);
      const converted = clusterPolicyFromK8s(obj, `ClusterNetworkPolicy ${ref.name}`);
      sink.clusterPolicy(ref, converted.value, converted.problems);
    },
    (obj) => sink.clusterPolicy(refOf(obj), null, []),
  );
  const cnp = running[required];

  return {
    synced: Promise.all([
      ...running.slice(0, required).map((r) => r.synced),
      Promise.race([cnp?.synced ?? Promise.resolve(), cnpAbsent]),
    ]).then(() => undefined),
    stop: async () => {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}

function refOf(obj: KubernetesObject | null | undefined): ObjectRef {
  const m = obj?.metadata;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { namespace: text(m?.namespace), name: text(m?.name), uid: text(m?.uid) };
}

/** A plain-JSON copy (client-node list items are class instances with Dates). */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

function get(obj: unknown, key: string): Json {
  const v = (obj as Json | undefined)?.[key];
  return typeof v === 'object' && v !== null ? (v as Json) : {};
}

/** metadata reduced to identity, version and labels (+ namespace when namespaced). */
function meta(obj: unknown): Json {
  const m = get(obj, 'metadata');
  return dropUndefined({
    name: m['name'],
    namespace: m['namespace'],
    uid: m['uid'],
    resourceVersion: m['resourceVersion'],
    labels: plain(m['labels']),
  });
}

function dropUndefined(o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Keeps what namespaceFromK8s reads. */
export function stripNamespace(obj: unknown): KubernetesObject {
  return { metadata: meta(obj) };
}

/** Keeps what nodeFromK8s reads. */
export function stripNode(obj: unknown): KubernetesObject {
  const spec = get(obj, 'spec');
  const status = get(obj, 'status');
  return {
    metadata: meta(obj),
    spec: dropUndefined({ podCIDR: spec['podCIDR'], podCIDRs: plain(spec['podCIDRs']) }),
    status: dropUndefined({ addresses: plain(status['addresses']) }),
  } as KubernetesObject;
}

/** Keeps what podFromK8s reads: node, host network, named container ports, phase, IPs. */
export function stripPod(obj: unknown): KubernetesObject {
  const spec = get(obj, 'spec');
  const status = get(obj, 'status');
  const ports = (key: string): Json[] | undefined => {
    const containers = spec[key];
    if (!Array.isArray(containers)) return undefined;
    return containers.map((c) => {
      const list = (c as Json)['ports'];
      return Array.isArray(list)
        ? {
            ports: list
              .filter((p) => typeof (p as Json)['name'] === 'string' && (p as Json)['name'] !== '')
              .map((p) => plain(p) as Json),
          }
        : {};
    });
  };
  const m = get(obj, 'metadata');
  return {
    // The timestamps decide which pod owns an IP that two pods claim.
    metadata: dropUndefined({
      ...meta(obj),
      creationTimestamp: plain(m['creationTimestamp']),
      deletionTimestamp: plain(m['deletionTimestamp']),
    }),
    spec: dropUndefined({
      nodeName: spec['nodeName'],
      hostNetwork: spec['hostNetwork'],
      containers: ports('containers'),
      initContainers: ports('initContainers'),
    }),
    status: dropUndefined({
      phase: status['phase'],
      podIP: status['podIP'],
      podIPs: plain(status['podIPs']),
    }),
  } as KubernetesObject;
}

/** Keeps metadata identity and the whole spec (validated by policyFromK8s). */
export function stripPolicy(obj: unknown): KubernetesObject {
  return { metadata: meta(obj), spec: plain(get(obj, 'spec')) } as KubernetesObject;
}

/** A NodeFirewall as the informer caches it: its name and what was observed. */
export interface StrippedNodeFirewall extends KubernetesObject {
  readonly observed: NodeFirewallObservation;
}

/**
 * Keeps the name and {@link observeNodeFirewall}: the hash, replaced by
 * `tampered` when the script (`spec.script`, or `spec.scriptGzip`
 * decompressed) does not hash to it, and what the executor reported.
 */
export function stripNodeFirewall(obj: unknown): StrippedNodeFirewall {
  return { metadata: meta(obj), observed: observeNodeFirewall(obj) };
}

/** What the controller needs of a NodeFirewall object (see {@link NodeFirewallObservation}). */
export function observeNodeFirewall(obj: unknown): NodeFirewallObservation {
  const spec = get(obj, 'spec');
  const decoded = decodeSpecScript(spec);
  const hash = spec['scriptHash'];
  const intact =
    decoded.kind === 'decoded' && typeof hash === 'string' && hashScript(decoded.script) === hash;
  const names = get(spec, 'summary')['policyNames'];
  const status = get(obj, 'status');
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]) : [];
  const appliedHash = status['appliedHash'];
  return {
    fingerprint: intact ? hash : TAMPERED,
    policyNames: Array.isArray(names)
      ? names.filter((n): n is string => typeof n === 'string')
      : [],
    appliedHash: typeof appliedHash === 'string' ? appliedHash : null,
    applied: conditions.some((c) => {
      const condition = c as Json | null;
      return condition?.['type'] === 'Applied' && condition['status'] === 'True';
    }),
  };
}
