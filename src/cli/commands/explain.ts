/**
 * `nftpol explain`: asks the oracle about one connection and says why. The
 * oracle speaks addresses and port numbers, as the kernel does; this file is
 * the translation from what a person types — `shop/frontend`, `http` — to
 * those, with the rules of choice spelled out: which of a dual-stack pod's
 * addresses, and which container port a name means on the destination pod.
 * matrix.ts reuses the same rules so that both commands agree on every pair.
 */
import { explainConnection } from '../../policy/explain.js';
import { canonicalIp, isIp, parseIp } from '../../policy/cidr.js';
import type { Cluster, Family, Pod, Protocol } from '../../policy/model.js';
import { isEnforceable, qualifiedName } from '../../policy/model.js';
import { compareIpClaims } from '../../policy/shared-ips.js';
import { resolvePortSpec } from '../../policy/ports.js';
import type { Connection, Verdict } from '../../policy/verdict.js';
import type { CliEnv, Command, FlagValues, Invocation, OutputFormat, PortArg } from '../command.js';
import {
  FILE_FLAG,
  OUTPUT_FLAG,
  PROTOCOL_FLAG,
  readFamily,
  readFiles,
  readOutput,
  readPortAndProtocol,
  readString,
} from '../command.js';
import { InputError, UsageError } from '../errors.js';
import { decidingSetsOf, formatLiveSets, liveSetChecksOf, liveSetsJson } from '../explain-sets.js';
import { formatExplanationJson, formatExplanationText } from '../format.js';
import type { NodeFirewallObject } from '../status-report.js';
import {
  CONNECTION_FLAGS,
  readAddressSets,
  readConnection,
  readNodeFirewalls,
  type ApiConnection,
} from './status.js';

/** One end of the connection as typed: a pod reference or an address. */
export type Endpoint =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'ip'; readonly ip: string };

/** A validated `explain` command line. */
export interface ExplainOptions {
  readonly files: readonly string[];
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: PortArg;
  readonly protocol: Protocol;
  /** null: IPv4 when both ends have it, else IPv6. */
  readonly family: Family | null;
  readonly output: OutputFormat;
  /** Where to read live counters (`--kubeconfig`, `--server`…); null: offline only. */
  readonly live?: ApiConnection | null;
}

/** One end after resolution. */
export interface ResolvedEndpoint {
  /** What was typed (`ns/pod` or the address as given). */
  readonly input: string;
  /**
   * `namespace/name` of the pod named on the command line, or of the
   * enforceable pod holding the address typed; null otherwise.
   */
  readonly pod: string | null;
  /** The node whose InternalIP this is, or null. */
  readonly node: string | null;
  /** The address used. */
  readonly ip: string;
}

/** The oracle's verdict with the names it was asked about. */
export interface Explanation {
  readonly verdict: Verdict;
  readonly from: ResolvedEndpoint;
  readonly to: ResolvedEndpoint;
  /** The port name typed, or null for a number. */
  readonly portName: string | null;
  readonly family: Family;
}

const HELP = `Usage: nftpol explain -f PATH... --from NS/POD|IP --to NS/POD|IP --port N|NAME
                      [--protocol TCP|UDP|SCTP] [--family ip|ip6] [-o text|json]

Ask whether a new connection is allowed by the NetworkPolicies and
ClusterNetworkPolicies in the input, and which policy and rule decide it, for
the egress of the source and the ingress of the destination. Evaluated from
the NetworkPolicy and ClusterNetworkPolicy specifications, tier by tier: the
Admin tier, then NetworkPolicy, then the Baseline tier, then allow.

A pod reference picks the pod's address; for dual-stack pods --family chooses
(default: IPv4 when both ends have an IPv4 address, else IPv6). A named port
(--port http) resolves against the destination pod's container ports for the
protocol; if it resolves nowhere, that is an error (exit 1).

Options:
  -f, --file PATH         YAML file or directory; repeatable
      --from NS/POD|IP    source pod or address
      --to NS/POD|IP      destination pod or address
      --port N|NAME       destination port number or name (also N/PROTOCOL)
      --protocol PROTO    TCP (default), UDP or SCTP
      --family ip|ip6     address family for pod references
      --kubeconfig PATH   also show live packet counts for both pods' chains,
                          from their nodes' NodeFirewall status.counters, and
                          whether the other end is a member of the AddressSets
                          of the deciding rules' peers (read-only)
      --context NAME      context within the kubeconfig
      --server URL        like --kubeconfig, with an API server URL
      --token TOKEN       bearer token sent to --server
  -o, --output FORMAT     text (default) or json
  -h, --help              show this help

Exit status: 0 when answered (allowed or denied); 1 invalid input; 2 usage error.
`;

