/**
 * The executor's memory with its node's share of the large cluster (DESIGN
 * Scale: "executor RSS with its node's share of the large cluster < 150 MiB").
 *
 * The 5,000-node / 150,000-pod / 10,000-policy cluster is generated (seed
 * 42) and every NFTPOL_BENCH_NODE_STRIDE-th node composed (node-script.ts);
 * the node whose composed script is largest is the one measured. Its
 * NodeFirewall (the body the controller applies, publisher.ts applyBodyFor)
 * and the AddressSet slices of every set it references (SliceBook, slice size
 * 100, addressSetBody) are written through the API with server-side apply as
 * the controller's field manager, to the real kube-apiserver when
 * KUBEBUILDER_ASSETS holds one, else to the embedded server (the results say
 * which). Then the real binary, `bin/nftpol-executor`, runs as a child
 * process with `--nft-command "ip netns exec <ns> nft"` in a throwaway
 * network namespace; the clock stops when a watch sees its NodeFirewall
 * status with Applied=True and Ready=True and the rules hash. VmHWM (peak)
 * and VmRSS are read from /proc/<pid>/status then, then VmRSS every 250 ms
 * through a settle period that spans drift checks (each reads the whole
 * table back as JSON, and V8 collects that garbage late: RSS is a sawtooth),
 * and VmHWM at its end. The goal is judged on VmHWM, the peak a container
 * memory limit must allow.
 *
 * For scale: the same binary for a node with no pods (fixed cost: node,
 * tsx, client-node, the watches), and `nft -f` of the composed script, a
 * separate process but in the executor container's memory cgroup.
 *
 * Prints the figures beside the goal and writes
 * bench/results/executor-rss.json. Needs root, ip, nft (and /usr/bin/time
 * for nft's peak).
 *
 *   node --import tsx bench/executor-rss.bench.ts
 *   NFTPOL_BENCH_NODE_STRIDE=10 …         # sample more nodes for the largest
 *   NFTPOL_BENCH_SETTLE_MS=120000 …       # hold longer after Ready
 *   NFTPOL_BENCH_EXECUTOR='node dist/src/executor/main.js' …   # the compiled build, as the image runs it
 *   NFTPOL_BENCH_NOTE='shared 2-core machine' …   # written beside the figures
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyBodyFor } from '../src/controller/publisher.js';
import type { RenderedNode } from '../src/controller/engine.js';
import { runLimited } from '../src/controller/set-publisher.js';
import { SliceBook } from '../src/controller/slices.js';
import { DEFAULT_SLICE_SIZE } from '../src/k8s/addressset.js';
import { addressSetBody } from '../src/k8s/addressset-api.js';
import { CONTROLLER_FIELD_MANAGER } from '../src/k8s/nodefirewall-api.js';
import { nodeScripter, type NodeScript } from '../src/nft/node-script.js';
import { describePeerSet, peerSetsIn } from '../src/policy/peer-sets.js';
import { summarizePlan } from '../src/policy/plan.js';
import { dataplaneSkipReason } from '../test/support/netns/lifecycle.js';
import { controlPlaneAssets } from '../test/support/kube-apiserver.js';
import {
  objectPath,
  startTestApi,
  watchResources,
  type ApiObject,
  type ApiView,
  type TestApi,
} from '../test/support/test-api.js';
import { generateCluster, SIZES } from './generate.js';
import { formatBytes, machineNote } from './stats.js';

const SIZE = SIZES['large']!;
const SEED = 42;
const STRIDE = Number(process.env['NFTPOL_BENCH_NODE_STRIDE']) || 50;
const SETTLE_MS = Number(process.env['NFTPOL_BENCH_SETTLE_MS']) || 60_000;
/** Shorter than the default 30 s, so that the settle period spans a dozen drift checks. */
const DRIFT_INTERVAL_MS = 5_000;
const SLICE_SIZE = DEFAULT_SLICE_SIZE;
/** API writes in flight while seeding the slices. */
const WRITE_CONCURRENCY = 8;
const READY_TIMEOUT_MS = 300_000;
const GOAL_RSS_BYTES = 150 * 1024 * 1024;
const IDLE_NODE = 'nftpol-bench-idle';
/** The executor command, split on spaces: the launcher (tsx) unless NFTPOL_BENCH_EXECUTOR says otherwise. */
const EXECUTOR = (
  process.env['NFTPOL_BENCH_EXECUTOR'] ?? join(import.meta.dirname, '..', 'bin', 'nftpol-executor')
)
  .split(' ')
  .filter((w) => w !== '');

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const count = (n: number): string => n.toLocaleString('en-US');

