/**
 * Everything `nftpol` prints, as pure functions from results to text: load
 * problems, rendered scripts, explain's answer and the matrix grid, in text
 * and JSON. Kept apart from the commands so that the output contract — which
 * other tools parse — lives in one file and is tested through golden files.
 * Text is ASCII only, so it survives any terminal, log or CI viewer.
 */
import { toOneLine } from '../nft/syntax.js';
import type { Problem } from '../policy/from-k8s.js';
import type { Family } from '../policy/model.js';
import type { ClusterRuleRef, RuleRef, SideVerdict, Verdict } from '../policy/verdict.js';
import type { Explanation, ResolvedEndpoint } from './commands/explain.js';
import type { Cell, Matrix } from './commands/matrix.js';
import type { NodeScript, WrittenScript } from './commands/render.js';

/**
 * One load problem: `<source>: <object>: <field>: <message>`, with
 * `warning: ` before the message of a warning; empty parts are left out.
 */
export function formatProblem(problem: Problem): string {
  const message = problem.severity === 'warning' ? `warning: ${problem.message}` : problem.message;
  return [problem.source, problem.object, problem.field, message]
    .filter((s) => s !== '')
    .join(': ');
}

/**
 * Each node's script preceded by `# node: NAME`, separated by a blank line.
 * The loader admits only DNS names; the header is kept to one line anyway.
 */
export function formatNodeScripts(scripts: readonly NodeScript[]): string {
  return scripts.map((s) => `# node: ${toOneLine(s.node)}\n${withNewline(s.script)}`).join('\n');
}

