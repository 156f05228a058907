/**
 * Incremental cost of single changes (v2), through the controller's own
 * snapshot, memberships, engine and publishers (slices first, then
 * NodeFirewalls), with counting writers instead of the API server. For a pod
 * added, deleted, relabelled and re-addressed, and a policy changed:
 *  - latency from the change to the last write (p50, p99);
 *  - API objects written and bytes written (p50, p99, max);
 *  - bytes delivered to executors: each NodeFirewall write reaches its one
 *    node, each slice write reaches every node whose rules name the set
 *    (watch events × receiving nodes), measured on all nodes, not sampled;
 *  - NodeFirewalls re-rendered.
 * Also the full build from a cold start (time, heap, largest chunk handed to
 * the publisher) and a restart with nothing changed (writes: must be 0).
 * Peak RSS is the process's, read after the full build (it includes the
 * generated cluster the bench keeps besides the controller's snapshot).
 * Prints a table and writes bench/results/incremental.json.
 *
 *   node --import tsx --expose-gc bench/incremental.bench.ts
 *   NFTPOL_BENCH_SIZES=medium NFTPOL_BENCH_CHANGES=20 node --import tsx --expose-gc bench/incremental.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Engine, type Batch } from '../src/controller/engine.js';
import { OrderedPublisher } from '../src/controller/publish-order.js';
import { Publisher } from '../src/controller/publisher.js';
import { SetPublisher } from '../src/controller/set-publisher.js';
import { observedSlice } from '../src/controller/slices.js';
import { ClusterSnapshot } from '../src/controller/snapshot.js';
import { DEFAULT_SLICE_SIZE } from '../src/k8s/addressset.js';
import type { AddressSetApply } from '../src/k8s/addressset-api.js';
import type { NodeFirewallApply } from '../src/k8s/nodefirewall-api.js';
import type { Pod, Policy } from '../src/policy/model.js';
import type { Clock } from '../src/telemetry/clock.js';
import { createLogger } from '../src/telemetry/log.js';
import { generateCluster, seededRandom, SIZES } from './generate.js';
import { formatBytes, machineNote, quantile } from './stats.js';

type ChangeKind = 'pod add' | 'pod delete' | 'pod label' | 'pod IP' | 'policy change';

interface Dist {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface ChangeRow {
  readonly size: string;
  readonly change: ChangeKind;
  readonly samples: number;
  readonly latencyMs: Dist;
  readonly objectsWritten: Dist;
  readonly bytesWritten: Dist;
  readonly bytesDelivered: Dist;
  readonly nodesRerendered: Dist;
}

interface BuildRow {
  readonly size: string;
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
  readonly sliceSize: number;
  readonly sets: number;
  readonly slices: number;
  readonly snapshotLoadMs: number;
  readonly fullBuildMs: number;
  readonly fullBuildWrites: number;
  readonly fullBuildBytes: number;
  readonly largestChunkNodes: number;
  readonly heapAfterBuildBytes: number;
  /** The process's peak RSS after the full build: the generated cluster, the bench's copy, included. */
  readonly peakRssAfterBuildBytes: number;
  readonly restartWrites: number;
}

/** Timers never fire on their own: the bench flushes by hand. */
const MANUAL: Clock = { now: () => 0, setTimer: () => null, clearTimer: () => undefined };
const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};
const log = createLogger({ component: 'bench', level: 'silent' });

const names = (process.env['NFTPOL_BENCH_SIZES'] ?? 'medium,large').split(',');
const changesPerKind = Number(process.env['NFTPOL_BENCH_CHANGES'] ?? '30');
const sliceSize = Number(process.env['NFTPOL_BENCH_SLICE_SIZE'] ?? DEFAULT_SLICE_SIZE);
const builds: BuildRow[] = [];
const rows: ChangeRow[] = [];

/** What a stand-in API server receives. */
class Tally {
  objects = 0;
  bytes = 0;
  delivered = 0;
  /** Set id → nodes whose NodeFirewall names it (as last written). */
  readonly watchers = new Map<string, Set<string>>();
  /** Node → set ids its NodeFirewall names. */
  readonly names = new Map<string, readonly string[]>();
  /** Every slice as last written, for a restart to adopt. */
  readonly slices = new Map<string, AddressSetApply>();
  readonly hashes = new Map<string, string>();

  reset(): void {
    this.objects = 0;
    this.bytes = 0;
    this.delivered = 0;
  }

  slice(body: AddressSetApply): void {
    const bytes = Buffer.byteLength(JSON.stringify(body));
    this.objects++;
    this.bytes += bytes;
    this.delivered += bytes * (this.watchers.get(body.spec.setId)?.size ?? 0);
    this.slices.set(body.metadata.name, body);
  }

