/**
 * The pipeline under test, end to end on the netns cluster: for each node,
 * translateNode and renderScript from the same Cluster, with the members of
 * the shared peer sets added as the executor adds them (src/nft/node-script.ts,
 * as `nftpol render` prints them),
 * loaded into that node's namespace with `nft -f -`; then every probe
 * compared with the oracle. One call per test case; re-applying replaces each node's table
 * atomically, so cases (and policy changes) follow each other on the same
 * namespaces.
 */
import type { Cluster } from '../../../src/policy/model.js';
import type { TranslateOptions } from '../../../src/policy/translate.js';
import { nodeScripter } from '../../../src/nft/node-script.js';
import type { NetnsCluster } from './netns-cluster.js';
import { assertMatchesOracle, probeCluster, type ProbeOptions, type ProbeReport } from './probe.js';

/**
 * Render each node's complete script from `cluster` (rules and shared-set
 * members) and load it in the node's namespace.
 * @returns the complete scripts by node name.
 * @throws NftError when nft rejects a script (the message names the node).
 */
export async function applyPolicies(
  nc: NetnsCluster,
  cluster: Cluster,
  options: TranslateOptions = {},
): Promise<ReadonlyMap<string, string>> {
  const scripts = new Map<string, string>();
  const scriptFor = nodeScripter(cluster);
  await Promise.all(
    nc.nodes.map(async (n) => {
      const { script } = scriptFor(n.name, options);
      scripts.set(n.name, script);
      try {
        await nc.applyScript(n.name, script);
      } catch (err) {
        throw new Error(`nft rejected the script of node ${n.name}:\n${script}`, { cause: err });
      }
    }),
  );
  return scripts;
}

/**
 * Sync the namespaces to `cluster`, apply its policies, probe everything and
 * assert that the kernel agrees with the oracle on every probe.
 * @returns the report, for further assertions by the case.
 */
export async function enforceAndProbe(
  nc: NetnsCluster,
  cluster: Cluster,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  await nc.sync(cluster);
  await applyPolicies(nc, cluster);
  const report = await probeCluster(nc, cluster, options);
  assertMatchesOracle(report);
  return report;
}
