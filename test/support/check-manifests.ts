/**
 * Validates the manifests `helm template` renders, without a cluster.
 *
 * Three layers, because each catches what the others miss:
 * 1. Schema: every built-in kind through `kubernetes-models` (the upstream
 *    OpenAPI schemas compiled to validators: required fields, types, enums).
 *    An npm package rather than a hand-written checker because it follows the
 *    API exactly and costs nothing to keep current.
 * 2. Unknown fields: `kubernetes-models` accepts any extra property (so does
 *    the OpenAPI schema), and a misspelt field (`readOnlyRootFileSystem`) is the
 *    commonest chart bug; the API server drops or rejects it. We walk each
 *    object against `@kubernetes/client-node`'s attribute maps (same API
 *    version, already a dependency) and report every property they lack.
 * 3. References between objects: selectors that select the pod templates,
 *    Service and probe ports that name a container port, bindings whose
 *    roles, service accounts and policies are rendered.
 *
 * Also validates a sample object of each CRD (a NodeFirewall, an AddressSet
 * slice) against the CRD's openAPIV3Schema with ajv. Run as a script (`node --import tsx test/support/check-manifests.ts
 * FILE…`) it prints every problem and exits 1 if there is any.
 */
import * as k8s from '@kubernetes/client-node';
import { Ajv } from 'ajv';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** A rendered object, loosely typed: fields are read through {@link at}. */
export type Manifest = Record<string, unknown>;

/** One thing wrong with one rendered object. */
export interface ManifestProblem {
  /** `Kind/name`. */
  readonly object: string;
  readonly message: string;
}

interface Validator {
  /** Throws with the schema errors when invalid. */
  validate(): void;
}

/** `apiVersion/kind` → schema validator and client-node model class name. */
const KINDS: Readonly<
  Record<string, { readonly make: (data: never) => Validator; readonly model: string }>
> = {
  'v1/ServiceAccount': { make: (d) => new ServiceAccount(d), model: 'V1ServiceAccount' },
  'v1/Service': { make: (d) => new Service(d), model: 'V1Service' },
  'apps/v1/Deployment': { make: (d) => new Deployment(d), model: 'V1Deployment' },
  'apps/v1/DaemonSet': { make: (d) => new DaemonSet(d), model: 'V1DaemonSet' },
  'batch/v1/Job': { make: (d) => new Job(d), model: 'V1Job' },
  'policy/v1/PodDisruptionBudget': {
    make: (d) => new PodDisruptionBudget(d),
    model: 'V1PodDisruptionBudget',
  },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    make: (d) => new ClusterRole(d),
    model: 'V1ClusterRole',
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    make: (d) => new ClusterRoleBinding(d),
    model: 'V1ClusterRoleBinding',
  },
  'rbac.authorization.k8s.io/v1/Role': { make: (d) => new Role(d), model: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    make: (d) => new RoleBinding(d),
    model: 'V1RoleBinding',
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': {
    make: (d) => new ValidatingAdmissionPolicy(d),
    model: 'V1ValidatingAdmissionPolicy',
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': {
    make: (d) => new ValidatingAdmissionPolicyBinding(d),
    model: 'V1ValidatingAdmissionPolicyBinding',
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    make: (d) => new CustomResourceDefinition(d),
    model: 'V1CustomResourceDefinition',
  },
};

const CLUSTER_SCOPED = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'CustomResourceDefinition',
]);

/** Reads a path of keys and indices; undefined where the path breaks. */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function nameOf(m: Manifest): string {
  return `${String(m['kind'])}/${String(at(m, 'metadata', 'name'))}`;
}

/** Parses multi-document YAML, dropping empty documents. @throws on a YAML syntax error. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    const value: unknown = doc.toJS();
    if (typeof value === 'object' && value !== null) out.push(value as Manifest);
  }
  return out;
}

/** Schema errors of one object, or a problem for a kind the table does not know. */
function schemaProblems(m: Manifest): string[] {
  const key = `${String(m['apiVersion'])}/${String(m['kind'])}`;
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') return serviceMonitorProblems(m);
  const kind = KINDS[key];
  if (kind === undefined) return [`no validator for ${key}; add it to KINDS`];
  try {
    kind.make(m as never).validate();
    return [];
  } catch (err) {
    return [`schema: ${(err as Error).message}`];
  }
}

