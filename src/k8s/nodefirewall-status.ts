/**
 * The executor's one API write: the status subresource of its own
 * NodeFirewall, as a JSON merge patch. The executor's status writer decides
 * what to write and when; this file is the call over client-node, so the
 * writer's tests need no server.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { GROUP, PLURAL, VERSION } from './nodefirewall.js';

/**
 * Merge-patches `nodefirewalls/<name>/status` with `body` (`{ status }`).
 * @throws the client's ApiException (a 404 when the object is gone).
 */
export type PatchNodeFirewallStatus = (
  name: string,
  body: { readonly status: unknown },
) => Promise<void>;

/** {@link PatchNodeFirewallStatus} over client-node. */
export function apiNodeFirewallStatusPatch(clients: ApiClients): PatchNodeFirewallStatus {
  return async (name, body) => {
    await clients.custom.patchClusterCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: PLURAL, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };
}
