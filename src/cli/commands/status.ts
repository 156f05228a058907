/**
 * `nftpol status`: is my policy in force yet, and where? Reads the
 * NodeFirewalls, NetworkPolicies and ClusterNetworkPolicies from the API
 * (read-only: three list calls; the last one's 404 — no CRD — or 403 is
 * reported in one line, not fatal) and prints, per policy, the nodes that
 * must enforce it, those that do, since when, and those failing with their
 * reasons; `nftpol status nodes`
 * prints each node's conditions at a glance, with the shared sets its rules
 * name that have no AddressSet slice (a third list call, whose refusal is
 * reported, not fatal). The computation is src/cli/status-report.ts; this
 * file is the API access and the flags, which `explain --kubeconfig|--server`
 * reuses to read live counters and set members.
 */
import type { makeApiClients } from '../../k8s/client.js';
import { ADDRESS_SET_PLURAL, SET_LABEL } from '../../k8s/addressset.js';
import { CNP_GROUP, CNP_PLURAL, CNP_VERSION } from '../../k8s/cluster-network-policy.js';
import { GROUP, PLURAL, VERSION } from '../../k8s/nodefirewall.js';
import type {
  CliEnv,
  Command,
  FlagConfig,
  FlagValues,
  Invocation,
  OutputFormat,
} from '../command.js';
import { OUTPUT_FLAG, readOutput, readString } from '../command.js';
import { errorText, statusCode } from '../../k8s/errors.js';
import { InputError, UsageError } from '../errors.js';
import type { AddressSetObject, LiveSets } from '../live-sets.js';
import {
  formatNodeStatusText,
  formatPolicyStatusText,
  formatStatusJson,
} from '../status-format.js';
import {
  addressSetsReadOf,
  CLUSTER_POLICY_PREFIX,
  clusterPoliciesReadOf,
  clusterPolicyStatusOf,
  isClusterPolicyKey,
  nodeStatusOf,
  policyStatusOf,
  type ClusterPolicyObject,
  type LiveClusterPolicies,
  type NodeFirewallObject,
  type PolicyObject,
} from '../status-report.js';

/** `--kubeconfig PATH`, `--context NAME`, `--server URL` (plain http allowed), `--token T`. */
export const CONNECTION_FLAGS: FlagConfig = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
};

/** Where to reach the API, as typed. */
export interface ApiConnection {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly server?: string;
  readonly token?: string;
}

/** The connection flags; null when none was given. */
export function readConnection(values: FlagValues): ApiConnection | null {
  const c: Record<string, string> = {};
  for (const key of ['kubeconfig', 'context', 'server', 'token'] as const) {
    const v = readString(values, key);
    if (v === '') throw new UsageError(`--${key}: empty value`);
    if (v !== undefined) c[key] = v;
  }
  return Object.keys(c).length === 0 ? null : c;
}

/** What the cluster says, as plain JSON. */
export interface LiveState {
  readonly nodeFirewalls: readonly NodeFirewallObject[];
  /** The NetworkPolicies; empty when not asked for. */
  readonly policies: readonly PolicyObject[];
  /** The ClusterNetworkPolicies, or why not; null when not asked for. */
  readonly clusterPolicies: LiveClusterPolicies | null;
}

async function apiFor(
  connection: ApiConnection | null,
  env: CliEnv,
): Promise<ReturnType<typeof makeApiClients>> {
  // Loaded on first use: @kubernetes/client-node costs ~1 s of CPU and ~90 MB
  // to load, which the offline commands (render, explain, matrix) never need.
  const { chooseKubeConfigSource, loadKubeConfig, makeApiClients } =
    await import('../../k8s/client.js');
  try {
    const source = chooseKubeConfigSource(connection ?? {}, {
      KUBECONFIG: env['KUBECONFIG'],
      KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'],
    });
    return makeApiClients(loadKubeConfig(source));
  } catch (err) {
    throw new InputError(`cannot load kubeconfig: ${errorText(err)}`);
  }
}

