/**
 * Seeded random clusters and policies on the kernel, every probe compared
 * with the oracle: the cases nobody thought of (overlapping selectors,
 * ipBlocks over pod and node IPs, named ports resolving differently per pod,
 * unused slots acting as external addresses, pods of one family in a
 * dual-stack cluster). NFTPOL_DATAPLANE_RANDOM sets the count (default 3);
 * NFTPOL_SEED the seed (default: from the clock, printed), case i using seed+i.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { node } from '../support/builders.js';
import { enforceAndProbe } from '../support/netns/enforce.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';
import { summarizeReport } from '../support/netns/probe.js';
import { RANDOM_PORTS, randomCluster, type Slot } from '../support/netns/random-case.js';
import { seededRandom } from '../support/seeded-random.js';

const skip = dataplaneSkipReason();
const COUNT = Number(process.env['NFTPOL_DATAPLANE_RANDOM'] ?? 3);
const SEED = Number(process.env['NFTPOL_SEED'] ?? Date.now() % 1_000_000_000);

const NODES = [
  node('n1', { addresses: ['10.99.0.1', 'fd00:99::1'] }),
  node('n2', { addresses: ['10.99.0.2', 'fd00:99::2'] }),
];
/** Three dual-stack slots per node, plus one IPv4-only and one IPv6-only. */
const SLOTS: readonly Slot[] = [
  ...[1, 2].flatMap((n) =>
    [2, 3, 4].map((h) => ({
      nodeName: `n${n}`,
      ips: [`10.100.${n}.${h}`, `fd00:100:0:${n}::${h}`],
    })),
  ),
  { nodeName: 'n1', ips: ['10.100.1.5'] },
  { nodeName: 'n2', ips: ['fd00:100:0:2::5'] },
];

describe(
  `random clusters on the kernel (${COUNT} cases, NFTPOL_SEED=${SEED})`,
  { skip: skip ?? false },
  () => {
    let nc: NetnsCluster;
    let allowed = 0;
    let denied = 0;
    before(async () => {
      console.log(`random dataplane cases: NFTPOL_SEED=${SEED} NFTPOL_DATAPLANE_RANDOM=${COUNT}`);
      nc = await NetnsCluster.create();
    });
    after(async () => {
      console.log(`random dataplane cases: ${allowed} probes allowed, ${denied} denied`);
      await nc?.destroy();
    });

    for (let i = 0; i < COUNT; i++)
      it(`random cluster ${i} (seed ${SEED + i}) agrees with the oracle on every probe`, async () => {
        const c = randomCluster(seededRandom(SEED + i), NODES, SLOTS);
        try {
          const report = await enforceAndProbe(nc, c, { extraPorts: RANDOM_PORTS });
          console.log(
            `random ${i} (seed ${SEED + i}, ${c.policies.length} policies, ${(c.clusterPolicies ?? []).length} CNPs): ${summarizeReport(report)}`,
          );
          const open = report.records.filter((r) => r.result.outcome === 'open').length;
          allowed += open;
          denied += report.records.length - open;
          assert.ok(report.records.length > 0);
        } catch (err) {
          throw new Error(
            `random case ${i} failed; replay with NFTPOL_SEED=${SEED} NFTPOL_DATAPLANE_RANDOM=${i + 1}\n` +
              `cluster: ${JSON.stringify(c)}`,
            { cause: err },
          );
        }
      });
  },
);
