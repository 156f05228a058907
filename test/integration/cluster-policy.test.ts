/**
 * ClusterNetworkPolicy end to end, on the real kube-apiserver: the
 * controller starts while the CRD is not installed (it says so and runs with
 * NetworkPolicy alone), picks the CRD up when it is installed, and enforces a
 * guardrail written through the API on a netns cluster with one executor per
 * node. The guardrail is then reordered — its rules swapped, its priority
 * moved below another policy's — and deleted; after each step every pair is
 * probed on the kernel and compared with the oracle, read back through the
 * API. A ClusterNetworkPolicy with a peer nftpol cannot honour (`nodes`)
 * fails closed as the API asks, with an Event, and the others stay in force.
 *
 * Synchronisation is by watch events (stack.ts), never by sleeping.
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
import {
  CLUSTER_POLICY_PLURAL,
  clusterInView,
  ENFORCED_PLURALS,
  waitForEnforced,
} from '../support/stack.js';
import {
  installClusterPolicyCrd,
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const skip = dataplaneSkipReason() ?? realServerSkip();

const NODES = twoNodes(98);
const k8sPod = (qualified: string, labels: Record<string, string>, nodeIndex: 1 | 2, h: number) =>
  k8sPodAt(99, qualified, labels, nodeIndex, h);

/** A payments API, its gateway, and a shop client, spread over both nodes. */
const PODS = [
  k8sPod('payments/api', { app: 'api' }, 1, 2),
  k8sPod('gateway/gw', { app: 'gateway' }, 2, 2),
  k8sPod('shop/client', { app: 'client' }, 2, 3),
  k8sPod('shop/cart', { app: 'cart' }, 1, 3),
];

const byName = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** "Nobody reaches payments except the gateway": Accept from gateway, then Deny the rest. */
const guardrail = (rules: 'accept-first' | 'deny-first', priority: number) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name: 'payments-guardrail' },
  spec: {
    tier: 'Admin',
    priority,
    subject: { namespaces: byName('payments') },
    ingress: (rules === 'accept-first' ? ['accept', 'deny'] : ['deny', 'accept']).map((r) =>
      r === 'accept'
        ? { name: 'gateway', action: 'Accept', from: [{ namespaces: byName('gateway') }] }
        : { name: 'everyone-else', action: 'Deny', from: [{ namespaces: {} }] },
    ),
  },
});

/** A lower-priority Admin policy letting shop clients reach payments on 80/TCP. */
const shopToPayments = (priority: number) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name: 'shop-to-payments' },
  spec: {
    tier: 'Admin',
    priority,
    subject: { namespaces: byName('payments') },
    ingress: [
      {
        name: 'clients',
        action: 'Accept',
        from: [
          {
            pods: {
              namespaceSelector: byName('shop'),
              podSelector: { matchLabels: { app: 'client' } },
            },
          },
        ],
        protocols: [{ tcp: { destinationPort: { number: 80 } } }],
      },
    ],
  },
});

