/**
 * The snapshot's v2 rules, as a table: each row starts from one base
 * cluster, applies one change, and lists exactly the nodes whose rules it
 * must mark and the shared sets whose members it changes — a peer pod
 * changing touches sets, never remote nodes. Then: the snapshot, read as a
 * translate source, renders byte-identically to the full cluster, and
 * named-port misses are found.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCluster, SIZES } from '../../../bench/generate.js';
import { ClusterSnapshot, findUnresolvedNamedPorts } from '../../../src/controller/snapshot.js';
import { renderNodeWith } from '../../../src/controller/engine.js';
import type { Cluster } from '../../../src/policy/model.js';
import { ClusterIndex } from '../../../src/policy/cluster-index.js';
import { describePeerSet, peerSetsOf, type PeerSet } from '../../../src/policy/peer-sets.js';
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

/** The base's shared sets, as describePeerSet names them. */
const CLIENTS = 'pods {app=client} in namespaces {team=y}';
const WEBS = 'pods {app=web} in namespace a';

const rows: ReadonlyArray<{
  readonly name: string;
  readonly change: (s: ClusterSnapshot) => Set<string>;
  /** Nodes whose rules may change. */
  readonly dirty: readonly string[];
  /** Shared sets whose members changed (described). */
  readonly sets: readonly string[];
  /** Shared sets no policy defines any more. */
  readonly removed?: readonly string[];
}> = [
  {
    name: 'an unchanged pod marks nothing',
    change: (s) => s.setPod(pod('a/db', { app: 'db' }, { nodeName: 'n3', ips: ['10.0.3.1'] })),
    dirty: [],
    sets: [],
  },
  {
    name: 'a pod no policy peers on marks only its own node',
    change: (s) => s.setPod(pod('c/other', { x: '1' }, { nodeName: 'n5', ips: ['10.0.5.1'] })),
    dirty: ['n5'],
    sets: [],
  },
  {
    name: 'a new client pod marks its own node only; it joins the client set',
    change: (s) =>
      s.setPod(pod('b/client-2', { app: 'client' }, { nodeName: 'n6', ips: ['10.0.6.1'] })),
    dirty: ['n6'],
    sets: [CLIENTS],
  },
  {
    name: 'a web pod losing its label marks its own node; it leaves the web set',
    change: (s) => s.setPod(pod('a/web-1', { app: 'old' }, { nodeName: 'n1', ips: ['10.0.1.1'] })),
    dirty: ['n1'],
    sets: [WEBS],
  },
  {
    name: 'a peer pod changing its IP marks its own node; its set changes',
    change: (s) =>
      s.setPod(pod('b/client', { app: 'client' }, { nodeName: 'n4', ips: ['10.0.4.9'] })),
    dirty: ['n4'],
    sets: [CLIENTS],
  },
  {
    name: 'a pod moving into an ipBlock marks its own node; ipBlocks are inline, no set changes',
    change: (s) => s.setPod(pod('c/other', {}, { nodeName: 'n5', ips: ['10.9.0.7'] })),
    dirty: ['n5'],
    sets: [],
  },
  {
    name: 'a pod moving to another node marks both nodes',
    change: (s) => s.setPod(pod('c/other', {}, { nodeName: 'n6', ips: ['10.0.5.1'] })),
    dirty: ['n5', 'n6'],
    sets: [],
  },
  {
    name: "a pod claiming a peer's IP marks both claimants' nodes; the IP stays the peer's (first by name)",
    change: (s) => s.setPod(pod('c/twin', {}, { nodeName: 'n6', ips: ['10.0.4.1'] })),
    dirty: ['n4', 'n6'],
    sets: [],
  },
  {
    name: 'deleting one of two pods sharing an IP marks the other one’s node (it owns the IP now)',
    change: (s) => {
      s.setPod(pod('c/twin', {}, { nodeName: 'n6', ips: ['10.0.4.1'] }));
      return s.deletePod('b', 'client');
    },
    dirty: ['n4', 'n6'],
    sets: [CLIENTS],
  },
  {
    name: 'a deleted client pod marks its own node; it leaves the client set',
    change: (s) => s.deletePod('b', 'client'),
    dirty: ['n4'],
    sets: [CLIENTS],
  },
  {
    name: 'a pod that turns terminal leaves the sets it was in',
    change: (s) =>
      s.setPod(
        pod(
          'b/client',
          { app: 'client' },
          { nodeName: 'n4', ips: ['10.0.4.1'], phase: 'Succeeded' },
        ),
      ),
    dirty: ['n4'],
    sets: [CLIENTS],
  },
  {
    name: 'a namespace losing the label a namespaceSelector matched marks no node; its pods leave the set',
    change: (s) => s.setNamespace(ns('b', { team: 'z' })),
    dirty: [],
    sets: [CLIENTS],
  },
  {
    name: 'a namespace gaining the label with no matching pod changes nothing',
    change: (s) => s.setNamespace(ns('c', { team: 'y' })),
    dirty: [],
    sets: [],
  },
  {
    name: 'a namespace label no selector reads marks nothing',
    change: (s) => s.setNamespace(ns('c', { colour: 'red' })),
    dirty: [],
    sets: [],
  },
  {
    name: 'a new policy marks the nodes of the pods it selects',
    change: (s) => s.setPolicy(policy('a/deny-db', { podSelector: sel({ app: 'db' }) })),
    dirty: ['n3'],
    sets: [],
  },
  {
    name: 'a new policy with a new peer defines a new set (written even when empty)',
    change: (s) =>
      s.setPolicy(
        policy('a/db-from-b', {
          podSelector: sel({ app: 'db' }),
          ingress: [rule([nsPeer(sel({ team: 'y' }), sel({ app: 'none' }))])],
        }),
      ),
    dirty: ['n3'],
    sets: ['pods {app=none} in namespaces {team=y}'],
  },
  {
    name: 'a policy whose selector changes marks old and new targets; its peer set stays',
    change: (s) =>
      s.setPolicy(
        policy('a/db-from-web', {
          podSelector: sel({ app: 'web' }),
          ingress: [rule([podPeer(sel({ app: 'web' }))])],
        }),
      ),
    dirty: ['n1', 'n2', 'n3'],
    sets: [],
  },
  {
    name: 'a deleted policy marks the nodes of the pods it selected; its set is no longer defined',
    change: (s) => s.deletePolicy('a', 'web-from-client'),
    dirty: ['n1', 'n2'],
    sets: [],
    removed: [CLIENTS],
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
    sets: [],
  },
  {
    name: 'a changed node marks only itself',
    change: (s) => s.setNode(node('n4', { podCIDRs: ['10.0.4.0/24'] })),
    dirty: ['n4'],
    sets: [],
  },
  {
    name: 'a deleted node marks itself',
    change: (s) => s.deleteNode('n6'),
    dirty: ['n6'],
    sets: [],
  },
];

