/**
 * What an executor tells its observer (tests, the demo) as it works: one
 * event per decision or outcome. The logs say the same in words; the status
 * says where it ended up.
 */
import type { NodeFirewallStatus } from '../k8s/nodefirewall.js';
import type { ApplyCause } from './reconcile.js';

/** What happened, for tests and the demo (the logs say the same in words). */
export type ExecutorEvent =
  | { readonly kind: 'probed'; readonly usable: boolean; readonly message: string }
  | { readonly kind: 'applied'; readonly hash: string; readonly cause: ApplyCause }
  | { readonly kind: 'applyFailed'; readonly hash: string; readonly error: string }
  | { readonly kind: 'refused'; readonly declared: string; readonly actual: string }
  | { readonly kind: 'decodeFailed'; readonly message: string }
  | { readonly kind: 'adopted'; readonly hash: string }
  | { readonly kind: 'drifted'; readonly summary: string }
  | {
      readonly kind: 'membersApplied';
      /** Elements added and deleted by the delta. */
      readonly added: number;
      readonly removed: number;
    }
  | { readonly kind: 'membersFailed'; readonly error: string }
  | {
      readonly kind: 'waitingForSets';
      /** The AddressSets not seen yet, sorted. */
      readonly missing: readonly string[];
      /** Clock time the wait ends (milliseconds). */
      readonly until: number;
    }
  | { readonly kind: 'statusWritten'; readonly status: NodeFirewallStatus }
  | { readonly kind: 'statusFailed'; readonly error: string }
  | { readonly kind: 'passDone' };
