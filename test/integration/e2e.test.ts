/**
 * The whole product on one machine: the real kube-apiserver, the controller,
 * and one executor per node, each loading its node's script into that node's
 * network namespace of a netns cluster. NetworkPolicies are written through
 * the API; once every node's NodeFirewall reports the current script
 * applied, every pair of endpoints is probed on the kernel and compared with
 * the oracle computed from the same objects, read back through the API. The
 * policy is created, tightened and deleted, probing after each.
 *
 * Synchronisation is by watch events (test/support/stack.ts: a predicate
 * checked on every event, executors' status writes included) — never by
 * sleeping. Needs root, ip, nft and the real control plane; skipped with the
 * reason otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS as CONTROLLER_DEFAULTS } from '../../src/controller/options.js';
import type { ExecutorHandle } from '../../src/executor/main.js';
import { createLogger } from '../../src/telemetry/log.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';
import {
  k8sNode,
  k8sNs,
  k8sPod as k8sPodAt,
  probeAndCompare,
  startNetnsExecutors,
  twoNodes,
} from '../support/netns-e2e.js';
import { awaitKernelMembers } from '../support/netns/kernel-members.js';
import { clusterInView, ENFORCED_PLURALS, waitForEnforced } from '../support/stack.js';
import {
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const NFW = 'nodefirewalls';
const skip = dataplaneSkipReason() ?? realServerSkip();

// ------------------------------------------------------------ API objects

const NODES = twoNodes(99);
const k8sPod = (qualified: string, labels: Record<string, string>, nodeIndex: 1 | 2, h: number) =>
  k8sPodAt(100, qualified, labels, nodeIndex, h);

/** Clients and servers on both nodes, in two namespaces; traffic crosses nodes. */
const PODS = [
  k8sPod('a/client', { app: 'client' }, 1, 2),
  k8sPod('b/db', { app: 'db' }, 1, 3),
  k8sPod('a/web', { app: 'web' }, 2, 2),
  k8sPod('b/other', { app: 'client' }, 2, 3),
];

const guard = (ports?: readonly { protocol: string; port: number }[]) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'guard', namespace: 'a' },
  spec: {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { app: 'client' } } }],
        ...(ports ? { ports } : {}),
      },
    ],
  },
});

// ------------------------------------------------------------ helpers

// ------------------------------------------------------------ the test

