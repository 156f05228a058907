/**
 * Time to enforce: from a NetworkPolicy write in the API to the kernel doing
 * what it says, through the whole product on one machine (the embedded API
 * server, the controller, one executor per node of a two-node netns
 * cluster). Each change moves the one allowed port of `a/web` between 80 and
 * 81; the clock stops when a probe from `a/client` (on the other node) to the
 * newly allowed port is answered. Probes are fired every few milliseconds,
 * so only "becomes open" is measured: a drop can only be seen as a timeout.
 * Also reports when every node's NodeFirewall status showed the new script
 * applied (the status write follows the load). Prints p50/p99 and writes
 * bench/results/enforce.json. Needs root, ip and nft.
 *
 *   node --import tsx bench/enforce.bench.ts
 *   NFTPOL_BENCH_CHANGES=20 node --import tsx bench/enforce.bench.ts
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startApiServer, type ApiServer } from '../src/apiserver/server.js';
import { startController, type ControllerHandle } from '../src/controller/main.js';
import { DEFAULTS as CONTROLLER_DEFAULTS } from '../src/controller/options.js';
import { startExecutor, type ExecutorHandle } from '../src/executor/main.js';
import { DEFAULTS as EXECUTOR_DEFAULTS } from '../src/executor/options.js';
import { kubeConfigForServer } from '../src/k8s/client.js';
import { createLogger } from '../src/telemetry/log.js';
import { dataplaneSkipReason } from '../test/support/netns/lifecycle.js';
import { NetnsCluster, type NetnsPod } from '../test/support/netns/netns-cluster.js';
import { clusterInStore, waitForEnforced } from '../test/support/stack.js';
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

function seed(server: ApiServer): void {
  const s = server.store;
  s.create('namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'kube-system' },
  });
  s.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
  for (const n of NODES)
    s.create('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name },
      spec: { podCIDR: n.podCIDR },
      status: { addresses: [{ type: 'InternalIP', address: n.address }] },
    });
  const pod = (name: string, app: string, node: 1 | 2) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'a', labels: { app } },
    spec: { nodeName: `n${node}`, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: `10.100.${node}.2`, podIPs: [{ ip: `10.100.${node}.2` }] },
  });
  s.create('pods', pod('client', 'client', 1));
  s.create('pods', pod('web', 'web', 2));
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

/** Resolves with performance.now() once every node reports the current script applied. */
async function waitForStatus(server: ApiServer): Promise<number> {
  await waitForEnforced(server, 'status', CHANGE_DEADLINE_MS);
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

async function main(): Promise<void> {
  const skip = dataplaneSkipReason();
  if (skip !== null) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const server = await startApiServer({ bookmarkIntervalMs: 1_000 });
  let nc: NetnsCluster | undefined;
  let controller: ControllerHandle | undefined;
  const executors: ExecutorHandle[] = [];
  try {
    seed(server);
    server.store.create('networkpolicies', webOnPort(80));
    nc = await NetnsCluster.create();
    await nc.sync(clusterInStore(server));
    const kubeConfig = kubeConfigForServer(server.url);
    // Production debounce (100 ms, max 1 s): this is what a user waits.
    controller = await startController(
      { ...CONTROLLER_DEFAULTS, identity: 'bench', healthPort: -1, logLevel: 'silent' },
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
    const cluster = clusterInStore(server);
    const client = nc.slotOf(cluster.pods.find((p) => p.name === 'client')!)!;
    const web = nc.slotOf(cluster.pods.find((p) => p.name === 'web')!)!;
    await waitForOpen(client, web, 80);

    const enforceMs: number[] = [];
    const statusMs: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const port = i % 2 === 0 ? 81 : 80;
      const t0 = performance.now();
      server.store.patch('networkpolicies', { namespace: 'a', name: 'web' }, 'merge', {
        spec: webOnPort(port).spec,
      });
      const [open, status] = await Promise.all([
        waitForOpen(client, web, port),
        waitForStatus(server),
      ]);
      enforceMs.push(open - t0);
      statusMs.push(status - t0);
    }

    const summary = (xs: number[]) => ({
      p50: Math.round(quantile(xs, 0.5)),
      p99: Math.round(quantile(xs, 0.99)),
      max: Math.round(Math.max(...xs)),
    });
    const result = {
      machine: machineNote(),
      changes: CHANGES,
      controllerDebounceMs: CONTROLLER_DEFAULTS.debounceMs,
      probeEveryMs: PROBE_EVERY_MS,
      timeToEnforceMs: summary(enforceMs),
      timeToStatusMs: summary(statusMs),
      samples: { enforceMs: enforceMs.map(Math.round), statusMs: statusMs.map(Math.round) },
    };
    console.log(`time to enforce over ${CHANGES} changes (API write → probe answered):`);
    console.log(
      `  p50 ${result.timeToEnforceMs.p50} ms, p99 ${result.timeToEnforceMs.p99} ms, max ${result.timeToEnforceMs.max} ms`,
    );
    console.log(`time to status (API write → every node's appliedHash updated):`);
    console.log(
      `  p50 ${result.timeToStatusMs.p50} ms, p99 ${result.timeToStatusMs.p99} ms, max ${result.timeToStatusMs.max} ms`,
    );
    console.log(result.machine);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/enforce.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.allSettled(executors.map((e) => e.stop()));
    await controller?.stop().catch(() => undefined);
    await server.close();
    await nc?.destroy();
  }
}

await main();
