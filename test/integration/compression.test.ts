/**
 * Large scripts travel compressed: the controller, against the real
 * kube-apiserver through the real client-node, writes a script above
 * `--compress-threshold-bytes` as `spec.scriptGzip` and a smaller one as
 * `spec.script`; the executor's own decoding of either gives the rendered
 * script and its `scriptHash`; a node crossing the threshold either way ends
 * with exactly one of the two fields (server-side apply drops the one the
 * controller stopped sending, and the CRD's one-of-two validation would
 * refuse both); compressed objects count as intact (a replacement controller
 * writes nothing, counted in the audit log) and a hand edit of `scriptGzip`
 * is restored.
 *
 * Everything is observed through the API (list + watch); synchronisation is
 * by its watch events and the controller's batch hook — never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { decideAction } from '../../src/executor/reconcile.js';
import { toNodeFirewall } from '../../src/executor/watch.js';
import { compressScript, decodeSpecScript } from '../../src/k8s/script-encoding.js';
import { hashScript } from '../../src/nft/hash.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import { translateNode } from '../../src/policy/translate.js';
import { createLogger } from '../../src/telemetry/log.js';
import {
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const NFW = 'nodefirewalls';
const TIMEOUT_MS = 20_000;
/** Between the script of a node with one isolated pod and that of a node with many. */
const THRESHOLD = 3_072;
const CLIENTS = 40;
const GROWN = 10;

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

async function seed(api: TestApi): Promise<void> {
  await api.create([
    ...['big', 'small', 'peers'].map(k8sNode),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    k8sPod('server-big', { app: 'server' }, 'big', '10.0.1.1'),
    k8sPod('plain-small', { app: 'plain' }, 'small', '10.0.2.1'),
    // Clients on a third node: peers only, so 'small' stays small.
    ...Array.from({ length: CLIENTS }, (_, i) =>
      k8sPod(`client-${i}`, { app: 'client' }, 'peers', `10.0.3.${i + 1}`),
    ),
    ...Array.from({ length: 20 }, (_, i) => k8sPolicy(`allow-${i}`, 8000 + i)),
  ]);
}

/** Pods that make 'small' cross the threshold: isolated servers of its own. */
async function growSmall(api: TestApi): Promise<void> {
  await api.create(
    Array.from({ length: GROWN }, (_, i) =>
      k8sPod(`grown-${i}`, { app: 'server' }, 'small', `10.0.2.${i + 10}`),
    ),
  );
}
async function shrinkSmall(api: TestApi): Promise<void> {
  for (let i = 0; i < GROWN; i++) await api.remove('pods', `grown-${i}`, 'shop');
}

/** How many of the grown pods the view sees. */
function grownInView(view: ApiView): number {
  return view.list('pods').filter((p) => p.metadata.name.startsWith('grown-')).length;
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
    historyPort: -1,
    logLevel: 'silent',
    informerBackoffMs: 50,
    informerMaxBackoffMs: 500,
    retryDelayMs: 50,
    compressThresholdBytes: THRESHOLD,
  };
}

/** The scripts translate+render give for the objects on the server, per node. */
function expectedScripts(view: ApiView): Map<string, string> {
  const objects = ['namespaces', 'nodes', 'pods', 'networkpolicies'].flatMap((plural) =>
    view.list(plural).map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster } = clusterFromObjects(objects);
  return new Map(
    cluster.nodes.map((n) => [n.name, renderScript(translateNode(cluster, n.name)).script]),
  );
}

type Spec = { script?: string; scriptGzip?: string; scriptHash?: string };

function specOf(view: ApiView, node: string): Spec | undefined {
  return view.get(NFW, node)?.['spec'] as Spec | undefined;
}

/** The script a NodeFirewall carries, decoded; undefined when absent or undecodable. */
function publishedScript(view: ApiView, node: string): string | undefined {
  const spec = specOf(view, node);
  if (spec === undefined) return undefined;
  const decoded = decodeSpecScript(spec);
  return decoded.kind === 'decoded' ? decoded.script : undefined;
}

function converged(view: ApiView): boolean {
  const want = expectedScripts(view);
  return (
    view.list(NFW).length === want.size &&
    [...want].every(([node, script]) => publishedScript(view, node) === script)
  );
}

function notConverged(view: ApiView): string {
  const want = expectedScripts(view);
  const differ = [...want].filter(([node, script]) => publishedScript(view, node) !== script);
  return `nodes whose script differs: ${differ.map(([n]) => n).join(', ') || 'none'}; NodeFirewalls: ${view.list(NFW).length}`;
}

/** Which field carries the script: exactly one must. */
function fieldsOf(view: ApiView, node: string): string[] {
  const spec = specOf(view, node) ?? {};
  return ['script', 'scriptGzip'].filter((f) => f in spec);
}

