/**
 * Label selector matching, exactly as metav1.LabelSelector defines it: every
 * matchLabels pair and every matchExpressions requirement must hold; the
 * empty selector matches everything.
 */
import type { Labels, LabelSelector, SelectorRequirement } from './model.js';

/** The selector with no requirements, which matches every object. */
export const EVERYTHING: LabelSelector = { matchLabels: {}, matchExpressions: [] };

/** True when `labels` satisfy every requirement of `selector`. */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((req) => matchesRequirement(req, labels));
}

function matchesRequirement(req: SelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'In':
      return has && value !== undefined && req.values.includes(value);
    case 'NotIn':
      return !has || value === undefined || !req.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}
