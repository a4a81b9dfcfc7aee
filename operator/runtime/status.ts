import type {Logger} from 'pino';
import {FIELD_MANAGER, objectHash} from './apply.js';
import type {EventRecorder} from './events.js';
import {apiVersionOf, type KubeClient, type KubeObject, type ResourceType} from './kube.js';

/** The fields of a metav1.Condition this module reads. */
interface ConditionFields {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** What writing a status needs. */
export interface StatusWriterDeps {
  client: KubeClient;
  events: EventRecorder;
  log: Logger;
}

/** Which condition's flips become Events, and of which type. */
export interface FlipEvents {
  /** The condition type, e.g. Ready or Accepted. */
  condition: string;
  /** Reasons recorded as Warning Events. */
  warnings: ReadonlySet<string>;
  /** Whether a flip to a reason not in `warnings` is recorded too (as a Normal Event). */
  normal: boolean;
}

/**
 * Writes a custom resource's status through the status subresource (server-side apply, field manager
 * `kube-mcp-router`, force) when it differs from the cached `object.status`, then records an Event when the
 * condition `flips.condition` changed status or reason: type Warning for a reason in `flips.warnings`, else Normal
 * (only with `flips.normal`); the Event's reason and message are the condition's (Event reasons equal condition
 * reasons). An unchanged status sends nothing.
 * @returns whether the status was written
 * @throws ApiError when the API server refuses the write (the reconcile is retried with backoff)
 */
export async function writeStatusIfChanged<S extends {conditions?: ConditionFields[]}>(
  deps: StatusWriterDeps,
  type: ResourceType,
  object: KubeObject & {metadata: {name: string; namespace: string}; status?: S},
  status: S,
  flips: FlipEvents,
): Promise<boolean> {
  if (objectHash(status) === objectHash(object.status ?? {})) return false;
  const {namespace, name, uid} = object.metadata;
  const apiVersion = apiVersionOf(type);
  await deps.client.apply(
    type,
    {apiVersion, kind: type.kind, metadata: {name, namespace, ...(uid && {uid})}, status},
    {fieldManager: FIELD_MANAGER, force: true, subresource: 'status'},
  );
  deps.log.debug({kind: type.kind, namespace, name}, 'Updated status');
  const before = object.status?.conditions?.find((c) => c.type === flips.condition);
  const after = status.conditions?.find((c) => c.type === flips.condition);
  if (!after || (before && before.status === after.status && before.reason === after.reason)) return true;
  const warning = flips.warnings.has(after.reason);
  if (warning || flips.normal) {
    await deps.events.record(
      {...object, apiVersion, kind: type.kind},
      warning ? 'Warning' : 'Normal',
      after.reason,
      after.message,
    );
  }
  return true;
}
