/**
 * Object metadata as the API server validates it: the name (a DNS label or
 * subdomain, by kind), the namespace of a namespaced object (never assumed
 * to be "default") and the labels; and the `Kind namespace/name` that
 * problems call an object by.
 *
 * Pure: no I/O.
 */
import {
  type JsonObject,
  type Report,
  DNS_LABEL,
  fail,
  isObject,
  own,
  readObject,
  show,
  stringOr,
} from './k8s-read.js';
import { readLabels } from './labels-from-k8s.js';
import type { Labels } from './model.js';

interface Metadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

export function readMetadata(
  r: Report,
  obj: JsonObject,
  namespaced: boolean,
  nameFormat: RegExp,
): Metadata | undefined {
  const meta = readObject(r, obj, 'metadata', 'metadata');
  if (!meta) {
    if (own(obj, 'metadata') === undefined) fail(r, 'metadata.name', 'is required');
    return undefined;
  }
  const name = readName(r, meta, 'name', nameFormat);
  const namespace = namespaced ? readName(r, meta, 'namespace', DNS_LABEL) : '';
  const labelsRaw = own(meta, 'labels');
  const labels = labelsRaw === undefined ? {} : readLabels(r, labelsRaw, 'metadata.labels');
  if (name === undefined || namespace === undefined || labels === undefined) return undefined;
  return { name, namespace, labels };
}

function readName(
  r: Report,
  meta: JsonObject,
  key: 'name' | 'namespace',
  format: RegExp,
): string | undefined {
  const path = `metadata.${key}`;
  const raw = own(meta, key);
  if (raw === undefined || raw === '') {
    const why = key === 'namespace' ? ' (nftpol does not assume "default")' : '';
    fail(r, path, `is required${why}`);
    return undefined;
  }
  if (typeof raw !== 'string') {
    fail(r, path, `must be a string, not ${show(raw)}`);
    return undefined;
  }
  const max = format === DNS_LABEL ? 63 : 253;
  if (raw.length > max || !format.test(raw)) {
    fail(
      r,
      path,
      `invalid ${key} "${raw}": at most ${max} lower-case letters, digits and '-'${format === DNS_LABEL ? '' : " or '.'"}, starting and ending with a letter or digit`,
    );
    return undefined;
  }
  return raw;
}

/** `NetworkPolicy a/deny`, `Node n1`, with placeholders for what is missing. */
export function describeObject(kind: string, object: unknown, namespaced: boolean): string {
  const meta = isObject(object) ? own(object, 'metadata') : undefined;
  const name = (isObject(meta) && stringOr(own(meta, 'name'))) || '<no name>';
  if (!namespaced) return `${kind} ${name}`;
  const namespace = (isObject(meta) && stringOr(own(meta, 'namespace'))) || '<no namespace>';
  return `${kind} ${namespace}/${name}`;
}
