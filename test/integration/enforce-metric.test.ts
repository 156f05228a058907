/**
 * nftpol_controller_policy_enforce_seconds through the real controller: the
 * embedded API server, the controller's informers and the enforce tracker,
 * with the test playing the executors (it writes status.appliedHash and
 * Applied=True through the status subresource when told to). A new policy is
 * observed once, only after every node whose script carries it reports it
 * applied — not when the first one does.
 *
 * Synchronisation by the store's change feed and, for the metric (which no
 * store change follows), a 10 ms poll with a deadline; never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import { createLogger } from '../../src/telemetry/log.js';

const NFW = 'nodefirewalls';
const TIMEOUT_MS = 15_000;

const options: ControllerOptions = {
  ...DEFAULTS,
  identity: 'enforce-test',
  leaderElect: false,
  debounceMs: 20,
  maxDelayMs: 200,
  healthPort: -1,
  logLevel: 'silent',
  informerBackoffMs: 50,
  informerMaxBackoffMs: 500,
  retryDelayMs: 50,
};

const k8sNode = (name: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});
const k8sPod = (name: string, nodeName: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels: { app: 'web' } },
  spec: { nodeName, containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

interface Spec {
  scriptHash: string;
  summary: { policyNames: string[] };
}

function specOf(server: ApiServer, node: string): Spec | undefined {
  return server.store.get(NFW, undefined, node)?.['spec'] as Spec | undefined;
}

/** Plays the executor of `node`: reports its current spec applied. */
function reportApplied(server: ApiServer, node: string): void {
  const current = server.store.get(NFW, undefined, node);
  assert.ok(current);
  const spec = current['spec'] as Spec;
  server.store.replace(
    NFW,
    {
      ...current,
      status: {
        appliedHash: spec.scriptHash,
        lastAppliedTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        conditions: [
          {
            type: 'Applied',
            status: 'True',
            lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
            reason: 'Applied',
            message: 'applied',
          },
        ],
      },
    },
    { name: node, subresource: 'status', fieldManager: 'test-executor' },
  );
}

function waitFor(server: ApiServer, predicate: () => Promise<boolean> | boolean, what: string) {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      void Promise.resolve(predicate()).then((ok) => ok && finish());
    };
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
    const unsubscribe = server.store.history.subscribe(() => queueMicrotask(check));
    const poll = setInterval(check, 10);
    check();
  });
}

describe('time-to-enforce metric', () => {
  let server: ApiServer;
  let controller: ControllerHandle;

  const observations = async (): Promise<number> => {
    const metric = await controller.metrics.policyEnforceDuration.get();
    return metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  };

  const nodeFirewallEvents = async (): Promise<number> => {
    const metric = await controller.metrics.events.get();
    return metric.values.find((v) => v.labels['kind'] === 'NodeFirewall')?.value ?? 0;
  };

  before(async () => {
    server = await startApiServer();
    server.store.create('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
    });
    server.store.create('nodes', k8sNode('n1', '172.16.0.1'));
    server.store.create('nodes', k8sNode('n2', '172.16.0.2'));
    server.store.create('pods', k8sPod('web-1', 'n1', '10.0.1.2'));
    server.store.create('pods', k8sPod('web-2', 'n2', '10.0.2.2'));
    controller = await startController(options, kubeConfigForServer(server.url), {
      log: createLogger({ component: 'test-controller', level: 'silent' }),
    });
    await controller.synced;
    await waitFor(server, () => !!specOf(server, 'n1') && !!specOf(server, 'n2'), 'first scripts');
    reportApplied(server, 'n1');
    reportApplied(server, 'n2');
  });
  after(async () => {
    await controller?.stop();
    await server?.close();
  });

  it('observes a new policy once, when the last node carrying it reports it applied', async () => {
    server.store.create('networkpolicies', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'shop', name: 'web' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [] },
    });
    const carries = (node: string) => () =>
      specOf(server, node)?.summary.policyNames.includes('shop/web') === true;
    await waitFor(server, () => carries('n1')() && carries('n2')(), 'both scripts carry shop/web');

    const seen = await nodeFirewallEvents();
    reportApplied(server, 'n1');
    // Let the controller receive that status write, then 15 more poll rounds
    // (150 ms, three times the tracker's 50 ms re-check while the controller
    // is busy) so that its check has surely run.
    let rounds = 0;
    await waitFor(
      server,
      async () => (await nodeFirewallEvents()) > seen && ++rounds > 15,
      'the controller saw n1 applied',
    );
    assert.equal(await observations(), 0, 'one node of two is not enough');

    reportApplied(server, 'n2');
    await waitFor(server, async () => (await observations()) === 1, 'one observation');
    const text = await controller.metrics.registry.metrics();
    assert.match(text, /nftpol_controller_policy_enforce_seconds_count 1/);
  });
});
