import type {V1Pod} from '@kubernetes/client-node';
import {mergeConditions, type DesiredCondition} from '../../api/conditions.js';
import type {McpUpstreamStatus} from '../../api/mcpupstream.js';
import {
  parseMcpRouter,
  parseMcpUpstream,
  type McpRouter,
  type McpRouterResource,
  type McpUpstream,
  type McpUpstreamResource,
} from '../../api/types.js';
import {describeMissingSecret, missingSecretsOf, podsOfRouter, type MissingSecret} from '../mcprouter/pods.js';
import {resolveUpstreams} from '../mcprouter/resolve.js';
import {selects} from '../../api/selector.js';
import {ACCEPTED, UpstreamReason} from './conditions.js';

/** What the status of an McpUpstream is computed from, all from the caches of its namespace. */
export interface UpstreamObservation {
  /** The McpRouters of the upstream's namespace. */
  routers: readonly McpRouterResource[];
  /** The McpUpstreams of the upstream's namespace (itself included), for prefix conflicts. */
  upstreams: readonly McpUpstreamResource[];
  /** The router pods of the upstream's namespace (what their containers wait for tells of missing Secrets). */
  pods: readonly V1Pod[];
}

/** The valid routers (not being deleted) in the upstream's namespace that select it, sorted by name. */
function routersSelecting(upstream: McpUpstreamResource, routers: readonly McpRouterResource[]): McpRouter[] {
  const selecting: McpRouter[] = [];
  for (const candidate of routers) {
    if (candidate.metadata.namespace !== upstream.metadata.namespace || candidate.metadata.deletionTimestamp) continue;
    const parsed = parseMcpRouter(candidate);
    if (parsed.ok && selects(parsed.value, upstream)) selecting.push(parsed.value);
  }
  return selecting.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/**
 * The prefix an McpUpstream asks for, read without validating its spec (`spec.prefix` if a string, else its name):
 * a cheap filter for the upstreams that may conflict with another, which are then resolved properly.
 */
export function declaredPrefix(upstream: McpUpstreamResource): string {
  const prefix = (upstream.spec as {prefix?: unknown} | undefined)?.prefix;
  return typeof prefix === 'string' ? prefix : upstream.metadata.name;
}

/**
 * Whether an McpUpstream's env vars or headers name the Secret `secret`, read without validating its spec: cheap
 * enough to run over every upstream of a namespace on each event of a router pod that waits for a Secret.
 */
export function namesSecret(upstream: McpUpstreamResource, secret: string): boolean {
  const spec = upstream.spec as {stdio?: {env?: unknown}; http?: {headers?: unknown}} | undefined;
  const items = [spec?.stdio?.env, spec?.http?.headers].flatMap((list) => (Array.isArray(list) ? list : []));
  return items.some(
    (item) =>
      (item as {valueFrom?: {secretKeyRef?: {name?: unknown}}} | null)?.valueFrom?.secretKeyRef?.name === secret,
  );
}

/**
 * The Secret keys an upstream's env vars and headers take values from, except `optional` ones (the kubelet starts
 * the pod without those), with where each is named: `spec.http.headers[0].valueFrom.secretKeyRef`.
 */
export function secretReferences(upstream: McpUpstream): {name: string; key: string; path: string}[] {
  const {stdio, http} = upstream.spec;
  const lists: [
    string,
    {valueFrom?: {secretKeyRef?: {name: string; key: string; optional?: boolean}}}[] | undefined,
  ][] = [
    ['spec.stdio.env', stdio?.env],
    ['spec.http.headers', http?.headers],
  ];
  return lists.flatMap(([path, items]) =>
    (items ?? []).flatMap((item, i) => {
      const ref = item.valueFrom?.secretKeyRef;
      return ref && !ref.optional ? [{name: ref.name, key: ref.key, path: `${path}[${i}].valueFrom.secretKeyRef`}] : [];
    }),
  );
}

/**
 * The Secrets and keys the pods of the routers that select `upstream` wait for and that the upstream names, with
 * where it names them and which routers' pods wait: one sentence each, the first one's reason.
 */
function missingSecrets(
  upstream: McpUpstream,
  routers: McpRouter[],
  pods: readonly V1Pod[],
): {reason: MissingSecret['reason']; message: string} | undefined {
  const references = secretReferences(upstream);
  const found: {missing: MissingSecret; paths: string[]; routers: string[]}[] = [];
  for (const router of routers) {
    for (const missing of missingSecretsOf(podsOfRouter(pods, router.metadata.name))) {
      const paths = references
        .filter((ref) => ref.name === missing.secret && (missing.key === undefined || ref.key === missing.key))
        .map((ref) => ref.path);
      if (paths.length === 0) continue;
      const same = found.find((f) => f.missing.secret === missing.secret && f.missing.key === missing.key);
      if (same) same.routers.push(router.metadata.name);
      else found.push({missing, paths, routers: [router.metadata.name]});
    }
  }
  if (found.length === 0) return undefined;
  return {
    reason: found[0]!.missing.reason,
    message: found
      .map(
        ({missing, paths, routers: names}) =>
          `${describeMissingSecret(missing)} (${paths.join(', ')}): pods of McpRouter ` +
          `${names.map((n) => `"${n}"`).join(', ')} cannot start`,
      )
      .join('; '),
  };
}

/** Why each router that selects `upstream` left it out for its prefix: one sentence per router, or none. */
function prefixConflicts(upstream: McpUpstream, routers: McpRouter[], upstreams: readonly McpUpstreamResource[]) {
  const prefix = declaredPrefix(upstream);
  const rivals = upstreams.filter((u) => declaredPrefix(u) === prefix);
  return routers.flatMap((router) =>
    resolveUpstreams(router, rivals)
      .conflicts.filter((conflict) => conflict.name === upstream.metadata.name)
      .map(
        (conflict) =>
          `McpRouter "${router.metadata.name}" left it out: prefix "${conflict.prefix}" is already used by ` +
          `McpUpstream "${conflict.with}"`,
      ),
  );
}

/**
 * Status of an McpUpstream: one condition, Accepted, with the first reason that applies:
 * - False/InvalidSpec: the spec fails validation (path and reason in the message);
 * - False/SecretNotFound or SecretKeyNotFound: pods of a router that selects it wait (CreateContainerConfigError) for
 *   a Secret or key that it names; the operator reads no Secret, so this is learnt from the pods
 *   (docs/adr/0019-operator-missing-secrets-from-router-pods.md);
 * - False/PrefixConflict: a router that selects it left it out, as another upstream (earlier by name) has the prefix;
 * - True/Valid: used by the routers that select it (or by none).
 * Also the transport and prefix in effect and the routers that select it. Pure; `now` (RFC 3339) is used only when
 * Accepted flips.
 */
export function computeUpstreamStatus(
  upstream: McpUpstreamResource,
  observation: UpstreamObservation,
  now: string,
): McpUpstreamStatus {
  const generation = upstream.metadata.generation;
  const parsed = parseMcpUpstream(upstream);
  const selecting = routersSelecting(upstream, observation.routers);
  const usedBy = selecting.map((router) => router.metadata.name);
  let accepted: DesiredCondition;
  let transport: McpUpstreamStatus['transport'];
  let prefix: string | undefined;
  if (parsed.ok) {
    const {spec} = parsed.value;
    transport = spec.stdio ? 'stdio' : spec.http?.transport;
    prefix = spec.prefix ?? upstream.metadata.name;
    const missing = missingSecrets(parsed.value, selecting, observation.pods);
    const conflicts = missing ? [] : prefixConflicts(parsed.value, selecting, observation.upstreams);
    if (missing) {
      accepted = {type: ACCEPTED, status: 'False', ...missing};
    } else if (conflicts.length > 0) {
      accepted = {
        type: ACCEPTED,
        status: 'False',
        reason: UpstreamReason.PrefixConflict,
        message: conflicts.join('; '),
      };
    } else {
      accepted = {
        type: ACCEPTED,
        status: 'True',
        reason: UpstreamReason.Valid,
        message: usedBy.length > 0 ? `used by ${usedBy.join(', ')}` : 'valid; no router selects it',
      };
    }
  } else {
    accepted = {
      type: ACCEPTED,
      status: 'False',
      reason: UpstreamReason.InvalidSpec,
      message: parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
    };
  }
  return {
    observedGeneration: generation,
    conditions: mergeConditions(upstream.status?.conditions, [accepted], generation, now),
    ...(transport !== undefined && {transport}),
    ...(prefix !== undefined && {prefix}),
    routers: usedBy,
  };
}