/** A node's NodeFirewall as the controller renders it (engine.ts renderNodeWith). */
function renderedOf(n: NodeScript): RenderedNode {
  return {
    node: n.node,
    script: n.rules.script,
    scriptHash: n.rules.scriptHash,
    summary: { ...summarizePlan(n.plan), policyNames: n.plan.policies },
    addressSets: [...new Set(n.plan.sets.map((s) => s.id))],
  };
}

/** What the executor's NodeFirewall is to be given, and its shared sets' slices. */
interface NodeShare {
  readonly node: string;
  readonly rendered: RenderedNode;
  /** `add element` lines included: what the executor loads. */
  readonly composed: string;
  readonly nftSets: number;
  readonly members: number;
  readonly localPods: number;
  /** Apply bodies of every slice of every set the node references. */
  readonly slices: readonly ApiObject[];
}

/** Generates the cluster and returns the sampled node with the largest composed script. */
function largestShare(): { share: NodeShare; sampled: number; generateMs: number; pickMs: number } {
  const t0 = performance.now();
  const cluster = generateCluster(SIZE, SEED);
  const generateMs = performance.now() - t0;
  const t1 = performance.now();
  const scripter = nodeScripter(cluster);
  let best: NodeScript | undefined;
  let sampled = 0;
  for (let i = 0; i < cluster.nodes.length; i += STRIDE) {
    const n = scripter(cluster.nodes[i]!.name);
    sampled++;
    if (best === undefined || n.script.length > best.script.length) best = n;
  }
  if (best === undefined) throw new Error('no node sampled');
  const pickMs = performance.now() - t1;

  const peerSets = peerSetsIn(cluster);
  const book = new SliceBook(SLICE_SIZE);
  const writtenAt = new Date().toISOString();
  const slices: ApiObject[] = [];
  let members = 0;
  const rendered = renderedOf(best);
  for (const id of rendered.addressSets) {
    const set = peerSets.get(id);
    if (set === undefined) throw new Error(`no policy defines shared set ${id}`);
    const setMembers = best.members.get(id) ?? [];
    members += setMembers.length;
    const peer = describePeerSet(set);
    for (const w of book.sync(id, setMembers).write)
      slices.push(
        addressSetBody(id, set.kind, peer, w.index, w.members, writtenAt) as unknown as ApiObject,
      );
  }
  return {
    share: {
      node: best.node,
      rendered,
      composed: best.script,
      nftSets: best.plan.sets.length,
      members,
      localPods: best.plan.localPods,
      slices,
    },
    sampled,
    generateMs,
    pickMs,
  };
}

/** Server-side apply as the controller does it (field manager nftpol-controller, force). */
async function serverSideApply(api: TestApi, plural: string, body: ApiObject): Promise<void> {
  await api.request(
    'PATCH',
    `${objectPath(plural, body.metadata.name)}?fieldManager=${CONTROLLER_FIELD_MANAGER}&force=true`,
    { body, contentType: 'application/apply-patch+yaml' },
  );
}

/** Creates the Node and applies its NodeFirewall as the controller would. */
async function writeNode(api: TestApi, rendered: RenderedNode): Promise<number> {
  await api.create([{ apiVersion: 'v1', kind: 'Node', metadata: { name: rendered.node } }]);
  const uid = (await api.get('nodes', rendered.node))?.metadata.uid;
  if (uid === undefined) throw new Error(`node ${rendered.node} has no uid`);
  const body = applyBodyFor(rendered, uid);
  await serverSideApply(api, 'nodefirewalls', body as unknown as ApiObject);
  return Buffer.byteLength(JSON.stringify(body));
}

