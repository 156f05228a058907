/**
 * The controller against the real kube-apiserver (and the embedded one for
 * the faults a real server cannot give on demand: a cut watch, 410 Gone),
 * through the real @kubernetes/client-node: scripts match translate+render
 * on the same objects; churn converges; a node that loses its last policy
 * gets a script without it; a node whose render throws keeps its last
 * script (and gets a RenderFailed Event) while the process lives on and the
 * other nodes follow; hand edits are restored; stale NodeFirewalls
 * go; two replicas write through one leader; failover; a restart with
 * nothing changed writes nothing (counted in the API server's audit log);
 * and the binary, with default leader election, leads and writes.
 *
 * Everything is observed through the API (test/support/test-api.ts: list +
 * watch); synchronisation is by its watch events or the controller's batch
 * hook — never by sleeping.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { hashScript } from '../../src/nft/hash.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import {
  composedInView,
  ENFORCED_PLURALS,
  renderedFor,
  scriptOf,
  SOURCE_PLURALS,
} from '../support/stack.js';
import { createLogger } from '../../src/telemetry/log.js';
import {
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiView,
  type ServerKind,
  type TestApi,
} from '../support/test-api.js';

const NFW = 'nodefirewalls';
const VIEWED = [...ENFORCED_PLURALS, 'leases', 'events'];

/** Nodes whose translate+render throws in every controller started here (fault injection). */
const failing = new Set<string>();

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
    historyPort: -1,
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