/**
 * The Prometheus Operator's CRD is not in kubernetes-models' first-party set;
 * the few fields the chart sets are checked by hand.
 */
function serviceMonitorProblems(m: Manifest): string[] {
  const problems: string[] = [];
  if (typeof at(m, 'spec', 'selector') !== 'object') problems.push('spec.selector is required');
  const endpoints = list(at(m, 'spec', 'endpoints'));
  if (endpoints.length === 0) problems.push('spec.endpoints must not be empty');
  for (const [i, e] of endpoints.entries()) {
    if (typeof at(e, 'port') !== 'string') problems.push(`spec.endpoints[${i}].port is required`);
  }
  return problems;
}

type AttributeMap = ReadonlyArray<{ readonly baseName: string; readonly type: string }>;

function attributesOf(typeName: string): AttributeMap | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[
    typeName
  ];
  return model?.getAttributeTypeMap?.();
}

/** Every property path of `value` that the client-node model `typeName` does not have. */
export function unknownFields(value: unknown, typeName: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array !== null) {
    return list(value).flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map !== null) {
    return Object.entries(record(value)).flatMap(([k, v]) =>
      unknownFields(v, map[1]!, `${path}.${k}`),
    );
  }
  const attributes = /^V\d/.test(typeName) ? attributesOf(typeName) : undefined;
  if (attributes === undefined || typeof value !== 'object' || value === null) return [];
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([k, v]) => {
    const type = known.get(k);
    const here = path === '' ? k : `${path}.${k}`;
    return type === undefined ? [`unknown field ${here}`] : unknownFields(v, type, here);
  });
}

function labelsMatch(selector: unknown, labels: unknown): boolean {
  const want = Object.entries(record(selector));
  const have = record(labels);
  return want.length > 0 && want.every(([k, v]) => have[k] === v);
}

/** `matchLabels` and `In` expressions only: what the chart uses. */
function selectorMatches(selector: unknown, labels: unknown): boolean {
  const have = record(labels);
  const expressions = list(at(selector, 'matchExpressions'));
  return (
    labelsMatch(at(selector, 'matchLabels'), labels) &&
    expressions.every(
      (e) =>
        at(e, 'operator') === 'In' && list(at(e, 'values')).includes(have[String(at(e, 'key'))]),
    )
  );
}