describe(
  'nftpol end to end: API server, controller and executors on a netns cluster',
  { skip: skip ?? false },
  () => {
    let nc: NetnsCluster | undefined;
    let api: TestApi | undefined;
    let view: ApiView | undefined;
    let controller: ControllerHandle | undefined;
    const executors: ExecutorHandle[] = [];

    before(async () => {
      api = await startTestApi('end to end');
      await api.create([
        k8sNs('a', { team: 'red' }),
        k8sNs('b', { team: 'blue' }),
        ...NODES.map(k8sNode),
        ...PODS,
      ]);
      view = await watchResources(api, ENFORCED_PLURALS);

      nc = await NetnsCluster.create();
      await nc.sync(clusterInView(view));

      const kubeConfig = api.kubeConfig;
      controller = await startController(
        {
          ...CONTROLLER_DEFAULTS,
          identity: 'e2e',
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
        },
        kubeConfig,
        { log: createLogger({ component: 'e2e-controller', level: 'silent' }) },
      );
      await controller.synced;
      executors.push(...(await startNetnsExecutors(nc, kubeConfig, 'e2e')));
      // Not awaited before every executor started: an executor syncs once its
      // NodeFirewall exists, which needs the controller to lead first.
      await Promise.all(executors.map((e) => e.synced));
    });

    after(async () => {
      await Promise.allSettled(executors.map((e) => e.stop()));
      await controller?.stop().catch(() => undefined);
      view?.stop();
      await api?.stop().catch(() => undefined);
      await nc?.destroy();
    });

    it('with no policy every pair the oracle allows gets through', async () => {
      const cluster = await waitForEnforced(view!, 'the first scripts');
      await probeAndCompare(nc!, cluster, [
        ['b/db', 'a/web', '80/TCP', true],
        ['a/client', 'b/other', '81/UDP', true],
      ]);
    });

    it('a policy written through the API isolates its namespace except from the pods it allows', async () => {
      await api!.create([guard()]);
      const cluster = await waitForEnforced(view!, 'the guard policy', {
        until: (c) => c.policies.length === 1,
      });
      await probeAndCompare(nc!, cluster, [
        ['a/client', 'a/web', '80/TCP', true],
        ['a/client', 'a/web', '81/UDP', true],
        ['b/db', 'a/web', '80/TCP', false],
        ['b/other', 'a/client', '80/TCP', false],
        ['a/web', 'b/db', '80/TCP', true],
      ]);
    });

    it('tightening the policy to one port drops the other ports once the new scripts are applied', async () => {
      const patched = await api!.mergePatch(
        'networkpolicies',
        'guard',
        { spec: guard([{ protocol: 'TCP', port: 80 }]).spec },
        { namespace: 'a' },
      );
      const cluster = await waitForEnforced(view!, 'the tightened policy', {
        until: () =>
          view!.get('networkpolicies', 'guard', 'a')?.metadata.resourceVersion ===
          patched.metadata.resourceVersion,
      });
      await probeAndCompare(nc!, cluster, [
        ['a/client', 'a/web', '80/TCP', true],
        ['a/client', 'a/web', '81/TCP', false],
        ['a/client', 'a/web', '80/UDP', false],
        ['b/db', 'a/web', '80/TCP', false],
      ]);
    });

    it('a remote pod joining and leaving the allowed peers is followed by the kernel, with no write to the NodeFirewall it reaches', async () => {
      // a/late on n1 is labelled app=client: it joins the guard's peer set,
      // which n2's rules (for a/web) name. Only the set's slice changes.
      const n2 = nc!.nodes.find((n) => n.name === 'n2')!;
      const inSet = (m: ReadonlyMap<string, readonly string[]>): boolean =>
        [...m.values()].some((list) => list.includes('10.100.1.4'));
      await api!.create([k8sPod('a/late', { app: 'client' }, 1, 4)]);
      let cluster = await waitForEnforced(view!, 'the new pod', {
        until: (c) => c.pods.some((p) => p.name === 'late' && p.ips.length > 0),
      });
      await nc!.sync(cluster);
      await awaitKernelMembers(n2.netns, inSet, 'a/late in the peer set on n2');
      await probeAndCompare(nc!, cluster, [
        ['a/late', 'a/web', '80/TCP', true],
        ['a/late', 'a/web', '81/TCP', false],
      ]);

      const n2Version = view!.get(NFW, 'n2')?.metadata.resourceVersion;
      const patched = await api!.mergePatch(
        'pods',
        'late',
        { metadata: { labels: { app: 'gone' } } },
        { namespace: 'a' },
      );
      cluster = await waitForEnforced(view!, 'a/late relabelled', {
        until: () =>
          view!.get('pods', 'late', 'a')?.metadata.resourceVersion ===
          patched.metadata.resourceVersion,
      });
      await awaitKernelMembers(n2.netns, (m) => !inSet(m), 'a/late out of the peer set on n2');
      await probeAndCompare(nc!, cluster, [
        ['a/late', 'a/web', '80/TCP', false],
        ['a/client', 'a/web', '80/TCP', true],
      ]);
      assert.equal(
        view!.get(NFW, 'n2')?.metadata.resourceVersion,
        n2Version,
        "n2's NodeFirewall (spec and status) is not written for a remote pod's membership",
      );
      await api!.remove('pods', 'late', 'a');
    });

    it('deleting the policy opens the namespace again', async () => {
      await api!.remove('networkpolicies', 'guard', 'a');
      const cluster = await waitForEnforced(view!, 'the policy deleted', {
        until: (c) => c.policies.length === 0,
      });
      await probeAndCompare(nc!, cluster, [
        ['b/db', 'a/web', '80/TCP', true],
        ['b/other', 'a/client', '81/UDP', true],
      ]);
    });
  },
);
