/**
 * What the executor costs on a node: `nft -f` of a whole node script in a
 * throwaway network namespace, for scripts of growing size up to the
 * kubelet's default pod limit (110 local pods) and ~50,000 set elements.
 * The whole script is the composed one the executor loads (v2): the rules
 * script, its shared sets declared empty, then `add element` lines with the
 * sets' members (compose.ts).
 * Also the check-only load (`nft -c -f`, the host probe's and CI's tool) and
 * one drift check (`nft -j list table` + parseRuleset + diffTables), which
 * the executor runs every interval. Prints a table and writes
 * bench/results/apply.json. Needs root, ip and nft.
 *
 * Plans are synthetic (FirewallPlan and members built directly, then
 * renderScript and composeScript), so the two axes — pods and set elements
 * — move independently of any policy mix; every pod is isolated both ways
 * with three ingress allows, each on its own shared pods set with an inline
 * port, and two egress allows, each on its own named-port (addr·proto·port)
 * set.
 *
 *   node --import tsx bench/apply.bench.ts
 *   NFTPOL_BENCH_RUNS=5 node --import tsx bench/apply.bench.ts
 *   NFTPOL_BENCH_CASES=1 node --import tsx bench/apply.bench.ts   # the first case only (smoke)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { applyScript, checkScript, listTable } from '../src/nft/apply.js';
import type { NftOptions } from '../src/nft/nft.js';
import { composeScript } from '../src/nft/compose.js';
import { renderScript } from '../src/nft/render.js';
import { parseRuleset } from '../src/nft/ruleset.js';
import { diffTables } from '../src/nft/table-diff.js';
import type { Allow, FirewallPlan, PodChain, SharedSetUse } from '../src/policy/plan.js';
import { formatBytes, machineNote, quantile } from './stats.js';

interface Case {
  readonly pods: number;
  readonly elements: number;
}

interface Row {
  readonly pods: number;
  readonly sets: number;
  readonly setElements: number;
  readonly rules: number;
  readonly scriptBytes: number;
  /** renderScript, then composeScript adding the members. */
  readonly renderMs: number;
  readonly firstApplyMs: number;
  readonly reapplyMedianMs: number;
  readonly reapplyMaxMs: number;
  readonly checkMs: number;
  readonly driftCheckMs: number;
}

const CASES: readonly Case[] = [
  { pods: 10, elements: 500 },
  { pods: 30, elements: 2_000 },
  { pods: 60, elements: 10_000 },
  { pods: 110, elements: 10_000 },
  { pods: 110, elements: 25_000 },
  { pods: 110, elements: 50_000 },
];
const RUNS = Number(process.env['NFTPOL_BENCH_RUNS'] ?? '3');
const CASE_COUNT = Number(process.env['NFTPOL_BENCH_CASES'] ?? String(CASES.length));
const INGRESS_ALLOWS = 3;
const EGRESS_ALLOWS = 2;

/** An IPv4 address from a 32-bit integer. */
const ipOf = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** A synthetic node: its plan and the members of the shared sets it declares. */
interface SyntheticNode {
  readonly plan: FirewallPlan;
  readonly members: ReadonlyMap<string, readonly string[]>;
}