/** A plain-JSON copy (client-node returns class instances with Dates). */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value ?? null)) as T;
}

/**
 * Lists every NodeFirewall; `env` supplies `$KUBECONFIG` and in-cluster
 * detection when no flag names the server. @throws InputError when the API
 * cannot be reached or refuses (the message says which call).
 */
export async function readNodeFirewalls(
  connection: ApiConnection | null,
  env: CliEnv,
): Promise<readonly NodeFirewallObject[]> {
  const api = await apiFor(connection, env);
  try {
    const list: unknown = await api.custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
    });
    return plain<{ items?: NodeFirewallObject[] }>(list).items ?? [];
  } catch (err) {
    throw new InputError(`cannot list NodeFirewalls: ${errorText(err)}`);
  }
}

/**
 * Up to this many set ids are listed through one `nftpol.io/set in (…)`
 * selector; beyond it (a pod denied by thousands of policies) every slice is
 * listed, to keep the URL short.
 */
export const SELECTED_SETS_MAX = 100;

/**
 * Lists the AddressSet slices: all of them, or, given `setIds`, those of
 * these sets (one `nftpol.io/set in (…)` selector, or every slice past
 * {@link SELECTED_SETS_MAX} ids; no call for none). A refusal (403: RBAC
 * like the executor's, without AddressSets) or a missing CRD (404) comes
 * back as `unreadable`, for the caller to report in one line and carry on.
 * @throws InputError for any other failure.
 */
export async function readAddressSets(
  connection: ApiConnection | null,
  env: CliEnv,
  setIds?: readonly string[],
): Promise<LiveSets> {
  if (setIds !== undefined && setIds.length === 0) return { kind: 'listed', slices: [] };
  const api = await apiFor(connection, env);
  try {
    const list: unknown = await api.custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: ADDRESS_SET_PLURAL,
      ...(setIds === undefined || setIds.length > SELECTED_SETS_MAX
        ? {}
        : { labelSelector: `${SET_LABEL} in (${setIds.join(',')})` }),
    });
    return { kind: 'listed', slices: plain<{ items?: AddressSetObject[] }>(list).items ?? [] };
  } catch (err) {
    const code = statusCode(err);
    if (code === 403) return { kind: 'unreadable', why: errorText(err) };
    if (code === 404) {
      return { kind: 'unreadable', why: 'the AddressSet CRD is not installed (404)' };
    }
    throw new InputError(`cannot list AddressSets: ${errorText(err)}`);
  }
}

/**
 * Lists the ClusterNetworkPolicies (one call). A missing CRD (404: the
 * cluster does not serve policy.networking.k8s.io/v1alpha2) or a refusal
 * (403) comes back as `unreadable`, for the caller to report in one line
 * and carry on. @throws InputError for any other failure.
 */
export async function readClusterPolicies(
  connection: ApiConnection | null,
  env: CliEnv,
): Promise<LiveClusterPolicies> {
  const api = await apiFor(connection, env);
  try {
    const list: unknown = await api.custom.listClusterCustomObject({
      group: CNP_GROUP,
      version: CNP_VERSION,
      plural: CNP_PLURAL,
    });
    return { kind: 'listed', items: plain<{ items?: ClusterPolicyObject[] }>(list).items ?? [] };
  } catch (err) {
    const code = statusCode(err);
    if (code === 403) return { kind: 'unreadable', why: errorText(err) };
    if (code === 404) {
      return { kind: 'unreadable', why: 'the ClusterNetworkPolicy CRD is not installed (404)' };
    }
    throw new InputError(`cannot list ClusterNetworkPolicies: ${errorText(err)}`);
  }
}

/** Which policies {@link readLiveState} lists besides the NodeFirewalls. */
export interface LiveStateWanted {
  /** @default true */
  readonly networkPolicies?: boolean;
  /** @default true */
  readonly clusterPolicies?: boolean;
}