  firewall(body: NodeFirewallApply): void {
    const bytes = Buffer.byteLength(JSON.stringify(body));
    this.objects++;
    this.bytes += bytes;
    this.delivered += bytes;
    const node = body.metadata.name;
    for (const id of this.names.get(node) ?? []) this.watchers.get(id)?.delete(node);
    const ids = body.spec.addressSets ?? [];
    this.names.set(node, ids);
    for (const id of ids) {
      const set = this.watchers.get(id) ?? new Set<string>();
      this.watchers.set(id, set.add(node));
    }
    this.hashes.set(node, body.spec.scriptHash);
  }
}

/** A controller (snapshot loaded) writing into `tally`. */
function controller(
  snapshot: ClusterSnapshot,
  tally: Tally,
  chunks: number[],
): { engine: Engine; sets: SetPublisher; firewalls: Publisher } {
  const sets = new SetPublisher(
    {
      apply: (body) => {
        tally.slice(body);
        return Promise.resolve();
      },
      remove: (name) => {
        tally.objects++;
        tally.slices.delete(name);
        return Promise.resolve();
      },
    },
    { sliceSize, concurrency: 8, retryDelayMs: 1000, clock: MANUAL, retry: () => undefined, log },
  );
  const firewalls = new Publisher(
    {
      apply: (body) => {
        tally.firewall(body);
        return Promise.resolve();
      },
      remove: () => {
        tally.objects++;
        return Promise.resolve();
      },
    },
    {
      concurrency: 8,
      retryDelayMs: 1000,
      clock: MANUAL,
      nodeUid: (n) => `uid-${n}`,
      retry: () => undefined,
      log,
    },
  );
  const ordered = new OrderedPublisher(sets, firewalls);
  const engine = new Engine(
    snapshot,
    { debounceMs: 0, maxDelayMs: 0, clock: MANUAL },
    (batch: Batch) => {
      chunks.push(batch.rendered.length);
      return ordered.publish(batch);
    },
  );
  return { engine, sets, firewalls };
}

function dist(xs: readonly number[], digits = 0): Dist {
  const r = (x: number): number => Number(x.toFixed(digits));
  return { p50: r(quantile(xs, 0.5)), p99: r(quantile(xs, 0.99)), max: r(quantile(xs, 1)) };
}