/** A node plan with `pods` isolated pods and `elements` set members spread over its sets. */
function syntheticNode({ pods, elements }: Case): SyntheticNode {
  const setsPerPod = INGRESS_ALLOWS + EGRESS_ALLOWS;
  const setCount = pods * setsPerPod;
  const perSet = Math.max(1, Math.floor(elements / setCount));
  let next = (11 << 24) >>> 0; // 11.0.0.0 onwards: disjoint single addresses
  let setNumber = 0;
  const sets: SharedSetUse[] = [];
  const members = new Map<string, string[]>();
  const chains: PodChain[] = [];
  const pad = (i: number): string => String(i).padStart(4, '0');
  for (let p = 0; p < pods; p++) {
    const pod = `bench/pod-${pad(p)}`;
    const ip = ipOf(((10 << 24) | (244 << 16) | (1 << 8)) + p + 1);
    const allowsFor = (direction: 'ingress' | 'egress', count: number): Allow[] =>
      Array.from({ length: count }, (_, i): Allow => {
        const port = 8000 + i;
        // Ingress: a pods peer and an inline port; egress: a named port (addr . proto . port).
        const kind = direction === 'ingress' ? 'addr' : 'addrPort';
        const id = `${kind === 'addr' ? 'pods' : 'port'}-${(setNumber++).toString(16).padStart(16, '0')}`;
        sets.push({ id, kind, family: 'ip' });
        members.set(
          id,
          Array.from({ length: perSet }, () => {
            const addr = ipOf(next++);
            return kind === 'addr' ? addr : `${addr} . tcp . ${port}`;
          }),
        );
        const base = { policy: `bench/policy-${i}`, rule: 0, family: 'ip' as const };
        return kind === 'addr'
          ? {
              ...base,
              peer: { kind: 'set', set: id },
              ports: {
                kind: 'ports',
                ports: [{ protocol: 'TCP', port: { first: port, last: port } }],
              },
            }
          : { ...base, peer: { kind: 'all' }, ports: { kind: 'namedPort', set: id } };
      });
    for (const direction of ['egress', 'ingress'] as const) {
      chains.push({
        name: `${direction === 'ingress' ? 'in' : 'eg'}_bench_pod-${pad(p)}`,
        pod,
        direction,
        ips: [ip],
        policies: Array.from(
          { length: direction === 'ingress' ? INGRESS_ALLOWS : EGRESS_ALLOWS },
          (_, i) => `bench/policy-${i}`,
        ),
        allows: allowsFor(direction, direction === 'ingress' ? INGRESS_ALLOWS : EGRESS_ALLOWS),
      });
    }
  }
  const plan: FirewallPlan = {
    node: 'bench-node',
    chains: [...chains].sort((a, b) => a.name.localeCompare(b.name)),
    sets: sets.sort((a, b) => a.id.localeCompare(b.id)),
    policies: Array.from({ length: INGRESS_ALLOWS }, (_, i) => `bench/policy-${i}`),
    localPods: pods,
    failClosed: null,
  };
  return { plan, members };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function measure(c: Case): Promise<Row> {
  const { plan, members } = syntheticNode(c);
  const t0 = performance.now();
  const script = composeScript(renderScript(plan).script, members);
  const renderMs = performance.now() - t0;
  const netns = `nftpol-bench-${process.pid}-${c.pods}-${c.elements}`;
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    const nft: NftOptions = { command: ['ip', 'netns', 'exec', netns, 'nft'], timeoutMs: 600_000 };
    const checkMs = await timed(() => checkScript(script, nft));
    const firstApplyMs = await timed(() => applyScript(script, nft));
    const reference = parseRuleset(await listTable(nft)).table!;
    const reapply: number[] = [];
    for (let i = 0; i < RUNS; i++) reapply.push(await timed(() => applyScript(script, nft)));
    const driftCheckMs = await timed(async () => {
      const live = parseRuleset(await listTable(nft)).table;
      if (diffTables(reference, live) !== null) throw new Error('unexpected drift');
    });
    return {
      pods: c.pods,
      sets: plan.sets.length,
      setElements: [...members.values()].reduce((n, m) => n + m.length, 0),
      rules: plan.chains.reduce((n, ch) => n + ch.allows.length, 0),
      scriptBytes: Buffer.byteLength(script),
      renderMs,
      firstApplyMs,
      reapplyMedianMs: quantile(reapply, 0.5),
      reapplyMaxMs: Math.max(...reapply),
      checkMs,
      driftCheckMs,
    };
  } finally {
    execFileSync('ip', ['netns', 'delete', netns]);
  }
}

const rows: Row[] = [];
for (const c of CASES.slice(0, CASE_COUNT)) {
  const row = await measure(c);
  rows.push(row);
  const ms = (x: number): string => `${x.toFixed(0)} ms`.padStart(9);
  process.stdout.write(
    `pods ${String(row.pods).padStart(3)}  elements ${String(row.setElements).padStart(6)}  sets ${String(row.sets).padStart(4)}  script ${formatBytes(row.scriptBytes).padStart(9)}` +
      `  render ${ms(row.renderMs)}  check ${ms(row.checkMs)}  first apply ${ms(row.firstApplyMs)}  re-apply p50 ${ms(row.reapplyMedianMs)} max ${ms(row.reapplyMaxMs)}  drift check ${ms(row.driftCheckMs)}\n`,
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/apply.json', import.meta.url),
  `${JSON.stringify({ machine: machineNote(), runs: RUNS, rows }, null, 2)}\n`,
);