/**
 * Lists NodeFirewalls, NetworkPolicies (of `namespace`, or all) and
 * ClusterNetworkPolicies, leaving out what `wanted` turns off. @throws InputError
 */
export async function readLiveState(
  connection: ApiConnection | null,
  namespace: string | undefined,
  env: CliEnv,
  wanted: LiveStateWanted = {},
): Promise<LiveState> {
  const api = await apiFor(connection, env);
  const nodeFirewalls = await readNodeFirewalls(connection, env);
  let policies: PolicyObject[] = [];
  if (wanted.networkPolicies !== false) {
    try {
      const list =
        namespace === undefined
          ? await api.networking.listNetworkPolicyForAllNamespaces()
          : await api.networking.listNamespacedNetworkPolicy({ namespace });
      policies = plain<{ items?: PolicyObject[] }>(list).items ?? [];
    } catch (err) {
      throw new InputError(`cannot list NetworkPolicies: ${errorText(err)}`);
    }
  }
  const clusterPolicies =
    wanted.clusterPolicies === false ? null : await readClusterPolicies(connection, env);
  return { nodeFirewalls, policies, clusterPolicies };
}

/** A validated `status` command line. */
export interface StatusOptions {
  readonly what: 'policies' | 'nodes';
  readonly namespace?: string;
  readonly policy?: string;
  readonly connection: ApiConnection | null;
  readonly output: OutputFormat;
}

const HELP = `Usage: nftpol status [-n NAMESPACE] [POLICY | cnp:NAME] [--kubeconfig PATH | --server URL] [-o text|json]
       nftpol status nodes [--kubeconfig PATH | --server URL] [-o text|json]

Is my policy in force yet, and where? Reads the NodeFirewalls,
NetworkPolicies and ClusterNetworkPolicies from the cluster (read-only) and
prints, per policy: the nodes whose script carries it (IN FORCE n/m: n of
those m have that script applied), its state (Enforced, Pending, Failing,
NoPods, Deleted), since when it is in force everywhere, the time from its
last change to then, and each failing node with the Applied condition's
reason and message.

ClusterNetworkPolicies are listed first, as cnp:NAME with their tier and
priority, in evaluation order (Admin, then Baseline; by priority, then
name). They are cluster-scoped: -n does not filter them. When they cannot
be read (their CRD is not installed, or listing them is forbidden), one line
says so and the NetworkPolicies are shown as usual. POLICY selects one
NetworkPolicy (NAME or NAMESPACE/NAME), cnp:NAME one ClusterNetworkPolicy.

"status nodes" prints every NodeFirewall's conditions at a glance: Applied,
InSync, SetsReady, Ready, the applied hash (marked "(old)" when not the
desired one), local pods, rules, the shared sets its rules name and the age
of the last apply; then, per node, SetsReady's message when it is False and
the sets it names that have no AddressSet slice at all ("missing sets"). When
AddressSets may not be listed, one line says so.

The last change of a policy is the latest metadata.managedFields time (else
its creationTimestamp); see docs/observability.md.

Options:
  -n, --namespace NS      only NetworkPolicies of this namespace
                          (ClusterNetworkPolicies are cluster-scoped: all shown)
      --kubeconfig PATH   kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
      --context NAME      context within the kubeconfig
      --server URL        API server URL instead of a kubeconfig (plain http allowed)
      --token TOKEN       bearer token sent to --server
  -o, --output FORMAT     text (default) or json
  -h, --help              show this help

Exit status: 0 when answered; 1 when the API cannot be read; 2 usage error.
`;

