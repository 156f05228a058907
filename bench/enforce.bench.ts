/**
 * Time to enforce: from a NetworkPolicy write in the API to the kernel doing
 * what it says, through the whole product on one machine: an API server (the
 * real kube-apiserver and etcd when KUBEBUILDER_ASSETS holds them, the
 * embedded one otherwise; the results say which), the controller, one
 * executor per node of a two-node netns cluster, all in this process and
 * talking to the server only through its kubeconfig; the status is observed
 * through list + watch. Each change moves the one allowed port of `a/web` between 80 and
 * 81; the clock stops when a probe from `a/client` (on the other node) to the
 * newly allowed port is answered. Probes are fired every few milliseconds,
 * so only "becomes open" is measured: a drop can only be seen as a timeout.
 * Also reports when every node's NodeFirewall status showed the new script
 * applied (the status write follows the load). Measurement starts once
 * every node enforces the first script and the not-yet-allowed port is seen
 * closed.
 *
 * Then a peer's IP (v2: a membership change, an AddressSet slice and element
 * deltas, no NodeFirewall write for the node it reaches): pod `a/late` on n1,
 * a client, gets a new IP written to its status, alternating between two;
 * the clock stops when a probe from the new IP to `a/web` on n2 is answered.
 *
 * Prints p50/p99 and writes bench/results/enforce.json. Needs root, ip and nft.
 *
 *   node --import tsx bench/enforce.bench.ts
 *   NFTPOL_BENCH_CHANGES=20 node --import tsx bench/enforce.bench.ts
 *   NFTPOL_BENCH_NOTE='shared 2-core machine' …   # written beside the figures
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startController, type ControllerHandle } from '../src/controller/main.js';
import { DEFAULTS as CONTROLLER_DEFAULTS } from '../src/controller/options.js';
import { startExecutor, type ExecutorHandle } from '../src/executor/main.js';
import { DEFAULTS as EXECUTOR_DEFAULTS } from '../src/executor/options.js';
import { createLogger } from '../src/telemetry/log.js';
import { dataplaneSkipReason } from '../test/support/netns/lifecycle.js';
import { NetnsCluster, type NetnsPod } from '../test/support/netns/netns-cluster.js';
import { controlPlaneAssets } from '../test/support/kube-apiserver.js';
import { clusterInView, ENFORCED_PLURALS, waitForEnforced } from '../test/support/stack.js';
import {
  startTestApi,
  watchResources,
  type ApiObject,
  type ApiView,
  type TestApi,
} from '../test/support/test-api.js';
import { machineNote, quantile } from './stats.js';

const run = promisify(execFile);
const CHANGES = Number(process.env['NFTPOL_BENCH_CHANGES']) || 10;
/** Interval between probes while waiting for a change to show. */
const PROBE_EVERY_MS = 5;
/** A probe without an answer after this long counts as dropped. */
const PROBE_TIMEOUT_MS = 200;
/** Give up on one change after this long. */
const CHANGE_DEADLINE_MS = 20_000;
/** Source ports for this bench's probes: below the ephemeral range and the probe module's. */
const FIRST_SPORT = 5_000;
const LAST_SPORT = 9_999;

const NODES = [
  { name: 'n1', address: '10.99.0.1', podCIDR: '10.100.1.0/24' },
  { name: 'n2', address: '10.99.0.2', podCIDR: '10.100.2.0/24' },
] as const;

/** The cluster, through the API: namespace `a`, two nodes, `a/client` on n1 and `a/web` on n2. */
async function seed(api: TestApi): Promise<void> {
  // The controller's Lease lives there; a real server has it already.
  if ((await api.get('namespaces', 'kube-system')) === undefined)
    await api.create([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } }]);
  const pod = (name: string, app: string, node: 1 | 2) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'a', labels: { app } },
    spec: { nodeName: `n${node}`, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: `10.100.${node}.2`, podIPs: [{ ip: `10.100.${node}.2` }] },
  });
  await api.create([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
    ...NODES.map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name },
      spec: { podCIDR: n.podCIDR },
      status: { addresses: [{ type: 'InternalIP', address: n.address }] },
    })),
    pod('client', 'client', 1),
    pod('web', 'web', 2),
    webOnPort(80),
  ]);
}