/** Parses `--from`/`--to`. @throws UsageError */
export function parseEndpoint(text: string, flag: string): Endpoint {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const namespace = text.slice(0, slash);
    const name = text.slice(slash + 1);
    if (namespace === '' || name === '' || name.includes('/')) {
      throw new UsageError(`${flag}: expected NAMESPACE/POD or an IP address, got "${text}"`);
    }
    return { kind: 'pod', namespace, name };
  }
  if (isIp(text)) return { kind: 'ip', ip: canonicalIp(text) };
  throw new UsageError(`${flag}: expected NAMESPACE/POD or an IP address, got "${text}"`);
}

/** Parses `explain` flags. @throws UsageError */
export function parseExplainArgs(values: FlagValues): ExplainOptions {
  const files = readFiles(values);
  const from = readString(values, 'from');
  const to = readString(values, 'to');
  if (from === undefined) throw new UsageError('--from NS/POD|IP is required');
  if (to === undefined) throw new UsageError('--to NS/POD|IP is required');
  const { port, protocol } = readPortAndProtocol(values, null);
  return {
    files,
    from: parseEndpoint(from, '--from'),
    to: parseEndpoint(to, '--to'),
    port,
    protocol,
    family: readFamily(values),
    output: readOutput(values),
    live: readConnection(values),
  };
}

/** The family of an address. */
export function familyOf(ip: string): Family {
  return parseIp(ip).family;
}

/**
 * The family to use between two sets of addresses: `wanted` if both have it;
 * otherwise IPv4 when both have it, else IPv6; null when they share none.
 */
export function pickFamily(
  from: readonly string[],
  to: readonly string[],
  wanted: Family | null,
): Family | null {
  const common = (f: Family): boolean =>
    from.some((ip) => familyOf(ip) === f) && to.some((ip) => familyOf(ip) === f);
  if (wanted !== null) return common(wanted) ? wanted : null;
  if (common('ip')) return 'ip';
  return common('ip6') ? 'ip6' : null;
}

/** The first address of `family` among `ips`. */
export function addressOf(ips: readonly string[], family: Family): string | undefined {
  return ips.find((ip) => familyOf(ip) === family);
}

/**
 * The destination port number `port` means on `pod`: a number is itself, a
 * name is the pod's container port of that name and protocol; null when the
 * name resolves nowhere (or there is no pod to resolve it on).
 */
export function resolveDestinationPort(
  port: PortArg,
  protocol: Protocol,
  pod: Pod | null,
): number | null {
  if (typeof port === 'number') return port;
  return resolvePortSpec({ protocol, port }, pod)?.first ?? null;
}

/**
 * The enforceable pod holding `ip`, or null. A hostNetwork pod shares its
 * node's address with others and policies never select it, so it is not
 * "the pod at" that address.
 */
export function findPodByIp(cluster: Cluster, ip: string): Pod | null {
  // Of several pods claiming the IP, the one it is enforced for (shared-ips.ts).
  const claimants = cluster.pods.filter((p) => isEnforceable(p) && p.ips.includes(ip));
  return claimants.sort(compareIpClaims)[0] ?? null;
}

/** The node with `ip` among its addresses, or null. */
export function findNodeByIp(cluster: Cluster, ip: string): string | null {
  return cluster.nodes.find((n) => n.addresses.some((a) => sameIp(a, ip)))?.name ?? null;
}

function sameIp(a: string, b: string): boolean {
  return isIp(a) && canonicalIp(a) === b;
}

function findPod(cluster: Cluster, ref: { namespace: string; name: string }): Pod {
  const found = cluster.pods.find((p) => p.namespace === ref.namespace && p.name === ref.name);
  if (found === undefined) throw new InputError(`no pod ${ref.namespace}/${ref.name} in the input`);
  if (found.phase === 'Succeeded' || found.phase === 'Failed') {
    throw new InputError(
      `pod ${qualifiedName(found)} is ${found.phase}: policies no longer apply to it and its address may belong to another pod; ask by address instead`,
    );
  }
  if (found.ips.length === 0) {
    throw new InputError(`pod ${qualifiedName(found)} has no IP address (status.podIPs is empty)`);
  }
  return found;
}