/** One line per written file: `PATH sha256:HEX`. */
export function formatWrittenFiles(files: readonly WrittenScript[]): string {
  return files.map((f) => `${f.path} ${f.scriptHash}\n`).join('');
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

// ---------------------------------------------------------------------------
// explain

function formatRuleRef(ref: RuleRef): string {
  return `${ref.policy} ${ref.direction} rule ${ref.rule}`;
}

/** `Admin cnp:guard ingress rule 1 ("deny-others")`; no quotes for an unnamed rule. */
function formatClusterRuleRef(ref: ClusterRuleRef): string {
  const name = ref.name === '' ? '' : ` (${JSON.stringify(toOneLine(ref.name))})`;
  return `${ref.tier} ${ref.policy} ${ref.direction} rule ${ref.rule}${name}`;
}

function endpointLabel(e: ResolvedEndpoint): string {
  if (e.pod !== null) return `${e.pod} (${e.ip})`;
  return e.node === null ? e.ip : `${e.ip} (node ${e.node})`;
}

/** How many names a text line lists before it counts the rest. */
export const HANDFUL = 5;

/**
 * `a, b, c` — or, past HANDFUL names, the first HANDFUL and `and 2,495
 * more`, with a pointer to `-o json` (which lists all) when `hint`.
 */
function summarize(items: readonly string[], hint: boolean): string {
  if (items.length <= HANDFUL) return items.join(', ');
  const more = `and ${grouped(items.length - HANDFUL)} more`;
  return `${items.slice(0, HANDFUL).join(', ')} ${more}${hint ? ' (-o json lists all)' : ''}`;
}

/** `2495` as `2,495`; not toLocaleString, whose first call loads ICU data (~50 ms). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/**
 * Why one side decided, with the Pass rules it went through last:
 * `denied by Baseline cnp:floor ingress rule 0 ("deny-all"), after passing
 * Admin cnp:guard ingress rule 2 ("to-teams")`.
 */
function sideReason(side: SideVerdict): string {
  const passed = side.passed.map(formatClusterRuleRef);
  const after = passed.length === 0 ? '' : `, after passing ${passed.join(' and ')}`;
  return decisionText(side) + after;
}

function decisionText(side: SideVerdict): string {
  const policiesCut = side.policies.length > HANDFUL;
  const isolatedBy = `isolated by ${summarize(side.policies, true)}`;
  const rule = side.decidedBy === null ? '' : formatClusterRuleRef(side.decidedBy);
  switch (side.reason) {
    case 'not-a-pod':
      return 'allowed: not a pod that policies select (an external address, a node, or a hostNetwork or finished pod)';
    case 'not-isolated':
      return side.clusterPolicies.length === 0
        ? `allowed: not isolated (no policy selects it for ${side.direction})`
        : `allowed: not isolated (no NetworkPolicy selects it for ${side.direction}) and no rule of ${summarize(side.clusterPolicies, true)} decides`;
    case 'host-to-own-pod':
      return 'allowed: traffic from a node to its own pods is always allowed';
    case 'allowed-by-rule':
      return `allowed by ${summarize(side.allowedBy.map(formatRuleRef), !policiesCut)}; ${isolatedBy}`;
    case 'no-rule-matched': {
      const none = policiesCut
        ? `these ${grouped(side.policies.length)} policies`
        : side.policies.join(', ');
      return `denied: ${isolatedBy}; no rule of ${none} allows it`;
    }
    case 'admin-accept':
    case 'baseline-accept':
      return `allowed by ${rule}`;
    case 'admin-deny':
    case 'baseline-deny':
      return `denied by ${rule}`;
    case 'failed-closed':
      return `denied by ${rule}, a ${side.decidedBy?.action ?? ''} rule that fails closed (${toOneLine(side.decidedBy?.failClosed ?? '')})`;
  }
}

function sideLine(side: SideVerdict, fallback: string): string {
  return `  ${side.direction} of ${side.pod ?? fallback}: ${sideReason(side)}\n${sharedIpLine(side)}`;
}

/** A warning when the side's address is shared: whose policies the dataplane enforces for it. */
function sharedIpLine(side: SideVerdict): string {
  const shared = side.sharedIp;
  if (shared === undefined) return '';
  const others = shared.pods.filter((p) => p !== shared.enforced);
  const pods = `${shared.pods.slice(0, -1).join(', ')} and ${shared.pods[shared.pods.length - 1] ?? ''}`;
  return `  warning: ${shared.ip} is the IP of ${pods}; the dataplane enforces ${shared.enforced}'s ${side.direction} policies for it, so ${others.join("'s, ")}'s do not apply at this address\n`;
}

/**
 * The verdict line (`ALLOWED|DENIED from -> to PROTO/PORT`), then one line for
 * the source's egress and one for the destination's ingress.
 */
export function formatExplanationText(e: Explanation): string {
  const { verdict } = e;
  const c = verdict.connection;
  const port = e.portName === null ? `${c.port}` : `${c.port} (${e.portName})`;
  const head = `${verdict.allowed ? 'ALLOWED' : 'DENIED'} ${endpointLabel(e.from)} -> ${endpointLabel(e.to)} ${c.protocol}/${port}\n`;
  return head + sideLine(verdict.egress, e.from.ip) + sideLine(verdict.ingress, e.to.ip);
}

function sideJson(side: SideVerdict): SideVerdict {
  return {
    direction: side.direction,
    pod: side.pod,
    isolated: side.isolated,
    allowed: side.allowed,
    reason: side.reason,
    policies: [...side.policies],
    allowedBy: side.allowedBy.map((r) => ({
      policy: r.policy,
      direction: r.direction,
      rule: r.rule,
    })),
    tier: side.tier,
    decidedBy: side.decidedBy === null ? null : clusterRuleJson(side.decidedBy),
    passed: side.passed.map(clusterRuleJson),
    clusterPolicies: [...side.clusterPolicies],
    ...(side.sharedIp === undefined
      ? {}
      : {
          sharedIp: {
            ip: side.sharedIp.ip,
            pods: [...side.sharedIp.pods],
            enforced: side.sharedIp.enforced,
          },
        }),
  };
}

function clusterRuleJson(ref: ClusterRuleRef): ClusterRuleRef {
  return {
    policy: ref.policy,
    tier: ref.tier,
    priority: ref.priority,
    direction: ref.direction,
    rule: ref.rule,
    name: ref.name,
    action: ref.action,
    failClosed: ref.failClosed,
  };
}

/** The JSON form of explain's answer: a Verdict plus what the names resolved to. */
export interface ExplanationJson extends Verdict {
  readonly resolved: {
    readonly from: ResolvedEndpoint;
    readonly to: ResolvedEndpoint;
    /** The port name typed, or null. */
    readonly portName: string | null;
    readonly family: Family;
  };
}

/** The Verdict (fields in a fixed order) plus `resolved` names, pretty-printed. */
export function formatExplanationJson(e: Explanation): string {
  const v = e.verdict;
  const json: ExplanationJson = {
    connection: {
      from: v.connection.from,
      to: v.connection.to,
      protocol: v.connection.protocol,
      port: v.connection.port,
    },
    allowed: v.allowed,
    egress: sideJson(v.egress),
    ingress: sideJson(v.ingress),
    resolved: { from: e.from, to: e.to, portName: e.portName, family: e.family },
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

// ---------------------------------------------------------------------------
// matrix

const MARK: Record<Cell, string> = { allowed: 'A', denied: '.', 'no-port': '-', 'no-family': '-' };

/**
 * The grid: a header naming the port and the marks, a row of column indices,
 * then one row per source pod — its index, one mark per destination, its name
 * — so that long names never widen the grid. Ends with the allowed count.
 */
export function formatMatrixText(m: Matrix): string {
  const n = m.pods.length;
  const port = `${m.protocol}/${m.port}`;
  if (n === 0) return `${port}: no pods with IPs in the input\n`;
  const w = String(n - 1).length;
  const pad = (s: string): string => s.padStart(w);
  const lines = [`${port}: row = from, column = to; A allowed, . denied, - not evaluated`];
  if (typeof m.port === 'string') {
    lines.push(`named port "${m.port}": resolved on each destination pod`);
  }
  const cells = m.cells.flat();
  if (cells.some((c) => c === 'no-port' || c === 'no-family')) {
    lines.push('-: the destination has no such named port, or the pods share no address family');
  }
  lines.push('');
  lines.push(`${pad('')}  ${m.pods.map((_, i) => pad(String(i))).join(' ')}`);
  m.pods.forEach((name, i) => {
    const row = (m.cells[i] ?? []).map((c) => pad(MARK[c])).join(' ');
    lines.push(`${pad(String(i))}  ${row}  ${name}`);
  });
  lines.push('');
  const allowed = cells.filter((c) => c === 'allowed').length;
  lines.push(`${allowed} of ${cells.length} pairs allowed`);
  return `${lines.join('\n')}\n`;
}

/** The matrix contract, JSON: `{"port","protocol","pods","allowed":{from:{to:bool}}}`. */
export interface MatrixJson {
  readonly port: number | string;
  readonly protocol: string;
  readonly pods: readonly string[];
  readonly allowed: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
}

/** The matrix as JSON, pretty-printed; every pair present, true only when allowed. */
export function formatMatrixJson(m: Matrix): string {
  const allowed: Record<string, Record<string, boolean>> = {};
  m.pods.forEach((from, i) => {
    const row: Record<string, boolean> = {};
    m.pods.forEach((to, j) => {
      row[to] = m.cells[i]?.[j] === 'allowed';
    });
    allowed[from] = row;
  });
  const json: MatrixJson = { port: m.port, protocol: m.protocol, pods: m.pods, allowed };
  return `${JSON.stringify(json, null, 2)}\n`;
}