/** VmHWM and VmRSS of `pid`, in bytes, and its command name. */
function memoryOf(pid: number): { comm: string; vmHwmBytes: number; vmRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
  return { comm, vmHwmBytes: kib('VmHWM'), vmRssBytes: kib('VmRSS') };
}

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
}
interface SeenStatus {
  readonly appliedHash?: string;
  readonly conditions?: readonly Condition[];
}

const statusOf = (view: ApiView, node: string): SeenStatus | undefined =>
  view.get('nodefirewalls', node)?.['status'] as SeenStatus | undefined;

/** `type=status/reason` of each condition, for the results. */
const conditionsOf = (s: SeenStatus | undefined): Record<string, string> =>
  Object.fromEntries(
    (s?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason ?? ''}`] as const),
  );

/** One executor process's run to Ready and through the settle period. */
interface ExecutorRun {
  readonly readyMs: number;
  readonly atReady: { readonly vmHwmBytes: number; readonly vmRssBytes: number };
  /** VmHWM at the end of the settle period: the peak of the whole run. */
  readonly vmHwmBytes: number;
  /** VmRSS sampled through the settle period. */
  readonly settleRss: { readonly min: number; readonly max: number; readonly last: number };
  readonly conditions: Record<string, string>;
}

/** Live child processes, for the cleanup. */
const children = new Set<ChildProcess>();

/** Stops `child` with SIGTERM (SIGKILL after 10 s); resolves when it exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  children.delete(child);
}

/**
 * Runs `bin/nftpol-executor` for `node`, its nft in `netns`; resolves once
 * the watch saw Applied=True and Ready=True with `hash` and the settle
 * period passed.
 */
async function runExecutor(
  api: TestApi,
  view: ApiView,
  node: string,
  hash: string,
  netns: string,
  logPath: string,
): Promise<ExecutorRun> {
  const log = openSync(logPath, 'w');
  const t0 = performance.now();
  const child = spawn(
    EXECUTOR[0]!,
    [
      ...EXECUTOR.slice(1),
      '--kubeconfig',
      api.kubeconfigPath,
      '--nft-command',
      `ip netns exec ${netns} nft`,
      '--health-port',
      '-1',
      '--drift-interval-ms',
      String(DRIFT_INTERVAL_MS),
      '--log-level',
      'info',
    ],
    { env: { ...process.env, NODE_NAME: node }, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  children.add(child);
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${EXECUTOR.join(' ')} did not start`);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`executor exited early (${signal ?? code}); log: ${logPath}`)),
      ),
    );
    // Handled here too: the exit that stopChild causes must not count as unhandled.
    exited.catch(() => undefined);
    const applied = view.waitFor(
      () => {
        const s = statusOf(view, node);
        return (
          s?.appliedHash === hash &&
          ['Applied', 'Ready'].every(
            (type) => s.conditions?.some((c) => c.type === type && c.status === 'True') === true,
          )
        );
      },
      `${node}: Applied=True, Ready=True with ${hash}`,
      {
        timeoutMs: READY_TIMEOUT_MS,
        detail: () => JSON.stringify(statusOf(view, node) ?? null),
      },
    );
    await Promise.race([applied, exited]);
    const readyMs = performance.now() - t0;
    const atReady = memoryOf(pid);
    // The launcher execs node: the pid is the executor itself, not a shell.
    if (atReady.comm !== 'node') throw new Error(`pid ${pid} is ${atReady.comm}, not node`);
    const rss: number[] = [];
    const until = performance.now() + SETTLE_MS;
    while (performance.now() < until) {
      await Promise.race([new Promise((r) => setTimeout(r, 250)), exited]);
      rss.push(memoryOf(pid).vmRssBytes);
    }
    const settled = memoryOf(pid);
    return {
      readyMs,
      atReady: { vmHwmBytes: atReady.vmHwmBytes, vmRssBytes: atReady.vmRssBytes },
      vmHwmBytes: settled.vmHwmBytes,
      settleRss: { min: Math.min(...rss), max: Math.max(...rss), last: settled.vmRssBytes },
      conditions: conditionsOf(statusOf(view, node)),
    };
  } catch (err) {
    // The log lives in a directory the cleanup removes: show its end now.
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    console.error(`${node} executor log, last lines:\n${lines.slice(-20).join('\n')}`);
    throw err;
  } finally {
    await stopChild(child);
  }
}

