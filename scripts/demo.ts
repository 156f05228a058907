/**
 * `make demo`: the whole product on one machine, no cluster needed. An API
 * server — the real kube-apiserver (and etcd) when KUBEBUILDER_ASSETS holds
 * them (the Makefile's default, filled by `make deps`), the embedded one
 * otherwise; the output says which — is loaded with the example cluster
 * (examples/) through its API; every node and pod becomes a network
 * namespace (the dataplane harness, test/support/netns); the real controller
 * and one real executor per node run as child processes against the API
 * server (`--kubeconfig`), each executor loading its node's script into that
 * node's namespace (`ip netns exec <node> nft`). Everything the demo shows
 * is read back through the API (list + watch, test/support/test-api.ts),
 * never from a server's store.
 * Then it shows what an operator would look at: the NodeFirewalls as
 * `kubectl get nodefirewalls` prints them, the connectivity matrix measured
 * by real probes beside the oracle's, a policy change through the API and
 * how long until every node enforces it, and one NodeFirewall's conditions.
 *
 * Exit status: 0 when every probe agrees with the oracle, 1 otherwise (or on
 * any failure). Needs root, ip and nft (scripts/demo.sh falls back to the
 * offline CLI without them). Everything it creates — namespaces, processes,
 * the server (etcd and kube-apiserver, their certificates and data), the
 * temporary directories — goes on exit, on failure and on Ctrl-C
 * (SIGINT/SIGTERM: test/support/netns/lifecycle.ts); only the processes'
 * logs are kept after a failure.
 *
 *   node --import tsx scripts/demo.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
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
import type { Condition } from '../src/k8s/conditions.js';
import { PLURAL, VERSION, type NodeFirewall } from '../src/k8s/nodefirewall.js';
import { clusterFromObjects, type SourcedObject } from '../src/policy/from-k8s.js';
import { qualifiedName, type Cluster } from '../src/policy/model.js';
import { runCommand } from '../test/support/netns/command.js';
import {
  dataplaneSkipReason,
  deleteNetnsQuietly,
  registerCleanup,
  RUN_ID,
} from '../test/support/netns/lifecycle.js';
import { NetnsCluster } from '../test/support/netns/netns-cluster.js';
import { probeCluster, type ProbeReport } from '../test/support/netns/probe.js';
import { controlPlaneAssets } from '../test/support/kube-apiserver.js';
import {
  clusterInView,
  nodesBehind,
  CLUSTER_POLICY_PLURAL,
  ENFORCED_PLURALS,
  waitForEnforced,
} from '../test/support/stack.js';
import {
  collectionPath,
  startTestApi,
  watchResources,
  type ApiObject,
  type ApiView,
  type ServerKind,
  type TestApi,
} from '../test/support/test-api.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = [
  'examples/cluster.yaml',
  'examples/pods.yaml',
  'examples/policies.yaml',
  'examples/cluster-policies.yaml',
];
const CHANGE = 'scripts/demo-change.yaml';
const CRD = 'crds/nodefirewalls.nftpol.io.yaml';
/** The matrix's port: 80 answers on every pod, so every pair is probed. */
const MATRIX_PORT: PortArg = 80;
/**
 * Longest wait for every node to enforce its first script, from spawning the
 * executors: mostly four Node.js processes compiling TypeScript (tsx) at
 * start, which takes 25–30 s on a shared 2-core machine under load.
 */
const START_TIMEOUT_MS = 120_000;
/** Longest wait for the nodes to enforce a change. */
const ENFORCE_TIMEOUT_MS = 60_000;
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

/**
 * Waits until every node enforces the objects on the server, as the view sees
 * them, and `until` holds for them (the view may not yet hold a write just
 * made); rejects when a child dies first.
 */
