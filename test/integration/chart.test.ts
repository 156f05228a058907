/**
 * The Helm chart on the real kube-apiserver: rendered with helm (admission
 * policy on), applied server-side, and exercised with the components' own
 * credentials rather than an administrator's:
 *
 *  - the CRDs are accepted and Established, and the ValidatingAdmissionPolicy
 *    type-checks without warnings (kube-controller-manager's check);
 *  - the controller, with the Deployment's own flags and a token of its
 *    ServiceAccount, becomes leader, writes every node's NodeFirewall and
 *    records an Event — every permission it uses is granted — and may write
 *    and delete AddressSet slices;
 *  - an executor, with the DaemonSet's own flags and a token bound to its Pod
 *    on node-a, applies node-a's script (in a network namespace) and reports
 *    Ready; it may list and watch AddressSets; it is denied node-b's status
 *    (by the admission policy), any NodeFirewall spec write or delete and any
 *    AddressSet write (by RBAC), and reads of Pods and Secrets;
 *  - kube-controller-manager's garbage collector deletes the NodeFirewall of
 *    a deleted Node through its owner reference, with no controller running.
 *
 * Needs the real control plane, helm (scripts/helm.sh) and, for the
 * executor, root with ip and nft; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { parseOptions as parseControllerOptions } from '../../src/controller/options.js';
import { startExecutor, type ExecutorHandle } from '../../src/executor/main.js';
import { parseOptions as parseExecutorOptions } from '../../src/executor/options.js';
import { addressSetBody, apiAddressSetWriter } from '../../src/k8s/addressset-api.js';
import { makeApiClients } from '../../src/k8s/client.js';
import type { NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { createLogger } from '../../src/telemetry/log.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import {
  ApiStatusError,
  collectionPath,
  objectPath,
  rawRequest,
  realServerSkip,
  startTestApi,
  watchResources,
  type ApiObject,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NS = 'nftpol-system';
const NFW = 'nodefirewalls';
const NAS = 'addresssets';
const MANAGER = 'nftpol-chart-test';

async function findHelm(): Promise<string | null> {
  try {
    return (await run('bash', ['scripts/helm.sh'], { cwd: ROOT })).stdout.trim();
  } catch {
    return null;
  }
}

const helm = realServerSkip() === undefined ? await findHelm() : null;
const skip =
  realServerSkip() ??
  dataplaneSkipReason() ??
  (helm === null ? 'helm could not be obtained (scripts/helm.sh failed)' : undefined);

/** The chart's objects, rendered with the admission policy on and CRDs included. */
async function renderChart(): Promise<ApiObject[]> {
  const { stdout } = await run(
    helm!,
    [
      'template', 'nftpol', 'charts/nftpol', '--namespace', NS, '--include-crds',
      '--set', 'admissionPolicy.enabled=true',
    ],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  ); // prettier-ignore
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON() as ApiObject | null)
    .filter((o): o is ApiObject => o !== null);
}

/** Server-side apply of `object` (as `kubectl apply --server-side` does). */
async function applyServerSide(api: TestApi, object: ApiObject): Promise<void> {
  const plural = pluralOf(object.kind ?? '');
  const ns = object.metadata.namespace ?? (NAMESPACED.has(plural) ? NS : undefined);
  await api.request(
    'PATCH',
    `${objectPath(plural, object.metadata.name, ns)}?fieldManager=${MANAGER}&force=true`,
    { body: object, contentType: 'application/apply-patch+yaml' },
  );
}

const PLURALS: Record<string, string> = {
  CustomResourceDefinition: 'customresourcedefinitions',
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Service: 'services',
  Deployment: 'deployments',
  DaemonSet: 'daemonsets',
  PodDisruptionBudget: 'poddisruptionbudgets',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
};
const NAMESPACED = new Set([
  'serviceaccounts', 'roles', 'rolebindings', 'services', 'deployments', 'daemonsets',
  'poddisruptionbudgets',
]); // prettier-ignore

function pluralOf(kind: string): string {
  const plural = PLURALS[kind];
  if (plural === undefined)
    throw new Error(`the chart renders a ${kind}, which this test does not know`);
  return plural;
}

