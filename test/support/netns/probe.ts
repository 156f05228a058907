/**
 * Probing a netns cluster and comparing every verdict with the oracle. For a
 * Cluster applied to a NetnsCluster, every ordered pair of pod slots, every
 * host to every pod, and every pod to every host is probed on each port of
 * the destination, TCP and UDP, per address family; each outcome is compared
 * with `explainConnection`. A timeout means dropped, an answer means allowed;
 * a refusal or an answer from the wrong namespace is a harness bug, reported
 * as such. Each probe uses its own source port, so no conntrack entry left by
 * an earlier probe or case decides a later one.
 */
import { explainerFor } from '../../../src/policy/explain.js';
import { isEnforceable, qualifiedName } from '../../../src/policy/model.js';
import type { Cluster, Pod } from '../../../src/policy/model.js';
import type { Verdict } from '../../../src/policy/verdict.js';
import type { ProbeResult, ProbeSpec } from './agent.js';
import type { Agent } from './agent-client.js';
import { DEFAULT_PORTS, type NetnsCluster } from './netns-cluster.js';

/** One end of a probe: a pod (slot), a slot no pod of the Cluster uses, or a host. */
export interface Endpoint {
  /** `ns/pod`, `~p3` (a slot the Cluster does not use: an external address), or `host/n1`. */
  readonly label: string;
  readonly kind: 'pod' | 'unused' | 'host';
  readonly node: string;
  readonly ips: readonly string[];
  readonly agent: Agent;
  /** Ports probed when this endpoint is the destination. */
  readonly ports: readonly number[];
}

export interface ProbeRecord {
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly spec: ProbeSpec;
  readonly expected: boolean;
  readonly verdict: Verdict;
  readonly result: ProbeResult;
}

export interface ProbeReport {
  readonly records: readonly ProbeRecord[];
  /** Verdicts the kernel and the oracle disagree on. */
  readonly mismatches: readonly ProbeRecord[];
  /** Refusals, errors, answers from the wrong namespace: the harness is wrong, not the policy. */
  readonly harnessErrors: readonly ProbeRecord[];
  /** Probes that timed out against an "allowed" oracle and were tried again with a long timeout. */
  readonly retried: number;
  /** Of those, how many answered the second time (a loaded machine, not a policy). */
  readonly recoveredOnRetry: number;
  readonly durationMs: number;
}

export interface ProbeOptions {
  /**
   * Milliseconds without an answer that count as dropped.
   * @default NFTPOL_PROBE_TIMEOUT_MS or 400
   */
  readonly timeoutMs?: number;
  /**
   * Probes in flight per source namespace.
   * @default 32
   */
  readonly concurrency?: number;
  /** More destination ports to probe on every pod slot (they are listened on first). */
  readonly extraPorts?: readonly number[];
  /**
   * Also probe host → pod and pod → host.
   * @default true
   */
  readonly hosts?: boolean;
}

const PROTOCOLS: readonly ProbeSpec['protocol'][] = ['TCP', 'UDP'];
/** The timeout of the second try of a probe the oracle says should pass. */
const RETRY_TIMEOUT_MS = 2000;
const FIRST_SPORT = 10_000;
const LAST_SPORT = 32_000;
const nextSport = new WeakMap<Agent, number>();

/** A fresh source port for `agent`, below the ephemeral range, cycling. */
function allocateSport(agent: Agent): number {
  const port = nextSport.get(agent) ?? FIRST_SPORT;
  nextSport.set(agent, port >= LAST_SPORT ? FIRST_SPORT : port + 1);
  return port;
}

const isV6 = (ip: string): boolean => ip.includes(':');

