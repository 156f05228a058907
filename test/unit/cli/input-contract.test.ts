/**
 * The CLI never accepts silently what it did not use (#11): every input that
 * looks like a Kubernetes object but is not read is an error naming its file
 * and document; inputs kubectl reads (UTF-16 with a BOM, merge keys) are
 * read; a run that found nothing says so; a YAML syntax error points where
 * the problem starts and leaves the file's other documents loaded.
 *
 * Each row writes its files into a fresh directory and loads it with the
 * CLI's loader, `readClusterYaml`; `{root}` in an expected source stands for
 * that directory.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readClusterYaml } from '../../../src/cli/load-yaml.js';
import type { Cluster } from '../../../src/policy/model.js';
import { runNftpolInProcess } from './run-cli.js';

/** A file's content, or a symbolic link to `target`. */
type Entry = string | Buffer | { readonly symlink: string };

/** What a problem must be: its severity, source and a pattern its message matches. */
interface ExpectedProblem {
  readonly severity: 'error' | 'warning';
  readonly source: string;
  readonly message: RegExp;
}

interface Row {
  readonly name: string;
  readonly files: Readonly<Record<string, Entry>>;
  /** Paths to load, relative to the row's directory; default: the directory itself. */
  readonly paths?: readonly string[];
  /** Every problem, in order. */
  readonly problems: readonly ExpectedProblem[];
  /** `namespace/name` of the policies loaded. */
  readonly policies: readonly string[];
  /** A check of the loaded cluster beyond the policy names. */
  readonly cluster?: (cluster: Cluster) => void;
}

const err = (source: string, message: RegExp): ExpectedProblem => ({
  severity: 'error',
  source,
  message,
});
const warning = (source: string, message: RegExp): ExpectedProblem => ({
  severity: 'warning',
  source,
  message,
});

const NETPOL = 'networking.k8s.io/v1';

/** A NetworkPolicy manifest in YAML, denying ingress to every pod of `ns`. */
const policyYaml = (name: string, ns = 'a', kind = 'NetworkPolicy'): string =>
  `apiVersion: ${NETPOL}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  podSelector: {}\n`;

const policyJson = (name: string, ns = 'a'): Record<string, unknown> => ({
  apiVersion: NETPOL,
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec: { podSelector: {} },
});

/** A ClusterNetworkPolicy manifest in YAML: Admin tier, denying ingress from every namespace. */
const cnpYaml = (name: string, kind = 'ClusterNetworkPolicy', priority = 10): string =>
  [
    `apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ${kind}\nmetadata:\n  name: ${name}\n`,
    `spec:\n  tier: Admin\n  priority: ${priority}\n  subject:\n    namespaces: {}\n`,
    '  ingress:\n  - name: deny-all\n    action: Deny\n    from:\n    - namespaces: {}\n',
  ].join('');

const namespaceYaml = (name: string): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

/** `text` as UTF-16 with a byte order mark. */
function utf16(text: string, order: 'le' | 'be'): Buffer {
  const le = Buffer.from(`\ufeff${text}`, 'utf16le');
  return order === 'le' ? le : Buffer.from(le).swap16();
}

