/**
 * The executor's first input: its own NodeFirewall, watched with a field
 * selector (`metadata.name=<node>`) so that 5,000 executors do not each
 * receive every node's script. (The second, the AddressSets it lists in
 * `spec.addressSets`, is set-watch.ts.) The informer (src/k8s/informer.ts) relists on
 * 410 Gone, resumes cut watches and restarts after errors with back-off;
 * while the API is unreachable its cache — and so the executor's last known
 * spec — stays as it was, and the ruleset in the kernel stays in force.
 *
 * A node without a NodeFirewall yet is normal (the controller has not
 * rendered it, or it is not running): the watch simply delivers nothing
 * until the object appears.
 */
import type { ApiClients } from '../k8s/client.js';
import { startInformer, type RunningInformer } from '../k8s/informer.js';
import {
  API_VERSION,
  EMPTY_SUMMARY,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  type NodeFirewall,
} from '../k8s/nodefirewall.js';

/** Callbacks: the object as it is now, or null once deleted. */
export interface OwnNodeFirewallHandlers {
  onChange(object: NodeFirewall | null): void;
  /** Every watch or list error, with the delay before the next attempt. */
  onError(err: unknown, retryInMs: number): void;
}

/** Back-off of the watch. */
export interface WatchOptions {
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * Watches `nodefirewalls/<nodeName>`; returns at once (`synced` resolves
 * after the first list, whether or not the object exists).
 */
export function watchOwnNodeFirewall(
  clients: ApiClients,
  nodeName: string,
  handlers: OwnNodeFirewallHandlers,
  options: WatchOptions,
): RunningInformer {
  const fieldSelector = `metadata.name=${nodeName}`;
  return startInformer<NodeFirewall & { metadata: { name: string } }>(
    clients.kubeConfig,
    {
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      fieldSelector,
      list: async () =>
        (await clients.custom.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          fieldSelector,
        })) as { items: unknown[]; metadata?: { resourceVersion?: string } },
      strip: toNodeFirewall,
    },
    {
      onUpsert: (object) => {
        if (object.metadata.name === nodeName) handlers.onChange(object);
      },
      onDelete: (object) => {
        if (object.metadata.name === nodeName) handlers.onChange(null);
      },
    },
    {
      backoffMs: options.backoffMs,
      maxBackoffMs: options.maxBackoffMs,
      onError: (err, retryInMs) => handlers.onError(err, retryInMs),
    },
  );
}

/** Keeps the fields the executor reads; tolerant of missing ones (validated by the CRD schema). */
export function toNodeFirewall(object: unknown): NodeFirewall & { metadata: { name: string } } {
  const o = (object ?? {}) as {
    metadata?: {
      name?: unknown;
      resourceVersion?: unknown;
      generation?: unknown;
      uid?: unknown;
    };
    spec?: Partial<NodeFirewall['spec']>;
    status?: NodeFirewall['status'];
  };
  const m = o.metadata ?? {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: str(m.name),
      ...(typeof m.uid === 'string' ? { uid: m.uid } : {}),
      resourceVersion: str(m.resourceVersion),
      generation: typeof m.generation === 'number' ? m.generation : 0,
    },
    spec: {
      ...(typeof o.spec?.script === 'string' ? { script: o.spec.script } : {}),
      ...(typeof o.spec?.scriptGzip === 'string' ? { scriptGzip: o.spec.scriptGzip } : {}),
      scriptHash: str(o.spec?.scriptHash),
      summary: o.spec?.summary ?? EMPTY_SUMMARY,
      ...(Array.isArray(o.spec?.addressSets)
        ? { addressSets: o.spec.addressSets.filter((id): id is string => typeof id === 'string') }
        : {}),
    },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}
