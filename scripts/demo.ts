/**
 * `make demo`: the whole product on one machine, no cluster needed. The
 * embedded API server is loaded with the example cluster (examples/); every
 * node and pod becomes a network namespace (the dataplane harness,
 * test/support/netns); the real controller and one real executor per node run
 * as child processes against the API server, each executor loading its
 * node's script into that node's namespace (`ip netns exec <node> nft`).
 * Then it shows what an operator would look at: the NodeFirewalls as
 * `kubectl get nodefirewalls` prints them, the connectivity matrix measured
 * by real probes beside the oracle's, a policy change through the API and
 * how long until every node enforces it, and one NodeFirewall's conditions.
 *
 * Exit status: 0 when every probe agrees with the oracle, 1 otherwise (or on
 * any failure). Needs root, ip and nft (scripts/demo.sh falls back to the
 * offline CLI without them). Everything it creates — namespaces, processes,
 * the server, the temporary directory — goes on exit, on failure and on
 * Ctrl-C (SIGINT/SIGTERM: test/support/netns/lifecycle.ts).
 *
 *   node --import tsx scripts/demo.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startApiServer, type ApiServer } from '../src/apiserver/server.js';
import type { PortArg } from '../src/cli/command.js';
import {
  addressOf,
  explainQuery,
  pickFamily,
  resolveDestinationPort,
} from '../src/cli/commands/explain.js';
import { computeMatrix, type Cell, type Matrix } from '../src/cli/commands/matrix.js';
import { formatExplanationText, formatMatrixText } from '../src/cli/format.js';
import { parseManifests } from '../src/cli/load-yaml.js';
import { kubeConfigForServer } from '../src/k8s/client.js';
import type { Condition } from '../src/k8s/conditions.js';
import { API_VERSION, PLURAL, VERSION, type NodeFirewall } from '../src/k8s/nodefirewall.js';
import { clusterFromObjects, type SourcedObject } from '../src/policy/from-k8s.js';
import { qualifiedName, type Cluster } from '../src/policy/model.js';
import { runCommand } from '../test/support/netns/command.js';
import { dataplaneSkipReason, registerCleanup, RUN_ID } from '../test/support/netns/lifecycle.js';
import { NetnsCluster } from '../test/support/netns/netns-cluster.js';
import { probeCluster, type ProbeReport } from '../test/support/netns/probe.js';
import {
  clusterInStore,
  createManifests,
  nodesBehind,
  waitForEnforced,
} from '../test/support/stack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = ['examples/cluster.yaml', 'examples/pods.yaml', 'examples/policies.yaml'];
const CHANGE = 'scripts/demo-change.yaml';
const CRD = 'crds/nodefirewalls.nftpol.io.yaml';
/** The matrix's port: 80 answers on every pod, so every pair is probed. */
const MATRIX_PORT: PortArg = 80;
/** Longest wait for the nodes to enforce a change. */
const ENFORCE_TIMEOUT_MS = 30_000;
/** Longest wait for a child process to stop after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n${bold(`== ${s}`)}`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

// ------------------------------------------------------------ child processes

/** A controller or executor started from bin/, its output in a log file. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Rejects when the process exits before {@link stopChild} asked it to. */
  readonly died: Promise<never>;
  stopping: boolean;
}