/** The complete scripts `nftpol render` gives for the objects on the server, per node. */
function expectedScripts(view: ApiView): Map<string, string> {
  const objects = SOURCE_PLURALS.flatMap((plural) =>
    view.list(plural).map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  return renderedFor(clusterFromObjects(objects).cluster);
}

/** The complete scripts the controller's NodeFirewalls and AddressSets compose, per node. */
function actualScripts(view: ApiView): Map<string, string> {
  return composedInView(view);
}

function converged(view: ApiView): boolean {
  const want = expectedScripts(view);
  const have = actualScripts(view);
  return want.size === have.size && [...want].every(([n, s]) => have.get(n) === s);
}

function scriptsDiffer(view: ApiView): string {
  const want = expectedScripts(view);
  const have = actualScripts(view);
  const differ = [...new Set([...want.keys(), ...have.keys()])].filter(
    (n) => want.get(n) !== have.get(n),
  );
  return `nodes whose script differs: ${differ.join(', ') || 'none'}`;
}

/** Views re-checked after every batch of every controller started here. */
const views = new Set<ApiView>();

/** Resolves when `predicate` holds: checked now, after every watch event and every controller batch. */
function waitFor(view: ApiView, predicate: () => boolean, what: string): Promise<void> {
  return view.waitFor(predicate, what, { detail: () => scriptsDiffer(view) });
}

/** Writes to NodeFirewalls and AddressSets that reached the server, as `verb resource/name code`. */
function nfwWrites(api: TestApi): string[] {
  return api
    .writes()
    .filter((w) => w.resource === NFW || w.resource === 'addresssets')
    .map((w) => `${w.verb} ${w.resource}/${w.name ?? ''} ${w.code ?? ''}`);
}

/** Starts a controller and resolves, with it, once it synced. */
async function start(
  api: TestApi,
  identity: string,
  over: Partial<ControllerOptions> = {},
  batches?: Array<{ nodes: number }>,
): Promise<ControllerHandle> {
  const handle = await startController(options(identity, over), api.kubeConfig, {
    log: createLogger({ component: identity, level: 'silent' }),
    wrapRender: (render) => (cluster, node) => {
      if (failing.has(node)) throw new Error(`injected render failure for ${node}`);
      return render(cluster, node);
    },
    onBatch: (b: { nodes: number }) => {
      batches?.push(b);
      for (const view of views) view.notify();
    },
  });
  await handle.synced;
  return handle;
}

async function seed(api: TestApi): Promise<void> {
  await api.create([
    ...['n1', 'n2', 'n3'].map(k8sNode),
    k8sNs('shop', { team: 'back' }),
    k8sNs('edge', { team: 'front' }),
    k8sPod('shop', 'web-1', { app: 'web' }, 'n1', '10.0.1.1'),
    k8sPod('shop', 'web-2', { app: 'web' }, 'n2', '10.0.2.1'),
    k8sPod('edge', 'client', { app: 'client' }, 'n3', '10.0.3.1'),
    webFromClient,
  ]);
}

/** Starts an API server of `kind`, seeds it, and watches it. */
async function seededApi(
  suite: string,
  kind: ServerKind,
): Promise<{ api: TestApi; view: ApiView }> {
  const api = await startTestApi(suite, {
    server: kind,
    embedded: { bookmarkIntervalMs: 1_000 },
  });
  try {
    if (kind === 'embedded') await api.create([k8sNs('kube-system')]);
    await seed(api);
    const view = await watchResources(api, VIEWED);
    views.add(view);
    return { api, view };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

async function stopApi(api: TestApi | undefined, view: ApiView | undefined): Promise<void> {
  if (view !== undefined) {
    views.delete(view);
    view.stop();
  }
  await api?.stop();
}

const podPatch = (labels: Record<string, string>) => ({ metadata: { labels } });

// ------------------------------------------------------------ tests

describe('nftpol-controller against the real kube-apiserver', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView;
  let controller: ControllerHandle;

  before(async () => {
    ({ api, view } = await seededApi('controller', 'kube-apiserver'));
    controller = await start(api, 'solo');
  });
  after(async () => {
    await controller?.stop();
    await stopApi(api, view);
  });

  it('writes each node the script translate and render give for the same objects', async () => {
    await waitFor(view, () => converged(view), 'first convergence');
    const nfw = view.get(NFW, 'n1')!;
    const node = view.get('nodes', 'n1')!;
    assert.deepEqual(nfw.metadata['ownerReferences'], [
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
    // Server-side apply, by our field manager: the server records it so.
    const managers = (nfw.metadata['managedFields'] as { manager: string; operation: string }[])
      .filter((m) => m.manager === 'nftpol-controller')
      .map((m) => m.operation);
    assert.deepEqual(managers, ['Apply']);
  });

  it('follows churn of labels, IPs and policies', async () => {
    await api.mergePatch('pods', 'client', podPatch({ app: 'other' }), { namespace: 'edge' });
    await api.mergePatch(
      'pods',
      'web-2',
      { status: { podIP: '10.0.2.9', podIPs: [{ ip: '10.0.2.9' }] } },
      { namespace: 'shop', status: true },
    );
    await api.mergePatch('namespaces', 'edge', { metadata: { labels: { team: 'none' } } });
    await api.create([
      k8sPod('edge', 'client-2', { app: 'client' }, 'n2', '10.0.2.7'),
      k8sPolicy('edge', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] }),
    ]);
    await waitFor(
      view,
      () => view.get('networkpolicies', 'deny-egress', 'edge') !== undefined && converged(view),
      'convergence after churn',
    );
    await api.mergePatch('namespaces', 'edge', { metadata: { labels: { team: 'front' } } });
    await api.remove('networkpolicies', 'deny-egress', 'edge');
    await waitFor(
      view,
      () => view.get('networkpolicies', 'deny-egress', 'edge') === undefined && converged(view),
      'convergence after reverting',
    );
    assert.match(actualScripts(view).get('n1')!, /10\.0\.2\.7/, 'client-2 admitted to web-1 again');
  });

  it('a node that loses its last policy gets a script without it, and the summary says none', async () => {
    await api.remove('networkpolicies', 'web-from-client', 'shop');
    const policyIn = () => view.get('networkpolicies', 'web-from-client', 'shop') !== undefined;
    await waitFor(view, () => !policyIn() && converged(view), 'convergence without any policy');
    const summary = (view.get(NFW, 'n1')!['spec'] as { summary: Record<string, unknown> }).summary;
    assert.equal(summary['policies'], 0);
    assert.deepEqual(summary['policyNames'] ?? [], []);
    assert.doesNotMatch(actualScripts(view).get('n1')!, /web-from-client/);
    await api.create([webFromClient]);
    await waitFor(view, () => policyIn() && converged(view), 'convergence with the policy back');
  });

  it('restores a NodeFirewall edited by hand', async () => {
    const before = actualScripts(view).get('n1')!;
    const edited = await api.mergePatch(NFW, 'n1', { spec: { script: 'flush ruleset\n' } });
    // The restore is a later spec change: a generation above the edit's.
    const editedGeneration = edited.metadata.generation ?? 0;
    await waitFor(
      view,
      () =>
        (view.get(NFW, 'n1')?.metadata.generation ?? 0) > editedGeneration &&
        actualScripts(view).get('n1') === before,
      'restored script',
    );
  });

  it('a node whose render throws keeps its last script while the others follow, and catches up', async () => {
    const rulesOf = (node: string): string | undefined =>
      scriptOf(view.get(NFW, node)?.['spec'] as { script?: string; scriptGzip?: string });
    const n1Before = rulesOf('n1');
    failing.add('n1');
    try {
      // web-3 is a new local pod of n1 (its rules change: n1 renders, and fails);
      // client-4 on n3 joins the client set, which n1's rules name.
      await api.create([
        k8sPod('shop', 'web-3', { app: 'web' }, 'n1', '10.0.1.3'),
        k8sPod('edge', 'client-4', { app: 'client' }, 'n3', '10.0.3.4'),
      ]);
      const othersConverged = () => {
        const want = expectedScripts(view);
        const have = actualScripts(view);
        return ['n2', 'n3'].every((n) => want.get(n) === have.get(n));
      };
      const renderFailedEvent = () =>
        view
          .list('events')
          .some(
            (e) =>
              e['reason'] === 'RenderFailed' &&
              (e['involvedObject'] as { kind?: string; name?: string }).name === 'n1',
          );
      await waitFor(
        view,
        () =>
          view.get('pods', 'client-4', 'edge') !== undefined &&
          view.get('pods', 'web-3', 'shop') !== undefined &&
          othersConverged() &&
          renderFailedEvent(),
        'n2 and n3 published and a RenderFailed Event on Node n1',
      );
      assert.equal(rulesOf('n1'), n1Before, 'n1 keeps its last good rules');
      assert.match(
        actualScripts(view).get('n1')!,
        /10\.0\.3\.4/,
        'the shared set it names still follows',
      );
      const failures = (await controller.metrics.renderFailures.get()).values[0]?.value ?? 0;
      assert.ok(failures > 0, 'render failures are counted');
    } finally {
      failing.delete('n1');
    }
    await waitFor(view, () => converged(view), 'n1 catching up once its render works');
    assert.match(rulesOf('n1')!, /10\.0\.1\.3/);
    await api.remove('pods', 'client-4', 'edge');
    await api.remove('pods', 'web-3', 'shop');
  });

  it('deletes the NodeFirewall of a node that no longer exists', async () => {
    await api.create([
      {
        apiVersion: 'nftpol.io/v1alpha1',
        kind: 'NodeFirewall',
        metadata: { name: 'ghost' },
        spec: {
          script: 'x',
          scriptHash: hashScript('x'),
          summary: {
            localPods: 0,
            isolatedPods: 0,
            policies: 0,
            rules: 0,
            sets: 0,
            setElements: 0,
          },
        },
      },
    ]);
    await api.remove('pods', 'web-2', 'shop');
    await api.remove('pods', 'client-2', 'edge');
    await api.remove('nodes', 'n2');
    await waitFor(
      view,
      () => view.get(NFW, 'ghost') === undefined && view.get(NFW, 'n2') === undefined,
      'stale NodeFirewalls gone',
    );
    await waitFor(
      view,
      () => view.get('pods', 'web-2', 'shop') === undefined && converged(view),
      'convergence after node deletion',
    );
  });

  it('a replacement controller with nothing changed writes nothing', async () => {
    await waitFor(view, () => converged(view) && controller.isIdle(), 'a settled controller');
    await controller.stop();
    const writesBefore = nfwWrites(api).length;
    const batches: Array<{ nodes: number }> = [];
    controller = await start(api, 'solo-2', {}, batches);
    await waitFor(view, () => batches.some((b) => b.nodes >= 2), 'the full pass after taking over');
    assert.deepEqual(nfwWrites(api).slice(writesBefore), []);
  });
});

describe('nftpol-controller through faults of the embedded API server', () => {
  let api: TestApi;
  let view: ApiView;
  let controller: ControllerHandle;

  before(async () => {
    ({ api, view } = await seededApi('controller faults', 'embedded'));
    controller = await start(api, 'solo');
    await waitFor(view, () => converged(view), 'first convergence');
  });
  after(async () => {
    await controller?.stop();
    await stopApi(api, view);
  });

  it('converges after every watch is cut, with changes made while cut', async () => {
    assert.ok(api.embedded!.cutWatches() >= 5);
    await api.create([k8sPod('edge', 'client-3', { app: 'client' }, 'n3', '10.0.3.3')]);
    await waitFor(
      view,
      () => view.get('pods', 'client-3', 'edge') !== undefined && converged(view),
      'convergence after a watch cut',
    );
    assert.match(actualScripts(view).get('n2')!, /10\.0\.3\.3/);
  });

  it('relists after 410 Gone and sees a deletion that happened in the gap', async () => {
    api.embedded!.cutWatches();
    await api.remove('pods', 'client-3', 'edge');
    api.embedded!.compact();
    await waitFor(
      view,
      () => view.get('pods', 'client-3', 'edge') === undefined && converged(view),
      'convergence after 410 Gone',
    );
    assert.doesNotMatch(actualScripts(view).get('n2')!, /10\.0\.3\.3/);
  });
});

describe('two replicas on the real kube-apiserver', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView;
  const handles: ControllerHandle[] = [];
  before(async () => {
    ({ api, view } = await seededApi('two replicas', 'kube-apiserver'));
  });
  after(async () => {
    for (const h of handles) await h.stop();
    await stopApi(api, view);
  });

  it('exactly one writes, and the other takes over within the lease when the leader dies', async () => {
    const a = await start(api, 'replica-a');
    const b = await start(api, 'replica-b');
    handles.push(a, b);
    await waitFor(view, () => converged(view), 'convergence with two replicas');
    const holder = () =>
      (
        view.get('leases', 'nftpol-controller', 'kube-system')?.['spec'] as {
          holderIdentity?: string;
        }
      )?.holderIdentity;
    const first = holder();
    assert.ok(first === 'replica-a' || first === 'replica-b');
    const [leader, follower] = first === 'replica-a' ? [a, b] : [b, a];
    const writesOf = async (h: ControllerHandle) =>
      (await h.metrics.writes.get()).values[0]?.value ?? 0;
    assert.ok((await writesOf(leader)) > 0);
    assert.equal(await writesOf(follower), 0);
    assert.equal(leader.isLeader() && !follower.isLeader(), true);
    // The Lease the server stored carries MicroTimes with six fractional digits.
    const spec = view.get('leases', 'nftpol-controller', 'kube-system')!['spec'] as {
      renewTime: string;
    };
    assert.match(spec.renewTime, /\.\d{6}Z$/);

    await leader.stop({ release: false }); // a crash: the Lease must expire
    await api.create([k8sPod('edge', 'late', { app: 'client' }, 'n3', '10.0.3.77')]);
    const successor = first === 'replica-a' ? 'replica-b' : 'replica-a';
    await waitFor(
      view,
      () =>
        view.get('pods', 'late', 'edge') !== undefined && holder() === successor && converged(view),
      'the follower leading and converging after failover',
    );
    assert.ok((await writesOf(follower)) > 0);
  });
});

describe(
  'the nftpol-controller binary on the real kube-apiserver',
  { skip: realServerSkip() },
  () => {
    it('leads with default leader election, writes NodeFirewalls and releases its Lease on SIGTERM', async () => {
      const { api, view } = await seededApi('controller binary', 'kube-apiserver');
      try {
        const child = spawn(
          new URL('../../bin/nftpol-controller', import.meta.url).pathname,
          [
            '--kubeconfig',
            api.kubeconfigPath,
            '--health-port=-1',
            '--history-port=-1',
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
        await view.waitFor(() => converged(view), 'the binary converging', {
          detail: () => `${scriptsDiffer(view)}; stderr: ${stderr}`,
        });
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
        await view.waitFor(
          () =>
            (
              (view.get('leases', 'nftpol-controller', 'kube-system')?.['spec'] as {
                holderIdentity?: string;
              }) ?? {}
            ).holderIdentity === undefined ||
            (
              view.get('leases', 'nftpol-controller', 'kube-system')!['spec'] as {
                holderIdentity?: string;
              }
            ).holderIdentity === '',
          'the Lease released',
        );
        assert.equal(stderr, '', 'no warning or error logged');
      } finally {
        await stopApi(api, view);
      }
    });
  },
);
