/**
 * The shape the real-kernel suites share: a two-node dual-stack cluster
 * (InternalIPs 10.99.0.x / fd00:99::x, pod CIDRs 10.100.<node>.0/24 and
 * fd00:100:0:<node>::/64), and a suite of cases, each a Cluster whose
 * scripts are rendered, loaded with nft and probed pair by pair against the
 * oracle, its spots pinning the case's point on the kernel's own answers.
 * The namespaces are built once per suite; each case re-applies the scripts.
 */
import { after, before, describe, it } from 'node:test';
import type { Cluster, Node } from '../../../src/policy/model.js';
import { node } from '../builders.js';
import { enforceAndProbe } from './enforce.js';
import { dataplaneSkipReason } from './lifecycle.js';
import { NetnsCluster } from './netns-cluster.js';
import { summarizeReport } from './probe.js';
import { assertSpots, type Spot } from './spots.js';

/** The two nodes every kernel suite uses. */
export const KERNEL_NODES: readonly Node[] = [1, 2].map((i) =>
  node(`n${i}`, {
    addresses: [`10.99.0.${i}`, `fd00:99::${i}`],
    podCIDRs: [`10.100.${i}.0/24`, `fd00:100:0:${i}::/64`],
  }),
);

/** Pod addresses: host `.h` of node `n`'s pod CIDRs, both families. */
export function slotOn(n: 1 | 2, h: number): { nodeName: string; ips: string[] } {
  return { nodeName: `n${n}`, ips: [`10.100.${n}.${h}`, `fd00:100:0:${n}::${h}`] };
}

/** One case: what the cluster is, what the kernel must answer on some pairs. */
export interface KernelCase {
  readonly name: string;
  readonly cluster: Cluster;
  readonly spots: readonly Spot[];
  /** Ports to probe besides 80 and 81 (container ports of named-port cases). */
  readonly extraPorts?: readonly number[];
}

/**
 * A `describe` running each case on one netns cluster built from `initial`;
 * `more` adds tests that use the same cluster (`nc()` gives it).
 */
export function describeKernelCases(
  title: string,
  initial: Cluster,
  cases: readonly KernelCase[],
  more: (nc: () => NetnsCluster) => void = () => undefined,
): void {
  describe(title, { skip: dataplaneSkipReason() ?? false }, () => {
    let nc: NetnsCluster;
    before(async () => {
      nc = await NetnsCluster.create();
      await nc.sync(initial);
    });
    after(async () => {
      await nc?.destroy();
    });
    for (const c of cases)
      it(c.name, async () => {
        const report = await enforceAndProbe(
          nc,
          c.cluster,
          c.extraPorts ? { extraPorts: c.extraPorts } : {},
        );
        console.log(`${c.name}: ${summarizeReport(report)}`);
        assertSpots(report, c.spots);
      });
    more(() => nc);
  });
}
