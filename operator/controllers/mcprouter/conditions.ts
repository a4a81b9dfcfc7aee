/**
 * Condition types and reasons of an McpRouter's status (Kubernetes API conventions, "Typical status properties":
 * CamelCase reasons, stable for machines). Events recorded on an McpRouter use the same reasons.
 */

/** Condition types of `McpRouter.status.conditions`. */
export const RouterCondition = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
} as const;

/** Reasons of the router's conditions, and of its Events. */
export const RouterReason = {
  /** Ready=True: every replica runs the current template and serves every declared upstream. */
  Available: 'Available',
  /** The spec fails validation (admitted under an older CRD). */
  InvalidSpec: 'InvalidSpec',
  /** The API server rejected a child, or the rendered router.json would be refused by the router. */
  ApplyFailed: 'ApplyFailed',
  /** A child's name is taken by an object this router does not control; the operator does not adopt it. */
  ResourceExists: 'ResourceExists',
  UpstreamNotFound: 'UpstreamNotFound',
  UpstreamInvalid: 'UpstreamInvalid',
  PrefixConflict: 'PrefixConflict',
  /** The router selects no upstream: it would serve nothing. */
  NoUpstreams: 'NoUpstreams',
  /** A router pod's container waits for a Secret that does not exist (CreateContainerConfigError). */
  SecretNotFound: 'SecretNotFound',
  /** A router pod's container waits for a key that its Secret does not have (CreateContainerConfigError). */
  SecretKeyNotFound: 'SecretKeyNotFound',
  /** The Deployment controller gave up waiting for the rollout (Progressing=False on the Deployment). */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  PodsPending: 'PodsPending',
  PodsNotReady: 'PodsNotReady',
  RollingOut: 'RollingOut',
  RolloutComplete: 'RolloutComplete',
  AsExpected: 'AsExpected',
  /** Event only: a child was created or changed. */
  Applied: 'Applied',
  /** Event only: a child the router no longer needs (PodDisruptionBudget, NetworkPolicy) was deleted. */
  Deleted: 'Deleted',
} as const;

export type RouterReason = (typeof RouterReason)[keyof typeof RouterReason];

/** Ready reasons that call for a person: recorded as Warning Events when the condition takes them. */
export const ROUTER_WARNING_REASONS: ReadonlySet<string> = new Set<RouterReason>([
  RouterReason.InvalidSpec,
  RouterReason.ApplyFailed,
  RouterReason.ResourceExists,
  RouterReason.UpstreamNotFound,
  RouterReason.UpstreamInvalid,
  RouterReason.PrefixConflict,
  RouterReason.NoUpstreams,
  RouterReason.SecretNotFound,
  RouterReason.SecretKeyNotFound,
  RouterReason.ProgressDeadlineExceeded,
]);
