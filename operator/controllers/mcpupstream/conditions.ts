/**
 * Condition type and reasons of an McpUpstream's status (Kubernetes API conventions: CamelCase reasons, stable for
 * machines). Events recorded on an McpUpstream use the same reasons.
 */

/** The one condition type of `McpUpstream.status.conditions`. */
export const ACCEPTED = 'Accepted';

/** Reasons of the Accepted condition, and of the upstream's Events. */
export const UpstreamReason = {
  /** Accepted=True: the spec can be rendered and every router that selects it uses it. */
  Valid: 'Valid',
  /** The spec fails validation (admitted under an older CRD). */
  InvalidSpec: 'InvalidSpec',
  /**
   * Pods of a router that selects it wait for a Secret that its `secretKeyRef`s (not `optional`) name and that does
   * not exist.
   */
  SecretNotFound: 'SecretNotFound',
  /** Pods of a router that selects it wait for a key that one of its `secretKeyRef`s names and the Secret lacks. */
  SecretKeyNotFound: 'SecretKeyNotFound',
  /** A router that selects it left it out: an upstream earlier by name has the same prefix. */
  PrefixConflict: 'PrefixConflict',
} as const;

export type UpstreamReason = (typeof UpstreamReason)[keyof typeof UpstreamReason];

/** Accepted reasons recorded as Warning Events when the condition takes them (all of status False). */
export const UPSTREAM_WARNING_REASONS: ReadonlySet<string> = new Set<UpstreamReason>([
  UpstreamReason.InvalidSpec,
  UpstreamReason.SecretNotFound,
  UpstreamReason.SecretKeyNotFound,
  UpstreamReason.PrefixConflict,
]);
