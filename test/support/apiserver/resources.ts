/**
 * The resources this API server serves, and the discovery documents that
 * describe them (`/api`, `/apis`, `/apis/<group>/<version>`), so that clients
 * which discover before they call (kubectl, client-node's KubernetesObjectApi)
 * work unchanged.
 *
 * One table row per resource: adding a resource is adding a row. A row
 * marked `onDemand` (a CRD a cluster may not have, such as
 * ClusterNetworkPolicy) is served only once installed (ApiStore.install),
 * as a real server serves a CRD only once it is created.
 */
import {
  ADDRESS_SET_KIND,
  ADDRESS_SET_LIST_KIND,
  ADDRESS_SET_PLURAL,
  ADDRESS_SET_SHORT_NAMES,
  ADDRESS_SET_SINGULAR,
} from '../../../src/k8s/addressset.js';
import {
  GROUP as NFW_GROUP,
  KIND as NFW_KIND,
  LIST_KIND as NFW_LIST_KIND,
  PLURAL as NFW_PLURAL,
  SHORT_NAMES as NFW_SHORT_NAMES,
  SINGULAR as NFW_SINGULAR,
  VERSION as NFW_VERSION,
} from '../../../src/k8s/nodefirewall.js';

/** How one resource behaves. */
export interface ResourceDef {
  /** API group; `''` for core. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  /**
   * A custom resource: list items keep `apiVersion` and `kind` (the real
   * server strips them from items of built-in lists, keeps them for CRDs).
   */
  readonly crd: boolean;
  /**
   * The strict status-subresource contract of CRDs: create and main-resource
   * writes ignore `status`, `/status` writes change only `status`, and
   * `generation` counts spec changes only. Without it, main writes store
   * status as sent and any non-metadata change bumps `generation`; `/status`
   * still changes only status.
   */
  readonly statusSubresource: boolean;
  readonly shortNames: readonly string[];
  /** Field selector paths accepted besides `metadata.name` and `metadata.namespace`. */
  readonly fields: readonly string[];
  /** Served only once installed (ApiStore.install); absent from discovery before. */
  readonly onDemand?: boolean;
}

/** Whether a resource is served now. */
export type Served = (def: ResourceDef) => boolean;

/** Every resource except the on-demand ones: what a fresh server serves. */
export const SERVED_BY_DEFAULT: Served = (def) => def.onDemand !== true;

/** Every served resource. */
export const RESOURCES: readonly ResourceDef[] = [
  core('namespaces', 'Namespace', false, ['ns'], ['status.phase']),
  core('nodes', 'Node', false, ['no'], ['spec.unschedulable']),
  core('pods', 'Pod', true, ['po'], ['spec.nodeName', 'status.phase', 'status.podIP']),
  core(
    'events',
    'Event',
    true,
    ['ev'],
    [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'reason',
      'type',
    ],
  ),
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    kind: 'NetworkPolicy',
    listKind: 'NetworkPolicyList',
    namespaced: true,
    crd: false,
    statusSubresource: false,
    shortNames: ['netpol'],
    fields: [],
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    listKind: 'LeaseList',
    namespaced: true,
    crd: false,
    statusSubresource: false,
    shortNames: [],
    fields: [],
  },
  {
    group: NFW_GROUP,
    version: NFW_VERSION,
    plural: NFW_PLURAL,
    singular: NFW_SINGULAR,
    kind: NFW_KIND,
    listKind: NFW_LIST_KIND,
    namespaced: false,
    crd: true,
    statusSubresource: true,
    shortNames: NFW_SHORT_NAMES,
    fields: [],
  },
  {
    group: NFW_GROUP,
    version: NFW_VERSION,
    plural: ADDRESS_SET_PLURAL,
    singular: ADDRESS_SET_SINGULAR,
    kind: ADDRESS_SET_KIND,
    listKind: ADDRESS_SET_LIST_KIND,
    namespaced: false,
    crd: true,
    statusSubresource: false,
    shortNames: ADDRESS_SET_SHORT_NAMES,
    fields: [],
  },
  {
    // network-policy-api's CRD, which a cluster may not have: on demand.
    group: 'policy.networking.k8s.io',
    version: 'v1alpha2',
    plural: 'clusternetworkpolicies',
    singular: 'clusternetworkpolicy',
    kind: 'ClusterNetworkPolicy',
    listKind: 'ClusterNetworkPolicyList',
    namespaced: false,
    crd: true,
    statusSubresource: true,
    shortNames: ['cnp'],
    fields: [],
    onDemand: true,
  },
];

/**
 * Whether `<plural>/status` is served: always for built-in resources, and for
 * a CRD only when it declares the status subresource (as on a real server).
 */
export function servesStatus(def: ResourceDef): boolean {
  return !def.crd || def.statusSubresource;
}

/** `v1` or `group/version`. */
export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** The resource served at group/version/plural, if any. */
export function findResource(
  group: string,
  version: string,
  plural: string,
  served: Served = SERVED_BY_DEFAULT,
): ResourceDef | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.plural === plural && served(r),
  );
}

/**
 * The resource with this plural (unique across the table).
 *
 * @throws Error for an unknown plural (a programming error in a test or seed).
 */
export function resourceByPlural(plural: string): ResourceDef {
  const def = RESOURCES.find((r) => r.plural === plural);
  if (def === undefined) throw new Error(`unknown resource ${JSON.stringify(plural)}`);
  return def;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** `GET /api`. */
export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** `GET /apis`. */
export function groupList(served: Served = SERVED_BY_DEFAULT): object {
  const documents = groups(served).map((g) => groupDocument(g, served));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: documents };
}

/** `GET /apis/<group>`, or undefined when the group is not served. */
export function groupDocument(name: string, served: Served = SERVED_BY_DEFAULT): object {
  const def = RESOURCES.find((r) => r.group === name && served(r));
  if (def === undefined) return { kind: 'APIGroup', apiVersion: 'v1', name, versions: [] };
  const version = { groupVersion: apiVersionOf(def), version: def.version };
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: [version],
    preferredVersion: version,
  };
}

/** Served non-core groups. */
export function groups(served: Served = SERVED_BY_DEFAULT): readonly string[] {
  return [...new Set(RESOURCES.filter((r) => r.group !== '' && served(r)).map((r) => r.group))];
}

/** `GET /api/v1` or `GET /apis/<group>/<version>`; undefined when not served. */
export function resourceList(
  group: string,
  version: string,
  served: Served = SERVED_BY_DEFAULT,
): object | undefined {
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version && served(r));
  if (defs.length === 0) return undefined;
  const resources = defs.flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    },
    ...(servesStatus(r)
      ? [
          {
            name: `${r.plural}/status`,
            singularName: '',
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: ['get', 'patch', 'update'],
          },
        ]
      : []),
  ]);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources,
  };
}

function core(
  plural: string,
  kind: string,
  namespaced: boolean,
  shortNames: readonly string[],
  fields: readonly string[],
): ResourceDef {
  return {
    group: '',
    version: 'v1',
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    crd: false,
    statusSubresource: false,
    shortNames,
    fields,
  };
}
