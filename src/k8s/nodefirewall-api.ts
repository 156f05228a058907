/**
 * The NodeFirewall writes over the API: the controller's server-side apply
 * and delete. The publisher holds the decisions (what to write, when to
 * retry) and reaches the API only through {@link NodeFirewallWriter}, so its
 * tests need no server; this file is the one implementation over client-node.
 */
import type { ApiClients } from './client.js';
import type { API_VERSION, KIND } from './nodefirewall.js';
import { PLURAL, type NodeFirewallSpec } from './nodefirewall.js';
import { nftpolObjectWriter, type NftpolObjectWriter } from './nftpol-object-writer.js';

export { CONTROLLER_FIELD_MANAGER } from './nftpol-object-writer.js';

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

/** The API calls the publisher needs: apply and delete. */
export type NodeFirewallWriter = NftpolObjectWriter<NodeFirewallApply>;

/** {@link NodeFirewallWriter} over client-node. */
export function apiNodeFirewallWriter(clients: ApiClients): NodeFirewallWriter {
  return nftpolObjectWriter<NodeFirewallApply>(clients, PLURAL);
}