/** Cross-object references: what no schema can check. */
function referenceProblems(all: readonly Manifest[]): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const add = (m: Manifest, message: string): void => {
    problems.push({ object: nameOf(m), message });
  };
  const ofKind = (kind: string): Manifest[] => all.filter((m) => m['kind'] === kind);
  const names = (kind: string): Set<string> =>
    new Set(ofKind(kind).map((m) => String(at(m, 'metadata', 'name'))));
  const workloads = [...ofKind('Deployment'), ...ofKind('DaemonSet')];
  const serviceAccounts = names('ServiceAccount');

  for (const w of workloads) {
    const labels = at(w, 'spec', 'template', 'metadata', 'labels');
    if (!selectorMatches(at(w, 'spec', 'selector'), labels)) {
      add(w, 'spec.selector does not select its own pod template');
    }
    const sa = at(w, 'spec', 'template', 'spec', 'serviceAccountName');
    if (typeof sa !== 'string' || !serviceAccounts.has(sa)) {
      add(w, `serviceAccountName ${String(sa)} is not rendered`);
    }
    for (const c of list(at(w, 'spec', 'template', 'spec', 'containers'))) {
      const ports = new Set(list(at(c, 'ports')).map((p) => at(p, 'name')));
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = at(c, probe, 'httpGet', 'port');
        if (typeof port === 'string' && !ports.has(port)) {
          add(w, `${probe} names port ${port}, which container ${String(at(c, 'name'))} lacks`);
        }
      }
    }
  }
  const podsFor = (selector: unknown): Manifest[] =>
    workloads.filter((w) => labelsMatch(selector, at(w, 'spec', 'template', 'metadata', 'labels')));
  for (const s of ofKind('Service')) {
    const targets = podsFor(at(s, 'spec', 'selector'));
    if (targets.length === 0) add(s, 'spec.selector selects no rendered workload');
    for (const p of list(at(s, 'spec', 'ports'))) {
      const target = at(p, 'targetPort');
      const named = targets.every((w) =>
        list(at(w, 'spec', 'template', 'spec', 'containers')).some((c) =>
          list(at(c, 'ports')).some((cp) => at(cp, 'name') === target),
        ),
      );
      if (typeof target === 'string' && !named)
        add(s, `targetPort ${target} names no container port`);
    }
  }
  for (const pdb of ofKind('PodDisruptionBudget')) {
    if (
      workloads.every(
        (w) =>
          !selectorMatches(
            at(pdb, 'spec', 'selector'),
            at(w, 'spec', 'template', 'metadata', 'labels'),
          ),
      )
    ) {
      add(pdb, 'spec.selector selects no rendered workload');
    }
  }
  for (const [binding, role] of [
    ['ClusterRoleBinding', 'ClusterRole'],
    ['RoleBinding', 'Role'],
  ] as const) {
    const roles = names(role);
    for (const b of ofKind(binding)) {
      const ref = String(at(b, 'roleRef', 'name'));
      if (at(b, 'roleRef', 'kind') !== role || !roles.has(ref))
        add(b, `roleRef ${role}/${ref} is not rendered`);
      for (const s of list(at(b, 'subjects'))) {
        const sa = String(at(s, 'name'));
        if (at(s, 'kind') === 'ServiceAccount' && !serviceAccounts.has(sa)) {
          add(b, `subject ServiceAccount/${sa} is not rendered`);
        }
      }
    }
  }
  const policies = names('ValidatingAdmissionPolicy');
  for (const b of ofKind('ValidatingAdmissionPolicyBinding')) {
    const ref = String(at(b, 'spec', 'policyName'));
    if (!policies.has(ref)) add(b, `policyName ${ref} is not rendered`);
  }
  const services = ofKind('Service');
  for (const sm of ofKind('ServiceMonitor')) {
    const selected = services.filter((s) =>
      selectorMatches(at(sm, 'spec', 'selector'), at(s, 'metadata', 'labels')),
    );
    if (selected.length === 0) add(sm, 'spec.selector selects no rendered Service');
    for (const e of list(at(sm, 'spec', 'endpoints'))) {
      const port = at(e, 'port');
      for (const s of selected) {
        if (!list(at(s, 'spec', 'ports')).some((p) => at(p, 'name') === port)) {
          add(sm, `endpoint port ${String(port)} is not a port of ${nameOf(s)}`);
        }
      }
    }
  }
  return problems;
}

/**
 * Every problem with a set of rendered manifests: schema, unknown fields,
 * namespaces and references. Empty when all is well.
 */
export function checkManifests(all: readonly Manifest[]): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const seen = new Set<string>();
  for (const m of all) {
    const object = nameOf(m);
    if (seen.has(object)) problems.push({ object, message: 'rendered twice' });
    seen.add(object);
    for (const message of schemaProblems(m)) problems.push({ object, message });
    const kind = KINDS[`${String(m['apiVersion'])}/${String(m['kind'])}`];
    if (kind !== undefined) {
      for (const message of unknownFields(m, kind.model)) problems.push({ object, message });
    }
    const namespaced = !CLUSTER_SCOPED.has(String(m['kind']));
    if (namespaced !== (typeof at(m, 'metadata', 'namespace') === 'string')) {
      problems.push({
        object,
        message: namespaced
          ? 'metadata.namespace is missing'
          : 'cluster-scoped but has a namespace',
      });
    }
  }
  return [...problems, ...referenceProblems(all)];
}

