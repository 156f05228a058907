/**
 * load-yaml over the shared fixtures and over temporary files: multi-document
 * files, v1 Lists, directory recursion in sorted order, and a syntax error in
 * one file that leaves the others loaded.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { readClusterYaml } from '../../../src/cli/load-yaml.js';
import type { Problem } from '../../../src/policy/from-k8s.js';
import {
  ipBlock,
  named,
  node,
  ns,
  nsPeer,
  pod,
  policy,
  port,
  rule,
  sel,
} from '../../support/builders.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/clusters/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);

function problem(
  severity: Problem['severity'],
  source: string,
  object: string,
  field: string,
  message: string,
): Problem {
  return { severity, source, object, field, message };
}

describe('readClusterYaml on the fixtures', () => {
  it('basic.yaml loads namespaces, nodes, pods and a policy with no problems', async () => {
    const result = await readClusterYaml([fixture('basic.yaml')]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.cluster, {
      namespaces: [ns('a', { team: 'x' }), ns('b')],
      nodes: [
        node('node-1', { podCIDRs: ['10.244.1.0/24'], addresses: ['192.168.0.1'] }),
        node('node-2', { podCIDRs: ['10.244.2.0/24'], addresses: ['192.168.0.2'] }),
      ],
      pods: [
        pod('a/client', { app: 'client' }, { nodeName: 'node-2', ips: ['10.244.2.20'] }),
        pod(
          'a/web',
          { app: 'web' },
          { nodeName: 'node-1', ips: ['10.244.1.10'], ports: [named('http', 8080)] },
        ),
        pod('b/client', { app: 'client' }, { nodeName: 'node-2', ips: ['10.244.2.21'] }),
      ],
      policies: [
        policy('a/web-allow', {
          podSelector: sel({ app: 'web' }),
          ingress: [rule([nsPeer(sel({ team: 'x' }))], [port('http')])],
        }),
      ],
    });
  });

  it('dual-stack.yaml gives the pod both IPs in canonical form and ipBlocks of both families', async () => {
    const file = fixture('dual-stack.yaml');
    const result = await readClusterYaml([file]);
    assert.deepEqual(result.problems, [
      problem(
        'warning',
        `${file}#2`,
        'Pod ds/server',
        'metadata.namespace',
        'namespace "ds" is not defined; assumed to exist with only the label kubernetes.io/metadata.name=ds',
      ),
    ]);
    assert.deepEqual(result.cluster, {
      namespaces: [ns('ds')],
      nodes: [
        node('node-1', {
          podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
          addresses: ['192.168.0.1', 'fd00::1'],
        }),
      ],
      pods: [
        pod(
          'ds/server',
          { app: 'server' },
          {
            nodeName: 'node-1',
            ips: ['10.244.1.10', 'fd00:10:244:1::a'],
            ports: [named('dns', 53, 'UDP')],
          },
        ),
      ],
      policies: [
        policy('ds/server-allow', {
          podSelector: sel({ app: 'server' }),
          ingress: [
            rule(
              [ipBlock('10.0.0.0/8', '10.96.0.0/12'), ipBlock('fd00::/8', 'fd00:10:96::/48')],
              [port('dns', 'UDP')],
            ),
          ],
        }),
      ],
    });
  });

  it('list.yaml loads the items of a v1 List, and the node its pod names', async () => {
    const result = await readClusterYaml([fixture('list.yaml')]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.cluster, {
      namespaces: [ns('c', { env: 'prod' })],
      nodes: [node('node-1')],
      pods: [pod('c/db', { app: 'db' }, { nodeName: 'node-1', ips: ['10.244.1.30'] })],
      policies: [
        policy('c/db-deny', {
          podSelector: sel({ app: 'db' }),
          policyTypes: ['ingress', 'egress'],
        }),
      ],
    });
  });

  it('invalid.yaml reports each mistake and still loads the valid pod', async () => {
    const file = fixture('invalid.yaml');
    const result = await readClusterYaml([file]);
    const unknown = 'unknown fields are rejected because ignoring them could widen access';
    assert.deepEqual(result.problems, [
      problem(
        'error',
        `${file}#1`,
        'NetworkPolicy a/typo',
        'spec.podSelecter',
        `unknown field "podSelecter" (did you mean "podSelector"?); ${unknown}`,
      ),
      problem(
        'error',
        `${file}#1`,
        'NetworkPolicy a/typo',
        'spec.ingress[0].ports[0].endPort',
        'endPort requires a numeric port',
      ),
      problem(
        'error',
        `${file}#3`,
        'NetworkPolicy a/bad-cidr',
        'spec.egress[0].to[0].ipBlock.cidr',
        'invalid CIDR "10.0.0.0/33": the prefix length must be a number from 0 to 32',
      ),
      problem(
        'warning',
        `${file}#4`,
        'Deployment a/web',
        '',
        'kind Deployment (apps/v1) is not used by NetworkPolicy; ignored',
      ),
      problem(
        'error',
        `${file}#5`,
        'Pod a/web',
        'metadata.name',
        `duplicate of the Pod a/web in ${file}#2; this one is ignored`,
      ),
      problem(
        'warning',
        `${file}#2`,
        'Pod a/web',
        'metadata.namespace',
        'namespace "a" is not defined; assumed to exist with only the label kubernetes.io/metadata.name=a',
      ),
    ]);
    assert.deepEqual(result.cluster.pods, [pod('a/web', { app: 'web' }, { ips: ['10.244.1.10'] })]);
    assert.deepEqual(result.cluster.policies, []);
  });

  it('the fixtures directory loads every fixture once, in sorted file order', async () => {
    const result = await readClusterYaml([FIXTURES]);
    const sources = [...new Set(result.problems.map((p) => p.source.replace(/#.*/, '')))];
    assert.deepEqual(sources, [fixture('dual-stack.yaml'), fixture('invalid.yaml')]);
    assert.deepEqual(
      result.cluster.namespaces.map((n) => n.name),
      ['a', 'b', 'c', 'ds'],
    );
  });
});