/** Views re-checked after every batch of every controller started here. */
const views = new Set<ApiView>();

/** Resolves when `predicate` holds: checked now, after every watch event and controller batch. */
function waitFor(view: ApiView, predicate: () => boolean, what: string): Promise<void> {
  return view.waitFor(predicate, what, { timeoutMs: TIMEOUT_MS, detail: () => notConverged(view) });
}

async function start(
  api: TestApi,
  identity: string,
  batches?: Array<{ nodes: number }>,
): Promise<ControllerHandle> {
  const handle = await startController(options(identity), api.kubeConfig, {
    log: createLogger({ component: identity, level: 'silent' }),
    onBatch: (b) => {
      batches?.push(b);
      for (const view of views) view.notify();
    },
  });
  await handle.synced;
  return handle;
}

/** Writes to NodeFirewalls that reached the server, as `verb name code`. */
function nfwWrites(api: TestApi): string[] {
  return api
    .writes()
    .filter((w) => w.resource === NFW)
    .map((w) => `${w.verb} ${w.name ?? ''} ${w.code ?? ''}`);
}

// ------------------------------------------------------------ tests

describe('compressed NodeFirewall scripts', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView | undefined;
  let controller: ControllerHandle | undefined;

  before(async () => {
    api = await startTestApi('compression');
    await seed(api);
    view = await watchResources(api, ['namespaces', 'nodes', 'pods', 'networkpolicies', NFW]);
    views.add(view);
    const sizes = expectedScripts(view);
    assert.ok(Buffer.byteLength(sizes.get('big')!) > THRESHOLD, "'big' is above the threshold");
    assert.ok(Buffer.byteLength(sizes.get('small')!) <= THRESHOLD, "'small' is below it");
    controller = await start(api, 'compression');
  });
  after(async () => {
    await controller?.stop();
    if (view !== undefined) {
      views.delete(view);
      view.stop();
    }
    await api?.stop();
  });

  it('writes a script above the threshold as scriptGzip and one below as script', async () => {
    const v = view!;
    await waitFor(v, () => converged(v), 'first convergence');
    assert.deepEqual(fieldsOf(v, 'big'), ['scriptGzip']);
    assert.deepEqual(fieldsOf(v, 'small'), ['script']);
    const big = specOf(v, 'big')!;
    assert.ok(
      big.scriptGzip!.length * 3 < Buffer.byteLength(expectedScripts(v).get('big')!),
      'the compressed field is at least 3× smaller than the script',
    );
  });

  it('the executor decodes either field to the rendered script and its scriptHash', () => {
    const v = view!;
    const want = expectedScripts(v);
    for (const node of ['big', 'small']) {
      const object = toNodeFirewall(v.get(NFW, node));
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
    const v = view!;
    await growSmall(api);
    await waitFor(
      v,
      () =>
        grownInView(v) === GROWN && converged(v) && specOf(v, 'small')?.scriptGzip !== undefined,
      "'small' grown and compressed",
    );
    assert.deepEqual(fieldsOf(v, 'small'), ['scriptGzip'], 'apply dropped spec.script');
    await shrinkSmall(api);
    await waitFor(
      v,
      () => grownInView(v) === 0 && converged(v) && specOf(v, 'small')?.script !== undefined,
      "'small' shrunk and back to text",
    );
    assert.deepEqual(fieldsOf(v, 'small'), ['script'], 'apply dropped spec.scriptGzip');
  });

  it('restores a scriptGzip edited by hand', async () => {
    const v = view!;
    const before = specOf(v, 'big')!.scriptGzip;
    const edited = await api.mergePatch(NFW, 'big', {
      spec: { scriptGzip: compressScript('flush ruleset\n') },
    });
    assert.notEqual((edited['spec'] as Spec).scriptGzip, before);
    // The restore is a later spec change: a higher generation than the edit's.
    const editedGeneration = edited.metadata.generation!;
    await waitFor(
      v,
      () =>
        (v.get(NFW, 'big')?.metadata.generation ?? 0) > editedGeneration &&
        specOf(v, 'big')?.scriptGzip === before,
      'restored script',
    );
  });

  it('a replacement controller with nothing changed writes nothing', async () => {
    const v = view!;
    const first = controller!;
    await waitFor(v, () => converged(v) && first.isIdle(), 'a settled controller');
    await first.stop(); // waits for the batch (and writes) in progress
    controller = undefined;
    const writesBefore = nfwWrites(api).length;
    assert.ok(writesBefore > 0, "the first controller's writes are counted");
    const batches: Array<{ nodes: number }> = [];
    controller = await start(api, 'compression-2', batches);
    await waitFor(v, () => batches.some((b) => b.nodes >= 3), 'the full pass');
    assert.deepEqual(nfwWrites(api).slice(writesBefore), []);
  });
});
