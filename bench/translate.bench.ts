/**
 * Full translate + render of every node of generated clusters at growing
 * sizes. Reports time, peak memory, script size per node (as text and as the
 * controller's gzip+base64 `spec.scriptGzip`, against the ~1.5 MiB API object
 * limit) and set elements per node, prints a table and writes
 * bench/results/translate.json. Compression time is measured apart and not
 * included in the translate+render time.
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
import { renderScript, type RenderCache } from '../src/nft/render.js';
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
  setElementsMedian: number;
  setElementsMax: number;
  rulesMedian: number;
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
  const rules: number[] = [];
  const t0 = performance.now();
  const translate = translatorFor(cluster);
  // As the controller's engine does: set texts shared across the nodes' scripts.
  const setTexts: RenderCache = new WeakMap();
  const nodes = sample > 0 ? cluster.nodes.slice(0, sample) : cluster.nodes;
  for (const node of nodes) {
    const plan = translate(node.name);
    const { script } = renderScript(plan, setTexts);
    const s = summarizePlan(plan);
    scriptBytes.push(Buffer.byteLength(script));
    const g0 = performance.now();
    gzipBytes.push(compressScript(script).length);
    gzipMs += performance.now() - g0;
    elements.push(s.setElements);
    rules.push(s.rules);
    if (scriptBytes.length % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const ms = performance.now() - t0 - gzipMs;
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
    rulesMedian: quantile(rules, 0.5),
  });
  const r = rows[rows.length - 1]!;
  console.log(
    `${name.padEnd(7)} ${size.nodes} nodes / ${size.pods} pods / ${size.policies} policies: ` +
      `${r.translateRenderMs} ms total${nodes.length < size.nodes ? ` (extrapolated from ${nodes.length} nodes)` : ''} (${r.perNodeMs} ms/node), peak RSS ${formatBytes(r.peakRssBytes)}, ` +
      `script median ${formatBytes(r.scriptBytesMedian)} max ${formatBytes(r.scriptBytesMax)}, ` +
      `scriptGzip median ${formatBytes(r.scriptGzipBytesMedian)} max ${formatBytes(r.scriptGzipBytesMax)} (${r.gzipPerNodeMs} ms/node), ` +
      `set elements median ${r.setElementsMedian} max ${r.setElementsMax}, rules median ${r.rulesMedian}`,
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/translate.json', import.meta.url),
  JSON.stringify({ machine: `${machineNote()}, ${cpus().length} cpus`, rows }, null, 2) + '\n',
);