const rows: readonly Row[] = [
  // --- objects that look like policies but are not read
  {
    name: 'kind: Networkpolicy (wrong case) is an error naming the file and document',
    files: { 'p.yaml': `${namespaceYaml('a')}---\n${policyYaml('p', 'a', 'Networkpolicy')}` },
    problems: [
      err(
        '{root}/p.yaml#2',
        /kind "Networkpolicy".*did you mean "NetworkPolicy"\?.*case-sensitive/,
      ),
    ],
    policies: [],
  },
  {
    name: 'kind: NetworkPolicies (plural) is an error',
    files: { 'p.yaml': policyYaml('p', 'a', 'NetworkPolicies') },
    problems: [err('{root}/p.yaml#1', /kind "NetworkPolicies".*did you mean "NetworkPolicy"\?/)],
    policies: [],
  },
  {
    name: 'kind: pod (wrong case) is an error too',
    files: {
      'p.yaml': 'apiVersion: v1\nkind: pod\nmetadata:\n  name: web\n  namespace: a\n',
    },
    problems: [err('{root}/p.yaml#1', /kind "pod".*did you mean "Pod"\?/)],
    policies: [],
  },
  {
    name: 'a kind named like a property of every object (constructor, toString) is ignored with a warning, like any other',
    files: {
      'k.yaml':
        'apiVersion: v1\nkind: constructor\nmetadata: {name: x}\n---\napiVersion: v1\nkind: toString\nmetadata: {name: y}\n',
    },
    problems: [
      warning('{root}/k.yaml#1', /^kind constructor \(v1\) is not used by NetworkPolicy; ignored$/),
      warning('{root}/k.yaml#2', /^kind toString \(v1\) is not used by NetworkPolicy; ignored$/),
    ],
    policies: [],
  },
  {
    name: 'a policy with no kind is an error',
    files: {
      'p.yaml': `apiVersion: ${NETPOL}\nmetadata:\n  name: p\n  namespace: a\nspec:\n  podSelector: {}\n`,
    },
    problems: [err('{root}/p.yaml#1', /no kind/)],
    policies: [],
  },
  {
    name: 'a List item with no kind is an error naming the item',
    files: {
      'l.yaml': `apiVersion: v1\nkind: List\nitems:\n- metadata: {name: p, namespace: a}\n  spec: {podSelector: {}}\n`,
    },
    problems: [err('{root}/l.yaml#1/items[0]', /no kind/)],
    policies: [],
  },
  {
    name: 'a NetworkPolicy inside a top-level JSON array is an error',
    files: { 'p.json': JSON.stringify([policyJson('p'), policyJson('q')]) },
    problems: [err('{root}/p.json#1', /list of objects.*"kind": "List"/)],
    policies: [],
  },
  {
    name: 'a YAML document that is a list of objects is an error',
    files: { 'p.yaml': `- ${policyYaml('p').trimEnd().replace(/\n/g, '\n  ')}\n` },
    problems: [err('{root}/p.yaml#1', /list of objects/)],
    policies: [],
  },
  {
    name: 'a document that is no Kubernetes object at all (values.yaml) stays a warning',
    files: { 'values.yaml': 'replicas: 3\n', 'p.yaml': policyYaml('p') },
    problems: [
      warning('{root}/values.yaml#1', /not a Kubernetes object/),
      warning('{root}/p.yaml#1', /namespace "a" is not defined/),
    ],
    policies: ['a/p'],
  },
  // --- ClusterNetworkPolicy (issue 14)
  {
    name: 'a ClusterNetworkPolicy is read into clusterPolicies',
    files: { 'cnp.yaml': `${cnpYaml('guard')}---\n${namespaceYaml('a')}---\n${policyYaml('p')}` },
    problems: [],
    policies: ['a/p'],
    cluster: (c) =>
      assert.deepEqual(
        c.clusterPolicies?.map((p) => `${p.tier}/${p.priority}/${p.name}`),
        ['Admin/10/guard'],
      ),
  },
  {
    name: 'kind: ClusterNetworkPolicies (plural) is an error',
    files: { 'cnp.yaml': cnpYaml('guard', 'ClusterNetworkPolicies') },
    problems: [
      err(
        '{root}/cnp.yaml#1',
        /kind "ClusterNetworkPolicies".*did you mean "ClusterNetworkPolicy"\?/,
      ),
    ],
    policies: [],
  },
  {
    name: 'kind: ClusterNetworkPolcy (a near-miss) is an error',
    files: { 'cnp.yaml': cnpYaml('guard', 'ClusterNetworkPolcy') },
    problems: [
      err('{root}/cnp.yaml#1', /kind "ClusterNetworkPolcy".*did you mean "ClusterNetworkPolicy"\?/),
    ],
    policies: [],
  },
  {
    name: 'an AdminNetworkPolicy (v1alpha1) is an error saying to write a ClusterNetworkPolicy',
    files: {
      'anp.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: guard}\nspec: {priority: 10}\n',
    },
    problems: [
      err(
        '{root}/anp.yaml#1',
        /^kind "AdminNetworkPolicy" \(network-policy-api v1alpha1\) is not read by nftpol.*ClusterNetworkPolicy.*with tier Admin$/,
      ),
    ],
    policies: [],
  },
  {
    name: 'an invalid ClusterNetworkPolicy is an error naming the rule and field; the rest loads',
    files: {
      'cnp.yaml': `${cnpYaml('bad').replace('action: Deny', 'action: Allow')}---\n${cnpYaml('good', 'ClusterNetworkPolicy', 20)}`,
    },
    problems: [err('{root}/cnp.yaml#1', /^unknown action "Allow"; use "Accept"/)],
    policies: [],
    cluster: (c) =>
      assert.deepEqual(
        c.clusterPolicies?.map((p) => p.name),
        ['good'],
      ),
  },
  // --- encodings kubectl decodes
  {
    name: 'a UTF-16LE file with a byte order mark is decoded and read',
    files: { 'p.yaml': utf16(`${namespaceYaml('a')}---\n${policyYaml('p')}`, 'le') },
    problems: [],
    policies: ['a/p'],
  },
  {
    name: 'a UTF-16BE file with a byte order mark is decoded and read',
    files: { 'p.yaml': utf16(`${namespaceYaml('a')}---\n${policyYaml('p')}`, 'be') },
    problems: [],
    policies: ['a/p'],
  },
  {
    name: 'a UTF-8 file with a byte order mark is read',
    files: { 'p.yaml': `\ufeff${namespaceYaml('a')}---\n${policyYaml('p')}` },
    problems: [],
    policies: ['a/p'],
  },
  {
    name: 'a UTF-16LE JSON file with a byte order mark is decoded and read',
    files: {
      'p.json': utf16(
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policyJson('p')] }),
        'le',
      ),
    },
    problems: [warning('{root}/p.json#1/items[0]', /namespace "a" is not defined/)],
    policies: ['a/p'],
  },
  // --- runs that found nothing
  {
    name: 'a directory with no manifest file is an error',
    files: { 'README.md': '# not a manifest\n' },
    problems: [err('', /^no Kubernetes object in the input: no \.yaml, \.yml or \.json file in /)],
    policies: [],
  },
  {
    name: 'files with no Kubernetes object in them are an error',
    files: { 'empty.yaml': '# nothing yet\n---\n', 'values.yaml': 'replicas: 3\n' },
    problems: [
      warning('{root}/values.yaml#1', /not a Kubernetes object/),
      err('', /no Kubernetes object in the input/),
    ],
    policies: [],
  },
  {
    name: 'a dangling symbolic link in a directory is an error; the rest still loads',
    files: {
      'gone.yaml': { symlink: 'does-not-exist.yaml' },
      'p.yaml': `${namespaceYaml('a')}---\n${policyYaml('p')}`,
    },
    problems: [err('{root}/gone.yaml', /cannot read .*gone\.yaml: .*dangling symbolic link/)],
    policies: ['a/p'],
  },
  // --- YAML syntax errors: where the problem starts, the other documents still load
  {
    name: 'an unclosed flow sequence points at its "[", and the next documents still load',
    files: {
      'p.yaml': [
        namespaceYaml('a'),
        '---\n',
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n  labels: [broken\n',
        'spec: {}\n',
        '---\n',
        policyYaml('p'),
      ].join(''),
    },
    problems: [err('{root}/p.yaml#2', /^YAML syntax error at line 10, column 11: .*Flow sequence/)],
    policies: ['a/p'],
    cluster: (c) =>
      assert.deepEqual(
        c.namespaces.map((n) => n.name),
        ['a'],
      ),
  },
  {
    name: 'an unclosed double quote points at the quote',
    files: {
      'p.yaml': `${namespaceYaml('a')}---\nkind: Namespace\napiVersion: v1\nmetadata:\n  name: "b\n  labels: {}\n---\n${policyYaml('p')}`,
    },
    problems: [err('{root}/p.yaml#2', /^YAML syntax error at line 9, column 9: .*quote/i)],
    policies: ['a/p'],
  },
  {
    name: 'a deeply nested document is reported as such, not as a stack overflow',
    files: {
      'deep.yaml': `${namespaceYaml('a')}---\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n---\n${policyYaml('p')}`,
    },
    problems: [err('{root}/deep.yaml#2', /^document nested more than \d+ levels deep/)],
    policies: ['a/p'],
  },
  {
    name: 'a duplicate key in a JSON file is still rejected',
    files: {
      'p.json': `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "metadata": {"name": "b"}}`,
    },
    problems: [
      err('{root}/p.json#1', /^YAML syntax error at line 1, column \d+: Map keys must be unique/),
    ],
    policies: [],
  },
  // --- merge keys, as kubectl's YAML 1.1 reading expands them
  {
    name: 'merge keys (<<: *anchor) are expanded, explicit keys winning',
    files: {
      'p.yaml': [
        namespaceYaml('a'),
        '---\n',
        `apiVersion: ${NETPOL}\nkind: NetworkPolicy\n`,
        'metadata:\n  name: p\n  namespace: a\n',
        'spec:\n',
        '  podSelector:\n    matchLabels:\n      <<: &common {app: web, tier: front}\n      tier: back\n',
        '  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          <<: *common\n',
      ].join(''),
    },
    problems: [],
    policies: ['a/p'],
    cluster: (c) => {
      const [p] = c.policies;
      assert.deepEqual(p?.podSelector.matchLabels, { app: 'web', tier: 'back' });
      const peer = p?.ingress[0]?.peers?.[0];
      assert.deepEqual(peer?.kind === 'pods' ? peer.podSelector.matchLabels : null, {
        app: 'web',
        tier: 'front',
      });
    },
  },
];

