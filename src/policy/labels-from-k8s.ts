/**
 * Labels and label selectors as the API server validates them: label keys
 * (an optional DNS prefix and a name) and values, `matchLabels` and
 * `matchExpressions` with their operators. A selector misread is the empty
 * selector, which matches everything, so every mistake is an error.
 *
 * Pure: no I/O.
 */
import {
  type Report,
  DNS_SUBDOMAIN,
  errorsSince,
  fail,
  isObject,
  own,
  readItems,
  readString,
  rejectUnknownFields,
  show,
} from './k8s-read.js';
import type { Labels, LabelSelector, SelectorOperator, SelectorRequirement } from './model.js';

const SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function readSelector(r: Report, raw: unknown, path: string): LabelSelector | undefined {
  if (!isObject(raw)) {
    fail(
      r,
      path,
      `must be a label selector (an object with matchLabels and/or matchExpressions), not ${show(raw)}`,
    );
    return undefined;
  }
  const before = r.problems.length;
  rejectUnknownFields(r, raw, path, SELECTOR_FIELDS);
  const labelsRaw = own(raw, 'matchLabels');
  const matchLabels =
    labelsRaw === undefined ? {} : readLabels(r, labelsRaw, `${path}.matchLabels`);
  const matchExpressions = (
    readItems(r, raw, 'matchExpressions', `${path}.matchExpressions`, {}) ?? []
  ).map((e, i) => readRequirement(r, e, `${path}.matchExpressions[${i}]`));
  if (!matchLabels || errorsSince(r, before)) return undefined;
  return {
    matchLabels,
    matchExpressions: matchExpressions.filter((e): e is SelectorRequirement => e !== undefined),
  };
}

function readRequirement(r: Report, raw: unknown, path: string): SelectorRequirement | undefined {
  if (!isObject(raw)) {
    fail(r, path, 'must be an object with key, operator and values');
    return undefined;
  }
  rejectUnknownFields(r, raw, path, ['key', 'operator', 'values']);
  const key = readString(r, raw, 'key', `${path}.key`);
  if (key === undefined) {
    if (own(raw, 'key') === undefined) fail(r, `${path}.key`, 'is required');
  } else {
    checkLabelKey(r, key, `${path}.key`);
  }
  const opRaw = own(raw, 'operator');
  const operator = OPERATORS.find((o) => o === opRaw);
  if (operator === undefined) {
    const message =
      opRaw === undefined
        ? 'is required'
        : `unknown operator ${show(opRaw)}; use In, NotIn, Exists or DoesNotExist`;
    fail(r, `${path}.operator`, message);
  }
  const values: string[] = [];
  const rawValues = readItems(r, raw, 'values', `${path}.values`, '') ?? [];
  rawValues.forEach((v, i) => {
    if (typeof v === 'string') {
      values.push(v);
      checkLabelValue(r, v, `${path}.values[${i}]`);
    } else {
      fail(r, `${path}.values[${i}]`, `must be a string, not ${show(v)}; quote it`);
    }
  });
  if ((operator === 'In' || operator === 'NotIn') && rawValues.length === 0) {
    fail(r, `${path}.values`, `operator ${operator} needs at least one value`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && rawValues.length > 0) {
    fail(r, `${path}.values`, `operator ${operator} takes no values`);
  }
  if (key === undefined || operator === undefined) return undefined;
  return { key, operator, values };
}

export function readLabels(r: Report, raw: unknown, path: string): Labels | undefined {
  if (!isObject(raw)) {
    fail(r, path, `must be a map of label names to string values, not ${show(raw)}`);
    return undefined;
  }
  const entries: [string, string][] = [];
  let ok = true;
  for (const [key, value] of Object.entries(raw)) {
    const keyOk = checkLabelKey(r, key, `${path}.${key}`);
    if (typeof value !== 'string') {
      ok =
        fail(r, `${path}.${key}`, `label values are strings, not ${show(value)}; quote it`) ??
        false;
      continue;
    }
    ok = checkLabelValue(r, value, `${path}.${key}`) && keyOk && ok;
    entries.push([key, value]);
  }
  return ok ? Object.fromEntries(entries) : undefined;
}

function checkLabelKey(r: Report, key: string, path: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const name = key.slice(slash + 1);
  const prefixOk = slash < 0 || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (prefixOk && name.length <= 63 && LABEL_NAME.test(name)) return true;
  fail(
    r,
    path,
    `invalid label key "${key}": an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
  );
  return false;
}

function checkLabelValue(r: Report, value: string, path: string): boolean {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return true;
  fail(
    r,
    path,
    `invalid label value "${value}": at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
  );
  return false;
}
