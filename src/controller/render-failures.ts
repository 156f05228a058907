/**
 * What the controller does when one node's script cannot be rendered (the
 * engine has already left the node out of the batch, so its NodeFirewall
 * keeps the last good script, and scheduled a retry): log an error with the
 * node and the message, count it in `nftpol_controller_render_failures_total`,
 * and put a `RenderFailed` Warning Event on the Node. Kept out of main.ts so
 * the policy is testable without an API server.
 */
import type { Logger } from '../telemetry/log.js';
import type { ControllerMetrics } from '../telemetry/metrics.js';
import type { RenderFailure } from './engine.js';
import { nodeObject, type WarningEvents } from '../k8s/events.js';

/** What {@link renderFailureHandler} reports to. */
export interface RenderFailureDeps {
  readonly log: Logger;
  readonly metrics: Pick<ControllerMetrics, 'renderFailures'>;
  readonly events: Pick<WarningEvents, 'warn'>;
  /** The Node's uid, for the Event's involvedObject; undefined when unknown. */
  readonly nodeUid: (node: string) => string | undefined;
}

/** Returns the engine's `onRenderError`: log, count, and a Warning Event on the Node. */
export function renderFailureHandler(deps: RenderFailureDeps): (failure: RenderFailure) => void {
  return ({ node, error, failures, retryInMs }) => {
    const message = error instanceof Error ? error.message : String(error);
    deps.metrics.renderFailures.inc();
    deps.log.error(
      { node, err: message, failures, retryInMs },
      `failed to render the script of node ${node}; it keeps its last script`,
    );
    deps.events.warn(
      nodeObject(node, deps.nodeUid(node) ?? ''),
      'RenderFailed',
      `NodeFirewall not updated, the node keeps enforcing its last script (attempt ${failures}, retry in ${Math.round(retryInMs / 1000)} s): ${message}`,
    );
  };
}
