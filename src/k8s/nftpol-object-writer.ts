/**
 * Server-side apply and delete of one kind of cluster-scoped nftpol.io
 * object, as the controller writes NodeFirewalls and AddressSets: apply with
 * field manager `nftpol-controller` and `force` (the controller owns the
 * spec outright), delete tolerating an object already gone. One
 * implementation over client-node for both kinds.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { statusCode } from './errors.js';
import { GROUP, VERSION } from './nodefirewall.js';

/** Field manager of every controller write (NodeFirewalls, AddressSets, the Lease, Events). */
export const CONTROLLER_FIELD_MANAGER = 'nftpol-controller';

/** Applies and deletes objects of one nftpol.io resource. */
export interface NftpolObjectWriter<Body extends { readonly metadata: { readonly name: string } }> {
  /** Server-side apply (field manager {@link CONTROLLER_FIELD_MANAGER}, force). */
  apply(body: Body): Promise<void>;
  /** Deletes the object; resolves when it is gone or was already gone. */
  remove(name: string): Promise<void>;
}

/** {@link NftpolObjectWriter} for `plural` over client-node. */
export function nftpolObjectWriter<Body extends { readonly metadata: { readonly name: string } }>(
  clients: ApiClients,
  plural: string,
): NftpolObjectWriter<Body> {
  const where = { group: GROUP, version: VERSION, plural };
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
