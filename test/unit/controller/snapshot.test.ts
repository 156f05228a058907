/**
 * The snapshot's dirty-node rules, as a table: each row starts from one base
 * cluster, applies one change, and lists exactly the nodes it must mark.
 * Then: the per-node sub-cluster translates byte-identically to the full
 * cluster, and named-port misses are found.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCluster, SIZES } from '../../../bench/generate.js';
import { ClusterSnapshot, findUnresolvedNamedPorts } from '../../../src/controller/snapshot.js';
import { renderNodeWith } from '../../../src/controller/engine.js';
import type { Cluster } from '../../../src/policy/model.js';
import {
  cluster,
  ipBlock,
  named,
  node,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../../support/builders.js';

/**
 * Base: namespaces a (team x) and b (team y); web pods in a on n1/n2, db in a
 * on n3, client in b on n4, an unlabelled pod in c on n5.
 *  - a/web-from-client: selects app=web, ingress from b's app=client pods (team y);
 *  - a/db-from-web: selects app=db, ingress from app=web in a;
 *  - a/web-egress-cidr: selects app=web, egress to 10.9.0.0/16.
 */
function base(): Cluster {
  return cluster(
    [ns('a', { team: 'x' }), ns('b', { team: 'y' }), ns('c')],
    [
      pod('a/web-1', { app: 'web' }, { nodeName: 'n1', ips: ['10.0.1.1'] }),
      pod('a/web-2', { app: 'web' }, { nodeName: 'n2', ips: ['10.0.2.1'] }),
      pod('a/db', { app: 'db' }, { nodeName: 'n3', ips: ['10.0.3.1'] }),
      pod('b/client', { app: 'client' }, { nodeName: 'n4', ips: ['10.0.4.1'] }),
      pod('c/other', {}, { nodeName: 'n5', ips: ['10.0.5.1'] }),
    ],
    [
      policy('a/web-from-client', {
        podSelector: sel({ app: 'web' }),
        ingress: [rule([nsPeer(sel({ team: 'y' }), sel({ app: 'client' }))])],
      }),
      policy('a/db-from-web', {
        podSelector: sel({ app: 'db' }),
        ingress: [rule([podPeer(sel({ app: 'web' }))])],
      }),
      policy('a/web-egress-cidr', {
        podSelector: sel({ app: 'web' }),
        egress: [rule([ipBlock('10.9.0.0/16')])],
      }),
    ],
    ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((n) => node(n)),
  );
}

function load(c: Cluster): ClusterSnapshot {
  const s = new ClusterSnapshot();
  c.nodes.forEach((n) => s.setNode(n));
  c.namespaces.forEach((n) => s.setNamespace(n));
  c.pods.forEach((p) => s.setPod(p));
  c.policies.forEach((p) => s.setPolicy(p));
  return s;
}