/** `a/web` accepts `a/client` on TCP `port` only. */
const webOnPort = (port: number) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web', namespace: 'a' },
  spec: {
    podSelector: { matchLabels: { app: 'web' } },
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { app: 'client' } } }],
        ports: [{ protocol: 'TCP', port }],
      },
    ],
  },
});

/**
 * Resolves with performance.now() once every node reports applied the script
 * of the objects the view holds, and the view holds policy `a/web` as
 * `written` left it (or later): right after a write the view may still show
 * the state before it, which every node already enforces.
 */
async function waitForStatus(view: ApiView, written: ApiObject): Promise<number> {
  // Nothing else writes the policy: the patch's own resourceVersion is the one to see.
  const rv = written.metadata.resourceVersion;
  await waitForEnforced(view, 'status', {
    timeoutMs: CHANGE_DEADLINE_MS,
    until: () => view.get('networkpolicies', 'web', 'a')?.metadata.resourceVersion === rv,
  });
  return performance.now();
}

let sport = FIRST_SPORT;
const nextSport = (): number => (sport = sport >= LAST_SPORT ? FIRST_SPORT : sport + 1);

/**
 * Fires a TCP probe from `from` to `to`:`port` every PROBE_EVERY_MS;
 * resolves with performance.now() when the first one is answered.
 */
function waitForOpen(from: NetnsPod, to: NetnsPod, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const deadline = setTimeout(() => {
      settled = true;
      clearInterval(ticker);
      reject(new Error(`port ${port} never opened`));
    }, CHANGE_DEADLINE_MS);
    const fire = (): void => {
      const spec = {
        protocol: 'TCP' as const,
        from: from.ips[0]!,
        to: to.ips[0]!,
        port,
        sport: nextSport(),
      };
      from.agent.probe([spec], PROBE_TIMEOUT_MS, 1).then(
        ([result]) => {
          if (settled || result?.outcome !== 'open') return;
          settled = true;
          const at = performance.now();
          clearInterval(ticker);
          clearTimeout(deadline);
          resolve(at);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearInterval(ticker);
          clearTimeout(deadline);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    };
    const ticker = setInterval(fire, PROBE_EVERY_MS);
    fire();
  });
}

/** One probe from `from` to `to`:`port`; true when it is answered. */
async function isOpen(from: NetnsPod, to: NetnsPod, port: number): Promise<boolean> {
  const spec = {
    protocol: 'TCP' as const,
    from: from.ips[0]!,
    to: to.ips[0]!,
    port,
    sport: nextSport(),
  };
  const [result] = await from.agent.probe([spec], PROBE_TIMEOUT_MS, 1);
  return result?.outcome === 'open';
}