/** The endpoints of `cluster` as realized in `nc`, pods first, then unused slots, then hosts. */
export function listEndpoints(
  nc: NetnsCluster,
  cluster: Cluster,
  extraPorts: readonly number[] = [],
): Endpoint[] {
  const podBySlot = new Map<string, Pod>();
  for (const p of cluster.pods.filter(isEnforceable)) {
    const slot = nc.slotOf(p);
    if (slot) podBySlot.set(slot.netns, p);
  }
  const slots = nc.pods.map((slot) => {
    const p = podBySlot.get(slot.netns);
    const ports = new Set([
      ...DEFAULT_PORTS,
      ...extraPorts,
      ...(p?.ports.map((c) => c.containerPort) ?? []),
    ]);
    return {
      label: p ? qualifiedName(p) : `~${slot.netns.slice(slot.netns.indexOf('-') + 1)}`,
      kind: p ? ('pod' as const) : ('unused' as const),
      node: slot.node,
      ips: slot.ips,
      agent: slot.agent,
      ports: [...ports].sort((a, b) => a - b),
    };
  });
  const hosts = nc.nodes.map((n) => ({
    label: `host/${n.name}`,
    kind: 'host' as const,
    node: n.name,
    ips: n.addresses,
    agent: n.agent,
    ports: DEFAULT_PORTS,
  }));
  return [
    ...slots.filter((s) => s.kind === 'pod'),
    ...slots.filter((s) => s.kind === 'unused'),
    ...hosts,
  ];
}

/**
 * Probe every pair (see the file header) and compare with the oracle.
 * Does not assert: see {@link assertMatchesOracle}.
 */
export async function probeCluster(
  nc: NetnsCluster,
  cluster: Cluster,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? (Number(process.env['NFTPOL_PROBE_TIMEOUT_MS']) || 400);
  const concurrency = options.concurrency ?? 32;
  const extraPorts = options.extraPorts ?? [];
  if (extraPorts.length > 0) await Promise.all(nc.pods.map((s) => s.agent.listen(extraPorts)));
  const endpoints = listEndpoints(nc, cluster, extraPorts);
  const explain = explainerFor(cluster);

  const planned: { source: Endpoint; destination: Endpoint; spec: ProbeSpec }[] = [];
  for (const source of endpoints)
    for (const destination of endpoints) {
      if (source === destination) continue;
      if (source.kind === 'host' && destination.kind === 'host') continue;
      if (options.hosts === false && (source.kind === 'host' || destination.kind === 'host'))
        continue;
      for (const from of source.ips)
        for (const to of destination.ips.filter((ip) => isV6(ip) === isV6(from)))
          for (const port of destination.ports)
            for (const protocol of PROTOCOLS)
              planned.push({
                source,
                destination,
                spec: { protocol, from, to, port, sport: allocateSport(source.agent) },
              });
    }

  const results = await runBySource(planned, timeoutMs, concurrency);
  let records: ProbeRecord[] = planned.map((p, i) => {
    const verdict = explain({
      from: p.spec.from,
      to: p.spec.to,
      protocol: p.spec.protocol,
      port: p.spec.port,
    });
    return { ...p, verdict, expected: verdict.allowed, result: results[i]! };
  });

  // A probe the oracle allows that timed out is tried once more, slowly: a
  // busy 2-core machine can miss a short deadline; a drop never answers.
  const retryIdx = records.flatMap((r, i) =>
    r.expected && r.result.outcome === 'timeout' ? [i] : [],
  );
  const retryPlan = retryIdx.map((i) => {
    const r = records[i]!;
    return { ...r, spec: { ...r.spec, sport: allocateSport(r.source.agent) } };
  });
  const retryResults = await runBySource(retryPlan, RETRY_TIMEOUT_MS, 4);
  let recoveredOnRetry = 0;
  records = records.map((r, i) => {
    const k = retryIdx.indexOf(i);
    if (k < 0) return r;
    const result = retryResults[k]!;
    if (result.outcome === 'open') recoveredOnRetry++;
    return { ...r, spec: retryPlan[k]!.spec, result };
  });

  const harnessErrors = records.filter(
    (r) =>
      r.result.outcome === 'refused' ||
      r.result.outcome === 'error' ||
      (r.result.answeredBy !== undefined && r.result.answeredBy !== r.destination.agent.name),
  );
  const mismatches = records.filter(
    (r) => !harnessErrors.includes(r) && r.expected !== (r.result.outcome === 'open'),
  );
  return {
    records,
    mismatches,
    harnessErrors,
    retried: retryIdx.length,
    recoveredOnRetry,
    durationMs: Math.round(performance.now() - started),
  };
}