/** A NodeFirewall as the controller writes it, with a status as the executor writes it. */
export function sampleNodeFirewall(): Manifest {
  const script = 'add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n}\n';
  const hash = `sha256:${createHash('sha256').update(script).digest('hex')}`;
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name: 'node-a' },
    spec: {
      script,
      scriptHash: hash,
      summary: {
        localPods: 3,
        isolatedPods: 1,
        policies: 1,
        rules: 2,
        sets: 1,
        setElements: 4,
        policyNames: ['shop/allow-frontend'],
      },
      addressSets: ['pods-0123456789abcdef'],
    },
    status: {
      observedGeneration: 2,
      appliedHash: hash,
      lastAppliedTime: '2025-01-01T00:00:00Z',
      nftVersion: '1.0.6',
      counters: {
        'shop/web': { ingressAllowed: 4, ingressDenied: 0, egressAllowed: 9, egressDenied: 12 },
      },
      conditions: [
        {
          type: 'Applied',
          status: 'True',
          observedGeneration: 2,
          lastTransitionTime: '2025-01-01T00:00:00Z',
          reason: 'Applied',
          message: 'Applied the script.',
        },
      ],
    },
  };
}

/** An AddressSet slice as the controller writes it. */
export function sampleAddressSet(): Manifest {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'AddressSet',
    metadata: {
      name: 'port-0123456789abcdef-0',
      labels: { 'nftpol.io/set': 'port-0123456789abcdef' },
      annotations: { 'nftpol.io/written-at': '2025-01-01T00:00:00.000Z' },
    },
    spec: {
      setId: 'port-0123456789abcdef',
      kind: 'addrPort',
      peer: 'shop: pods app=web, port http/TCP',
      members: ['10.0.0.7 . tcp . 8080', 'fd00::7 . tcp . 8080'],
      memberCount: 2,
    },
  };
}

/** The sample object of each CRD nftpol ships, by kind. */
const SAMPLES: Readonly<Record<string, () => Manifest>> = {
  NodeFirewall: sampleNodeFirewall,
  AddressSet: sampleAddressSet,
};

/**
 * Validates `object` against the served version's openAPIV3Schema of a CRD
 * with ajv (Kubernetes' `x-kubernetes-*` keywords are ignored; `date-time`
 * `int64` and `byte` formats checked). @returns ajv's error messages, empty when valid.
 */
export function validateAgainstCrd(crd: Manifest, object: Manifest): string[] {
  const version = String(object['apiVersion']).split('/')[1];
  const served = list(at(crd, 'spec', 'versions')).find((v) => at(v, 'name') === version);
  const schema = at(served, 'schema', 'openAPIV3Schema');
  if (typeof schema !== 'object' || schema === null) return [`CRD serves no version ${version}`];
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  const valid = ajv.validate(schema, object);
  return valid ? [] : (ajv.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

async function main(files: readonly string[]): Promise<number> {
  if (files.length === 0) {
    process.stderr.write('usage: check-manifests.ts RENDERED.yaml…\n');
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const manifests = parseManifests(await readFile(file, 'utf8'));
    const problems = checkManifests(manifests);
    for (const crd of manifests.filter((m) => m['kind'] === 'CustomResourceDefinition')) {
      const kind = String(at(crd, 'spec', 'names', 'kind'));
      const sample = SAMPLES[kind];
      if (sample === undefined) {
        problems.push({ object: nameOf(crd), message: `no sample ${kind} to validate` });
        continue;
      }
      for (const message of validateAgainstCrd(crd, sample())) {
        problems.push({ object: nameOf(crd), message: `sample ${kind}: ${message}` });
      }
    }
    for (const p of problems) process.stderr.write(`${file}: ${p.object}: ${p.message}\n`);
    process.stdout.write(`${file}: ${manifests.length} objects, ${problems.length} problems\n`);
    failed ||= problems.length > 0;
  }
  return failed ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`check-manifests: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
