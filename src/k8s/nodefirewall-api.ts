/**
 * The NodeFirewall writes over the API: the controller's server-side apply
 * and delete. The publisher holds the decisions (what to write, when to
 * retry) and reaches the API only through {@link NodeFirewallWriter}, so its
 * tests need no server; this file is the one implementation over client-node.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { statusCode } from './errors.js';
import type { API_VERSION, KIND } from './nodefirewall.js';
import { GROUP, PLURAL, VERSION, type NodeFirewallSpec } from './nodefirewall.js';

/** Field manager of every controller write (NodeFirewalls, the Lease, Events). */
export const CONTROLLER_FIELD_MANAGER = 'nftpol-controller';

/** The server-side apply body of one NodeFirewall. */
export interface NodeFirewallApply {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: {
    readonly name: string;
    readonly ownerReferences: readonly [
      {
        readonly apiVersion: 'v1';
        readonly kind: 'Node';
        readonly name: string;
        readonly uid: string;
        readonly blockOwnerDeletion: false;
      },
    ];
  };
  readonly spec: NodeFirewallSpec;
}

/** The API calls the publisher needs. */
export interface NodeFirewallWriter {
  /** Server-side apply (field manager {@link CONTROLLER_FIELD_MANAGER}, force). */
  apply(body: NodeFirewallApply): Promise<void>;
  /** Deletes the NodeFirewall; resolves when it is gone or was already gone. */
  remove(name: string): Promise<void>;
}

/** {@link NodeFirewallWriter} over client-node. */
export function apiNodeFirewallWriter(clients: ApiClients): NodeFirewallWriter {
  const where = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    apply: async (body) => {
      await clients.custom.patchClusterCustomObject(
        {
          ...where,
          name: body.metadata.name,
          body,
          fieldManager: CONTROLLER_FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    },
    remove: async (name) => {
      try {
        await clients.custom.deleteClusterCustomObject({ ...where, name });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    },
  };
}