/** The first container of a workload: its args and its env, with downward-API fields filled in. */
function containerOf(
  object: ApiObject,
  fields: Record<string, string>,
): { args: string[]; env: Record<string, string> } {
  const container = (
    object['spec'] as {
      template: {
        spec: {
          containers: {
            args?: string[];
            env?: {
              name: string;
              value?: string;
              valueFrom?: { fieldRef?: { fieldPath: string } };
            }[];
          }[];
        };
      };
    }
  ).template.spec.containers[0]!;
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    const value = e.value ?? (path === undefined ? undefined : fields[path]);
    if (value !== undefined) env[e.name] = value;
  }
  return { args: container.args ?? [], env };
}

/** A token of ServiceAccount `sa` (TokenRequest), bound to `pod` when given. */
async function tokenFor(api: TestApi, sa: string, pod?: ApiObject): Promise<string> {
  const answer = await api.request<{ status: { token: string } }>(
    'POST',
    `${objectPath('serviceaccounts', sa, NS)}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: 3600,
          ...(pod === undefined
            ? {}
            : {
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: pod.metadata.name,
                  uid: pod.metadata.uid,
                },
              }),
        },
      },
    },
  );
  return answer.status.token;
}

function kubeConfigOf(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * Resolves once `probe` (a dry-run request the admission policy must deny) is
 * denied. The API server loads admission policies and bindings through its
 * own informer, some time after they are created, and announces nothing: the
 * one wait here that polls (every 200 ms, at most 30 s), and a dry run
 * changes nothing.
 */
async function admissionPolicyInForce(
  probe: () => Promise<{ code: number; message: string }>,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await probe();
    if (answer.code === 403) return;
    if (Date.now() > deadline)
      throw new Error(
        `the admission policy is not in force after 30 s: ${answer.code} ${answer.message}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The HTTP status a request with `kc` gets (200-299 → that code). */
async function statusOfRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<{ code: number; message: string }> {
  try {
    await rawRequest(kc, method, path, {
      ...(body === undefined ? {} : { body }),
      ...(contentType === undefined ? {} : { contentType }),
    });
    return { code: 200, message: '' };
  } catch (err) {
    if (err instanceof ApiStatusError) return { code: err.code, message: err.message };
    throw err;
  }
}

const node = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: name === 'node-a' ? '10.200.1.0/24' : '10.200.2.0/24' },
});
const pod = (ns: string, name: string, nodeName: string, ip: string, sa?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: {
    nodeName,
    ...(sa === undefined ? {} : { serviceAccountName: sa }),
    containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 80 }] }],
  },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