describe('the CLI loader never accepts silently what it did not use (#11)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nftpol-input-contract-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  let count = 0;
  async function tree(files: Readonly<Record<string, Entry>>): Promise<string> {
    const root = join(dir, `case-${++count}`);
    await mkdir(root, { recursive: true });
    for (const [name, entry] of Object.entries(files)) {
      const path = join(root, name);
      await mkdir(dirname(path), { recursive: true });
      if (typeof entry === 'object' && 'symlink' in entry) await symlink(entry.symlink, path);
      else await writeFile(path, entry);
    }
    return root;
  }

  for (const row of rows) {
    it(row.name, async () => {
      const root = await tree(row.files);
      const paths = (row.paths ?? ['.']).map((p) => (p === '.' ? root : join(root, p)));
      const result = await readClusterYaml(paths);
      const shown = result.problems.map((p) => `${p.severity} ${p.source}: ${p.message}`);
      assert.equal(result.problems.length, row.problems.length, shown.join('\n'));
      row.problems.forEach((want, i) => {
        const got = result.problems[i];
        assert.equal(got?.severity, want.severity, shown.join('\n'));
        assert.equal(got?.source, want.source.replace('{root}', root), shown.join('\n'));
        assert.match(got?.message ?? '', want.message);
      });
      assert.deepEqual(
        result.cluster.policies.map((p) => `${p.namespace}/${p.name}`),
        row.policies,
      );
      row.cluster?.(result.cluster);
    });
  }
});

describe(
  'what the loader rejects fails the command (exit 1), as CI needs',
  { concurrency: true },
  () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nftpol-input-exit-'));
      await mkdir(join(dir, 'empty'));
      await writeFile(join(dir, 'typo.yaml'), policyYaml('p', 'a', 'Networkpolicy'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('a directory with nothing to read: exit 1, and stderr says so', async () => {
      const r = await runNftpolInProcess(['render', '-f', join(dir, 'empty')]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^no Kubernetes object in the input: no \.yaml, \.yml or \.json file in /,
      );
    });

    it('a policy of kind Networkpolicy: exit 1, naming the file, document and object', async () => {
      const file = join(dir, 'typo.yaml');
      const r = await runNftpolInProcess(['matrix', '-f', 'examples', '-f', file]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^${file}#1: Networkpolicy a/p: kind: kind "Networkpolicy" is not a kind`, 'm'),
      );
    });
  },
);