describe(
  'ClusterNetworkPolicy end to end: CRD installed late, guardrail created, reordered, deleted',
  { skip: skip ?? false },
  () => {
    let nc: NetnsCluster | undefined;
    let api: TestApi | undefined;
    let view: ApiView | undefined;
    let controller: ControllerHandle | undefined;
    const executors: ExecutorHandle[] = [];
    const logLines: Array<Record<string, unknown>> = [];

    before(async () => {
      api = await startTestApi('cluster policy');
      await api.create([
        ...['payments', 'gateway', 'shop'].map((name) => k8sNs(name)),
        ...NODES.map(k8sNode),
        ...PODS,
      ]);
      nc = await NetnsCluster.create();
      controller = await startController(
        {
          ...CONTROLLER_DEFAULTS,
          identity: 'cnp',
          debounceMs: 20,
          maxDelayMs: 200,
          leaderElect: false,
          healthPort: -1,
          historyPort: -1,
          informerBackoffMs: 50,
          informerMaxBackoffMs: 400,
          retryDelayMs: 50,
          eventIntervalMs: 0,
        },
        api.kubeConfig,
        {
          log: createLogger({
            component: 'cnp-controller',
            level: 'info',
            destination: {
              write: (l: string) => void logLines.push(JSON.parse(l) as Record<string, unknown>),
            },
          }),
        },
      );
      await controller.synced;
    });

    after(async () => {
      await Promise.allSettled(executors.map((e) => e.stop()));
      await controller?.stop().catch(() => undefined);
      view?.stop();
      await api?.stop().catch(() => undefined);
      await nc?.destroy();
    });

    it('runs without the CRD, saying so once, then enforces a guardrail once the CRD is installed', async () => {
      assert.equal(
        logLines.filter((l) => String(l['msg']).includes('ClusterNetworkPolicy CRD')).length,
        1,
        'one line says the CRD is missing',
      );
      assert.deepEqual(
        logLines.filter((l) => l['kind'] === 'ClusterNetworkPolicy').map((l) => l['msg']),
        [],
        'and no informer error per retry',
      );
      await installClusterPolicyCrd(api!);
      view = await watchResources(api!, [...ENFORCED_PLURALS, CLUSTER_POLICY_PLURAL, 'events']);
      await nc!.sync(clusterInView(view));
      executors.push(...(await startNetnsExecutors(nc!, api!.kubeConfig, 'cnp')));
      await Promise.all(executors.map((e) => e.synced));
      await api!.create([guardrail('accept-first', 10)]);
      const cluster = await waitForEnforced(view, 'the guardrail', {
        until: (c) => (c.clusterPolicies ?? []).length === 1,
      });
      await probeAndCompare(nc!, cluster, [
        ['gateway/gw', 'payments/api', '80/TCP', true],
        ['shop/client', 'payments/api', '80/TCP', false],
        ['shop/cart', 'payments/api', '81/UDP', false],
        ['shop/client', 'shop/cart', '80/TCP', true],
      ]);
    });

    it('rules swapped: the Deny now comes first and the gateway is denied too', async () => {
      const v = view!;
      const patched = await api!.mergePatch(CLUSTER_POLICY_PLURAL, 'payments-guardrail', {
        spec: guardrail('deny-first', 10).spec,
      });
      const cluster = await waitForEnforced(v, 'the swapped rules', {
        until: () =>
          v.get(CLUSTER_POLICY_PLURAL, 'payments-guardrail')?.metadata.resourceVersion ===
          patched.metadata.resourceVersion,
      });
      await probeAndCompare(nc!, cluster, [
        ['gateway/gw', 'payments/api', '80/TCP', false],
        ['shop/client', 'payments/api', '80/TCP', false],
      ]);
    });

    it('priority changed: a policy evaluated before the guardrail lets shop clients in on 80/TCP', async () => {
      const v = view!;
      await api!.create([shopToPayments(20)]);
      let cluster = await waitForEnforced(v, 'shop-to-payments after the guardrail', {
        until: (c) => (c.clusterPolicies ?? []).length === 2,
      });
      await probeAndCompare(nc!, cluster, [['shop/client', 'payments/api', '80/TCP', false]]);
      const patched = await api!.mergePatch(CLUSTER_POLICY_PLURAL, 'payments-guardrail', {
        spec: { priority: 30 },
      });
      cluster = await waitForEnforced(v, 'the guardrail moved after shop-to-payments', {
        until: () =>
          v.get(CLUSTER_POLICY_PLURAL, 'payments-guardrail')?.metadata.resourceVersion ===
          patched.metadata.resourceVersion,
      });
      await probeAndCompare(nc!, cluster, [
        ['shop/client', 'payments/api', '80/TCP', true],
        ['shop/client', 'payments/api', '81/TCP', false],
        ['gateway/gw', 'payments/api', '80/TCP', false],
      ]);
    });

    it('a policy with a peer nftpol cannot honour fails closed with an Event; the others stay in force', async () => {
      const v = view!;
      await api!.create([
        {
          apiVersion: 'policy.networking.k8s.io/v1alpha2',
          kind: 'ClusterNetworkPolicy',
          metadata: { name: 'to-nodes' },
          spec: {
            tier: 'Baseline',
            priority: 5,
            subject: { namespaces: byName('shop') },
            egress: [{ name: 'nodes', action: 'Pass', to: [{ nodes: {} }] }],
          },
        },
      ]);
      const cluster = await waitForEnforced(v, 'the fail-closed policy', {
        until: (c) => (c.clusterPolicies ?? []).length === 3,
      });
      await v.waitFor(
        () => v.list('events').some((e) => e['reason'] === 'PartlyUnsupported'),
        'a PartlyUnsupported Event',
      );
      await probeAndCompare(nc!, cluster, [
        ['shop/client', 'shop/cart', '80/TCP', false],
        ['shop/client', 'payments/api', '80/TCP', false],
        ['gateway/gw', 'shop/cart', '80/TCP', true],
      ]);
    });

    it('deleting the policies restores NetworkPolicy-only behaviour', async () => {
      const v = view!;
      for (const name of ['payments-guardrail', 'shop-to-payments', 'to-nodes']) {
        await api!.remove(CLUSTER_POLICY_PLURAL, name);
      }
      const cluster = await waitForEnforced(v, 'no ClusterNetworkPolicy', {
        until: (c) => (c.clusterPolicies ?? []).length === 0,
      });
      await probeAndCompare(nc!, cluster, [
        ['shop/client', 'payments/api', '80/TCP', true],
        ['gateway/gw', 'payments/api', '81/UDP', true],
      ]);
    });
  },
);
