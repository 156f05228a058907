/**
 * What the end-to-end suites share: a two-node dual-stack cluster written as
 * API objects, one in-process executor per netns node loading into that
 * node's namespace, and a probe of every pair compared with the oracle and
 * pinned by spots. e2e.test.ts (NetworkPolicy) and cluster-policy.test.ts
 * (ClusterNetworkPolicy) differ in what they write, not in this.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startExecutor, type ExecutorHandle } from '../../src/executor/main.js';
import { DEFAULTS as EXECUTOR_DEFAULTS } from '../../src/executor/options.js';
import type { KubeConfig } from '../../src/k8s/client.js';
import type { Cluster } from '../../src/policy/model.js';
import { createLogger } from '../../src/telemetry/log.js';
import type { NetnsCluster } from './netns/netns-cluster.js';
import { assertMatchesOracle, probeCluster, summarizeReport } from './netns/probe.js';
import { assertSpots, type Spot } from './netns/spots.js';

const run = promisify(execFile);

/** Two dual-stack nodes: InternalIPs in `10.<net>.0.0/24`, pod CIDRs `10.<net+1>.<i>.0/24`. */
export function twoNodes(net: number): readonly {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly podCIDRs: readonly string[];
}[] {
  return [1, 2].map((i) => ({
    name: `n${i}`,
    addresses: [`10.${net}.0.${i}`, `fd00:${net}::${i}`],
    podCIDRs: [`10.${net + 1}.${i}.0/24`, `fd00:${net + 1}:0:${i}::/64`],
  }));
}

/** A Node object with its InternalIPs and pod CIDRs. */
export function k8sNode(n: ReturnType<typeof twoNodes>[number]): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name },
    spec: { podCIDR: n.podCIDRs[0], podCIDRs: n.podCIDRs },
    status: { addresses: n.addresses.map((address) => ({ type: 'InternalIP', address })) },
  };
}

/** A Namespace object. */
export function k8sNs(name: string, labels: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/**
 * Pod `ns/name` on node `n<nodeIndex>`, Running at host `.h` of that node's
 * pod CIDRs (`10.<podNet>.<nodeIndex>.<h>` and its IPv6 twin).
 */
export function k8sPod(
  podNet: number,
  qualified: string,
  labels: Record<string, string>,
  nodeIndex: 1 | 2,
  h: number,
): object {
  const [namespace, name] = qualified.split('/');
  const ips = [`10.${podNet}.${nodeIndex}.${h}`, `fd00:${podNet}:0:${nodeIndex}::${h}`];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { nodeName: `n${nodeIndex}`, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  };
}

/** One executor per node of `nc`, each loading into its node's namespace, with quick retries. */
export async function startNetnsExecutors(
  nc: NetnsCluster,
  kubeConfig: KubeConfig,
  label: string,
): Promise<ExecutorHandle[]> {
  const executors: ExecutorHandle[] = [];
  for (const n of nc.nodes) {
    const netns = n.netns;
    executors.push(
      await startExecutor(
        {
          ...EXECUTOR_DEFAULTS,
          nodeName: n.name,
          nftCommand: `ip netns exec ${netns} nft`,
          driftIntervalMs: 1_000,
          retryBackoffMs: 50,
          retryMaxBackoffMs: 400,
          informerBackoffMs: 50,
          informerMaxBackoffMs: 400,
          healthPort: -1,
          logLevel: 'silent',
        },
        kubeConfig,
        {
          log: createLogger({ component: `${label}-executor-${n.name}`, level: 'silent' }),
          // The forwarding sysctl of the node's namespace, not the test's.
          readFile: async (path) => (await run('ip', ['netns', 'exec', netns, 'cat', path])).stdout,
        },
      ),
    );
  }
  return executors;
}

/** Probe every pair, assert the kernel agrees with the oracle and with the spots. */
export async function probeAndCompare(
  nc: NetnsCluster,
  cluster: Cluster,
  spots: readonly Spot[],
): Promise<void> {
  const report = await probeCluster(nc, cluster);
  assertMatchesOracle(report);
  assertSpots(report, spots);
  console.log(`  ${summarizeReport(report)}`);
}