describe('readClusterYaml on temporary files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nftpol-load-yaml-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes files under a fresh subdirectory and returns its path. */
  let count = 0;
  async function tree(files: Record<string, string>): Promise<string> {
    const root = join(dir, `case-${++count}`);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await writeFile(join(root, name), text);
    }
    return root;
  }

  const namespaceDoc = (name: string): string =>
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

  it('numbers the documents of a multi-document file from 1, skipping empty ones', async () => {
    const root = await tree({
      'multi.yaml': `---\n${namespaceDoc('a')}---\n# only a comment\n---\n${namespaceDoc('a')}---\n`,
    });
    const file = join(root, 'multi.yaml');
    const result = await readClusterYaml([file]);
    assert.deepEqual(result.cluster.namespaces, [ns('a')]);
    assert.deepEqual(result.problems, [
      problem(
        'error',
        `${file}#3`,
        'Namespace a',
        'metadata.name',
        `duplicate of the Namespace a in ${file}#1; this one is ignored`,
      ),
    ]);
  });

  it('walks directories recursively in sorted order, reading .yaml, .yml and .json only', async () => {
    const root = await tree({
      'b.yaml': namespaceDoc('b'),
      'a.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'b', labels: { from: 'json' } },
      }),
      'sub/deeper/c.yml': namespaceDoc('c'),
      'sub/b.yaml': namespaceDoc('b'),
      'notes.txt': namespaceDoc('txt'),
      '.hidden/d.yaml': namespaceDoc('hidden'),
    });
    const result = await readClusterYaml([root]);
    assert.deepEqual(result.cluster.namespaces, [ns('b', { from: 'json' }), ns('c')]);
    assert.deepEqual(result.problems, [
      problem(
        'error',
        `${join(root, 'b.yaml')}#1`,
        'Namespace b',
        'metadata.name',
        `duplicate of the Namespace b in ${join(root, 'a.json')}#1; this one is ignored`,
      ),
      problem(
        'error',
        `${join(root, 'sub/b.yaml')}#1`,
        'Namespace b',
        'metadata.name',
        `duplicate of the Namespace b in ${join(root, 'a.json')}#1; this one is ignored`,
      ),
    ]);
  });

  it('reports a YAML syntax error with file and line, and still loads the other files', async () => {
    const root = await tree({
      'a.yaml': namespaceDoc('a'),
      'broken.yaml': `${namespaceDoc('ok')}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [broken\n`,
      'c.yaml': namespaceDoc('c'),
    });
    const result = await readClusterYaml([root]);
    assert.deepEqual(
      result.cluster.namespaces.map((n) => n.name),
      ['a', 'c', 'ok'],
    );
    assert.equal(result.problems.length, 1);
    const [only] = result.problems;
    assert.deepEqual(
      { ...only, message: '' },
      problem('error', `${join(root, 'broken.yaml')}#2`, '', '', ''),
    );
    // Where the unclosed "[" opens, not where the parser gave up (#11).
    assert.match(
      only?.message ?? '',
      /^YAML syntax error at line 9, column 9: Flow sequence .*noticed at line 10, column 1\)$/,
    );
  });

  it('rejects a document with a duplicate key rather than guess which value was meant', async () => {
    const root = await tree({ 'dup.yaml': `${namespaceDoc('a')}metadata:\n  name: b\n` });
    const result = await readClusterYaml([join(root, 'dup.yaml')]);
    assert.deepEqual(result.cluster.namespaces, []);
    assert.match(
      result.problems[0]?.message ?? '',
      /^YAML syntax error at line 5, column 1: Map keys must be unique/,
    );
  });

  it('reads a file named explicitly whatever its extension, and a file given twice once', async () => {
    const root = await tree({ 'ns.txt': namespaceDoc('t') });
    const file = join(root, 'ns.txt');
    const result = await readClusterYaml([file, file, root]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.cluster.namespaces, [ns('t')]);
  });

  it('reports a path that does not exist and loads the rest', async () => {
    const root = await tree({ 'a.yaml': namespaceDoc('a') });
    const missing = join(root, 'missing.yaml');
    const result = await readClusterYaml([missing, root]);
    assert.deepEqual(result.problems, [
      problem('error', missing, '', '', `cannot read ${missing}: no such file or directory`),
    ]);
    assert.deepEqual(result.cluster.namespaces, [ns('a')]);
  });
});