describe('the Helm chart on the real kube-apiserver', { skip }, () => {
  let api: TestApi;
  let view: ApiView;
  let objects: ApiObject[];
  let controller: ControllerHandle | undefined;
  let executor: ExecutorHandle | undefined;
  let executorKc: KubeConfig;
  let controllerKc: KubeConfig;
  const netns = `nftpol-chart-${process.pid}`;
  const logs: string[] = [];

  const workload = (kind: string) => objects.find((o) => o.kind === kind)!;
  const saOf = (kind: string) =>
    (workload(kind)['spec'] as { template: { spec: { serviceAccountName: string } } }).template.spec
      .serviceAccountName;

  before(async () => {
    // The controller-manager type-checks admission policies (and collects garbage).
    api = await startTestApi('chart', { controllerManager: true });
    objects = await renderChart();
    await api.create([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      node('node-a'),
      node('node-b'),
      pod('shop', 'web', 'node-a', '10.200.1.10'),
      pod('shop', 'api', 'node-b', '10.200.2.10'),
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [{ ports: [{ port: 'no-such-port' }] }],
        },
      },
    ]);
    for (const o of objects) await applyServerSide(api, o);
    view = await watchResources(api, [
      'customresourcedefinitions',
      'validatingadmissionpolicies',
      NFW,
      'leases',
      'events',
    ]);
    await run('ip', ['netns', 'add', netns]);
  });

  after(async () => {
    await executor?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    view?.stop();
    await api?.stop();
    await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
  });

  it('renders the CRDs, which the server accepts and marks Established', async () => {
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const names = crds.map((c) => c.metadata.name).sort();
    assert.deepEqual(names, ['addresssets.nftpol.io', 'nodefirewalls.nftpol.io']);
    const established = (name: string): boolean =>
      (
        view.get('customresourcedefinitions', name)?.['status'] as
          { conditions?: { type: string; status: string }[] } | undefined
      )?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    await view.waitFor(() => names.every(established), 'the CRDs Established');
  });

  it('renders a ValidatingAdmissionPolicy that type-checks without warnings', async () => {
    const name = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy')!.metadata.name;
    const typeChecking = () =>
      (
        view.get('validatingadmissionpolicies', name)?.['status'] as
          | { typeChecking?: { expressionWarnings?: { fieldRef: string; warning: string }[] } }
          | undefined
      )?.typeChecking;
    await view.waitFor(() => typeChecking() !== undefined, 'the policy type-checked');
    assert.deepEqual(typeChecking()!.expressionWarnings ?? [], []);
  });

  it('the controller, with its own ServiceAccount token and the chart flags, leads and writes every NodeFirewall and an Event', async () => {
    const deployment = workload('Deployment');
    const sa = saOf('Deployment');
    const { args, env } = containerOf(deployment, {
      'metadata.namespace': NS,
      'metadata.name': 'nftpol-controller-0',
    });
    // The chart serves the history on its own port, on localhost only.
    const asCharted = parseControllerOptions(args, env).options;
    assert.deepEqual([asCharted.historyPort, asCharted.historyHost], [8081, '127.0.0.1']);
    // The chart's flags; the health and history ports move off 8080/8081 (shared machine).
    const parsed = parseControllerOptions([...args, '--health-port=-1', '--history-port=-1'], env);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.options.leaderElect, true, 'the chart elects a leader');
    const kc = kubeConfigOf(api.real!.tokenKubeconfig(await tokenFor(api, sa)));
    controllerKc = kc;
    const destination = { write: (line: string) => void logs.push(line) };
    controller = await startController(parsed.options, kc, {
      log: createLogger({ component: 'chart-controller', level: 'info', destination }),
    });
    await controller.synced;
    await view.waitFor(
      () => view.get(NFW, 'node-a') !== undefined && view.get(NFW, 'node-b') !== undefined,
      'both NodeFirewalls written',
      { detail: () => logs.join('') },
    );
    const lease = view.get('leases', parsed.options.leaseName, NS);
    assert.equal(
      (lease?.['spec'] as { holderIdentity?: string } | undefined)?.holderIdentity,
      'nftpol-controller-0',
    );
    // The named port resolves nowhere: a Warning Event on the policy.
    await view.waitFor(
      () =>
        view
          .list('events')
          .some(
            (e) =>
              (e['involvedObject'] as { name?: string }).name === 'web' &&
              e['reason'] === 'NamedPortUnresolved',
          ),
      'the NamedPortUnresolved Event',
      { detail: () => logs.join('') },
    );
    const refused = logs.filter((l) => /forbidden|403/i.test(l));
    assert.deepEqual(refused, [], 'no call of the controller was refused');
  });

  it("the controller's token may write and delete AddressSet slices", async () => {
    const writer = apiAddressSetWriter(makeApiClients(controllerKc));
    const setId = 'pods-00000000000c4a27';
    const at = '2025-01-01T00:00:00.000Z';
    await writer.apply(addressSetBody(setId, 'addr', 'chart test', 0, ['10.200.1.10'], at));
    assert.deepEqual((await api.get(NAS, `${setId}-0`))?.['spec'], {
      setId,
      kind: 'addr',
      peer: 'chart test',
      members: ['10.200.1.10'],
      memberCount: 1,
    });
    await writer.remove(`${setId}-0`);
    assert.equal(await api.get(NAS, `${setId}-0`), undefined);
  });

  it('an executor with a token bound to its Pod on node-a applies node-a and reports Ready', async () => {
    const sa = saOf('DaemonSet');
    await api.create([pod(NS, 'nftpol-executor-a', 'node-a', '172.30.0.1', sa)]);
    const executorPod = (await api.get('pods', 'nftpol-executor-a', NS))!;
    const token = await tokenFor(api, sa, executorPod);
    executorKc = kubeConfigOf(api.real!.tokenKubeconfig(token));
    const { args, env } = containerOf(workload('DaemonSet'), { 'spec.nodeName': 'node-a' });
    const parsed = parseExecutorOptions(
      [...args, '--health-port=-1', `--nft-command=ip netns exec ${netns} nft`],
      env,
    );
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.options.nodeName, 'node-a');
    executor = await startExecutor(parsed.options, executorKc, {
      log: createLogger({ component: 'chart-executor', level: 'silent' }),
      readFile: () => Promise.resolve('1\n'),
    });
    await view.waitFor(
      () => {
        const status = view.get(NFW, 'node-a')?.['status'] as NodeFirewallStatus | undefined;
        return status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      },
      'node-a Ready',
      { detail: () => JSON.stringify(view.get(NFW, 'node-a')?.['status']) },
    );
  });

  it("the executor of node-a may write node-a's status and read AddressSets, and nothing else", async () => {
    const patch = { status: { observedGeneration: 1 } };
    const merge = 'application/merge-patch+json';
    const nfwPath = (name: string) => objectPath(NFW, name);
    const nasSelected = `${collectionPath(NAS)}?labelSelector=${encodeURIComponent('nftpol.io/set in (pods-00000000000000e0)')}`;
    const slice = addressSetBody(
      'pods-00000000000000e0',
      'addr',
      'p',
      0,
      [],
      '2025-01-01T00:00:00.000Z',
    );
    await admissionPolicyInForce(() =>
      statusOfRequest(executorKc, 'PATCH', `${nfwPath('node-b')}/status?dryRun=All`, patch, merge),
    );
    const cases: [string, Promise<{ code: number; message: string }>, number, RegExp?][] = [
      [
        "patch node-a's status",
        statusOfRequest(executorKc, 'PATCH', `${nfwPath('node-a')}/status`, patch, merge),
        200,
      ],
      [
        "patch node-b's status",
        statusOfRequest(executorKc, 'PATCH', `${nfwPath('node-b')}/status`, patch, merge),
        403,
        /may write only the NodeFirewall of its own node/,
      ],
      [
        "patch node-a's spec",
        statusOfRequest(executorKc, 'PATCH', nfwPath('node-a'), { spec: { script: '' } }, merge),
        403,
      ],
      ['delete node-a', statusOfRequest(executorKc, 'DELETE', nfwPath('node-a')), 403],
      ['list addresssets', statusOfRequest(executorKc, 'GET', nasSelected), 200],
      // Selects nothing, so the watch sends no event and ends after a second.
      [
        'watch addresssets',
        statusOfRequest(executorKc, 'GET', `${nasSelected}&watch=true&timeoutSeconds=1`),
        200,
      ],
      [
        'create an addressset',
        statusOfRequest(executorKc, 'POST', collectionPath(NAS), slice),
        403,
      ],
      [
        'patch an addressset',
        statusOfRequest(executorKc, 'PATCH', objectPath(NAS, slice.metadata.name), slice, merge),
        403,
      ],
      [
        'delete an addressset',
        statusOfRequest(executorKc, 'DELETE', objectPath(NAS, slice.metadata.name)),
        403,
      ],
      ['list pods', statusOfRequest(executorKc, 'GET', collectionPath('pods')), 403],
      ['list secrets', statusOfRequest(executorKc, 'GET', collectionPath('secrets', NS)), 403],
    ];
    for (const [what, answer, code, message] of cases) {
      const got = await answer;
      assert.equal(got.code, code, `${what}: ${got.message}`);
      if (message !== undefined) assert.match(got.message, message, what);
    }
  });

  it("the garbage collector deletes a removed Node's NodeFirewall by its owner reference", async () => {
    // With the controller stopped, only the owner reference can remove it.
    await controller!.stop();
    controller = undefined;
    const owners = view.get(NFW, 'node-b')!.metadata['ownerReferences'] as { name: string }[];
    assert.deepEqual(
      owners.map((o) => o.name),
      ['node-b'],
    );
    await api.remove('pods', 'api', 'shop');
    await api.remove('nodes', 'node-b');
    await view.waitFor(() => view.get(NFW, 'node-b') === undefined, 'node-b collected', {
      timeoutMs: 60_000,
    });
    assert.notEqual(view.get(NFW, 'node-a'), undefined);
  });
});
