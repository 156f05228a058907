/**
 * nftpol_controller_policy_enforce_seconds through the real controller: the
 * real kube-apiserver, the controller's informers and the enforce tracker,
 * with the test playing the executors (it writes status.appliedHash and
 * Applied=True through the status subresource when told to). A new policy is
 * observed once, only after every node whose script carries it reports it
 * applied — not when the first one does. The controller runs on a clock the
 * test sets (its timers are real), so the observed duration says which
 * report completed it.
 *
 * NodeFirewalls are observed through the API (list + watch), waiting on its
 * watch events. The metrics live in the controller, where no watch event
 * follows them: they are polled every 10 ms, with a deadline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/telemetry/clock.js';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { createLogger } from '../../src/telemetry/log.js';
import {
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const NFW = 'nodefirewalls';
const TIMEOUT_MS = 15_000;

const options: ControllerOptions = {
  ...DEFAULTS,
  identity: 'enforce-test',
  leaderElect: false,
  debounceMs: 20,
  maxDelayMs: 200,
  healthPort: -1,
  historyPort: -1,
  logLevel: 'silent',
  informerBackoffMs: 50,
  informerMaxBackoffMs: 500,
  retryDelayMs: 50,
};

/** The controller's clock: `now` only moves when the test moves it; timers are real. */
class SetClock implements Clock {
  ms = Date.parse('2030-01-01T00:00:00Z');
  now = (): number => this.ms;
  setTimer = (fn: () => void, ms: number): unknown => setTimeout(fn, ms);
  clearTimer = (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>);
}

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
  summary: { policyNames?: string[] };
}

function specOf(view: ApiView, node: string): Spec | undefined {
  return view.get(NFW, node)?.['spec'] as Spec | undefined;
}

function appliedHashOf(view: ApiView, node: string): string | undefined {
  return (view.get(NFW, node)?.['status'] as { appliedHash?: string } | undefined)?.appliedHash;
}

const rfc3339 = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Plays the executor of `node`: reports the spec the view shows applied; resolves with that hash. */
async function reportApplied(api: TestApi, view: ApiView, node: string): Promise<string> {
  const spec = specOf(view, node);
  assert.ok(spec, `a NodeFirewall for ${node}`);
  await api.mergePatch(
    NFW,
    node,
    {
      status: {
        appliedHash: spec.scriptHash,
        lastAppliedTime: rfc3339(),
        conditions: [
          {
            type: 'Applied',
            status: 'True',
            lastTransitionTime: rfc3339(),
            reason: 'Applied',
            message: 'applied',
          },
        ],
      },
    },
    { status: true },
  );
  return spec.scriptHash;
}

/** Resolves once the (async) predicate on the controller's state holds; polled every 10 ms. */
function poll(predicate: () => Promise<boolean>, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(every);
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      predicate().then(
        (ok) => ok && finish(),
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    };
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
    const every = setInterval(check, 10);
    check();
  });
}

/**
 * Resolves after every 0 ms timer already scheduled has run: Node runs timers
 * of one duration in the order they were set. The enforce tracker checks on
 * such a timer, set as its informer hands it a NodeFirewall event.
 */
const afterScheduledChecks = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('time-to-enforce metric', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView;
  let controller: ControllerHandle;
  const clock = new SetClock();
  /** NodeFirewall watch events the view has seen. */
  let viewEvents = 0;

  const observations = async (): Promise<number> => {
    const metric = await controller.metrics.policyEnforceDuration.get();
    return metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  };
  const observedSeconds = async (): Promise<number> => {
    const metric = await controller.metrics.policyEnforceDuration.get();
    return metric.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  };

  const nodeFirewallEvents = async (): Promise<number> => {
    const metric = await controller.metrics.events.get();
    return metric.values.find((v) => v.labels['kind'] === 'NodeFirewall')?.value ?? 0;
  };

  before(async () => {
    api = await startTestApi('enforce metric');
    await api.create([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      k8sNode('n1', '172.16.0.1'),
      k8sNode('n2', '172.16.0.2'),
      k8sPod('web-1', 'n1', '10.0.1.2'),
      k8sPod('web-2', 'n2', '10.0.2.2'),
    ]);
    // Started before the controller, on no NodeFirewall: it sees the same
    // stream of NodeFirewall events as the controller's informer.
    view = await watchResources(api, [NFW]);
    view.subscribe(() => (viewEvents += 1));
    controller = await startController(options, api.kubeConfig, {
      log: createLogger({ component: 'test-controller', level: 'silent' }),
      clock,
    });
    await controller.synced;
    await view.waitFor(
      () => specOf(view, 'n1') !== undefined && specOf(view, 'n2') !== undefined,
      'first scripts',
      { timeoutMs: TIMEOUT_MS },
    );
    for (const node of ['n1', 'n2']) {
      const hash = await reportApplied(api, view, node);
      await view.waitFor(
        () =>
          (view.get(NFW, node)?.['status'] as { appliedHash?: string } | undefined)?.appliedHash ===
          hash,
        `${node} reported applied`,
        { timeoutMs: TIMEOUT_MS },
      );
    }
  });
  after(async () => {
    await controller?.stop();
    view?.stop();
    await api?.stop();
  });

  it('observes a new policy once, when the last node carrying it reports it applied', async () => {
    const changedAt = clock.ms;
    await api.create([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'shop', name: 'web' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [] },
      },
    ]);
    const carries = (node: string) =>
      specOf(view, node)?.summary.policyNames?.includes('shop/web') === true;
    await view.waitFor(() => carries('n1') && carries('n2'), 'both scripts carry shop/web', {
      timeoutMs: TIMEOUT_MS,
    });

    clock.ms = changedAt + 100_000;
    const hash = await reportApplied(api, view, 'n1');
    await view.waitFor(() => appliedHashOf(view, 'n1') === hash, 'n1 reported applied', {
      timeoutMs: TIMEOUT_MS,
    });
    // The controller's informer has had as many NodeFirewall events as the view.
    const upTo = viewEvents;
    await poll(async () => (await nodeFirewallEvents()) >= upTo, 'the controller saw n1 applied');
    await afterScheduledChecks();
    assert.equal(await observations(), 0, 'one node of two is not enough');

    clock.ms = changedAt + 200_000;
    await reportApplied(api, view, 'n2');
    await poll(async () => (await observations()) === 1, 'one observation');
    assert.equal(await observedSeconds(), 200, "from the change to the last node's report");
    const text = await controller.metrics.registry.metrics();
    assert.match(text, /nftpol_controller_policy_enforce_seconds_count 1/);
  });
});