function enforced(
  view: ApiView,
  what: string,
  children: readonly Child[],
  timeoutMs: number,
  until?: (cluster: Cluster) => boolean,
): Promise<Cluster> {
  return Promise.race([
    waitForEnforced(view, what, {
      timeoutMs,
      ...(until === undefined ? {} : { until }),
    }),
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

/** The NodeFirewalls the view has seen, by name. */
function nodeFirewalls(view: ApiView): NodeFirewall[] {
  return (view.list(PLURAL) as unknown as NodeFirewall[]).sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** `kubectl get nodefirewalls`, from the watch; hashes shortened to 12 hex digits. */
function printNodeFirewalls(view: ApiView, columns: readonly PrinterColumn[]): void {
  const items = nodeFirewalls(view);
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
    ...items.map((nfw) => [nfw.metadata.name, ...columns.map((c) => cell(nfw, c))]),
  ];
  for (const line of formatTable(rows, '  ')) say(line);
}

/** The Applied hash of every NodeFirewall, by node. */
function appliedHashes(view: ApiView): Map<string, string> {
  return new Map(nodeFirewalls(view).map((o) => [o.metadata.name, String(o.status?.appliedHash)]));
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

// ------------------------------------------------------------ the API server

/** Which server the demo runs on: the real one when KUBEBUILDER_ASSETS has it. */
function chooseServer(): {
  readonly kind: ServerKind;
  readonly what: string;
  readonly why: string;
} {
  const assets = controlPlaneAssets();
  return assets.kind === 'found'
    ? {
        kind: 'kube-apiserver',
        what: 'the real kube-apiserver and etcd',
        why: `from KUBEBUILDER_ASSETS=${assets.dir}`,
      }
    : { kind: 'embedded', what: 'the embedded one', why: `no real kube-apiserver: ${assets.why}` };
}

/**
 * Starts the API server with every temporary directory it makes
 * (certificates, etcd's data, kubeconfigs) under `parent`: test-api removes
 * them on stop(), but a Ctrl-C exits before that, and the caller's
 * registered cleanup removes `parent`.
 */
async function startApi(kind: ServerKind, parent: string): Promise<TestApi> {
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = parent; // read by os.tmpdir() on every call
  try {
    // examples/ has ClusterNetworkPolicies: serve them (our test CRD on the
    // real server; network-policy-api's is what a cluster installs).
    return await startTestApi('make demo', {
      server: kind,
      embedded: { bookmarkIntervalMs: 5_000 },
      clusterPolicyCrd: true,
    });
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
}

/** `NetworkPolicy` → `networkpolicies`: the plurals of the kinds in examples/. */
const pluralOf = (kind: string): string => `${kind.toLowerCase().replace(/y$/, 'ie')}s`;

/** Creates `objects` through the API (status through its subresource); counts them by plural. */
async function createObjects(
  api: TestApi,
  objects: readonly SourcedObject[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const count = (object: unknown): void => {
    const { kind, items } = object as { kind?: unknown; items?: unknown };
    if (kind === 'List' && Array.isArray(items)) return items.forEach(count);
    const plural = pluralOf(String(kind));
    counts.set(plural, (counts.get(plural) ?? 0) + 1);
  };
  for (const { object } of objects) {
    await api.create([object]); // a v1 List is unpacked
    count(object);
  }
  return counts;
}

/** This run's network namespaces (`np<run id>-…`) still on the machine. */
function ourNamespaces(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`np${RUN_ID}-`));
  } catch {
    return [];
  }
}

async function run(workDir: string): Promise<boolean> {
  let api: TestApi | undefined;
  let view: ApiView | undefined;
  let nc: NetnsCluster | undefined;
  const children: Child[] = [];
  const apiDir = mkdtempSync(join(tmpdir(), 'nftpol-demo-api-'));
  const unregisterApiDir = registerCleanup(() => rmSync(apiDir, { recursive: true, force: true }));
  // Runs after NetnsCluster's own cleanups (newest first): a Ctrl-C while
  // namespaces are being added comes before the harness registers them.
  const unregisterSweep = registerCleanup(() => ourNamespaces().forEach(deleteNetnsQuietly));
  try {
    const server = chooseServer();
    step(`Start the API server (${server.what}) and load examples/`);
    api = await startApi(server.kind, apiDir);
    const manifests = readManifests(EXAMPLES);
    const loaded = clusterFromObjects(manifests);
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new Error(`examples/: ${errors.map((p) => p.message).join('; ')}`);
    // The controller's Lease lives there; a real server has it already.
    if ((await api.get('namespaces', 'kube-system')) === undefined)
      await api.create([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      ]);
    const created = await createObjects(api, manifests);
    const url = api.kubeConfig.getCurrentCluster()?.server ?? '?';
    say(`  ${api.label} at ${url} (${server.why})`);
    say(`  created ${[...created].map(([plural, n]) => `${n} ${plural}`).join(', ')}`);
    if (created.has(CLUSTER_POLICY_PLURAL))
      say(
        `  ClusterNetworkPolicies served by nftpol's test CRD (test/fixtures/crds/; a cluster ` +
          `installs network-policy-api's), enforced and judged like the rest`,
      );
    // Everything below is read back through this list + watch, as a client sees it
    // (ClusterNetworkPolicies included: clusterInView reads them when watched).
    view = await watchResources(api, [...ENFORCED_PLURALS, CLUSTER_POLICY_PLURAL]);

    // Started first: its Node.js start-up overlaps building the namespaces.
    step('Start the controller (bin/nftpol-controller)');
    const kubeconfig = api.kubeconfigPath;
    const common = [`--kubeconfig=${kubeconfig}`, '--health-port=-1'];
    const controllerOnly = ['--identity=demo', '--history-port=-1'];
    children.push(
      startChild('controller', 'nftpol-controller', [...common, ...controllerOnly], workDir),
    );
    say(`  pid ${children[0]!.process.pid}, kubeconfig ${kubeconfig}`);

    step('Build the nodes and pods as network namespaces');
    nc = await NetnsCluster.create();
    const cluster = clusterInView(view);
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
    await enforced(view, 'the first scripts', children, START_TIMEOUT_MS);
    say(
      `  every node enforces its script ${seconds(performance.now() - t0)} after the executors ` +
        `were spawned (mostly Node.js start-up)`,
    );

    step('kubectl get nodefirewalls');
    const columns = readPrinterColumns();
    printNodeFirewalls(view, columns);

    step(`Who can connect to whom on TCP/${MATRIX_PORT}: the oracle vs real probes`);
    const report1 = await probeCluster(nc, cluster);
    const first = compareMatrix(cluster, report1, MATRIX_PORT);
    printComparison(first, report1);

    step(`Change a policy through the API: ${CHANGE}`);
    const [change] = readManifests([CHANGE]);
    const policy = change!.object as { metadata: { name: string; namespace: string } };
    const hashesBefore = appliedHashes(view);
    const t1 = performance.now();
    const path = collectionPath('networkpolicies', policy.metadata.namespace);
    const written = await api.request<ApiObject>('POST', path, { body: policy });
    say(
      `  POST ${path}: created ${policy.metadata.namespace}/${policy.metadata.name} ` +
        `(resourceVersion ${written.metadata.resourceVersion})`,
    );
    // Enforced for the objects the view holds, once it holds the new policy.
    const changed = await enforced(view, 'the policy change', children, ENFORCE_TIMEOUT_MS, (c) =>
      c.policies.some(
        (p) => p.namespace === policy.metadata.namespace && p.name === policy.metadata.name,
      ),
    );
    const took = performance.now() - t1;
    const hashesAfter = appliedHashes(view);
    const moved = [...hashesAfter].filter(([n, h]) => hashesBefore.get(n) !== h).map(([n]) => n);
    const same = [...hashesAfter.keys()].filter((n) => !moved.includes(n));
    say(
      bold(`  every node reports the new hash applied ${seconds(took)} after the write`) +
        ` (new script: ${moved.join(', ') || 'none'}; unchanged: ${same.join(', ') || 'none'})`,
    );
    printNodeFirewalls(view, columns);
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
    const nfw = view.get(PLURAL, shown) as unknown as NodeFirewall;
    const now = Date.now();
    const conditions: readonly Condition[] = nfw?.status?.conditions ?? [];
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

    const behind = nodesBehind(view, clusterInView(view));
    if (behind.length > 0) say(`  nodes behind at the end: ${behind.join(', ')}`);
    return isAgreement(first, report1) && isAgreement(second, report2) && behind.length === 0;
  } finally {
    await Promise.all(children.map(stopChild));
    view?.stop();
    await api?.stop().catch(() => undefined);
    rmSync(apiDir, { recursive: true, force: true });
    unregisterApiDir();
    const namespaces = nc === undefined ? 0 : nc.nodes.length + nc.pods.length + 1;
    await nc?.destroy();
    const left = ourNamespaces();
    unregisterSweep();
    step('Clean up');
    const server =
      api === undefined
        ? 'no API server'
        : api.kind === 'kube-apiserver'
          ? 'the API server (kube-apiserver and etcd, their data removed)'
          : 'the API server';
    say(
      `  stopped ${children.length} processes and ${server}; deleted ${namespaces} network ` +
        `namespaces (${left.length} left)` +
        (existsSync(apiDir) ? `; ${apiDir} left` : ''),
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