/** Peak RSS and time of `nft -f` of `script` in `netns` (GNU time), or null without /usr/bin/time. */
function nftLoad(
  script: string,
  netns: string,
  dir: string,
): { peakRssBytes: number; ms: number } | null {
  if (!existsSync('/usr/bin/time')) return null;
  const file = join(dir, 'composed.nft');
  const out = join(dir, 'time.out');
  writeFileSync(file, script);
  const t0 = performance.now();
  execFileSync('/usr/bin/time', [
    '-o',
    out,
    '-f',
    '%M',
    'ip',
    'netns',
    'exec',
    netns,
    'nft',
    '-f',
    file,
  ]);
  const ms = performance.now() - t0;
  return { peakRssBytes: Number(readFileSync(out, 'utf8').trim()) * 1024, ms };
}

async function main(): Promise<void> {
  const skip = dataplaneSkipReason();
  if (skip !== null) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const { share, sampled, generateMs, pickMs } = largestShare();
  const idle = renderedOf(
    nodeScripter({ nodes: [], namespaces: [], pods: [], policies: [] })(IDLE_NODE),
  );
  const composedBytes = Buffer.byteLength(share.composed);
  const rulesBytes = Buffer.byteLength(share.rendered.script);
  console.log(
    `${share.node}: the largest composed script of ${sampled} sampled nodes (every ${STRIDE}th; generate ${(generateMs / 1000).toFixed(1)} s, compose ${(pickMs / 1000).toFixed(1)} s)`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'nftpol-bench-rss-'));
  const netns = `nftpol-bench-rss-${process.pid}`;
  let api: TestApi | undefined;
  let view: ApiView | undefined;
  let netnsMade = false;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await Promise.allSettled([...children].map(stopChild));
    view?.stop();
    await api?.stop().catch(() => undefined);
    if (netnsMade) {
      try {
        execFileSync('ip', ['netns', 'delete', netns]);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const assets = controlPlaneAssets();
    api = await startTestApi('executor RSS', {
      server: assets.kind === 'found' ? 'kube-apiserver' : 'embedded',
    });
    if (assets.kind === 'missing') console.log(`(no real kube-apiserver: ${assets.why})`);
    const seeded = api;

    const w0 = performance.now();
    await runLimited(
      share.slices.map((s) => () => serverSideApply(seeded, 'addresssets', s)),
      WRITE_CONCURRENCY,
    );
    const nodeFirewallBytes = await writeNode(api, share.rendered);
    await writeNode(api, idle);
    const writeMs = performance.now() - w0;
    view = await watchResources(api, ['nodefirewalls']);

    execFileSync('ip', ['netns', 'add', netns]);
    netnsMade = true;
    // Fixed cost first: an executor whose node has no pods and no sets.
    const idleRun = await runExecutor(
      api,
      view,
      IDLE_NODE,
      idle.scriptHash,
      netns,
      join(dir, 'idle.log'),
    );
    const run = await runExecutor(
      api,
      view,
      share.node,
      share.rendered.scriptHash,
      netns,
      join(dir, 'executor.log'),
    );
    const nft = nftLoad(share.composed, netns, dir);

    const note = process.env['NFTPOL_BENCH_NOTE'];
    const result = {
      machine: `${machineNote()}, ${availableParallelism()} CPUs`,
      ...(note === undefined || note === '' ? {} : { note }),
      load: Number(loadavg()[0]!.toFixed(2)),
      apiServer: api.label,
      executor: process.env['NFTPOL_BENCH_EXECUTOR'] ?? 'bin/nftpol-executor (node + tsx)',
      nftCommand: 'ip netns exec <ns> nft',
      cluster: { ...SIZE, seed: SEED },
      nodesSampled: sampled,
      sampleStride: STRIDE,
      node: share.node,
      localPods: share.localPods,
      policies: share.rendered.summary.policies,
      composedScriptBytes: composedBytes,
      rulesScriptBytes: rulesBytes,
      nodeFirewallApplyBytes: nodeFirewallBytes,
      addressSets: share.rendered.addressSets.length,
      nftSets: share.nftSets,
      members: share.members,
      slices: share.slices.length,
      sliceSize: SLICE_SIZE,
      apiWriteMs: Math.round(writeMs),
      driftIntervalMs: DRIFT_INTERVAL_MS,
      settleMs: SETTLE_MS,
      timeToReadyMs: Math.round(run.readyMs),
      vmHwmAtReadyBytes: run.atReady.vmHwmBytes,
      vmRssAtReadyBytes: run.atReady.vmRssBytes,
      vmHwmBytes: run.vmHwmBytes,
      vmRssSettleMinBytes: run.settleRss.min,
      vmRssSettleMaxBytes: run.settleRss.max,
      vmRssBytes: run.settleRss.last,
      conditions: run.conditions,
      goalRssBytes: GOAL_RSS_BYTES,
      withinGoal: run.vmHwmBytes < GOAL_RSS_BYTES,
      idleExecutor: {
        timeToReadyMs: Math.round(idleRun.readyMs),
        vmHwmBytes: idleRun.vmHwmBytes,
        vmRssSettleMinBytes: idleRun.settleRss.min,
        vmRssBytes: idleRun.settleRss.last,
      },
      ...(nft === null
        ? {}
        : { nftFullLoad: { peakRssBytes: nft.peakRssBytes, ms: Math.round(nft.ms) } }),
    };

    console.log(
      `executor RSS with ${share.node}'s share of the large cluster (${count(SIZE.nodes)} nodes / ${count(SIZE.pods)} pods / ${count(SIZE.policies)} policies), ${api.label}:`,
    );
    console.log(
      `  composed script ${formatBytes(composedBytes)} (rules ${formatBytes(rulesBytes)} in the NodeFirewall), ${share.localPods} local pods, ${result.policies} policies`,
    );
    console.log(
      `  ${count(result.addressSets)} shared sets (${count(share.nftSets)} nft sets), ${count(share.members)} members in ${count(share.slices.length)} AddressSet slices of ≤ ${SLICE_SIZE}`,
    );
    console.log(
      `  time to Ready (spawn → Applied=True, Ready=True with the rules hash, seen by a watch): ${(run.readyMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `  at Ready: VmHWM ${mib(run.atReady.vmHwmBytes)}, VmRSS ${mib(run.atReady.vmRssBytes)}`,
    );
    console.log(
      `  next ${SETTLE_MS / 1000} s (drift checks every ${DRIFT_INTERVAL_MS / 1000} s): VmRSS ${mib(run.settleRss.min)}–${mib(run.settleRss.max)}, ${mib(run.settleRss.last)} at the end`,
    );
    console.log(
      `  VmHWM ${mib(run.vmHwmBytes)} — goal < ${mib(GOAL_RSS_BYTES)}: ${result.withinGoal ? 'met' : 'NOT MET'}`,
    );
    console.log(
      `  conditions: ${Object.entries(run.conditions)
        .map(([t, s]) => `${t}=${s}`)
        .join(', ')}`,
    );
    console.log(
      `  for scale — an executor whose node has no pods: VmHWM ${mib(idleRun.vmHwmBytes)}, VmRSS ${mib(idleRun.settleRss.min)}–${mib(idleRun.settleRss.max)}`,
    );
    if (nft !== null)
      console.log(
        `  nft -f of the composed script (its own process, same container cgroup): peak RSS ${mib(nft.peakRssBytes)}, ${Math.round(nft.ms)} ms`,
      );
    console.log(
      `${result.machine}, load ${result.load}${note === undefined || note === '' ? '' : `; ${note}`}`,
    );
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/executor-rss.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

await main();
