/**
 * `labelSelector` and `fieldSelector` query parameters, parsed with the real
 * server's grammar and matched against stored objects. Lists and watches use
 * the same filter, so an object entering or leaving a selector shows up in a
 * watch as ADDED or DELETED, as it does in the real watch cache.
 *
 * Label selectors reuse the policy core's matcher (`=`/`==` are matchLabels,
 * `!=` is NotIn, `in`, `notin`, `key`, `!key`); `<`/`>` are not supported.
 * Field selectors accept `metadata.name`, `metadata.namespace` and the
 * resource's own fields (e.g. `spec.nodeName` for pods); any other field is a
 * 400, as on a real cluster.
 */
import type { LabelSelector, SelectorRequirement } from '../../../src/policy/model.js';
import { matchesSelector } from '../../../src/policy/selector.js';
import { ApiError } from './errors.js';
import type { ResourceDef } from './resources.js';
import type { StoredObject } from './store.js';

/** One `path=value` or `path!=value` term of a field selector. */
export interface FieldRequirement {
  readonly path: string;
  readonly operator: 'Equals' | 'NotEquals';
  readonly value: string;
}

/** What a list or watch is restricted to. */
export interface ObjectFilter {
  /** Namespace of a namespaced collection URL; undefined for all namespaces. */
  readonly namespace?: string | undefined;
  readonly labels?: LabelSelector | undefined;
  readonly fields?: readonly FieldRequirement[] | undefined;
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(String.raw`^!\s*(${KEY})$`);
const SET = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\((.*)\)$`);
const EQUALITY = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);

/**
 * Parses a `labelSelector` query value.
 *
 * @throws ApiError BadRequest on a malformed requirement.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: SelectorRequirement[] = [];
  for (const term of splitTopLevel(text)) {
    if (term === '') continue;
    let m: RegExpExecArray | null;
    if ((m = NOT_EXISTS.exec(term)) !== null) {
      matchExpressions.push({ key: group(m, 1), operator: 'DoesNotExist', values: [] });
    } else if ((m = SET.exec(term)) !== null) {
      const values = group(m, 4)
        .split(',')
        .map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v)) || values.every((v) => v === '')) {
        throw badLabelSelector(text, term);
      }
      const operator = group(m, 3) === 'in' ? 'In' : 'NotIn';
      matchExpressions.push({ key: group(m, 1), operator, values });
    } else if ((m = EQUALITY.exec(term)) !== null) {
      const key = group(m, 1);
      const value = group(m, 4);
      if (group(m, 3) === '!=') {
        matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      } else if (matchLabels[key] !== undefined && matchLabels[key] !== value) {
        matchExpressions.push({ key, operator: 'In', values: [value] });
      } else {
        matchLabels[key] = value;
      }
    } else if ((m = EXISTS.exec(term)) !== null) {
      matchExpressions.push({ key: group(m, 1), operator: 'Exists', values: [] });
    } else {
      throw badLabelSelector(text, term);
    }
  }
  return { matchLabels, matchExpressions };
}

/**
 * Parses a `fieldSelector` query value, checking each field is supported by
 * `def`. Backslash escapes (`\,`, `\=`, `\\`) are honoured in values.
 *
 * @throws ApiError BadRequest on a malformed term or an unsupported field.
 */
export function parseFieldSelector(text: string, def: ResourceDef): readonly FieldRequirement[] {
  const supported = ['metadata.name', 'metadata.namespace', ...def.fields];
  const out: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    if (term.trim() === '') continue;
    const m = /^([^=!]+?)\s*(==|=|!=)(.*)$/s.exec(term.trim());
    if (m === null) {
      throw new ApiError('BadRequest', `invalid field selector: ${JSON.stringify(text)}`);
    }
    const path = group(m, 1);
    if (!supported.includes(path)) {
      throw new ApiError(
        'BadRequest',
        `field label not supported: ${path} (supported: ${supported.join(', ')})`,
      );
    }
    out.push({
      path,
      operator: group(m, 2) === '!=' ? 'NotEquals' : 'Equals',
      value: unescapeValue(group(m, 3)),
    });
  }
  return out;
}

/** True when `obj` passes every part of `filter`. */
export function matchesFilter(obj: StoredObject, filter: ObjectFilter): boolean {
  if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) return false;
  if (filter.labels !== undefined && !matchesSelector(filter.labels, obj.metadata.labels ?? {})) {
    return false;
  }
  for (const req of filter.fields ?? []) {
    const actual = fieldValue(obj, req.path);
    if ((actual === req.value) !== (req.operator === 'Equals')) return false;
  }
  return true;
}

/** The string form of a dotted field path (`''` when absent), as field selectors see it. */
export function fieldValue(obj: StoredObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return '';
}

function group(m: RegExpExecArray, i: number): string {
  return m[i] ?? '';
}

function badLabelSelector(text: string, term: string): ApiError {
  return new ApiError(
    'BadRequest',
    `unable to parse requirement: ${JSON.stringify(term)} in labelSelector ${JSON.stringify(text)}`,
  );
}

/** Splits on commas outside parentheses (`a in (x,y),b`). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur.trim());
  return out;
}

function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text.charAt(i + 1);
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
