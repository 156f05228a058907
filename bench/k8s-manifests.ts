/**
 * Generated clusters as the Kubernetes manifests a user feeds the CLI: the
 * model objects of generate.ts turned back into API objects, shaped like
 * `kubectl get netpol -A -o yaml` output (a v1 List, keys sorted, server
 * fields and the `last-applied-configuration` annotation kubectl apply
 * leaves), so that load benchmarks read what real input looks like.
 * Deterministic: the same cluster always gives the same bytes.
 */
import { stringify } from 'yaml';
import type {
  LabelSelector,
  Namespace,
  Node,
  Peer,
  Pod,
  Policy,
  PortSpec,
  Rule,
} from '../src/policy/model.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const NETWORKING = 'networking.k8s.io/v1';

function selectorJson(s: LabelSelector): Json {
  const out: Record<string, Json> = {};
  if (Object.keys(s.matchLabels).length > 0) out['matchLabels'] = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out['matchExpressions'] = s.matchExpressions.map((e) => ({
      key: e.key,
      operator: e.operator,
      ...(e.values.length > 0 ? { values: [...e.values] } : {}),
    }));
  }
  return out;
}

function peerJson(p: Peer): Json {
  if (p.kind === 'ipBlock') {
    return { ipBlock: { cidr: p.cidr, ...(p.except.length > 0 ? { except: [...p.except] } : {}) } };
  }
  return {
    podSelector: selectorJson(p.podSelector),
    ...(p.namespaceSelector === null
      ? {}
      : { namespaceSelector: selectorJson(p.namespaceSelector) }),
  };
}

function portJson(p: PortSpec): Json {
  return {
    protocol: p.protocol,
    ...(p.port === undefined ? {} : { port: p.port }),
    ...(p.endPort === undefined ? {} : { endPort: p.endPort }),
  };
}

function ruleJson(r: Rule, peersKey: 'from' | 'to'): Json {
  return {
    ...(r.peers === null ? {} : { [peersKey]: r.peers.map(peerJson) }),
    ...(r.ports === null ? {} : { ports: r.ports.map(portJson) }),
  };
}

function policySpec(p: Policy): Record<string, Json> {
  return {
    podSelector: selectorJson(p.podSelector),
    policyTypes: p.policyTypes.map((t) => (t === 'ingress' ? 'Ingress' : 'Egress')),
    ...(p.ingress.length > 0 ? { ingress: p.ingress.map((r) => ruleJson(r, 'from')) } : {}),
    ...(p.egress.length > 0 ? { egress: p.egress.map((r) => ruleJson(r, 'to')) } : {}),
  };
}

/** A fake but stable UID from an index. */
function uid(i: number): string {
  const hex = (i * 2654435761).toString(16).padStart(12, '0').slice(-12);
  return `5f0c${hex.slice(0, 4)}-1d2e-4b5a-9c8d-${hex}`;
}

/** The labels and annotations a Helm release puts on what it installs. */
function helmMetadata(
  app: string,
  namespace: string,
): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  return {
    labels: {
      'app.kubernetes.io/instance': `${app}-${namespace}`,
      'app.kubernetes.io/managed-by': 'Helm',
      'app.kubernetes.io/name': app,
      'app.kubernetes.io/part-of': `${namespace}-platform`,
      'app.kubernetes.io/version': '1.24.3',
      'helm.sh/chart': `${app}-4.2.1`,
    },
    annotations: {
      'meta.helm.sh/release-name': `${app}-${namespace}`,
      'meta.helm.sh/release-namespace': namespace,
    },
  };
}

/**
 * A NetworkPolicy as `kubectl get -o yaml` shows one that a Helm release
 * installed and kubectl applied since.
 */
export function policyObject(p: Policy, i: number): Json {
  const spec = policySpec(p);
  const app = p.podSelector.matchLabels['app'] ?? 'namespace';
  const { labels, annotations } = helmMetadata(app, p.namespace);
  const applied = {
    apiVersion: NETWORKING,
    kind: 'NetworkPolicy',
    metadata: { annotations, labels, name: p.name, namespace: p.namespace },
    spec,
  };
  return {
    apiVersion: NETWORKING,
    kind: 'NetworkPolicy',
    metadata: {
      annotations: {
        ...annotations,
        'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(applied)}\n`,
      },
      labels,
      creationTimestamp: '2024-05-01T12:00:00Z',
      generation: 1,
      name: p.name,
      namespace: p.namespace,
      resourceVersion: String(100_000 + i),
      uid: uid(i),
    },
    spec,
  };
}

export function namespaceObject(n: Namespace): Json {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: n.name, labels: { ...n.labels } },
  };
}

export function nodeObject(n: Node): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name },
    spec: { podCIDRs: [...n.podCIDRs] },
    status: { addresses: n.addresses.map((address) => ({ type: 'InternalIP', address })) },
  };
}

export function podObject(p: Pod): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels } },
    spec: {
      nodeName: p.nodeName,
      containers: [
        {
          name: 'main',
          ports: p.ports.map((c) => ({
            name: c.name,
            containerPort: c.containerPort,
            protocol: c.protocol,
          })),
        },
      ],
    },
    status: { phase: p.phase, podIPs: p.ips.map((ip) => ({ ip })) },
  };
}

/** A v1 List of `items`, as kubectl prints one. */
export function listObject(items: Json[]): Json {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/**
 * YAML the way kubectl writes it: keys sorted, sequences not indented under
 * their key, no line folding.
 */
export function kubectlYaml(value: Json): string {
  return stringify(value, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

/** JSON the way `kubectl -o json` writes it: four-space indentation. */
export function kubectlJson(value: Json): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/**
 * Policies of real clusters carry more rules than the generator's one or
 * two: `fold` gives each of the first `count` policies the rules of the
 * policies `count`, `2 × count`… after it as well (same selector, name and
 * namespace as the first).
 */
export function foldPolicies(policies: readonly Policy[], count: number): Policy[] {
  const out: Policy[] = [];
  for (let i = 0; i < count; i++) {
    const first = policies[i];
    if (first === undefined) break;
    const ingress: Rule[] = [];
    const egress: Rule[] = [];
    for (let j = i; j < policies.length; j += count) {
      const p = policies[j];
      if (p === undefined) continue;
      ingress.push(...p.ingress);
      egress.push(...p.egress);
    }
    const policyTypes: Policy['policyTypes'] =
      egress.length > 0 || first.policyTypes.includes('egress')
        ? ['ingress', 'egress']
        : ['ingress'];
    out.push({ ...first, ingress, egress, policyTypes });
  }
  return out;
}
