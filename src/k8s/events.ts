/**
 * Warning Events the controller records on the objects a problem is about:
 * NetworkPolicies it cannot enforce as written, and Nodes whose script it
 * cannot render. One recorder for every kind, so that every Event shares the
 * same rate limit (at most one per object and reason per `intervalMs`, like
 * client-go's EventCorrelator spam filter), source and naming.
 *
 * Events of a cluster-scoped object (a Node) go to namespace `default`, where
 * the kubelet records its own Node Events, so `kubectl describe node` and
 * `kubectl events --for node/<name>` show them.
 *
 * Creating an Event never throws and never blocks: the API call runs in the
 * background and its failure is only logged.
 */
import { CNP_GROUP, CNP_KIND, CNP_VERSION } from './cluster-network-policy.js';
import type { CoreV1Event } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { CONTROLLER_FIELD_MANAGER } from './nodefirewall-api.js';
import type { Logger } from '../telemetry/log.js';
import type { Clock } from '../telemetry/clock.js';

/** Event reasons the controller emits, and on which kind. */
export type EventReason =
  /** NetworkPolicy: fails validation and is not enforced. */
  | 'InvalidPolicy'
  /** NetworkPolicy: a named port resolves on none of the pods it applies to. */
  | 'NamedPortUnresolved'
  /** Node: its script could not be translated or rendered; it keeps its last one. */
  | 'RenderFailed'
  /** ClusterNetworkPolicy: fails validation and is not enforced. */
  | 'InvalidClusterPolicy'
  /** ClusterNetworkPolicy: enforced, but with rules that fail closed (nodes, domainNames, unknown peers). */
  | 'PartlyUnsupported';

/** The object an Event is about (a core/v1 ObjectReference). */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  /** '' for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
  /** '' when unknown (then left out of the reference). */
  readonly uid: string;
}

/** The one API call the recorder needs (client-node's CoreV1Api has it). */
export interface EventApi {
  createNamespacedEvent(param: { namespace: string; body: CoreV1Event }): Promise<unknown>;
}

/** Options of {@link WarningEvents}. */
export interface WarningEventsOptions {
  readonly api: EventApi;
  /** `reportingInstance` of every Event: the replica's identity. */
  readonly identity: string;
  /** Minimum interval between two Events of one reason on one object, in ms. ≥ 0. */
  readonly intervalMs: number;
  readonly log: Logger;
  readonly clock: Clock;
}

/** Namespace for the Events of cluster-scoped objects (as the kubelet does for Nodes). */
export const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';

/** Longest Event message sent; the rest is cut. */
export const MAX_EVENT_MESSAGE = 1024;

/** The reference to a NetworkPolicy. */
export function policyObject(
  policy: { readonly namespace: string; readonly name: string },
  uid: string,
): InvolvedObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    namespace: policy.namespace,
    name: policy.name,
    uid,
  };
}

/** The reference to a ClusterNetworkPolicy (cluster-scoped; its Events go to `default`, as a Node's). */
export function clusterPolicyObject(name: string, uid: string): InvolvedObject {
  return { apiVersion: `${CNP_GROUP}/${CNP_VERSION}`, kind: CNP_KIND, namespace: '', name, uid };
}

/** The reference to a Node. */
export function nodeObject(name: string, uid: string): InvolvedObject {
  return { apiVersion: 'v1', kind: 'Node', namespace: '', name, uid };
}

/** Records Warning Events, at most one per object and reason per interval. */
export class WarningEvents {
  private readonly options: WarningEventsOptions;
  /** `kind|namespace/name|reason` → time of the last Event sent. */
  private readonly last = new Map<string, number>();

  constructor(options: WarningEventsOptions) {
    this.options = options;
  }

  /**
   * Logs the problem and, unless one of the same reason was sent for the same
   * object within the interval, creates a Warning Event for it.
   * @returns true when an Event was sent (the API call may still fail; that is logged).
   */
  warn(object: InvolvedObject, reason: EventReason, message: string): boolean {
    const { log, clock, intervalMs } = this.options;
    const who = object.namespace === '' ? object.name : `${object.namespace}/${object.name}`;
    const key = `${object.kind}|${who}|${reason}`;
    const now = clock.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < intervalMs) return false;
    this.prune(now);
    this.last.set(key, now);
    const namespace = object.namespace === '' ? CLUSTER_SCOPED_EVENT_NAMESPACE : object.namespace;
    const time = new Date(now);
    const body: CoreV1Event = {
      metadata: { name: `${object.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        ...(object.namespace === '' ? {} : { namespace: object.namespace }),
        name: object.name,
        ...(object.uid === '' ? {} : { uid: object.uid }),
      },
      reason,
      message: message.slice(0, MAX_EVENT_MESSAGE),
      type: 'Warning',
      source: { component: CONTROLLER_FIELD_MANAGER },
      reportingComponent: CONTROLLER_FIELD_MANAGER,
      reportingInstance: this.options.identity,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    log.warn({ kind: object.kind, object: who, reason, message }, 'recorded warning event');
    // async: a call that throws before returning its promise is caught too.
    const send = async (): Promise<unknown> =>
      this.options.api.createNamespacedEvent({ namespace, body });
    send().catch((err: unknown) => {
      // pino's err serializer keeps an API error's code and body (the server's Status).
      log.warn({ kind: object.kind, object: who, err }, 'failed to create event');
    });
    return true;
  }

  /** Drops rate-limit entries older than the interval once the map grows, so it stays bounded. */
  private prune(now: number): void {
    if (this.last.size < 4096) return;
    for (const [key, at] of this.last) {
      if (now - at >= this.options.intervalMs) this.last.delete(key);
    }
  }
}
