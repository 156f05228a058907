/**
 * Incremental cost of single changes, through the controller's own snapshot,
 * engine and publisher (with a counting writer instead of the API server):
 * for a pod label change, a pod IP change, a pod delete and a policy change,
 * the latency from the change to the last script rendered (p50, p99), the
 * nodes re-rendered, and the bytes that would be written. Also the initial
 * build time and the heap the controller holds after it. Prints a table and
 * writes bench/results/incremental.json.
 *
 *   node --import tsx --expose-gc bench/incremental.bench.ts
 *   NFTPOL_BENCH_SIZES=medium NFTPOL_BENCH_CHANGES=20 node --import tsx --expose-gc bench/incremental.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/controller/engine.js';
import type { Clock } from '../src/telemetry/clock.js';
import { Publisher } from '../src/controller/publisher.js';
import type { NodeFirewallApply } from '../src/k8s/nodefirewall-api.js';
import { ClusterSnapshot } from '../src/controller/snapshot.js';
import type { Pod, Policy } from '../src/policy/model.js';
import { createLogger } from '../src/telemetry/log.js';
import { generateCluster, seededRandom, SIZES } from './generate.js';
import { formatBytes, machineNote, quantile } from './stats.js';

type ChangeKind = 'pod label' | 'pod IP' | 'pod delete' | 'policy change';

interface ChangeRow {
  readonly size: string;
  readonly change: ChangeKind;
  readonly samples: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly nodesP50: number;
  readonly nodesMax: number;
  readonly writesP50: number;
  readonly bytesP50: number;
  readonly bytesMax: number;
}

interface BuildRow {
  readonly size: string;
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
  readonly snapshotLoadMs: number;
  readonly initialRenderMs: number;
  readonly heapSnapshotBytes: number;
  readonly heapAfterBuildBytes: number;
}

/** Timers never fire on their own: the bench flushes by hand. */
const MANUAL: Clock = { now: () => 0, setTimer: () => null, clearTimer: () => undefined };
const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

const names = (process.env['NFTPOL_BENCH_SIZES'] ?? 'medium,large').split(',');
const changesPerKind = Number(process.env['NFTPOL_BENCH_CHANGES'] ?? '30');
const builds: BuildRow[] = [];
const rows: ChangeRow[] = [];

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
  const heapSnapshot = heap() - heapBefore;

  let written: { count: number; bytes: number } = { count: 0, bytes: 0 };
  const publisher = new Publisher(
    {
      apply: (body: NodeFirewallApply) => {
        written.count++;
        written.bytes += Buffer.byteLength(JSON.stringify(body));
        return Promise.resolve();
      },
      remove: () => {
        written.count++;
        return Promise.resolve();
      },
    },
    {
      concurrency: 8,
      retryDelayMs: 1000,
      clock: MANUAL,
      nodeUid: (n) => `uid-${n}`,
      retry: () => undefined,
      log: createLogger({ component: 'bench', level: 'silent' }),
    },
  );
  let rendered = 0;
  const engine = new Engine(snapshot, { debounceMs: 0, maxDelayMs: 0, clock: MANUAL }, (batch) => {
    rendered += batch.rendered.length;
    return publisher.publish(batch);
  });

  t0 = performance.now();
  engine.setActive(true);
  await engine.flush();
  const initialRenderMs = performance.now() - t0;
  const heapAfterBuild = heap() - heapBefore;
  builds.push({
    size: name,
    ...size,
    snapshotLoadMs: Math.round(snapshotLoadMs),
    initialRenderMs: Math.round(initialRenderMs),
    heapSnapshotBytes: heapSnapshot,
    heapAfterBuildBytes: heapAfterBuild,
  });
  console.log(
    `${name}: ${size.nodes} nodes / ${size.pods} pods / ${size.policies} policies — snapshot load ${Math.round(snapshotLoadMs)} ms, ` +
      `initial render+publish ${Math.round(initialRenderMs)} ms (${written.count} writes, ${formatBytes(written.bytes)}), ` +
      `heap: snapshot ${formatBytes(heapSnapshot)}, after build ${formatBytes(heapAfterBuild)}`,
  );

  const rnd = seededRandom(7);
  const pods = [...cluster.pods];
  const policies = [...cluster.policies];
  const pickPod = (): Pod => pods.splice(Math.floor(rnd() * pods.length), 1)[0]!;
  const pickPolicy = (): Policy => policies[Math.floor(rnd() * policies.length)]!;
  const changes: Record<ChangeKind, () => Set<string>> = {
    'pod label': () => {
      const p = pickPod();
      return snapshot.setPod({
        ...p,
        labels: { ...p.labels, tier: p.labels['tier'] === 'front' ? 'back' : 'front' },
      });
    },
    'pod IP': () => {
      const p = pickPod();
      const [v4, ...rest] = p.ips;
      const parts = v4!.split('.');
      parts[3] = String(200 + Math.floor(rnd() * 50));
      return snapshot.setPod({ ...p, ips: [parts.join('.'), ...rest] });
    },
    'pod delete': () => {
      const p = pickPod();
      return snapshot.deletePod(p.namespace, p.name);
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
    const nodes: number[] = [];
    const writes: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < changesPerKind; i++) {
      written = { count: 0, bytes: 0 };
      rendered = 0;
      const start = performance.now();
      engine.markDirty(changes[kind]());
      await engine.flush();
      latencies.push(performance.now() - start);
      nodes.push(rendered);
      writes.push(written.count);
      bytes.push(written.bytes);
    }
    const row: ChangeRow = {
      size: name,
      change: kind,
      samples: changesPerKind,
      latencyP50Ms: Number(quantile(latencies, 0.5).toFixed(1)),
      latencyP99Ms: Number(quantile(latencies, 0.99).toFixed(1)),
      nodesP50: quantile(nodes, 0.5),
      nodesMax: quantile(nodes, 1),
      writesP50: quantile(writes, 0.5),
      bytesP50: quantile(bytes, 0.5),
      bytesMax: quantile(bytes, 1),
    };
    rows.push(row);
    console.log(
      `  ${kind.padEnd(14)} latency p50 ${row.latencyP50Ms} ms p99 ${row.latencyP99Ms} ms; ` +
        `nodes re-rendered p50 ${row.nodesP50} max ${row.nodesMax}; writes p50 ${row.writesP50}; ` +
        `bytes p50 ${formatBytes(row.bytesP50)} max ${formatBytes(row.bytesMax)}`,
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
