import {createHash} from 'node:crypto';
import type {KubeClient, KubeObject, ResourceType} from './kube.js';

/**
 * Server-side apply that writes only when something differs (Kubernetes "Server-Side Apply"; one field manager,
 * `force: true`, as controllers do).
 *
 * Whether to apply is decided without a request, from the cached live object:
 * - every field of the desired object must be present in the live object with the same value (a subset test, so
 *   defaults the API server filled in do not count as differences, but an edit by someone else does), and
 * - the live object's `mcprouter.dev/applied-hash` annotation must equal the hash of the desired object, so a field
 *   that was dropped from the desired object (which the subset test cannot see) still triggers an apply, and the
 *   apply removes it.
 * An apply that changes nothing is also a no-op on the server (no new resourceVersion); skipping it saves the request.
 */

/** Annotation holding the hash of the last applied configuration of a child. */
export const APPLIED_HASH_ANNOTATION = 'mcprouter.dev/applied-hash';

/** Field manager of every write of the operator. */
export const FIELD_MANAGER = 'kube-mcp-router';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Hash of an object's canonical JSON (keys sorted): `sha256:<16 hex digits>`. */
export function objectHash(object: unknown): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(canonical(object)))
    .digest('hex')
    .slice(0, 16)}`;
}

/**
 * Whether every field of `desired` is in `live` with an equal value. Arrays must have the same length and match
 * element by element. A number equals a string of the same text (the API server turns quantities like 1 into "1").
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((item, i) => isSubset(item, live[i]));
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(desired).every(([key, value]) => isSubset(value, (live as Record<string, unknown>)[key]));
  }
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  return false;
}

/** The desired object with its applied-hash annotation added. */
export function withAppliedHash<T extends KubeObject>(desired: T): T {
  const hash = objectHash(desired);
  return {
    ...desired,
    metadata: {...desired.metadata, annotations: {...desired.metadata?.annotations, [APPLIED_HASH_ANNOTATION]: hash}},
  };
}

/** Whether `live` already is what applying `desired` would make it (see the module comment). */
export function upToDate(desired: KubeObject, live: KubeObject | undefined): boolean {
  if (!live || live.metadata?.deletionTimestamp) return false;
  return isSubset(withAppliedHash(desired), live);
}

/** Result of `applyIfChanged`: the live object after the call, and whether a write was sent. */
export interface ApplyResult<T> {
  object: T;
  changed: boolean;
}

/**
 * Applies `desired` when `live` (from the cache; undefined when absent) differs from it.
 * @throws ApiError when the API server rejects the apply
 */
export async function applyIfChanged<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  desired: KubeObject & {metadata: {name: string; namespace: string}},
  live: T | undefined,
): Promise<ApplyResult<T>> {
  if (live && upToDate(desired, live)) return {object: live, changed: false};
  const object = await client.apply<T>(type, withAppliedHash(desired), {fieldManager: FIELD_MANAGER, force: true});
  return {object, changed: object.metadata?.resourceVersion !== live?.metadata?.resourceVersion};
}