const rows: ReadonlyArray<{
  readonly name: string;
  readonly change: (s: ClusterSnapshot) => Set<string>;
  readonly dirty: readonly string[];
}> = [
  {
    name: 'an unchanged pod marks nothing',
    change: (s) => s.setPod(pod('a/db', { app: 'db' }, { nodeName: 'n3', ips: ['10.0.3.1'] })),
    dirty: [],
  },
  {
    name: 'a pod no policy peers on marks only its own node',
    change: (s) => s.setPod(pod('c/other', { x: '1' }, { nodeName: 'n5', ips: ['10.0.5.1'] })),
    dirty: ['n5'],
  },
  {
    name: 'a new client pod marks its node and the nodes of the web pods that admit it',
    change: (s) =>
      s.setPod(pod('b/client-2', { app: 'client' }, { nodeName: 'n6', ips: ['10.0.6.1'] })),
    dirty: ['n1', 'n2', 'n6'],
  },
  {
    name: 'a web pod losing its label marks the db node (peer before) and its own',
    change: (s) => s.setPod(pod('a/web-1', { app: 'old' }, { nodeName: 'n1', ips: ['10.0.1.1'] })),
    dirty: ['n1', 'n3'],
  },
  {
    name: 'a pod gaining a peer label marks the nodes of the policy targets (peer after)',
    change: (s) =>
      s.setPod(pod('b/client', { app: 'client' }, { nodeName: 'n4', ips: ['10.0.4.9'] })),
    dirty: ['n1', 'n2', 'n4'],
  },
  {
    name: 'a pod moving into an ipBlock marks the nodes of the egress policy targets',
    change: (s) => s.setPod(pod('c/other', {}, { nodeName: 'n5', ips: ['10.9.0.7'] })),
    dirty: ['n1', 'n2', 'n5'],
  },
  {
    name: 'a pod moving to another node marks both nodes',
    change: (s) => s.setPod(pod('c/other', {}, { nodeName: 'n6', ips: ['10.0.5.1'] })),
    dirty: ['n5', 'n6'],
  },
  {
    name: "a pod claiming a peer's IP on another node marks that pod's node and the nodes it is a peer for",
    change: (s) => s.setPod(pod('c/twin', {}, { nodeName: 'n6', ips: ['10.0.4.1'] })),
    dirty: ['n1', 'n2', 'n4', 'n6'],
  },
  {
    name: 'deleting one of two pods sharing an IP marks the other one’s node (it may own the IP now)',
    change: (s) => {
      s.setPod(pod('c/twin', {}, { nodeName: 'n6', ips: ['10.0.4.1'] }));
      return s.deletePod('b', 'client');
    },
    dirty: ['n1', 'n2', 'n4', 'n6'],
  },
  {
    name: 'a deleted client pod marks its node and the web nodes',
    change: (s) => s.deletePod('b', 'client'),
    dirty: ['n1', 'n2', 'n4'],
  },
  {
    name: 'a pod that turns terminal still marks the nodes it was a peer for',
    change: (s) =>
      s.setPod(
        pod(
          'b/client',
          { app: 'client' },
          { nodeName: 'n4', ips: ['10.0.4.1'], phase: 'Succeeded' },
        ),
      ),
    dirty: ['n1', 'n2', 'n4'],
  },
  {
    name: 'a namespace losing the label a namespaceSelector matched marks the targets',
    change: (s) => s.setNamespace(ns('b', { team: 'z' })),
    dirty: ['n1', 'n2'],
  },
  {
    name: 'a namespace gaining the label marks the targets',
    change: (s) => s.setNamespace(ns('c', { team: 'y' })),
    dirty: ['n1', 'n2'],
  },
  {
    name: 'a namespace label no selector reads marks nothing',
    change: (s) => s.setNamespace(ns('c', { colour: 'red' })),
    dirty: [],
  },
  {
    name: 'a new policy marks the nodes of the pods it selects',
    change: (s) => s.setPolicy(policy('a/deny-db', { podSelector: sel({ app: 'db' }) })),
    dirty: ['n3'],
  },
  {
    name: 'a policy whose selector changes marks old and new targets',
    change: (s) =>
      s.setPolicy(
        policy('a/db-from-web', {
          podSelector: sel({ app: 'web' }),
          ingress: [rule([podPeer(sel({ app: 'web' }))])],
        }),
      ),
    dirty: ['n1', 'n2', 'n3'],
  },
  {
    name: 'a deleted policy marks the nodes of the pods it selected',
    change: (s) => s.deletePolicy('a', 'web-from-client'),
    dirty: ['n1', 'n2'],
  },
  {
    name: 'an unchanged policy marks nothing',
    change: (s) =>
      s.setPolicy(
        policy('a/db-from-web', {
          podSelector: sel({ app: 'db' }),
          ingress: [rule([podPeer(sel({ app: 'web' }))])],
        }),
      ),
    dirty: [],
  },
  {
    name: 'a changed node marks only itself',
    change: (s) => s.setNode(node('n4', { podCIDRs: ['10.0.4.0/24'] })),
    dirty: ['n4'],
  },
  {
    name: 'a deleted node marks itself',
    change: (s) => s.deleteNode('n6'),
    dirty: ['n6'],
  },
];

describe('ClusterSnapshot dirty nodes', () => {
  for (const row of rows) {
    it(row.name, () => {
      const s = load(base());
      assert.deepEqual([...row.change(s)].sort(), [...row.dirty].sort());
    });
  }

  it('an egress rule without peers but with a named port makes every pod a peer', () => {
    const s = load(base());
    s.setPolicy(
      policy('c/egress-named', {
        podSelector: sel(),
        egress: [rule(null, [port('http')])],
      }),
    );
    assert.deepEqual(
      [
        ...s.setPod(pod('b/client', { app: 'client' }, { nodeName: 'n4', ips: ['10.0.4.2'] })),
      ].sort(),
      ['n1', 'n2', 'n4', 'n5'],
    );
  });
});

describe('ClusterSnapshot.cluster', () => {
  it('renders nodes of a generated cluster byte-identically to the cluster it was loaded from', () => {
    const c = generateCluster(SIZES['small']!, 7);
    const s = load(c);
    const render = renderNodeWith({ failClosed: true });
    for (const n of c.nodes.filter((_, i) => i % 4 === 0)) {
      assert.equal(render(s.cluster(), n.name).script, render(c, n.name).script, n.name);
    }
  });

  it('renders the hand-written base cluster identically too', () => {
    const c = base();
    const s = load(c);
    const render = renderNodeWith({ failClosed: false });
    for (const n of c.nodes) {
      assert.equal(render(s.cluster(), n.name).scriptHash, render(c, n.name).scriptHash);
    }
  });
});

describe('findUnresolvedNamedPorts', () => {
  it('reports an ingress named port no selected pod declares, and not one that resolves', () => {
    const s = load(
      cluster(
        [ns('a')],
        [
          pod(
            'a/web',
            { app: 'web' },
            { nodeName: 'n1', ips: ['10.0.0.1'], ports: [named('http', 8080)] },
          ),
        ],
      ),
    );
    const good = policy('a/good', {
      podSelector: sel({ app: 'web' }),
      ingress: [rule(null, [port('http')])],
    });
    const bad = policy('a/bad', {
      podSelector: sel({ app: 'web' }),
      ingress: [rule(null, [port('grpc')])],
    });
    assert.deepEqual(findUnresolvedNamedPorts(s, good), []);
    assert.equal(findUnresolvedNamedPorts(s, bad).length, 1);
    assert.match(findUnresolvedNamedPorts(s, bad)[0]!, /"grpc"/);
  });
});
