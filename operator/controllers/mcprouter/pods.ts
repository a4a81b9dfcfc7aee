import type {V1ContainerStatus, V1Pod} from '@kubernetes/client-node';
import {selectorLabels} from './render.js';

/**
 * What a router's pods say about the Secrets they need. The operator cannot read Secrets (ADR 0004, ADR 0019), so a
 * missing Secret or key is learnt from the kubelet: a container whose env cannot be built waits with reason
 * `CreateContainerConfigError` and a message naming the Secret (pkg/kubelet/kubelet_pods.go,
 * makeEnvironmentVariables). The kubelet stops at the first env var it cannot resolve, so a pod names one missing
 * Secret or key at a time.
 */

/** A Secret, or a key of it, that a router pod's container could not get. */
export interface MissingSecret {
  reason: 'SecretNotFound' | 'SecretKeyNotFound';
  secret: string;
  /** The key, for SecretKeyNotFound. */
  key?: string;
}

/** The waiting reason of a container whose config (env, mounts) the kubelet could not build. */
export const CREATE_CONTAINER_CONFIG_ERROR = 'CreateContainerConfigError';

// The kubelet's messages: the NotFound error of its Secret manager, and its own for a missing key.
const SECRET_NOT_FOUND = /^secret "([^"]+)" not found$/;
const KEY_NOT_FOUND = /^couldn't find key (\S+) in Secret [^/\s]+\/(\S+)$/;

/** The Secret or key a container waits for, from its state as the kubelet writes it; undefined for anything else. */
export function missingSecretOf(container: V1ContainerStatus): MissingSecret | undefined {
  const waiting = container.state?.waiting;
  if (waiting?.reason !== CREATE_CONTAINER_CONFIG_ERROR || !waiting.message) return undefined;
  const secret = SECRET_NOT_FOUND.exec(waiting.message);
  if (secret) return {reason: 'SecretNotFound', secret: secret[1]!};
  const key = KEY_NOT_FOUND.exec(waiting.message);
  if (key) return {reason: 'SecretKeyNotFound', secret: key[2]!, key: key[1]!};
  return undefined;
}

/** The distinct Secrets and keys that containers of `pods` (except pods being deleted) wait for, sorted. */
export function missingSecretsOf(pods: readonly V1Pod[]): MissingSecret[] {
  const found = new Map<string, MissingSecret>();
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    for (const container of pod.status?.containerStatuses ?? []) {
      const missing = missingSecretOf(container);
      if (missing) found.set(`${missing.secret}\n${missing.key ?? ''}`, missing);
    }
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, missing]) => missing);
}

/** `Secret "x" not found` or `key "y" not found in Secret "x"`. */
export function describeMissingSecret(missing: MissingSecret): string {
  return missing.key === undefined
    ? `Secret "${missing.secret}" not found`
    : `key "${missing.key}" not found in Secret "${missing.secret}"`;
}

/** The pods of `pods` that belong to the router `routerName` (its Deployment's selector labels). */
export function podsOfRouter<P extends V1Pod>(pods: readonly P[], routerName: string): P[] {
  const selector = Object.entries(selectorLabels(routerName));
  return pods.filter((pod) => selector.every(([key, value]) => pod.metadata?.labels?.[key] === value));
}
