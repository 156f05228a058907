/**
 * Status conditions with the exact semantics of apimachinery's
 * `meta.SetStatusCondition`, so that a NodeFirewall's conditions behave like
 * every other controller's: one entry per type, `lastTransitionTime` moves only
 * when `status` changes, and the rest (reason, message, observedGeneration) is
 * simply overwritten. Pure: the caller passes `now`.
 *
 * Messages are truncated to the API's limit (32768 characters, as
 * operator-controller does) rather than letting the whole status write fail.
 */

/** metav1.ConditionStatus. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition: every field but `observedGeneration` is required by the API. */
export interface Condition {
  /** PascalCase condition type, e.g. `Applied`. At most 316 characters. */
  readonly type: string;
  readonly status: ConditionStatus;
  /** `metadata.generation` the condition was computed from. */
  readonly observedGeneration?: number;
  /** RFC 3339 time the status last changed. */
  readonly lastTransitionTime: string;
  /** PascalCase machine-readable cause, e.g. `ApplyFailed`. */
  readonly reason: string;
  /** One human-readable sentence; may be empty. */
  readonly message: string;
}

/** What a caller sets; `lastTransitionTime` is computed. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** API limit on `message` length (metav1.Condition, characters). */
export const MAX_CONDITION_MESSAGE = 32768;

const TRUNCATION_MARK = '… (truncated)';
const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/**
 * Returns `conditions` with `update` set, without mutating the input.
 *
 * - A new type is appended with `lastTransitionTime = now`.
 * - An existing type keeps its position; its `lastTransitionTime` changes to
 *   `now` only if `status` changed; other fields are replaced.
 * - `message` longer than {@link MAX_CONDITION_MESSAGE} is cut and marked.
 * - Seconds precision, like the API server stores it (`2024-05-01T10:00:00Z`).
 *
 * @throws TypeError when `reason` is not the API's pattern (CamelCase, no
 *   spaces): the API server would reject the whole status write.
 */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  now: Date,
): readonly Condition[] {
  if (!REASON_PATTERN.test(update.reason)) {
    throw new TypeError(`condition reason ${JSON.stringify(update.reason)} must be CamelCase`);
  }
  const message = truncateMessage(update.message);
  const index = conditions.findIndex((c) => c.type === update.type);
  const existing = index === -1 ? undefined : conditions[index];
  const lastTransitionTime =
    existing !== undefined && existing.status === update.status
      ? existing.lastTransitionTime
      : formatTime(now);
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(update.observedGeneration === undefined
      ? {}
      : { observedGeneration: update.observedGeneration }),
    lastTransitionTime,
    reason: update.reason,
    message,
  };
  if (index === -1) return [...conditions, next];
  return conditions.map((c, i) => (i === index ? next : c));
}

/** The condition of `type`, if present. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` is present with status `True`. */
export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Returns `conditions` without the entry of `type` (unchanged if absent). */
export function removeCondition(
  conditions: readonly Condition[],
  type: string,
): readonly Condition[] {
  return conditions.filter((c) => c.type !== type);
}

/** Cuts `message` to {@link MAX_CONDITION_MESSAGE} characters, marking the cut. */
export function truncateMessage(message: string): string {
  const chars = Array.from(message);
  if (chars.length <= MAX_CONDITION_MESSAGE) return message;
  return chars.slice(0, MAX_CONDITION_MESSAGE - TRUNCATION_MARK.length).join('') + TRUNCATION_MARK;
}

function formatTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
