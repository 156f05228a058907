/**
 * The controller against the embedded API server, through the real
 * @kubernetes/client-node: scripts match translate+render on the same
 * objects; churn, watch cuts and 410 Gone converge; hand edits are restored;
 * stale NodeFirewalls go; two replicas write through one leader; failover;
 * a restart with nothing changed writes nothing; and the binary runs.
 *
 * Synchronisation is by waiting on the store's change feed (a predicate
 * checked on every committed change) or on the controller's batch hook —
 * never by sleeping.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import { translateNode } from '../../src/policy/translate.js';
import { createLogger } from '../../src/telemetry/log.js';

const NFW = 'nodefirewalls';
const TIMEOUT_MS = 15_000;

function options(identity: string, over: Partial<ControllerOptions> = {}): ControllerOptions {
  return {
    ...DEFAULTS,
    identity,
    leaseNamespace: 'kube-system',
    debounceMs: 20,
    maxDelayMs: 200,
    leaseDurationMs: 1_000,
    renewDeadlineMs: 600,
    retryPeriodMs: 100,
    healthPort: -1,
    logLevel: 'silent',
    informerBackoffMs: 50,
    informerMaxBackoffMs: 500,
    retryDelayMs: 50,
    ...over,
  };
}

// ------------------------------------------------------------ API objects

const k8sNode = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: '10.0.0.0/16' },
  status: { addresses: [{ type: 'InternalIP', address: '172.16.0.1' }] },
});
const k8sNs = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const k8sPod = (
  ns: string,
  name: string,
  labels: Record<string, string>,
  nodeName: string,
  ip: string,
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels },
  spec: {
    nodeName,
    containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});
const k8sPolicy = (ns: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec,
});
const webFromClient = k8sPolicy('shop', 'web-from-client', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [
    {
      from: [
        {
          namespaceSelector: { matchLabels: { team: 'front' } },
          podSelector: { matchLabels: { app: 'client' } },
        },
      ],
      ports: [{ port: 'http' }],
    },
  ],
});

// ------------------------------------------------------------ helpers

/** The scripts translate+render give for the objects in the store, per node. */
function expectedScripts(server: ApiServer): Map<string, string> {
  const objects = ['namespaces', 'nodes', 'pods', 'networkpolicies'].flatMap((plural) =>
    server.store.list(plural).items.map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster } = clusterFromObjects(objects);
  return new Map(
    cluster.nodes.map((n) => [n.name, renderScript(translateNode(cluster, n.name)).script]),
  );
}

function actualScripts(server: ApiServer): Map<string, string> {
  return new Map(
    server.store
      .list(NFW)
      .items.map((o) => [o.metadata.name, (o['spec'] as { script: string }).script] as const),
  );
}

function converged(server: ApiServer): boolean {
  const want = expectedScripts(server);
  const have = actualScripts(server);
  return want.size === have.size && [...want].every(([n, s]) => have.get(n) === s);
}

/** Listeners called after every batch of every controller started here. */
const batchListeners = new Set<() => void>();

/**
 * Resolves when `predicate` holds, checked now, after every committed change
 * and after every controller batch.
 */
function waitForStore(server: ApiServer, predicate: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      unsubscribe();
      const want = expectedScripts(server);
      const have = actualScripts(server);
      const differ = [...new Set([...want.keys(), ...have.keys()])].filter(
        (n) => want.get(n) !== have.get(n),
      );
      reject(
        new Error(
          `timed out waiting for ${what} (nodes whose script differs: ${differ.join(', ') || 'none'})`,
        ),
      );
    }, TIMEOUT_MS);
    const check = (): void =>
      // Changes are committed before listeners run; check once the call returned.
      queueMicrotask(() => {
        if (predicate()) {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
      });
    const unsubscribeStore = server.store.history.subscribe(check);
    batchListeners.add(check);
    const unsubscribe = (): void => {
      unsubscribeStore();
      batchListeners.delete(check);
    };
  });
}

function nfwWrites(server: ApiServer): number {
  return server.writes().filter((r) => r.path.includes(`/${NFW}`)).length;
}

/** Starts a controller and resolves, with it, once it synced (and led, when `lead`). */
async function start(
  server: ApiServer,
  identity: string,
  over: Partial<ControllerOptions> = {},
  batches?: Array<{ nodes: number }>,
): Promise<ControllerHandle> {
  const handle = await startController(options(identity, over), kubeConfigForServer(server.url), {
    log: createLogger({ component: identity, level: 'silent' }),
    onBatch: (b: { nodes: number }) => {
      batches?.push(b);
      for (const listener of batchListeners) listener();
    },
  });
  await handle.synced;
  return handle;
}

