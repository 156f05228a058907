/**
 * What one membership change costs the executor (v2): a pod joining or
 * leaving a peer set the node uses. Measured on a node table of the
 * kubelet's default 110 pods with ~50,000 shared-set members loaded (the
 * composed script, compose.ts), in a throwaway network namespace:
 *
 *  - in the executor: the members pass before nft — the slice stored, the
 *    plan of the referenced sets (set-members.ts) and the element delta
 *    (compose.ts memberDelta), with every other set unchanged;
 *  - in nft: `nft -f` of that delta, one element added, then removed —
 *    the DESIGN goal is p50 < 10 ms;
 *  - for comparison, the full load of the composed script the delta avoids.
 *
 * Prints the figures beside the goal and writes bench/results/members.json.
 * Needs root, ip and nft.
 *
 *   node --import tsx bench/members.bench.ts
 *   NFTPOL_BENCH_RUNS=200 node --import tsx bench/members.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { planSets, SliceStore, type Slice } from '../src/executor/set-members.js';
import { applyScript } from '../src/nft/apply.js';
import { composeScript, memberDelta } from '../src/nft/compose.js';
import { runNft, type NftOptions } from '../src/nft/nft.js';
import { loadavg } from 'node:os';
import { machineNote, quantile } from './stats.js';

const PODS = 110;
/** Shared pods sets the node's rules use (5 allows per pod, as in apply.bench.ts). */
const SETS = PODS * 5;
const MEMBERS = 50_000;
const SLICE_SIZE = 100;
const RUNS = Number(process.env['NFTPOL_BENCH_RUNS'] ?? '100');
const GOAL_NFT_P50_MS = 10;

const hex = (n: number): string => n.toString(16).padStart(16, '0');
const idOf = (i: number): string => `pods-${hex(i + 1)}`;
const nameOf = (i: number): string => `pods_${hex(i + 1)}_4`;
/** An IPv4 address from a 32-bit integer. */
const ipOf = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** A rules script: every set declared, one chain per pod whose rules use five of them. */
function rulesScript(): string {
  const lines = ['add table inet nftpol', 'delete table inet nftpol', 'table inet nftpol {'];
  for (let i = 0; i < SETS; i++) lines.push(`\tset ${nameOf(i)} {`, '\t\ttype ipv4_addr', '\t}');
  for (let p = 0; p < PODS; p++) {
    lines.push(`\tchain in_pod_${p} {`);
    for (let k = 0; k < 5; k++) {
      lines.push(`\t\tip saddr @${nameOf(p * 5 + k)} tcp dport 8080 counter accept`);
    }
    lines.push('\t\tcounter drop', '\t}');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** The slices of every set: MEMBERS addresses spread over SETS sets, SLICE_SIZE a slice. */
function slicesOf(): Slice[] {
  const perSet = Math.ceil(MEMBERS / SETS);
  const slices: Slice[] = [];
  for (let i = 0; i < SETS; i++) {
    const members = Array.from({ length: perSet }, (_, k) => ipOf(0x0a000000 + i * 256 + k));
    for (let s = 0; s * SLICE_SIZE < members.length; s++) {
      slices.push({
        name: `${idOf(i)}-${s}`,
        setId: idOf(i),
        resourceVersion: '1',
        members: members.slice(s * SLICE_SIZE, (s + 1) * SLICE_SIZE),
        writtenAtMs: null,
      });
    }
  }
  return slices;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const rules = rulesScript();
const store = new SliceStore();
for (const s of slicesOf()) store.upsert(s);
const ids = Array.from({ length: SETS }, (_, i) => idOf(i));
const plan = (): ReadonlyMap<string, readonly string[]> =>
  planSets({ ids, view: store, missingSince: new Map(), inKernel: null, nowMs: 0, setWaitMs: 0 })
    .members;
let inKernel = plan();
const composeStart = performance.now();
const script = composeScript(rules, inKernel);
const composeMs = performance.now() - composeStart;

/** What the runs in the namespace measured. */
interface Measured {
  readonly fullLoadMs: number;
  /** `nft --version` through the same command: what any nft call costs before its work. */
  readonly nftStartMs: number;
  /** The members pass before nft, per change. */
  readonly passMs: readonly number[];
  /** `nft -f` of the delta, per change. */
  readonly nftMs: readonly number[];
}

async function measure(): Promise<Measured> {
  const netns = `nftpol-bench-members-${process.pid}`;
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    // nsenter, not `ip netns exec` (which remounts /sys for every call): the
    // figure is then nft's own, as the executor runs it on a node.
    const nft: NftOptions = {
      command: ['nsenter', `--net=/run/netns/${netns}`, 'nft'],
      timeoutMs: 600_000,
    };
    const fullLoadMs = await timed(() => applyScript(script, nft));
    const spawn: number[] = [];
    for (let i = 0; i < 10; i++) {
      spawn.push(await timed(() => runNft(['--version'], undefined, nft)));
    }
    // Set 0 has one slice (fewer members than a slice holds): a pod joins it, then leaves.
    const base = [...store.members(ids[0]!)];
    const joined = [...base, ipOf(0x0b000000)];
    const passMs: number[] = [];
    const nftMs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t = performance.now();
      store.upsert({
        name: `${ids[0]!}-0`,
        setId: ids[0]!,
        resourceVersion: String(run + 2),
        members: run % 2 === 0 ? joined : base,
        writtenAtMs: null,
      });
      const next = plan();
      const delta = memberDelta(rules, inKernel, next);
      passMs.push(performance.now() - t);
      if (delta === null) throw new Error('no delta for a member change');
      nftMs.push(await timed(() => applyScript(delta, nft)));
      inKernel = next;
    }
    return { fullLoadMs, nftStartMs: quantile(spawn, 0.5), passMs, nftMs };
  } finally {
    execFileSync('ip', ['netns', 'delete', netns]);
  }
}

const { fullLoadMs, nftStartMs, passMs, nftMs } = await measure();
const result = {
  machine: machineNote(),
  /** 1-minute load average when done: figures from a busy machine are not the machine's. */
  load: loadavg()[0],
  pods: PODS,
  sets: SETS,
  members: [...inKernel.values()].reduce((n, m) => n + m.length, 0),
  scriptBytes: Buffer.byteLength(script),
  runs: RUNS,
  composeMs,
  fullLoadMs,
  nftStartP50Ms: nftStartMs,
  membersPassP50Ms: quantile(passMs, 0.5),
  membersPassP99Ms: quantile(passMs, 0.99),
  deltaNftP50Ms: quantile(nftMs, 0.5),
  deltaNftP99Ms: quantile(nftMs, 0.99),
  goalDeltaNftP50Ms: GOAL_NFT_P50_MS,
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;
process.stdout.write(
  `${result.pods} pods, ${result.sets} sets, ${result.members} members (${(result.scriptBytes / 1024).toFixed(0)} KiB composed)\n` +
    `  compose ${ms(composeMs)}, full load ${ms(fullLoadMs)}, nft --version p50 ${ms(nftStartMs)} (load ${result.load?.toFixed(1)})\n` +
    `  one member added or removed: members pass p50 ${ms(result.membersPassP50Ms)} p99 ${ms(result.membersPassP99Ms)}; ` +
    `nft -f delta p50 ${ms(result.deltaNftP50Ms)} p99 ${ms(result.deltaNftP99Ms)} (goal p50 < ${GOAL_NFT_P50_MS} ms: ${result.deltaNftP50Ms < GOAL_NFT_P50_MS ? 'met' : 'NOT met'})\n`,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/members.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
