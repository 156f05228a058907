/**
 * The coordination.k8s.io/v1 Lease that leader election holds, over the API.
 *
 * Why raw JSON: a Lease's `acquireTime` and `renewTime` are metav1.MicroTime,
 * which kube-apiserver parses with exactly six fractional digits
 * (`2026-11-30T15:24:32.688000Z`) and refuses otherwise (HTTP 400). The typed
 * client-node Lease turns them into `Date`s and writes them back with three
 * digits, so a controller using it never becomes leader on a real server.
 * These calls go through the generic custom-objects path with plain JSON, so
 * the times travel exactly as {@link microTime} wrote them and as the server
 * returned them.
 */
import type { ApiClients } from './client.js';
import { errorText, statusCode } from './errors.js';

/** The Lease spec fields election uses. Times are metav1.MicroTime text. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string | null;
  readonly renewTime: string | null;
  readonly leaseTransitions: number;
}

/** A Lease as read, with the resourceVersion needed to update it. */
export interface StoredLease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

/** Thrown by a {@link LeaseStore} when the API answers 409 (lost a race). */
export class LeaseConflictError extends Error {
  override readonly name = 'LeaseConflictError';
}

/** Lease API calls; {@link apiLeaseStore} over the API, in memory in unit tests. */
export interface LeaseStore {
  /** The Lease, or null when it does not exist. */
  get(): Promise<StoredLease | null>;
  /** @throws LeaseConflictError when it already exists. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** @throws LeaseConflictError when `resourceVersion` is stale. */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/**
 * `2024-05-01T10:00:00.123000Z`: a metav1.MicroTime with the six fractional
 * digits the API server requires.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

const WHERE = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' } as const;

/** The Lease `namespace/name` over the API, written as `fieldManager`. */
export function apiLeaseStore(
  clients: ApiClients,
  namespace: string,
  name: string,
  fieldManager: string,
): LeaseStore {
  const toStored = (lease: unknown): StoredLease => {
    const { metadata, spec } = (lease ?? {}) as {
      metadata?: { resourceVersion?: unknown };
      spec?: Record<string, unknown>;
    };
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    const int = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
    return {
      resourceVersion:
        typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : '',
      record: {
        holderIdentity: text(spec?.['holderIdentity']) ?? '',
        leaseDurationSeconds: int(spec?.['leaseDurationSeconds'], 15),
        acquireTime: text(spec?.['acquireTime']),
        renewTime: text(spec?.['renewTime']),
        leaseTransitions: int(spec?.['leaseTransitions'], 0),
      },
    };
  };
  const toSpec = (r: LeaseRecord): Record<string, unknown> => ({
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime === null ? {} : { acquireTime: r.acquireTime }),
    ...(r.renewTime === null ? {} : { renewTime: r.renewTime }),
  });
  const body = (r: LeaseRecord, resourceVersion?: string): object => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: toSpec(r),
  });
  const conflicts = async (fn: () => Promise<unknown>): Promise<StoredLease> => {
    try {
      return toStored(await fn());
    } catch (err) {
      if (statusCode(err) === 409) throw new LeaseConflictError(errorText(err));
      throw err;
    }
  };
  return {
    get: async () => {
      try {
        return toStored(
          await clients.custom.getNamespacedCustomObject({ ...WHERE, namespace, name }),
        );
      } catch (err) {
        if (statusCode(err) === 404) return null;
        throw err;
      }
    },
    create: (record) =>
      conflicts(() =>
        clients.custom.createNamespacedCustomObject({
          ...WHERE,
          namespace,
          body: body(record),
          fieldManager,
        }),
      ),
    update: (record, resourceVersion) =>
      conflicts(() =>
        clients.custom.replaceNamespacedCustomObject({
          ...WHERE,
          namespace,
          name,
          body: body(record, resourceVersion),
          fieldManager,
        }),
      ),
  };
}