function endpointText(e: Endpoint): string {
  return e.kind === 'pod' ? `${e.namespace}/${e.name}` : e.ip;
}

function familyName(f: Family): string {
  return f === 'ip' ? 'IPv4' : 'IPv6';
}

/**
 * Resolves the typed endpoints and port to a Connection and asks the oracle.
 * @throws InputError when a pod is missing or has no address of a common
 * family, or a named port resolves nowhere.
 */
export function explainQuery(cluster: Cluster, options: ExplainOptions): Explanation {
  const fromPod = options.from.kind === 'pod' ? findPod(cluster, options.from) : null;
  const toPod = options.to.kind === 'pod' ? findPod(cluster, options.to) : null;
  const fromIps = fromPod?.ips ?? [options.from.kind === 'ip' ? options.from.ip : ''];
  const toIps = toPod?.ips ?? [options.to.kind === 'ip' ? options.to.ip : ''];
  const family = pickFamily(fromIps, toIps, options.family);
  if (family === null) {
    const describe = (e: Endpoint, ips: readonly string[]): string =>
      `${endpointText(e)} has ${ips.map((ip) => `${familyName(familyOf(ip))} ${ip}`).join(', ')}`;
    const wanted =
      options.family === null
        ? 'no common address family'
        : `not both ends have an ${familyName(options.family)} address`;
    throw new InputError(
      `${wanted}: ${describe(options.from, fromIps)}; ${describe(options.to, toIps)}`,
    );
  }
  const fromIp = addressOf(fromIps, family) ?? '';
  const toIp = addressOf(toIps, family) ?? '';
  const destination = toPod ?? findPodByIp(cluster, toIp);
  const port = resolveDestinationPort(options.port, options.protocol, destination);
  if (port === null) throw new InputError(unresolvedPortMessage(options, destination, toIp));
  const connection: Connection = {
    from: fromIp,
    to: toIp,
    protocol: options.protocol,
    port,
    // Named so that, on an IP other pods share too, the answer is about this one.
    ...(fromPod ? { fromPod: qualifiedName(fromPod) } : {}),
    ...(toPod ? { toPod: qualifiedName(toPod) } : {}),
  };
  const verdict = explainConnection(cluster, connection);
  const sourcePod = fromPod ?? findPodByIp(cluster, fromIp);
  return {
    verdict,
    from: {
      input: endpointText(options.from),
      pod: sourcePod ? qualifiedName(sourcePod) : null,
      node: findNodeByIp(cluster, fromIp),
      ip: fromIp,
    },
    to: {
      input: endpointText(options.to),
      pod: destination ? qualifiedName(destination) : null,
      node: findNodeByIp(cluster, toIp),
      ip: toIp,
    },
    portName: typeof options.port === 'string' ? options.port : null,
    family,
  };
}

function unresolvedPortMessage(options: ExplainOptions, pod: Pod | null, ip: string): string {
  const what = `named port "${String(options.port)}" (${options.protocol}) resolves nowhere`;
  if (pod === null) {
    return `${what}: ${ip} is not the address of a pod that policies select, so it has no container ports to name`;
  }
  const declared = pod.ports.map((p) => `${p.name} ${p.containerPort}/${p.protocol}`);
  const list = declared.length === 0 ? 'none' : declared.join(', ');
  return `${what}: pod ${qualifiedName(pod)} declares no ${options.protocol} container port of that name (its named ports: ${list})`;
}

/** Live packet counts of one side's pod chain, from its node's NodeFirewall status. */
export interface LiveCount {
  /** `namespace/name`. */
  readonly pod: string;
  readonly direction: 'ingress' | 'egress';
  /** The pod's node, or null when the input does not say. */
  readonly node: string | null;
  /**
   * Packets accepted by the chain (NetworkPolicy allow lines, Admin and
   * Baseline Accept lines, the default allow at the end of a chain no
   * NetworkPolicy isolates), or null when not reported (yet).
   */
  readonly allowedPackets: number | null;
  /**
   * Packets dropped by the chain (Admin and Baseline Deny lines, the drop at
   * the end of an isolated chain), or null when not reported (yet).
   */
  readonly deniedPackets: number | null;
}