/** Descriptions of the sets `ids` names, as defined in `s` or in `before`. */
function described(ids: Iterable<string>, known: ReadonlyMap<string, PeerSet>): string[] {
  return [...ids].map((id) => (known.has(id) ? describePeerSet(known.get(id)!) : id)).sort();
}

describe('ClusterSnapshot dirty nodes and changed sets', () => {
  for (const row of rows) {
    it(row.name, () => {
      const c = base();
      const s = load(c);
      s.memberships.takeChanges();
      const dirty = row.change(s);
      const { changed, removed } = s.memberships.takeChanges();
      const known = new Map([...peerSetsOf(c.policies), ...peerSetsOf(s.cluster().policies)]);
      assert.deepEqual([...dirty].sort(), [...row.dirty].sort(), 'dirty nodes');
      assert.deepEqual(described(changed, known), [...row.sets].sort(), 'changed sets');
      assert.deepEqual(described(removed, known), [...(row.removed ?? [])].sort(), 'removed sets');
    });
  }

  it('an egress named port without peers puts every pod declaring it in one set', () => {
    const s = load(base());
    s.setPolicy(
      policy('c/egress-named', {
        podSelector: sel(),
        egress: [rule(null, [port('http')])],
      }),
    );
    s.memberships.takeChanges();
    const dirty = s.setPod(
      pod(
        'b/client',
        { app: 'client' },
        { nodeName: 'n4', ips: ['10.0.4.2'], ports: [named('http', 8080)] },
      ),
    );
    const { changed } = s.memberships.takeChanges();
    assert.deepEqual([...dirty], ['n4']);
    const known = peerSetsOf(s.cluster().policies);
    assert.deepEqual(described(changed, known), ['any pod, port http/TCP', CLIENTS]);
    const portSet = [...known.values()].find((x) => x.namedPort !== null)!;
    assert.deepEqual(s.memberships.membersOf(portSet.id), ['10.0.4.2 . tcp . 8080']);
  });
});

describe('ClusterSnapshot as the translate source', () => {
  it('renders nodes of a generated cluster byte-identically to the cluster it was loaded from', () => {
    const c = generateCluster(SIZES['small']!, 7);
    const s = load(c);
    const render = renderNodeWith({ failClosed: true });
    const index = new ClusterIndex(c);
    for (const n of c.nodes.filter((_, i) => i % 4 === 0)) {
      assert.equal(render(s, n.name).script, render(index, n.name).script, n.name);
    }
  });

  it('renders the hand-written base cluster identically too', () => {
    const c = base();
    const s = load(c);
    const render = renderNodeWith({ failClosed: false });
    const index = new ClusterIndex(c);
    for (const n of c.nodes) {
      assert.equal(render(s, n.name).scriptHash, render(index, n.name).scriptHash);
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
