/**
 * A node's complete, self-contained script, offline: translate, render the
 * rules, then add the members of the shared sets they use — the exact bytes
 * the executor loads once it has the node's NodeFirewall (the rules) and the
 * AddressSet slices (the members). `nftpol render`, the dataplane tests and
 * the benchmarks all go through here, so there is one composition.
 *
 * PURE: no I/O. One scripter indexes its Cluster once and computes each
 * shared set's members once, however many nodes use it.
 */
import { ClusterIndex } from '../policy/cluster-index.js';
import type { Cluster } from '../policy/model.js';
import { membersOf, peerSetsIn, type PeerSet } from '../policy/peer-sets.js';
import type { FirewallPlan } from '../policy/plan.js';
import { nodeTranslator, type TranslateOptions } from '../policy/translate.js';
import { composeScript } from './compose.js';
import { hashScript } from './hash.js';
import { renderScript, type RenderedScript } from './render.js';

/** One node's script in both forms. */
export interface NodeScript {
  readonly node: string;
  readonly plan: FirewallPlan;
  /** The rules script (NodeFirewall `spec.script`) and its hash (`spec.scriptHash`). */
  readonly rules: RenderedScript;
  /** Members of every shared set the rules use, by set id. */
  readonly members: ReadonlyMap<string, readonly string[]>;
  /** The rules with the members added: what `nftpol render` prints and the executor loads. */
  readonly script: string;
  /** `sha256:<hex>` of {@link script}. */
  readonly scriptHash: string;
}

/**
 * Indexes `cluster` once and returns a function giving any node's
 * {@link NodeScript}. The cluster must not change while in use.
 * @throws CidrError when a pod IP does not parse.
 */
export function nodeScripter(
  cluster: Cluster,
): (node: string, options?: TranslateOptions) => NodeScript {
  const index = new ClusterIndex(cluster);
  const translate = nodeTranslator(index);
  let sets: ReadonlyMap<string, PeerSet> | null = null;
  const members = new Map<string, readonly string[]>();
  const membersById = (id: string): readonly string[] => {
    let found = members.get(id);
    if (found === undefined) {
      sets ??= peerSetsIn(cluster);
      const set = sets.get(id);
      if (set === undefined) throw new Error(`no policy defines shared set ${id}`);
      found = membersOf(set, index);
      members.set(id, found);
    }
    return found;
  };
  return (node, options = {}) => {
    const plan = translate(node, options);
    const rules = renderScript(plan);
    const used = new Map(plan.sets.map((s) => [s.id, membersById(s.id)]));
    const script = composeScript(rules.script, used);
    return { node, plan, rules, members: used, script, scriptHash: hashScript(script) };
  };
}
