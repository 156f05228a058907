/**
 * Seeded cluster generator for benchmarks: the same seed and size always give
 * the same Cluster, so figures from two runs compare. The shape follows what
 * real clusters look like: ~30 pods per node, ~30 pods per namespace, a few
 * apps per namespace, and a mix of the policy kinds operators write (default
 * deny, same-app allow, cross-namespace allow by label, named ports, port
 * ranges, egress to CIDRs with exceptions, DNS egress).
 */
import type { Cluster, Namespace, Node, Pod, Policy, PortSpec, Rule } from '../src/policy/model.js';
import { seededRandom } from '../test/support/seeded-random.js';

export { seededRandom };

export interface ClusterSize {
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
}

export const SIZES: Readonly<Record<string, ClusterSize>> = {
  small: { nodes: 100, pods: 3_000, policies: 300 },
  medium: { nodes: 1_000, pods: 30_000, policies: 3_000 },
  large: { nodes: 5_000, pods: 150_000, policies: 10_000 },
};

const TEAMS = ['alpha', 'beta', 'gamma', 'delta', 'ops'];
const APPS = ['web', 'api', 'db', 'cache', 'worker', 'queue'];

/** A cluster of `size`, reproducible from `seed`. */
export function generateCluster(size: ClusterSize, seed = 1): Cluster {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

  const nodes: Node[] = [];
  for (let i = 0; i < size.nodes; i++) {
    const cidr = `10.${64 + (i >> 8)}.${i & 255}.0/24`;
    nodes.push({
      name: `node-${i}`,
      podCIDRs: [cidr, `fd00:10:${i.toString(16)}::/64`],
      addresses: [`172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`],
    });
  }

  const nsCount = Math.max(1, Math.round(size.pods / 30));
  const namespaces: Namespace[] = [];
  for (let i = 0; i < nsCount; i++) {
    const name = `ns-${i}`;
    namespaces.push({
      name,
      labels: {
        'kubernetes.io/metadata.name': name,
        team: pick(TEAMS),
        env: rnd() < 0.7 ? 'prod' : 'dev',
      },
    });
  }

  const podsPerNode = new Array<number>(size.nodes).fill(0);
  const pods: Pod[] = [];
  for (let i = 0; i < size.pods; i++) {
    const n = i % size.nodes;
    const slot = ++podsPerNode[n]!;
    const node = nodes[n]!;
    const v4 = `10.${64 + (n >> 8)}.${n & 255}.${slot}`;
    const dual = rnd() < 0.2;
    const namespace = namespaces[Math.floor(i / 30) % nsCount]!.name;
    const app = pick(APPS);
    pods.push({
      namespace,
      name: `${app}-${i}`,
      nodeName: node.name,
      labels: {
        app,
        tier: rnd() < 0.5 ? 'front' : 'back',
        version: `v${1 + Math.floor(rnd() * 3)}`,
      },
      ips: dual ? [v4, `fd00:10:${n.toString(16)}::${slot.toString(16)}`] : [v4],
      hostNetwork: false,
      phase: 'Running',
      ports: [
        { name: 'http', containerPort: 8000 + Math.floor(rnd() * 4), protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      ],
    });
  }

  const policies: Policy[] = [];
  const sel = (matchLabels: Record<string, string>) => ({ matchLabels, matchExpressions: [] });
  const tcp = (port: number | string, endPort?: number): PortSpec => ({
    protocol: 'TCP',
    port,
    ...(endPort === undefined ? {} : { endPort }),
  });
  for (let i = 0; i < size.policies; i++) {
    const namespace = namespaces[i % nsCount]!.name;
    const app = pick(APPS);
    const kind = i % 6;
    let ingress: Rule[] = [];
    let egress: Rule[] = [];
    let podSelector = sel({ app });
    switch (kind) {
      case 0: // default deny ingress for the namespace
        podSelector = sel({});
        break;
      case 1: // same-app allow on a named port
        ingress = [
          {
            peers: [{ kind: 'pods', namespaceSelector: null, podSelector: sel({ app }) }],
            ports: [tcp('http')],
          },
        ];
        break;
      case 2: // from a team's namespaces, a tier of pods
        ingress = [
          {
            peers: [
              {
                kind: 'pods',
                namespaceSelector: sel({ team: pick(TEAMS) }),
                podSelector: sel({ tier: 'front' }),
              },
            ],
            ports: [tcp(8000, 8003)],
          },
        ];
        break;
      case 3: // monitoring scrapes metrics from every namespace labelled ops
        ingress = [
          {
            peers: [
              { kind: 'pods', namespaceSelector: sel({ team: 'ops' }), podSelector: sel({}) },
            ],
            ports: [tcp('metrics')],
          },
        ];
        break;
      case 4: // egress: DNS and an external range less exceptions
        egress = [
          {
            peers: null,
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          {
            peers: [{ kind: 'ipBlock', cidr: '192.168.0.0/16', except: ['192.168.10.0/24'] }],
            ports: [tcp(443)],
          },
        ];
        break;
      default: // egress to the db of the same namespace
        egress = [
          {
            peers: [{ kind: 'pods', namespaceSelector: null, podSelector: sel({ app: 'db' }) }],
            ports: [tcp(5432)],
          },
        ];
    }
    policies.push({
      namespace,
      name: `policy-${i}`,
      podSelector,
      policyTypes: egress.length > 0 ? ['ingress', 'egress'] : ['ingress'],
      ingress,
      egress,
    });
  }
  return { namespaces, pods, policies, nodes };
}