function seed(server: ApiServer): void {
  const s = server.store;
  for (const n of ['n1', 'n2', 'n3']) s.create('nodes', k8sNode(n));
  s.create('namespaces', k8sNs('kube-system'));
  s.create('namespaces', k8sNs('shop', { team: 'back' }));
  s.create('namespaces', k8sNs('edge', { team: 'front' }));
  s.create('pods', k8sPod('shop', 'web-1', { app: 'web' }, 'n1', '10.0.1.1'));
  s.create('pods', k8sPod('shop', 'web-2', { app: 'web' }, 'n2', '10.0.2.1'));
  s.create('pods', k8sPod('edge', 'client', { app: 'client' }, 'n3', '10.0.3.1'));
  s.create('networkpolicies', webFromClient);
}

const podPatch = (labels: Record<string, string>) => ({ metadata: { labels } });

// ------------------------------------------------------------ tests

describe('nftpol-controller against the API server', () => {
  let server: ApiServer;
  let controller: ControllerHandle;

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 1_000 });
    seed(server);
    controller = await start(server, 'solo');
  });
  after(async () => {
    await controller.stop();
    await server.close();
  });

  it('writes each node the script translate and render give for the same objects', async () => {
    await waitForStore(server, () => converged(server), 'first convergence');
    const nfw = server.store.get(NFW, undefined, 'n1')!;
    const node = server.store.get('nodes', undefined, 'n1')!;
    assert.deepEqual(nfw.metadata.ownerReferences, [
      {
        apiVersion: 'v1',
        kind: 'Node',
        name: 'n1',
        uid: node.metadata.uid,
        blockOwnerDeletion: false,
      },
    ]);
    const spec = nfw['spec'] as {
      scriptHash: string;
      summary: { policyNames: string[]; isolatedPods: number };
    };
    assert.match(spec.scriptHash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(spec.summary.policyNames, ['shop/web-from-client']);
    assert.equal(spec.summary.isolatedPods, 1);
    const applies = server.writes().filter((r) => r.path.endsWith(`/${NFW}/n1`));
    assert.ok(applies.length > 0);
    assert.ok(applies.every((r) => r.contentType?.startsWith('application/apply-patch') === true));
    assert.ok(
      applies.every(
        (r) => r.query['fieldManager'] === 'nftpol-controller' && r.query['force'] === 'true',
      ),
    );
  });

  it('follows churn of labels, IPs and policies', async () => {
    const s = server.store;
    s.patch('pods', { namespace: 'edge', name: 'client' }, 'merge', podPatch({ app: 'other' }));
    s.patch('pods', { namespace: 'shop', name: 'web-2' }, 'merge', {
      status: { podIP: '10.0.2.9', podIPs: [{ ip: '10.0.2.9' }] },
    });
    s.patch('namespaces', { name: 'edge' }, 'merge', { metadata: { labels: { team: 'none' } } });
    s.create('pods', k8sPod('edge', 'client-2', { app: 'client' }, 'n2', '10.0.2.7'));
    s.create(
      'networkpolicies',
      k8sPolicy('edge', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] }),
    );
    await waitForStore(server, () => converged(server), 'convergence after churn');
    s.patch('namespaces', { name: 'edge' }, 'merge', { metadata: { labels: { team: 'front' } } });
    s.delete('networkpolicies', 'edge', 'deny-egress');
    await waitForStore(server, () => converged(server), 'convergence after reverting');
    assert.match(
      actualScripts(server).get('n1')!,
      /10\.0\.2\.7/,
      'client-2 admitted to web-1 again',
    );
  });

  it('converges after every watch is cut, with changes made while cut', async () => {
    assert.ok(server.cutWatches() >= 5);
    server.store.create('pods', k8sPod('edge', 'client-3', { app: 'client' }, 'n3', '10.0.3.3'));
    await waitForStore(server, () => converged(server), 'convergence after a watch cut');
    assert.match(actualScripts(server).get('n2')!, /10\.0\.3\.3/);
  });

  it('relists after 410 Gone and sees a deletion that happened in the gap', async () => {
    server.cutWatches();
    server.store.delete('pods', 'edge', 'client-3');
    server.compact();
    await waitForStore(server, () => converged(server), 'convergence after 410 Gone');
    assert.doesNotMatch(actualScripts(server).get('n2')!, /10\.0\.3\.3/);
  });

  it('restores a NodeFirewall edited by hand', async () => {
    const before = actualScripts(server).get('n1')!;
    server.store.patch(NFW, { name: 'n1' }, 'merge', { spec: { script: 'flush ruleset\n' } });
    await waitForStore(server, () => actualScripts(server).get('n1') === before, 'restored script');
  });

  it('deletes the NodeFirewall of a node that no longer exists', async () => {
    server.store.create(NFW, {
      apiVersion: 'nftpol.io/v1alpha1',
      kind: 'NodeFirewall',
      metadata: { name: 'ghost' },
      spec: {
        script: 'x',
        scriptHash: 'sha256:0',
        summary: {
          localPods: 0,
          isolatedPods: 0,
          policies: 0,
          rules: 0,
          sets: 0,
          setElements: 0,
          policyNames: [],
        },
      },
    });
    server.store.delete('pods', 'shop', 'web-2');
    server.store.delete('pods', 'edge', 'client-2');
    server.store.delete('nodes', undefined, 'n2');
    await waitForStore(
      server,
      () =>
        server.store.get(NFW, undefined, 'ghost') === undefined &&
        server.store.get(NFW, undefined, 'n2') === undefined,
      'stale NodeFirewalls gone',
    );
    await waitForStore(server, () => converged(server), 'convergence after node deletion');
  });

  it('a replacement controller with nothing changed writes nothing', async () => {
    await waitForStore(
      server,
      () => converged(server) && controller.isIdle(),
      'a settled controller',
    );
    await controller.stop();
    const writesBefore = nfwWrites(server);
    const batches: Array<{ nodes: number }> = [];
    controller = await start(server, 'solo-2', {}, batches);
    await waitForStore(
      server,
      () => batches.some((b) => b.nodes >= 2),
      'the full pass after taking over',
    );
    assert.deepEqual(
      server
        .writes()
        .filter((r) => r.path.includes(`/${NFW}`))
        .slice(writesBefore)
        .map((r) => `${r.method} ${r.path} ${r.status}`),
      [],
    );
  });
});