for (const name of names) {
  const size = SIZES[name];
  if (!size) throw new Error(`unknown size "${name}"`);
  const cluster = generateCluster(size, 42);
  const heapBefore = heap();

  let t0 = performance.now();
  const snapshot = new ClusterSnapshot();
  cluster.nodes.forEach((n) => snapshot.setNode(n));
  cluster.namespaces.forEach((n) => snapshot.setNamespace(n));
  cluster.pods.forEach((p) => snapshot.setPod(p));
  cluster.policies.forEach((p) => snapshot.setPolicy(p));
  const snapshotLoadMs = performance.now() - t0;

  const tally = new Tally();
  const chunks: number[] = [];
  const { engine } = controller(snapshot, tally, chunks);
  t0 = performance.now();
  engine.setActive(true);
  await engine.flush();
  const fullBuildMs = performance.now() - t0;
  const heapAfterBuild = heap() - heapBefore;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const fullBuild = { writes: tally.objects, bytes: tally.bytes };

  // A restart with nothing changed: a second controller adopts what the first wrote.
  const again = new Tally();
  const restarted = controller(snapshot, again, []);
  for (const [node, hash] of tally.hashes) restarted.firewalls.observe(node, hash);
  for (const [sliceName, body] of tally.slices) {
    restarted.sets.observe(sliceName, observedSlice(body));
  }
  restarted.sets.setLeading(true);
  restarted.engine.setActive(true, [], restarted.sets.observedIds());
  await restarted.engine.flush();
  await restarted.engine.stop();

  const build: BuildRow = {
    size: name,
    ...size,
    sliceSize,
    sets: snapshot.memberships.ids().length,
    slices: tally.slices.size,
    snapshotLoadMs: Math.round(snapshotLoadMs),
    fullBuildMs: Math.round(fullBuildMs),
    fullBuildWrites: fullBuild.writes,
    fullBuildBytes: fullBuild.bytes,
    largestChunkNodes: Math.max(...chunks),
    heapAfterBuildBytes: heapAfterBuild,
    peakRssAfterBuildBytes: peakRss,
    restartWrites: again.objects,
  };
  builds.push(build);
  console.log(
    `${name}: ${size.nodes} nodes / ${size.pods} pods / ${size.policies} policies, slices of ${sliceSize} — ` +
      `snapshot load ${build.snapshotLoadMs} ms; full build ${build.fullBuildMs} ms ` +
      `(${build.fullBuildWrites} writes, ${formatBytes(build.fullBuildBytes)}; ${build.sets} sets in ${build.slices} slices; ` +
      `largest chunk ${build.largestChunkNodes} nodes); heap after build ${formatBytes(heapAfterBuild)}, peak RSS ${formatBytes(peakRss)}; ` +
      `restart with nothing changed: ${build.restartWrites} writes`,
  );

  const rnd = seededRandom(7);
  const pods = [...cluster.pods];
  const policies = [...cluster.policies];
  const pickPod = (): Pod => pods.splice(Math.floor(rnd() * pods.length), 1)[0]!;
  const pickPolicy = (): Policy => policies[Math.floor(rnd() * policies.length)]!;
  let added = 0;
  const changes: Record<ChangeKind, () => Set<string>> = {
    'pod add': () => {
      const p = pickPod();
      const v4 = `10.${250 + Math.floor(added / 60000)}.${Math.floor(added / 250) % 240}.${(added % 250) + 1}`;
      added++;
      return snapshot.setPod({ ...p, name: `${p.name}-new`, ips: [v4] });
    },
    'pod delete': () => {
      const p = pickPod();
      return snapshot.deletePod(p.namespace, p.name);
    },
    'pod label': () => {
      const p = pickPod();
      const app = p.labels['app'] === 'web' ? 'api' : 'web';
      return snapshot.setPod({ ...p, labels: { ...p.labels, app } });
    },
    'pod IP': () => {
      const p = pickPod();
      const [v4, ...rest] = p.ips;
      const parts = v4!.split('.');
      parts[3] = String(200 + Math.floor(rnd() * 50));
      return snapshot.setPod({ ...p, ips: [parts.join('.'), ...rest] });
    },
    'policy change': () => {
      const p = pickPolicy();
      const extra = { protocol: 'TCP' as const, port: 10_000 + Math.floor(rnd() * 1000) };
      const bump = (rules: Policy['ingress']) =>
        rules.map((r) => ({ ...r, ports: r.ports === null ? null : [...r.ports, extra] }));
      return snapshot.setPolicy(
        p.ingress.length + p.egress.length === 0
          ? {
              ...p,
              podSelector: {
                ...p.podSelector,
                matchLabels: { ...p.podSelector.matchLabels, tier: 'front' },
              },
            }
          : { ...p, ingress: bump(p.ingress), egress: bump(p.egress) },
      );
    },
  };

  for (const kind of Object.keys(changes) as ChangeKind[]) {
    const latencies: number[] = [];
    const objects: number[] = [];
    const bytes: number[] = [];
    const delivered: number[] = [];
    const rerendered: number[] = [];
    for (let i = 0; i < changesPerKind; i++) {
      tally.reset();
      chunks.length = 0;
      const start = performance.now();
      engine.markDirty(changes[kind]());
      await engine.flush();
      latencies.push(performance.now() - start);
      objects.push(tally.objects);
      bytes.push(tally.bytes);
      delivered.push(tally.delivered);
      rerendered.push(chunks.reduce((a, b) => a + b, 0));
    }
    const row: ChangeRow = {
      size: name,
      change: kind,
      samples: changesPerKind,
      latencyMs: dist(latencies, 1),
      objectsWritten: dist(objects),
      bytesWritten: dist(bytes),
      bytesDelivered: dist(delivered),
      nodesRerendered: dist(rerendered),
    };
    rows.push(row);
    console.log(
      `  ${kind.padEnd(14)} latency p50 ${row.latencyMs.p50} ms p99 ${row.latencyMs.p99} ms; ` +
        `objects written p50 ${row.objectsWritten.p50} p99 ${row.objectsWritten.p99} max ${row.objectsWritten.max}; ` +
        `bytes written p50 ${formatBytes(row.bytesWritten.p50)} p99 ${formatBytes(row.bytesWritten.p99)}; ` +
        `delivered p50 ${formatBytes(row.bytesDelivered.p50)} p99 ${formatBytes(row.bytesDelivered.p99)} max ${formatBytes(row.bytesDelivered.max)}; ` +
        `nodes re-rendered p50 ${row.nodesRerendered.p50} max ${row.nodesRerendered.max}`,
    );
  }
  await engine.stop();
}

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/incremental.json', import.meta.url),
  JSON.stringify(
    { machine: `${machineNote()}, ${cpus().length} cpus`, builds, changes: rows },
    null,
    2,
  ) + '\n',
);