function startChild(name: string, bin: string, args: readonly string[], logDir: string): Child {
  const log = openSync(join(logDir, `${name}.log`), 'a');
  const proc = spawn(join(ROOT, 'bin', bin), args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const unregister = registerCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const child: Child = {
    name,
    process: proc,
    stopping: false,
    died: new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => {
        unregister();
        if (!child.stopping)
          reject(
            new Error(`${name} exited (${signal ?? `code ${code}`}); see ${logDir}/${name}.log`),
          );
      });
    }),
  };
  child.died.catch(() => undefined); // observed through Promise.race
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. */
async function stopChild(child: Child): Promise<void> {
  child.stopping = true;
  const p = child.process;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((done) => p.once('exit', () => done()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Waits until every node enforces the store's objects, or a child dies. */
function enforced(server: ApiServer, what: string, children: readonly Child[]): Promise<Cluster> {
  return Promise.race([
    waitForEnforced(server, what, ENFORCE_TIMEOUT_MS),
    ...children.map((c) => c.died),
  ]);
}

// ------------------------------------------------------------ kubectl-style output

/** Evaluates the JSONPath subset the CRD's printer columns use: `.a.b` and `[?(@.k=="v")]`. */
function evaluateJsonPath(root: unknown, path: string): unknown {
  let value = root;
  for (const m of path.matchAll(/\.([\w-]+)|\[\?\(@\.([\w-]+)=="([^"]*)"\)\]/g)) {
    if (m[1] !== undefined) value = (value as Record<string, unknown> | undefined)?.[m[1]];
    else
      value = Array.isArray(value)
        ? (value as Record<string, unknown>[]).find((x) => x[m[2]!] === m[3])
        : undefined;
  }
  return value;
}

/** kubectl's age: `42s`, `3m5s`, `2h`. */
function formatAge(since: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

/** Left-aligned columns three spaces apart, as kubectl prints them. */
function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((x, c) => x.padEnd(widths[c]!))
        .join('   ')
        .trimEnd(),
  );
}

interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly priority?: number;
}

/** The CRD's default printer columns (priority 0), as `kubectl get` shows them. */
function readPrinterColumns(): PrinterColumn[] {
  const crd = parseYaml(readFileSync(join(ROOT, CRD), 'utf8')) as {
    spec: { versions: { name: string; additionalPrinterColumns?: PrinterColumn[] }[] };
  };
  const version = crd.spec.versions.find((v) => v.name === VERSION);
  return (version?.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) === 0);
}

async function getJson<T>(server: ApiServer, path: string): Promise<T> {
  const res = await fetch(`${server.url}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const NFW_PATH = `/apis/${API_VERSION}/${PLURAL}`;

/** `kubectl get nodefirewalls`, read over HTTP; hashes shortened to 12 hex digits. */
async function printNodeFirewalls(
  server: ApiServer,
  columns: readonly PrinterColumn[],
): Promise<void> {
  const list = await getJson<{ items: NodeFirewall[] }>(server, NFW_PATH);
  const now = Date.now();
  const cell = (nfw: NodeFirewall, c: PrinterColumn): string => {
    const v = evaluateJsonPath(nfw, c.jsonPath);
    if (v === undefined || v === null) return '<none>';
    const text = typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
    if (c.type === 'date') return formatAge(text, now);
    return text.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
  };
  const rows = [
    ['NAME', ...columns.map((c) => c.name.toUpperCase())],
    ...list.items.map((nfw) => [nfw.metadata.name, ...columns.map((c) => cell(nfw, c))]),
  ];
  for (const line of formatTable(rows, '  ')) say(line);
}

/** The Applied hash of every NodeFirewall, by node. */
function appliedHashes(server: ApiServer): Map<string, string> {
  return new Map(
    server.store
      .list(PLURAL)
      .items.map((o) => [
        o.metadata.name,
        String((o['status'] as { appliedHash?: string } | undefined)?.appliedHash),
      ]),
  );
}

// ------------------------------------------------------------ the matrix

interface Comparison {
  readonly expected: Matrix;
  readonly measured: Matrix;
  readonly probed: number;
  readonly agree: number;
  readonly disagreements: readonly string[];
}

/**
 * The oracle's matrix (`nftpol matrix`) and the kernel's, read off the probe
 * records: the same pairs, family and resolved port. A pod to itself goes
 * over its own loopback, past no firewall, so the diagonal is not probed.
 */
function compareMatrix(cluster: Cluster, report: ProbeReport, port: PortArg): Comparison {
  const expected = computeMatrix(cluster, port, 'TCP');
  const pods = new Map(cluster.pods.map((p) => [qualifiedName(p), p]));
  let probed = 0;
  let agree = 0;
  const disagreements: string[] = [];
  const cells = expected.pods.map((fromName, i) =>
    expected.pods.map((toName, j): Cell => {
      const want = expected.cells[i]![j]!;
      if (i === j) return 'no-port';
      if (want === 'no-port' || want === 'no-family') return want;
      const from = pods.get(fromName)!;
      const to = pods.get(toName)!;
      const family = pickFamily(from.ips, to.ips, null)!;
      const number = resolveDestinationPort(port, 'TCP', to);
      const record = report.records.find(
        (r) =>
          r.source.label === fromName &&
          r.destination.label === toName &&
          r.spec.protocol === 'TCP' &&
          r.spec.port === number &&
          r.spec.to === addressOf(to.ips, family),
      );
      if (record === undefined) throw new Error(`no probe ${fromName} -> ${toName} TCP/${number}`);
      probed++;
      const got: Cell = record.result.outcome === 'open' ? 'allowed' : 'denied';
      if (got === want && !report.harnessErrors.includes(record)) agree++;
      else disagreements.push(`${fromName} -> ${toName}: oracle ${want}, kernel ${got}`);
      return got;
    }),
  );
  return { expected, measured: { ...expected, cells }, probed, agree, disagreements };
}

/** The two grids side by side (formatMatrixText's), then the agreement. */
function printComparison(c: Comparison, report: ProbeReport): void {
  const grid = (m: Matrix): string[] => {
    const lines = formatMatrixText(m).split('\n');
    const start = lines.indexOf('') + 1;
    return lines.slice(start, lines.indexOf('', start));
  };
  const text = formatMatrixText(c.expected).split('\n');
  say(`  ${text[0]}`);
  // Rows are `<index>  <marks>  <name>`: the left grid drops the names, the right one the index.
  const indexWidth = String(c.expected.pods.length - 1).length + 2;
  const width = indexWidth + 2 * c.expected.pods.length - 1;
  const left = grid(c.expected).map((l) => l.slice(0, width));
  const right = grid(c.measured).map((l) => l.slice(indexWidth));
  const w = Math.max(width, 'expected (oracle)'.length);
  say(`  ${'expected (oracle)'.padEnd(w)}   measured (kernel)`);
  left.forEach((l, i) => say(`  ${l.padEnd(w)}   ${right[i]}`));
  const allowed = (m: Matrix): number => m.cells.flat().filter((x) => x === 'allowed').length;
  say(
    `  ${allowed(c.expected)} of ${c.expected.pods.length ** 2} pairs allowed; the diagonal ` +
      `(a pod to itself, over loopback) is not probed`,
  );
  say(bold(`  ${c.agree} of ${c.probed} probed pairs agree with the oracle`));
  for (const d of c.disagreements.slice(0, 5)) say(`  DISAGREE ${d}`);
  if (c.disagreements.length > 5) say(`  … and ${c.disagreements.length - 5} more`);
  say(
    `  full sweep: ${report.records.length} probes (every pod and node, every listening port, ` +
      `TCP+UDP, IPv4+IPv6): ${report.mismatches.length} disagree, ` +
      `${report.harnessErrors.length} harness errors, ${seconds(report.durationMs)}`,
  );
}

function isAgreement(c: Comparison, report: ProbeReport): boolean {
  return (
    c.agree === c.probed && report.mismatches.length === 0 && report.harnessErrors.length === 0
  );
}

// ------------------------------------------------------------ the demo

function readManifests(files: readonly string[]): SourcedObject[] {
  return files.flatMap((f) => {
    const { objects, problems } = parseManifests(f, readFileSync(join(ROOT, f), 'utf8'));
    if (problems.some((p) => p.severity === 'error'))
      throw new Error(`${f}: ${problems.map((p) => p.message).join('; ')}`);
    return objects;
  });
}

/** The forwarding sysctl of `netns`, copied to a file the executor (in the host namespace) reads. */
async function copyForwardingSysctl(netns: string, path: string): Promise<void> {
  const value = await runCommand([
    'ip', 'netns', 'exec', netns, 'cat', '/proc/sys/net/ipv4/ip_forward',
  ]); // prettier-ignore
  await writeFile(path, value);
}

async function run(workDir: string): Promise<boolean> {
  let server: ApiServer | undefined;
  let nc: NetnsCluster | undefined;
  const children: Child[] = [];
  try {
    step('Start the embedded API server and load examples/');
    server = await startApiServer({ bookmarkIntervalMs: 5_000 });
    const manifests = readManifests(EXAMPLES);
    const loaded = clusterFromObjects(manifests);
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new Error(`examples/: ${errors.map((p) => p.message).join('; ')}`);
    createManifests(server, [
      { source: 'kube-system', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } } },
    ]); // prettier-ignore
    const created = createManifests(server, manifests);
    say(`  ${server.url}: ${[...created].map(([plural, n]) => `${n} ${plural}`).join(', ')}`);

    // Started first: its Node.js start-up overlaps building the namespaces.
    step('Start the controller (bin/nftpol-controller)');
    const kubeconfig = join(workDir, 'kubeconfig');
    await writeFile(kubeconfig, kubeConfigForServer(server.url).exportConfig());
    const common = [`--kubeconfig=${kubeconfig}`, '--health-port=-1'];
    children.push(
      startChild('controller', 'nftpol-controller', [...common, '--identity=demo'], workDir),
    );
    say(`  pid ${children[0]!.process.pid}, kubeconfig ${kubeconfig}`);

    step('Build the nodes and pods as network namespaces');
    nc = await NetnsCluster.create();
    const cluster = clusterInStore(server);
    await nc.sync(cluster);
    say(
      `  ${nc.nodes.length} nodes (${nc.nodes.map((n) => n.name).join(', ')}) and ${nc.pods.length} pods ` +
        `(hostNetwork and finished pods get none), run ${RUN_ID}`,
    );

    step('Start one executor per node (bin/nftpol-executor, nft in the node namespace)');
    const t0 = performance.now();
    for (const n of nc.nodes) {
      const sysctl = join(workDir, `${n.name}.ip_forward`);
      await copyForwardingSysctl(n.netns, sysctl);
      children.push(
        startChild(
          `executor-${n.name}`,
          'nftpol-executor',
          [
            ...common,
            `--node-name=${n.name}`,
            `--nft-command=ip netns exec ${n.netns} nft`,
            `--forwarding-sysctl=${sysctl}`,
          ],
          workDir,
        ),
      );
    }
    say(
      `  ${children
        .slice(1)
        .map((c) => `${c.name} (pid ${c.process.pid})`)
        .join(', ')}`,
    );
    await enforced(server, 'the first scripts', children);
    say(
      `  every node enforces its script ${seconds(performance.now() - t0)} after the executors ` +
        `were spawned (mostly Node.js start-up)`,
    );

    step('kubectl get nodefirewalls');
    const columns = readPrinterColumns();
    await printNodeFirewalls(server, columns);

    step(`Who can connect to whom on TCP/${MATRIX_PORT}: the oracle vs real probes`);
    const report1 = await probeCluster(nc, cluster);
    const first = compareMatrix(cluster, report1, MATRIX_PORT);
    printComparison(first, report1);

    step(`Change a policy through the API: ${CHANGE}`);
    const [change] = readManifests([CHANGE]);
    const policy = change!.object as { metadata: { name: string; namespace: string } };
    const hashesBefore = appliedHashes(server);
    const t1 = performance.now();
    const path = `/apis/networking.k8s.io/v1/namespaces/${policy.metadata.namespace}/networkpolicies`;
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(policy),
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    say(`  POST ${path}: ${res.status} (${policy.metadata.namespace}/${policy.metadata.name})`);
    const changed = await enforced(server, 'the policy change', children);
    const took = performance.now() - t1;
    const hashesAfter = appliedHashes(server);
    const moved = [...hashesAfter].filter(([n, h]) => hashesBefore.get(n) !== h).map(([n]) => n);
    const same = [...hashesAfter.keys()].filter((n) => !moved.includes(n));
    say(
      bold(`  every node reports the new hash applied ${seconds(took)} after the write`) +
        ` (new script: ${moved.join(', ') || 'none'}; unchanged: ${same.join(', ') || 'none'})`,
    );
    await printNodeFirewalls(server, columns);
    const report2 = await probeCluster(nc, changed);
    const second = compareMatrix(changed, report2, MATRIX_PORT);
    printComparison(second, report2);
    const cut = second.expected.pods.flatMap((from, i) =>
      second.expected.pods.flatMap((to, j) =>
        first.expected.cells[i]![j] === 'allowed' && second.expected.cells[i]![j] === 'denied'
          ? [[from, to] as const]
          : [],
      ),
    );
    if (cut[0] !== undefined) {
      const [from, to] = cut[0].map((q) => {
        const [namespace = '', name = ''] = q.split('/');
        return { kind: 'pod' as const, namespace, name };
      });
      const explanation = explainQuery(changed, {
        files: [],
        from: from!,
        to: to!,
        port: MATRIX_PORT,
        protocol: 'TCP',
        family: null,
        output: 'text',
      });
      say(`  ${cut.length} pairs cut off; why, for the first (nftpol explain):`);
      for (const line of formatExplanationText(explanation).trimEnd().split('\n'))
        say(`    ${line.trim()}`);
    }

    const shown = nc.nodes[0]!.name;
    step(`The conditions of NodeFirewall ${shown}`);
    const nfw = await getJson<NodeFirewall>(server, `${NFW_PATH}/${shown}`);
    const now = Date.now();
    const conditions: readonly Condition[] = nfw.status?.conditions ?? [];
    const rows = [
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ...conditions.map((c) => [
        c.type,
        c.status,
        c.reason,
        formatAge(c.lastTransitionTime, now),
        c.message.length > 72 ? `${c.message.slice(0, 71)}…` : c.message,
      ]),
    ];
    for (const line of formatTable(rows, '  ')) say(line);

    const behind = nodesBehind(server, clusterInStore(server));
    if (behind.length > 0) say(`  nodes behind at the end: ${behind.join(', ')}`);
    return isAgreement(first, report1) && isAgreement(second, report2) && behind.length === 0;
  } finally {
    await Promise.all(children.map(stopChild));
    await server?.close().catch(() => undefined);
    const namespaces = nc === undefined ? 0 : nc.nodes.length + nc.pods.length + 1;
    await nc?.destroy();
    const left = readdirSync('/run/netns').filter((n) => n.startsWith(`np${RUN_ID}-`));
    step('Clean up');
    say(
      `  stopped ${children.length} processes and the API server; deleted ${namespaces} network ` +
        `namespaces (${left.length} left)`,
    );
  }
}

async function main(): Promise<number> {
  const skip = dataplaneSkipReason();
  if (skip !== null) {
    say(
      `scripts/demo.ts runs the product in network namespaces: ${skip.replace(/^the dataplane tier /, 'it ')}. ` +
        '`make demo` (scripts/demo.sh) shows the offline part without them.',
    );
    return 1;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'nftpol-demo-'));
  const unregister = registerCleanup(() => rmSync(workDir, { recursive: true, force: true }));
  let ok = false;
  try {
    ok = await run(workDir);
  } catch (err) {
    say(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (ok && process.env['NFTPOL_DEMO_KEEP_LOGS'] === undefined) {
    unregister();
    rmSync(workDir, { recursive: true, force: true });
    say(bold('\nmeasured == expected: every probe agrees with the oracle'));
    return 0;
  }
  unregister();
  if (ok) {
    say(bold('\nmeasured == expected: every probe agrees with the oracle') + ` (logs: ${workDir})`);
    return 0;
  }
  say(`\nmeasured != expected (or the demo failed); logs kept in ${workDir}`);
  return 1;
}

// Exit at once: a timed-out wait may still hold a timer.
process.exit(await main());