describe('two replicas', () => {
  let server: ApiServer;
  const handles: ControllerHandle[] = [];
  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 1_000 });
    seed(server);
  });
  after(async () => {
    for (const h of handles) await h.stop();
    await server.close();
  });

  it('exactly one writes, and the other takes over when the leader dies', async () => {
    const a = await start(server, 'replica-a');
    const b = await start(server, 'replica-b');
    handles.push(a, b);
    await waitForStore(server, () => converged(server), 'convergence with two replicas');
    const leaderLease = () =>
      (
        server.store.get('leases', 'kube-system', 'nftpol-controller')?.['spec'] as {
          holderIdentity?: string;
        }
      )?.holderIdentity;
    const first = leaderLease();
    assert.ok(first === 'replica-a' || first === 'replica-b');
    const [leader, follower] = first === 'replica-a' ? [a, b] : [b, a];
    const writesOf = async (h: ControllerHandle) =>
      (await h.metrics.writes.get()).values[0]?.value ?? 0;
    assert.ok((await writesOf(leader)) > 0);
    assert.equal(await writesOf(follower), 0);
    assert.equal(leader.isLeader() && !follower.isLeader(), true);

    await leader.stop({ release: false }); // a crash: the Lease must expire
    server.store.create('pods', k8sPod('edge', 'late', { app: 'client' }, 'n3', '10.0.3.77'));
    await waitForStore(server, () => converged(server), 'the follower converging after failover');
    assert.equal(leaderLease(), first === 'replica-a' ? 'replica-b' : 'replica-a');
    assert.ok((await writesOf(follower)) > 0);
  });
});

describe('the nftpol-controller binary', () => {
  it('runs as a process, writes NodeFirewalls and releases its Lease on SIGTERM', async () => {
    const server = await startApiServer({ bookmarkIntervalMs: 1_000 });
    try {
      seed(server);
      const dir = mkdtempSync(join(tmpdir(), 'nftpol-ctl-'));
      const kubeconfig = join(dir, 'config');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            { name: 't', cluster: { server: server.url, 'insecure-skip-tls-verify': true } },
          ],
          users: [{ name: 't', user: { token: 't' } }],
          contexts: [{ name: 't', context: { cluster: 't', user: 't' } }],
          'current-context': 't',
        }),
      );
      const child = spawn(
        new URL('../../bin/nftpol-controller', import.meta.url).pathname,
        [
          '--kubeconfig',
          kubeconfig,
          '--health-port=-1',
          '--lease-namespace',
          'kube-system',
          '--identity',
          'proc',
          '--log-level',
          'warn',
          '--debounce-ms',
          '20',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      await waitForStore(server, () => converged(server), 'the binary converging');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      const lease = server.store.get('leases', 'kube-system', 'nftpol-controller')!;
      assert.equal((lease['spec'] as { holderIdentity?: string }).holderIdentity ?? '', '');
    } finally {
      await server.close();
    }
  });
});
