/**
 * Full translate + render of every node of generated clusters at growing
 * sizes. Reports time, peak memory, rules script size per node (the
 * NodeFirewall `spec.script`, as text and as the controller's gzip+base64
 * `spec.scriptGzip`, against the ~1.5 MiB API object limit), inline elements
 * (ipBlock ranges, ports) and shared sets per node, prints a table and writes
 * bench/results/translate.json. Compression time is measured apart and not
 * included in the translate+render time.
 *
 * The members of the shared peer sets (v2: AddressSets, not part of any
 * node's script) are timed apart too: every set the policies define
 * (peerSetsOf) computed from scratch with membersOf over one ClusterIndex,
 * as the CLI does and the controller's incremental memberships are checked
 * against.
 *
 *   make bench                                   # small, medium, large
 *   NFTPOL_BENCH_SIZES=small make bench          # one size
 *   NFTPOL_BENCH_SAMPLE=200 make bench           # translate only the first 200 nodes
 *                                                # of each size; totals are extrapolated
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateCluster, SIZES } from './generate.js';
import { quantile, formatBytes, machineNote } from './stats.js';
import { translatorFor } from '../src/policy/translate.js';
import { renderScript } from '../src/nft/render.js';
import { ClusterIndex } from '../src/policy/cluster-index.js';
import { membersOf, peerSetsIn } from '../src/policy/peer-sets.js';
import { summarizePlan } from '../src/policy/plan.js';
import { compressScript } from '../src/k8s/script-encoding.js';

interface Row {
  size: string;
  nodesTranslated: number;
  nodes: number;
  pods: number;
  policies: number;
  translateRenderMs: number;
  perNodeMs: number;
  heapAfterBuildBytes: number;
  peakRssBytes: number;
  scriptBytesMedian: number;
  scriptBytesMax: number;
  /** Length of `spec.scriptGzip` (base64 of the gzip) had every script been compressed. */
  scriptGzipBytesMedian: number;
  scriptGzipBytesMax: number;
  gzipPerNodeMs: number;
  /** Inline elements (ipBlock ranges, protocol . port ranges) per node. */
  setElementsMedian: number;
  setElementsMax: number;
  /** Shared sets a node's script declares (per family). */
  sharedSetsMedian: number;
  sharedSetsMax: number;
  rulesMedian: number;
  /** Shared sets the policies define, and their members computed from scratch. */
  peerSets: number;
  membersMs: number;
  membersTotal: number;
  membersMax: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
const names = (process.env['NFTPOL_BENCH_SIZES'] ?? 'small,medium,large').split(',');
const sample = Number(process.env['NFTPOL_BENCH_SAMPLE'] ?? '0');
const rows: Row[] = [];
for (const name of names) {
  const size = SIZES[name];
  if (!size) throw new Error(`unknown size "${name}" (known: ${Object.keys(SIZES).join(', ')})`);
  const cluster = generateCluster(size, 42);
  gc?.();
  let peakRss = process.memoryUsage().rss;
  const scriptBytes: number[] = [];
  const gzipBytes: number[] = [];
  let gzipMs = 0;
  const elements: number[] = [];
  const sharedSets: number[] = [];
  const rules: number[] = [];
  const t0 = performance.now();
  const translate = translatorFor(cluster);
  const nodes = sample > 0 ? cluster.nodes.slice(0, sample) : cluster.nodes;
  for (const node of nodes) {
    const plan = translate(node.name);
    const { script } = renderScript(plan);
    const s = summarizePlan(plan);
    scriptBytes.push(Buffer.byteLength(script));
    const g0 = performance.now();
    gzipBytes.push(compressScript(script).length);
    gzipMs += performance.now() - g0;
    elements.push(s.setElements);
    sharedSets.push(s.sets);
    rules.push(s.rules);
    if (scriptBytes.length % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const ms = performance.now() - t0 - gzipMs;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  gc?.();
  const m0 = performance.now();
  const index = new ClusterIndex(cluster);
  const memberCounts = [...peerSetsIn(cluster).values()].map((set) => membersOf(set, index).length);
  const membersMs = performance.now() - m0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  gc?.();
  rows.push({
    size: name,
    nodesTranslated: nodes.length,
    ...size,
    translateRenderMs: Math.round((ms * size.nodes) / nodes.length),
    perNodeMs: Number((ms / nodes.length).toFixed(2)),
    heapAfterBuildBytes: process.memoryUsage().heapUsed,
    peakRssBytes: peakRss,
    scriptBytesMedian: quantile(scriptBytes, 0.5),
    scriptBytesMax: quantile(scriptBytes, 1),
    scriptGzipBytesMedian: quantile(gzipBytes, 0.5),
    scriptGzipBytesMax: quantile(gzipBytes, 1),
    gzipPerNodeMs: Number((gzipMs / nodes.length).toFixed(2)),
    setElementsMedian: quantile(elements, 0.5),
    setElementsMax: quantile(elements, 1),
    sharedSetsMedian: quantile(sharedSets, 0.5),
    sharedSetsMax: quantile(sharedSets, 1),
    rulesMedian: quantile(rules, 0.5),
    peerSets: memberCounts.length,
    membersMs: Math.round(membersMs),
    membersTotal: memberCounts.reduce((n, k) => n + k, 0),
    membersMax: quantile(memberCounts, 1),
  });
  const r = rows[rows.length - 1]!;
  console.log(
    `${name.padEnd(7)} ${size.nodes} nodes / ${size.pods} pods / ${size.policies} policies: ` +
      `${r.translateRenderMs} ms total${nodes.length < size.nodes ? ` (extrapolated from ${nodes.length} nodes)` : ''} (${r.perNodeMs} ms/node), peak RSS ${formatBytes(r.peakRssBytes)}, ` +
      `script median ${formatBytes(r.scriptBytesMedian)} max ${formatBytes(r.scriptBytesMax)}, ` +
      `scriptGzip median ${formatBytes(r.scriptGzipBytesMedian)} max ${formatBytes(r.scriptGzipBytesMax)} (${r.gzipPerNodeMs} ms/node), ` +
      `inline elements median ${r.setElementsMedian} max ${r.setElementsMax}, ` +
      `shared sets median ${r.sharedSetsMedian} max ${r.sharedSetsMax}, rules median ${r.rulesMedian}; ` +
      `members of ${r.peerSets} sets: ${r.membersMs} ms, ${r.membersTotal} in all, max ${r.membersMax}`,
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/translate.json', import.meta.url),
  JSON.stringify({ machine: `${machineNote()}, ${cpus().length} cpus`, rows }, null, 2) + '\n',
);