async function runBySource(
  planned: readonly { source: Endpoint; spec: ProbeSpec }[],
  timeoutMs: number,
  concurrency: number,
): Promise<ProbeResult[]> {
  const bySource = new Map<Agent, number[]>();
  planned.forEach((p, i) => {
    const list = bySource.get(p.source.agent) ?? [];
    list.push(i);
    bySource.set(p.source.agent, list);
  });
  const results: ProbeResult[] = new Array<ProbeResult>(planned.length);
  await Promise.all(
    [...bySource].map(async ([agent, idx]) => {
      const out = await agent.probe(
        idx.map((i) => planned[i]!.spec),
        timeoutMs,
        concurrency,
      );
      idx.forEach((i, k) => (results[i] = out[k]!));
    }),
  );
  return results;
}

/** `80/TCP`. */
function portLabel(r: ProbeRecord): string {
  return `${r.spec.port}/${r.spec.protocol}`;
}

function describeRecord(r: ProbeRecord): string {
  const side = (s: Verdict['egress']): string => `${s.direction} ${s.pod ?? '-'}: ${s.reason}`;
  return (
    `${r.source.label} (${r.spec.from}) → ${r.destination.label} (${r.spec.to}) ${portLabel(r)}: ` +
    `oracle ${r.expected ? 'allow' : 'deny'} [${side(r.verdict.egress)}; ${side(r.verdict.ingress)}], ` +
    `kernel ${r.result.outcome}${r.result.answeredBy ? ` from ${r.result.answeredBy}` : ''}` +
    `${r.result.detail ? ` (${r.result.detail})` : ''} after ${r.result.ms} ms`
  );
}

/**
 * The expected-vs-observed grid: one line per source, destination and family,
 * one cell per port and protocol: `A` allowed (as expected), `.` denied (as
 * expected), `X` allowed by the kernel but denied by the oracle, `!` denied by
 * the kernel but allowed by the oracle, `?` a harness error.
 */
export function formatGrid(report: ProbeReport): string {
  const rows = new Map<string, ProbeRecord[]>();
  for (const r of report.records) {
    const key = `${r.source.label} → ${r.destination.label} ${isV6(r.spec.from) ? 'v6' : 'v4'}`;
    rows.set(key, [...(rows.get(key) ?? []), r]);
  }
  const width = Math.max(...[...rows.keys()].map((k) => k.length));
  const lines = [
    'legend: A allowed, . denied, X kernel allowed/oracle denied, ! kernel denied/oracle allowed, ? harness error',
  ];
  for (const [key, recs] of rows) {
    const cells = recs.map((r) => {
      const open = r.result.outcome === 'open';
      const mark = report.harnessErrors.includes(r)
        ? '?'
        : open === r.expected
          ? open
            ? 'A'
            : '.'
          : open
            ? 'X'
            : '!';
      return `${portLabel(r)}=${mark}`;
    });
    lines.push(`${key.padEnd(width)}  ${cells.join(' ')}`);
  }
  return lines.join('\n');
}

/** A summary line: probes, mismatches, harness errors, retries, time. */
export function summarizeReport(report: ProbeReport): string {
  return (
    `${report.records.length} probes, ${report.mismatches.length} mismatches, ` +
    `${report.harnessErrors.length} harness errors, ${report.retried} retried ` +
    `(${report.recoveredOnRetry} answered on retry), ${report.durationMs} ms`
  );
}

/**
 * @throws Error with the full grid, every disagreement and the oracle's
 *   explanation of the first, when the kernel disagrees with the oracle or the
 *   harness misbehaved.
 */
export function assertMatchesOracle(report: ProbeReport): void {
  if (report.mismatches.length === 0 && report.harnessErrors.length === 0) return;
  const first = report.harnessErrors[0] ?? report.mismatches[0]!;
  throw new Error(
    [
      summarizeReport(report),
      ...(report.harnessErrors.length > 0
        ? ['harness errors (refused/error/wrong answerer: a harness bug, not a policy verdict):']
        : []),
      ...report.harnessErrors.map((r) => `  ${describeRecord(r)}`),
      ...(report.mismatches.length > 0 ? ['kernel vs oracle:'] : []),
      ...report.mismatches.map((r) => `  ${describeRecord(r)}`),
      formatGrid(report),
      `oracle's explanation of the first: ${JSON.stringify(first.verdict, null, 2)}`,
    ].join('\n'),
  );
}