/**
 * The counts for the sides that have a pod chain: the source's egress and
 * the destination's ingress, when a NetworkPolicy isolates the pod in that
 * direction or ClusterNetworkPolicy rules apply to it (`clusterPolicies`;
 * their lines make a chain though no NetworkPolicy isolates it). Read from
 * the counters the executor of each pod's node reports (per pod and
 * direction, not per rule).
 */
export function liveCountsFor(
  cluster: Cluster,
  explanation: Explanation,
  nodeFirewalls: readonly NodeFirewallObject[],
): LiveCount[] {
  const sides = [explanation.verdict.egress, explanation.verdict.ingress];
  return sides.flatMap((side) => {
    if (side.pod === null) return [];
    if (!side.isolated && side.clusterPolicies.length === 0) return [];
    // A shared IP's packets are counted by the chain of the pod it is enforced for.
    const chainPod = side.sharedIp?.enforced ?? side.pod;
    const pod = cluster.pods.find((p) => qualifiedName(p) === chainPod);
    const node = pod?.nodeName ?? null;
    const nf = nodeFirewalls.find((n) => n.metadata?.name === node);
    const counts = nf?.status?.counters?.[chainPod] as Partial<Record<string, unknown>> | undefined;
    const read = (key: string): number | null =>
      typeof counts?.[key] === 'number' ? counts[key] : null;
    return [
      {
        pod: chainPod,
        direction: side.direction,
        node,
        allowedPackets: read(`${side.direction}Allowed`),
        deniedPackets: read(`${side.direction}Denied`),
      },
    ];
  });
}

/** The live counts as text lines after explain's answer. */
export function formatLiveCounts(counts: readonly LiveCount[]): string {
  if (counts.length === 0) {
    return "live counts: no pod chain counts this connection (no NetworkPolicy isolates the source's egress or the destination's ingress, and no ClusterNetworkPolicy applies to them)\n";
  }
  const lines = counts.map((c) => {
    const where = c.node === null ? '' : ` (node ${c.node})`;
    if (c.allowedPackets === null && c.deniedPackets === null) {
      return `  ${c.pod} ${c.direction}: no counters reported yet${where}`;
    }
    return [
      `  denied packets on ${c.pod} ${c.direction}: ${c.deniedPackets ?? '-'}${where}`,
      `  allowed packets on ${c.pod} ${c.direction}: ${c.allowedPackets ?? '-'}${where}`,
    ].join('\n');
  });
  return `live counts (NodeFirewall status.counters, since each script was loaded):\n${lines.join('\n')}\n`;
}

/**
 * Runs `explain` on a loaded cluster; returns stdout. With a connection, adds
 * the live counters and the live membership of the deciding sets
 * (explain-sets.ts; `live` and `liveSets` in JSON). `env` serves that API
 * connection (`$KUBECONFIG`…; no environment by default).
 * @throws InputError
 */
export async function runExplain(
  cluster: Cluster,
  options: ExplainOptions,
  env: CliEnv = {},
): Promise<string> {
  const explanation = explainQuery(cluster, options);
  const text =
    options.output === 'json'
      ? formatExplanationJson(explanation)
      : formatExplanationText(explanation);
  if (options.live === undefined || options.live === null) return text;
  const live = liveCountsFor(cluster, explanation, await readNodeFirewalls(options.live, env));
  const deciding = decidingSetsOf(cluster, explanation);
  const ids = [...new Set(deciding.map((d) => d.setId))];
  const sets = await readAddressSets(options.live, env, ids);
  const checks = liveSetChecksOf(deciding, sets);
  if (options.output === 'json') {
    const json = JSON.parse(text) as Record<string, unknown>;
    return `${JSON.stringify({ ...json, live, liveSets: liveSetsJson(checks, sets) }, null, 2)}\n`;
  }
  return text + formatLiveCounts(live) + formatLiveSets(checks, sets);
}

/** The `explain` subcommand. */
export const explainCommand: Command = {
  name: 'explain',
  summary: 'say whether one connection is allowed, and by which policy and rule',
  help: HELP,
  flags: {
    ...FILE_FLAG,
    ...OUTPUT_FLAG,
    ...PROTOCOL_FLAG,
    ...CONNECTION_FLAGS,
    from: { type: 'string' },
    to: { type: 'string' },
    port: { type: 'string' },
    family: { type: 'string' },
  },
  prepare(values: FlagValues, _positionals, context): Invocation {
    const options = parseExplainArgs(values);
    return { files: options.files, run: (cluster) => runExplain(cluster, options, context.env) };
  },
};
