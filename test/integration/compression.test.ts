/**
 * Large scripts travel compressed: the controller, against the embedded API
 * server through the real client-node, writes a script above
 * `--compress-threshold-bytes` as `spec.scriptGzip` and a smaller one as
 * `spec.script`; the executor's own decoding of either gives the rendered
 * script and its `scriptHash`; a node crossing the threshold either way ends
 * with exactly one of the two fields (server-side apply drops the one the
 * controller stopped sending); compressed objects count as intact (a
 * replacement controller writes nothing) and a hand edit of `scriptGzip` is
 * restored.
 *
 * Synchronisation is by waiting on the store's change feed and the
 * controller's batch hook — never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { decideAction } from '../../src/executor/reconcile.js';
import { toNodeFirewall } from '../../src/executor/watch.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import { compressScript, decodeSpecScript } from '../../src/k8s/script-encoding.js';
import { hashScript, renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import { translateNode } from '../../src/policy/translate.js';
import { createLogger } from '../../src/telemetry/log.js';

const NFW = 'nodefirewalls';
const TIMEOUT_MS = 15_000;
/** Between the script of a node with one isolated pod and that of a node with many. */
const THRESHOLD = 4_096;
const CLIENTS = 40;

// ------------------------------------------------------------ API objects

const k8sNode = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: '10.0.0.0/16' },
  status: { addresses: [{ type: 'InternalIP', address: '172.16.0.1' }] },
});
const k8sPod = (name: string, labels: Record<string, string>, nodeName: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels },
  spec: { nodeName, containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});
/** Each server pod admits every client on its own port: many rules and set elements. */
const k8sPolicy = (name: string, port: number) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'shop' },
  spec: {
    podSelector: { matchLabels: { app: 'server' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port }] }],
  },
});

function seed(server: ApiServer): void {
  const s = server.store;
  for (const n of ['big', 'small', 'peers']) s.create('nodes', k8sNode(n));
  s.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  s.create('pods', k8sPod('server-big', { app: 'server' }, 'big', '10.0.1.1'));
  s.create('pods', k8sPod('plain-small', { app: 'plain' }, 'small', '10.0.2.1'));
  for (let i = 0; i < CLIENTS; i++) {
    // Clients on a third node: peers only, so 'small' stays small.
    s.create('pods', k8sPod(`client-${i}`, { app: 'client' }, 'peers', `10.0.3.${i + 1}`));
  }
  for (let i = 0; i < 20; i++) s.create('networkpolicies', k8sPolicy(`allow-${i}`, 8000 + i));
}

/** Pods that make 'small' cross the threshold: isolated servers of its own. */
function growSmall(server: ApiServer): void {
  for (let i = 0; i < 10; i++) {
    server.store.create(
      'pods',
      k8sPod(`grown-${i}`, { app: 'server' }, 'small', `10.0.2.${i + 10}`),
    );
  }
}
function shrinkSmall(server: ApiServer): void {
  for (let i = 0; i < 10; i++) server.store.delete('pods', 'shop', `grown-${i}`);
}

// ------------------------------------------------------------ helpers

function options(identity: string): ControllerOptions {
  return {
    ...DEFAULTS,
    identity,
    leaderElect: false,
    debounceMs: 20,
    maxDelayMs: 200,
    healthPort: -1,
    logLevel: 'silent',
    informerBackoffMs: 50,
    informerMaxBackoffMs: 500,
    retryDelayMs: 50,
    compressThresholdBytes: THRESHOLD,
  };
}

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

type Spec = { script?: string; scriptGzip?: string; scriptHash?: string };

function specOf(server: ApiServer, node: string): Spec | undefined {
  return server.store.get(NFW, undefined, node)?.['spec'] as Spec | undefined;
}

/** The script a NodeFirewall carries, decoded; undefined when absent or undecodable. */
function publishedScript(server: ApiServer, node: string): string | undefined {
  const spec = specOf(server, node);
  if (spec === undefined) return undefined;
  const decoded = decodeSpecScript(spec);
  return decoded.kind === 'decoded' ? decoded.script : undefined;
}

function converged(server: ApiServer): boolean {
  const want = expectedScripts(server);
  return (
    server.store.list(NFW).items.length === want.size &&
    [...want].every(([node, script]) => publishedScript(server, node) === script)
  );
}

/** Which field carries the script: exactly one must. */
function fieldsOf(server: ApiServer, node: string): string[] {
  const spec = specOf(server, node) ?? {};
  return ['script', 'scriptGzip'].filter((f) => f in spec);
}

