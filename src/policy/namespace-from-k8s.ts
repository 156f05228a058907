/**
 * v1 Namespace → the model's Namespace, its name label set as the API server
 * sets it (namespace selectors match on it).
 *
 * Pure: no I/O.
 */
import {
  type Conversion,
  DNS_LABEL,
  startReport,
  finish,
  skipped,
  fail,
  warn,
  hasErrors,
  isObject,
} from './k8s-read.js';
import { describeObject, readMetadata } from './metadata-from-k8s.js';
import { NAMESPACE_NAME_LABEL, type Namespace } from './model.js';

/**
 * Converts a v1 Namespace (plain JSON; `kind` and `apiVersion` not checked).
 * The label `kubernetes.io/metadata.name=<name>` is always set, as the API
 * server does (a different value given is replaced, with a warning).
 */
export function namespaceFromK8s(object: unknown, source = ''): Conversion<Namespace> {
  const r = startReport(source, describeObject('Namespace', object, false));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  const meta = readMetadata(r, object, false, DNS_LABEL);
  if (!meta || hasErrors(r)) return skipped(r);
  const given = meta.labels[NAMESPACE_NAME_LABEL];
  if (given !== undefined && given !== meta.name) {
    warn(
      r,
      `metadata.labels.${NAMESPACE_NAME_LABEL}`,
      `is always the namespace name; "${given}" replaced by "${meta.name}"`,
    );
  }
  return finish(r, {
    name: meta.name,
    labels: { ...meta.labels, [NAMESPACE_NAME_LABEL]: meta.name },
  });
}
