import type {Condition} from './common.js';

/** A condition as computed by a reconcile, before times are assigned. */
export interface DesiredCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Merges freshly computed conditions into the previous ones, the way `meta.SetStatusCondition` of apimachinery does:
 * `lastTransitionTime` stays as it was unless the status flips (then it becomes `now`); reason, message and
 * `observedGeneration` always take the new values. Conditions not in `desired` are dropped. Output order follows
 * `desired`, so equal input gives equal output.
 * @param now RFC 3339 time, e.g. 2026-01-02T03:04:05Z (seconds precision, as metav1.Time serializes)
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  generation: number | undefined,
  now: string,
): Condition[] {
  return desired.map((condition) => {
    const before = previous?.find((c) => c.type === condition.type);
    return {
      type: condition.type,
      status: condition.status,
      ...(generation !== undefined && {observedGeneration: generation}),
      lastTransitionTime: before && before.status === condition.status ? before.lastTransitionTime : now,
      reason: condition.reason,
      message: condition.message,
    };
  });
}

/** `date` as an RFC 3339 time with seconds precision (metav1.Time), e.g. 2026-01-02T03:04:05Z. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