const batchListeners = new Set<() => void>();

/** Resolves when `predicate` holds, checked now, after every store change and controller batch. */
function waitFor(server: ApiServer, predicate: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}`));
    }, TIMEOUT_MS);
    const check = (): void =>
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

async function start(
  server: ApiServer,
  identity: string,
  batches?: Array<{ nodes: number }>,
): Promise<ControllerHandle> {
  const handle = await startController(options(identity), kubeConfigForServer(server.url), {
    log: createLogger({ component: identity, level: 'silent' }),
    onBatch: (b) => {
      batches?.push(b);
      for (const listener of batchListeners) listener();
    },
  });
  await handle.synced;
  return handle;
}

function nfwWrites(server: ApiServer): string[] {
  return server
    .writes()
    .filter((r) => r.path.includes(`/${NFW}`))
    .map((r) => `${r.method} ${r.path} ${r.status}`);
}

// ------------------------------------------------------------ tests

describe('compressed NodeFirewall scripts', () => {
  let server: ApiServer;
  let controller: ControllerHandle | undefined;

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 1_000 });
    seed(server);
    const sizes = expectedScripts(server);
    assert.ok(Buffer.byteLength(sizes.get('big')!) > THRESHOLD, "'big' is above the threshold");
    assert.ok(Buffer.byteLength(sizes.get('small')!) <= THRESHOLD, "'small' is below it");
    controller = await start(server, 'compression');
  });
  after(async () => {
    await controller?.stop();
    await server?.close();
  });

  it('writes a script above the threshold as scriptGzip and one below as script', async () => {
    await waitFor(server, () => converged(server), 'first convergence');
    assert.deepEqual(fieldsOf(server, 'big'), ['scriptGzip']);
    assert.deepEqual(fieldsOf(server, 'small'), ['script']);
    const big = specOf(server, 'big')!;
    assert.ok(
      big.scriptGzip!.length * 3 < Buffer.byteLength(expectedScripts(server).get('big')!),
      'the compressed field is at least 3× smaller than the script',
    );
  });

  it('the executor decodes either field to the rendered script and its scriptHash', () => {
    const want = expectedScripts(server);
    for (const node of ['big', 'small']) {
      const object = toNodeFirewall(server.store.get(NFW, undefined, node));
      const action = decideAction(object.spec, {
        appliedHash: null,
        tableInSync: true,
        failedHash: null,
        retryDue: false,
      });
      assert.equal(action.kind, 'apply', `${node}: ${JSON.stringify(action)}`);
      if (action.kind !== 'apply') continue;
      assert.equal(action.script, want.get(node));
      assert.equal(action.hash, object.spec.scriptHash);
      assert.equal(action.hash, hashScript(want.get(node)!));
    }
  });

  it('a node crossing the threshold either way keeps exactly one script field', async () => {
    growSmall(server);
    await waitFor(
      server,
      () => converged(server) && specOf(server, 'small')?.scriptGzip !== undefined,
      "'small' grown and compressed",
    );
    assert.deepEqual(fieldsOf(server, 'small'), ['scriptGzip'], 'apply dropped spec.script');
    shrinkSmall(server);
    await waitFor(
      server,
      () => converged(server) && specOf(server, 'small')?.script !== undefined,
      "'small' shrunk and back to text",
    );
    assert.deepEqual(fieldsOf(server, 'small'), ['script'], 'apply dropped spec.scriptGzip');
  });

  it('restores a scriptGzip edited by hand', async () => {
    const before = specOf(server, 'big')!.scriptGzip;
    server.store.patch(NFW, { name: 'big' }, 'merge', {
      spec: { scriptGzip: compressScript('flush ruleset\n') },
    });
    assert.notEqual(specOf(server, 'big')!.scriptGzip, before);
    await waitFor(server, () => specOf(server, 'big')!.scriptGzip === before, 'restored script');
  });

  it('a replacement controller with nothing changed writes nothing', async () => {
    const first = controller!;
    await waitFor(server, () => converged(server), 'convergence');
    await first.stop(); // waits for the batch (and writes) in progress
    controller = undefined;
    const writesBefore = nfwWrites(server).length;
    const batches: Array<{ nodes: number }> = [];
    controller = await start(server, 'compression-2', batches);
    await waitFor(server, () => batches.some((b) => b.nodes >= 3), 'the full pass');
    assert.deepEqual(nfwWrites(server).slice(writesBefore), []);
  });
});