/** Parses `status` flags and positionals. @throws UsageError */
export function parseStatusArgs(values: FlagValues, positionals: readonly string[]): StatusOptions {
  const namespace = readString(values, 'namespace');
  if (namespace === '') throw new UsageError('-n/--namespace: empty value');
  const connection = readConnection(values);
  const output = readOutput(values);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one POLICY or "nodes", got ${positionals.join(' ')}`);
  }
  const [arg] = positionals;
  if (arg === 'nodes') {
    if (namespace !== undefined) throw new UsageError('-n does not apply to "status nodes"');
    return { what: 'nodes', connection, output };
  }
  if (arg !== undefined && isClusterPolicyKey(arg)) {
    if (arg === CLUSTER_POLICY_PREFIX) throw new UsageError(`expected cnp:NAME, got "${arg}"`);
    if (namespace !== undefined) {
      throw new UsageError(
        `-n does not apply to ${arg}: ClusterNetworkPolicies are cluster-scoped`,
      );
    }
  }
  if (arg !== undefined && arg.includes('/') && namespace !== undefined) {
    if (!arg.startsWith(`${namespace}/`)) {
      throw new UsageError(`policy ${arg} is not in namespace ${namespace}`);
    }
  }
  return {
    what: 'policies',
    ...(namespace === undefined ? {} : { namespace }),
    ...(arg === undefined ? {} : { policy: arg }),
    connection,
    output,
  };
}

/**
 * Reads the cluster and prints the report; `env` as for readNodeFirewalls,
 * `now` for node ages. @throws InputError
 */
export async function runStatus(
  options: StatusOptions,
  env: CliEnv,
  now: () => Date,
): Promise<string> {
  if (options.what === 'nodes') {
    const nodeFirewalls = await readNodeFirewalls(options.connection, env);
    const sets = await readAddressSets(options.connection, env);
    const rows = nodeStatusOf(nodeFirewalls, now(), sets);
    return options.output === 'json'
      ? formatStatusJson({ nodes: rows, addressSets: addressSetsReadOf(sets) })
      : formatNodeStatusText(rows, sets);
  }
  const selected = options.policy;
  const clusterSelected = selected !== undefined && isClusterPolicyKey(selected);
  // A selected policy is of one kind: the other kind is not listed.
  const state = await readLiveState(options.connection, options.namespace, env, {
    networkPolicies: !clusterSelected,
    clusterPolicies: selected === undefined || clusterSelected,
  });
  const filter = {
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(selected === undefined ? {} : { policy: selected }),
  };
  const rows = policyStatusOf(state.nodeFirewalls, state.policies, filter);
  const clusterRows =
    state.clusterPolicies === null
      ? []
      : clusterPolicyStatusOf(state.nodeFirewalls, state.clusterPolicies, filter);
  if (selected !== undefined && rows.length === 0 && clusterRows.length === 0) {
    if (state.clusterPolicies?.kind === 'unreadable') {
      throw new InputError(
        `cannot show ${selected}: ClusterNetworkPolicies not read (${state.clusterPolicies.why})`,
      );
    }
    const kind = clusterSelected ? 'ClusterNetworkPolicy' : 'NetworkPolicy';
    throw new InputError(`no ${kind} ${selected} in the cluster or in any node's script`);
  }
  return options.output === 'json'
    ? formatStatusJson({
        policies: rows,
        clusterPolicies: clusterRows,
        ...(state.clusterPolicies === null
          ? {}
          : { clusterPoliciesRead: clusterPoliciesReadOf(state.clusterPolicies) }),
      })
    : formatPolicyStatusText(rows, clusterRows, state.clusterPolicies);
}

/** The `status` subcommand. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'say, per policy, on which nodes it is in force and since when (reads the cluster)',
  help: HELP,
  flags: {
    ...OUTPUT_FLAG,
    ...CONNECTION_FLAGS,
    namespace: { type: 'string', short: 'n' },
  },
  positionals: true,
  prepare(values: FlagValues, positionals: readonly string[], context): Invocation {
    const options = parseStatusArgs(values, positionals);
    const now = (): Date => new Date(context.clock.now());
    return { files: [], run: () => runStatus(options, context.env, now) };
  },
};
