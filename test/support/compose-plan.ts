/**
 * The complete script a node loads, from a Cluster, for tests: translate the
 * node, render its rules script (the NodeFirewall's `spec.script`, whose
 * shared peer sets are declared without members), then add the members of
 * those sets as compose.ts does for the executor and `nftpol render`.
 *
 * Members come from peer-sets.ts membersOf over the whole cluster — the
 * reference the controller's AddressSets are checked against — so a test
 * loading this script into a kernel enforces exactly what the plan-level
 * evaluator (plan-eval.ts) and the oracle judge. A rules script alone also
 * loads, but every shared set in it is empty: it allows nothing by peer.
 */
import { composeScript } from '../../src/nft/compose.js';
import { renderScript } from '../../src/nft/render.js';
import { ClusterIndex } from '../../src/policy/cluster-index.js';
import type { Cluster } from '../../src/policy/model.js';
import { membersOf, peerSetsIn } from '../../src/policy/peer-sets.js';
import type { FirewallPlan } from '../../src/policy/plan.js';
import { translatorFor, type TranslateOptions } from '../../src/policy/translate.js';

/** One node's scripts and what they were made from. */
export interface ComposedScript {
  readonly plan: FirewallPlan;
  /** The rules script (NodeFirewall `spec.script`): shared sets declared, no members. */
  readonly rules: string;
  /** sha256 of {@link rules}, as NodeFirewall `spec.scriptHash` carries it. */
  readonly rulesHash: string;
  /** Members of every set id the plan declares (both families mixed, as AddressSets hold them). */
  readonly members: ReadonlyMap<string, readonly string[]>;
  /** {@link rules} with the members added: what the executor loads. */
  readonly script: string;
}

/**
 * Indexes `cluster` once and returns a function composing any node's
 * script. The cluster must not change while in use.
 * @throws Error when a plan uses a set id the cluster's policies do not define.
 */
export function composedScripter(
  cluster: Cluster,
): (nodeName: string, options?: TranslateOptions) => ComposedScript {
  const translate = translatorFor(cluster);
  const index = new ClusterIndex(cluster);
  const defined = peerSetsIn(cluster);
  const cache = new Map<string, readonly string[]>();
  const membersOfId = (id: string): readonly string[] => {
    let members = cache.get(id);
    if (members === undefined) {
      const set = defined.get(id);
      if (set === undefined) throw new Error(`no policy of the cluster defines set ${id}`);
      members = membersOf(set, index);
      cache.set(id, members);
    }
    return members;
  };
  return (nodeName, options = {}) => {
    const plan = translate(nodeName, options);
    const { script: rules, scriptHash: rulesHash } = renderScript(plan);
    const members = new Map(plan.sets.map((s) => [s.id, membersOfId(s.id)]));
    return { plan, rules, rulesHash, members, script: composeScript(rules, members) };
  };
}

/** {@link composedScripter} for one node. */
export function composedScriptFor(
  cluster: Cluster,
  nodeName: string,
  options: TranslateOptions = {},
): ComposedScript {
  return composedScripter(cluster)(nodeName, options);
}