async function main(): Promise<void> {
  const skip = dataplaneSkipReason();
  if (skip !== null) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const assets = controlPlaneAssets();
  const api = await startTestApi('time to enforce', {
    server: assets.kind === 'found' ? 'kube-apiserver' : 'embedded',
    embedded: { bookmarkIntervalMs: 1_000 },
  });
  if (assets.kind === 'missing') console.log(`(no real kube-apiserver: ${assets.why})`);
  let view: ApiView | undefined;
  let nc: NetnsCluster | undefined;
  let controller: ControllerHandle | undefined;
  const executors: ExecutorHandle[] = [];
  try {
    await seed(api);
    view = await watchResources(api, ENFORCED_PLURALS);
    nc = await NetnsCluster.create();
    await nc.sync(clusterInView(view));
    const kubeConfig = api.kubeConfig;
    // Production debounce (100 ms, max 1 s): this is what a user waits.
    controller = await startController(
      {
        ...CONTROLLER_DEFAULTS,
        identity: 'bench',
        healthPort: -1,
        historyPort: -1,
        logLevel: 'silent',
      },
      kubeConfig,
      { log: createLogger({ component: 'bench-controller', level: 'silent' }) },
    );
    for (const n of nc.nodes) {
      const netns = n.netns;
      executors.push(
        await startExecutor(
          {
            ...EXECUTOR_DEFAULTS,
            nodeName: n.name,
            nftCommand: `ip netns exec ${netns} nft`,
            healthPort: -1,
            logLevel: 'silent',
          },
          kubeConfig,
          {
            log: createLogger({ component: `bench-executor-${n.name}`, level: 'silent' }),
            readFile: async (path) =>
              (await run('ip', ['netns', 'exec', netns, 'cat', path])).stdout,
          },
        ),
      );
    }
    await Promise.all(executors.map((e) => e.synced));
    // Measure from an enforced start: before the first script is loaded every
    // port is open, and the first change would be "enforced" at once.
    const cluster = await waitForEnforced(view, 'the first scripts', {
      timeoutMs: CHANGE_DEADLINE_MS,
    });
    const client = nc.slotOf(cluster.pods.find((p) => p.name === 'client')!)!;
    const web = nc.slotOf(cluster.pods.find((p) => p.name === 'web')!)!;
    await waitForOpen(client, web, 80);
    if (await isOpen(client, web, 81)) throw new Error('port 81 is open before any change');

    const enforceMs: number[] = [];
    const statusMs: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const port = i % 2 === 0 ? 81 : 80;
      const t0 = performance.now();
      const written = await api.mergePatch(
        'networkpolicies',
        'web',
        { spec: webOnPort(port).spec },
        { namespace: 'a' },
      );
      const [open, status] = await Promise.all([
        waitForOpen(client, web, port),
        waitForStatus(view, written),
      ]);
      enforceMs.push(open - t0);
      statusMs.push(status - t0);
    }

    // A peer's new IP: the pod exists with one IP; each change writes the other.
    const port = (CHANGES - 1) % 2 === 0 ? 81 : 80;
    const lateIps = ['10.100.1.3', '10.100.1.4'] as const;
    const slots = lateIps.map((ip) => ({ ...cluster.pods[0]!, name: `slot-${ip}`, ips: [ip] }));
    await nc.sync({ ...cluster, pods: [...cluster.pods, ...slots] });
    const slotOf = (ip: string): NetnsPod => nc!.slotOf(slots.find((p) => p.ips[0] === ip)!)!;
    const lateStatus = (ip: string) => ({ status: { podIP: ip, podIPs: [{ ip }] } });
    await api.create([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'late', namespace: 'a', labels: { app: 'client' } },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
        ...lateStatus(lateIps[0]),
      },
    ]);
    await waitForOpen(slotOf(lateIps[0]), web, port);
    const joinMs: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const ip = lateIps[(i + 1) % 2]!;
      const t0 = performance.now();
      await api.mergePatch('pods', 'late', lateStatus(ip), { namespace: 'a', status: true });
      joinMs.push((await waitForOpen(slotOf(ip), web, port)) - t0);
    }

    const summary = (xs: number[]) => ({
      p50: Math.round(quantile(xs, 0.5)),
      p99: Math.round(quantile(xs, 0.99)),
      max: Math.round(Math.max(...xs)),
    });
    const note = process.env['NFTPOL_BENCH_NOTE'];
    const result = {
      machine: `${machineNote()}, ${availableParallelism()} CPUs`,
      ...(note === undefined || note === '' ? {} : { note }),
      apiServer: api.label,
      changes: CHANGES,
      controllerDebounceMs: CONTROLLER_DEFAULTS.debounceMs,
      probeEveryMs: PROBE_EVERY_MS,
      timeToEnforceMs: summary(enforceMs),
      timeToStatusMs: summary(statusMs),
      peerIpToProbeMs: summary(joinMs),
      samples: {
        enforceMs: enforceMs.map(Math.round),
        statusMs: statusMs.map(Math.round),
        peerIpMs: joinMs.map(Math.round),
      },
    };
    console.log(
      `time to enforce over ${CHANGES} changes (API write → probe answered), ${api.label}:`,
    );
    console.log(
      `  p50 ${result.timeToEnforceMs.p50} ms, p99 ${result.timeToEnforceMs.p99} ms, max ${result.timeToEnforceMs.max} ms`,
    );
    console.log(`time to status (API write → every node's appliedHash updated, seen by a watch):`);
    console.log(
      `  p50 ${result.timeToStatusMs.p50} ms, p99 ${result.timeToStatusMs.p99} ms, max ${result.timeToStatusMs.max} ms`,
    );
    console.log(`a peer's new IP written → a probe from it answered (goal p99 < 1 s):`);
    console.log(
      `  p50 ${result.peerIpToProbeMs.p50} ms, p99 ${result.peerIpToProbeMs.p99} ms, max ${result.peerIpToProbeMs.max} ms`,
    );
    console.log(result.machine + (note === undefined || note === '' ? '' : `; ${note}`));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/enforce.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.allSettled(executors.map((e) => e.stop()));
    await controller?.stop().catch(() => undefined);
    view?.stop();
    await api.stop();
    await nc?.destroy();
  }
}

await main();
