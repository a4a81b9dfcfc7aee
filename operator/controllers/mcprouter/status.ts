import type {V1Deployment, V1Pod} from '@kubernetes/client-node';
import {mergeConditions, type DesiredCondition} from '../../api/conditions.js';
import type {McpRouterStatus} from '../../api/mcprouter.js';
import type {McpRouterResource, SpecIssue} from '../../api/types.js';
import {RouterCondition, RouterReason} from './conditions.js';
import {describeMissingSecret, missingSecretsOf, type MissingSecret} from './pods.js';
import {upstreamStates, type PodReadiness} from './readiness.js';
import {selectorLabels} from './render.js';
import type {ResolvedUpstreams} from './resolve.js';

/**
 * Status of an McpRouter, computed (purely) from what a reconcile saw and did. Three conditions, each with
 * `observedGeneration` (Kubernetes API conventions, "Typical status properties"):
 *
 * - Ready: True (Available) when every replica runs the current template and the config holds every declared
 *   upstream. False with the first reason that applies: InvalidSpec, ApplyFailed or ResourceExists (nothing applied),
 *   UpstreamNotFound, UpstreamInvalid, PrefixConflict, NoUpstreams, SecretNotFound or SecretKeyNotFound (a pod's
 *   container waits for it), ProgressDeadlineExceeded, PodsPending, PodsNotReady, RollingOut.
 * - Progressing: True (RollingOut) while the Deployment rolls out; False (RolloutComplete) when done,
 *   (ProgressDeadlineExceeded) when the Deployment controller gave up, or with the reason nothing was applied.
 * - Degraded: True when a person has to act (every Ready reason above PodsPending); False (AsExpected) otherwise.
 *
 * Reasons are the constants of `conditions.ts`.
 */

/** What the pods of a router look like, for a Ready condition that says why they are not ready. */
export interface PodSummary {
  total: number;
  /** Pods in phase Pending that no node was assigned to. */
  unscheduled: number;
  /** Why, from the PodScheduled condition (e.g. "0/3 nodes are available: ..."), when the scheduler said. */
  unscheduledMessage?: string;
  /** Pods in phase Pending on a node (pulling images, starting). */
  pendingOnNode: number;
  /** Waiting reasons of containers (e.g. ImagePullBackOff, CrashLoopBackOff), distinct, sorted. */
  waitingReasons: string[];
  /** Secrets and keys that containers wait for (CreateContainerConfigError), distinct, sorted. */
  missingSecrets: MissingSecret[];
}

/** Summarizes pods for `PodSummary`; pods being deleted are left out. */
export function summarizePods(pods: readonly V1Pod[]): PodSummary {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const unscheduled = live.filter((p) => p.status?.phase === 'Pending' && !p.spec?.nodeName);
  const reasons = new Set<string>();
  for (const pod of live) {
    for (const container of pod.status?.containerStatuses ?? []) {
      const reason = container.state?.waiting?.reason;
      if (reason) reasons.add(reason);
    }
  }
  const message = unscheduled
    .flatMap((p) => p.status?.conditions ?? [])
    .find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message;
  return {
    total: live.length,
    unscheduled: unscheduled.length,
    ...(message !== undefined && {unscheduledMessage: message}),
    pendingOnNode: live.filter((p) => p.status?.phase === 'Pending' && p.spec?.nodeName).length,
    waitingReasons: [...reasons].sort(),
    missingSecrets: missingSecretsOf(live),
  };
}

/** What a reconcile of a router saw and did. */
export type RouterObservation =
  | {kind: 'invalid'; issues: SpecIssue[]; deployment?: V1Deployment}
  | {
      kind: 'rendered';
      replicas: number;
      url: string;
      resolved: ResolvedUpstreams;
      upstreams: {name: string; prefix: string}[];
      configHash: string;
      /**
       * Set when nothing (more) was applied: ApplyFailed (the API server rejected a child, or the router would refuse
       * the rendered config) or ResourceExists (a child's name is taken by an object the router does not own).
       */
      failure?: {reason: typeof RouterReason.ApplyFailed | typeof RouterReason.ResourceExists; message: string};
      /** The live Deployment after apply, if known. */
      deployment?: V1Deployment;
      /** What the ready router pods' /readyz said (readiness.ts); none when no pod is ready or none answered. */
      readiness?: PodReadiness[];
      /** Present when the pods were looked at (only while not all replicas are ready). */
      pods?: PodSummary;
    };

interface Rollout {
  done: boolean;
  deadlineExceeded: boolean;
  message: string;
}

/** Reads a Deployment's rollout state the way `kubectl rollout status` does. */
export function rolloutOf(deployment: V1Deployment | undefined, desired: number): Rollout {
  if (!deployment) return {done: false, deadlineExceeded: false, message: 'the Deployment does not exist yet'};
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return {
      done: false,
      deadlineExceeded: false,
      message: `waiting for the Deployment controller to observe generation ${generation}`,
    };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  const deadlineExceeded = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  if (updated < desired) {
    return {done: false, deadlineExceeded, message: `${updated} of ${desired} replicas updated`};
  }
  if (total > updated) {
    return {done: false, deadlineExceeded, message: `${total - updated} old replicas pending termination`};
  }
  if (available < desired || ready < desired) {
    return {done: false, deadlineExceeded, message: `${ready} of ${desired} replicas ready`};
  }
  return {done: true, deadlineExceeded: false, message: `${ready} of ${desired} replicas ready`};
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function upstreamProblems(resolved: ResolvedUpstreams): {reason: string; message: string}[] {
  const problems: {reason: string; message: string}[] = [];
  if (resolved.missing.length > 0) {
    problems.push({
      reason: RouterReason.UpstreamNotFound,
      message: `McpUpstream ${resolved.missing.map((n) => `"${n}"`).join(', ')} not found`,
    });
  }
  for (const invalid of resolved.invalid) {
    const first = invalid.issues[0];
    problems.push({
      reason: RouterReason.UpstreamInvalid,
      message: `McpUpstream "${invalid.name}" is invalid${first ? `: ${first.path}: ${first.message}` : ''}`,
    });
  }
  for (const conflict of resolved.conflicts) {
    problems.push({
      reason: RouterReason.PrefixConflict,
      message: `McpUpstream "${conflict.name}" left out: prefix "${conflict.prefix}" is already used by "${conflict.with}"`,
    });
  }
  return problems;
}

function podsNotReady(pods: PodSummary | undefined): {reason: string; message: string} | undefined {
  if (!pods) return undefined;
  if (pods.unscheduled > 0) {
    return {
      reason: RouterReason.PodsPending,
      message:
        `${plural(pods.unscheduled, 'pod')} Pending with no node assigned` +
        (pods.unscheduledMessage ? `: ${pods.unscheduledMessage}` : ''),
    };
  }
  if (pods.waitingReasons.length > 0 || pods.pendingOnNode > 0) {
    const detail =
      pods.waitingReasons.length > 0 ? `containers waiting: ${pods.waitingReasons.join(', ')}` : 'starting';
    return {reason: RouterReason.PodsNotReady, message: `${plural(pods.total, 'pod')}, ${detail}`};
  }
  return undefined;
}

/**
 * The first problem of a rendered router that a person must solve: upstream problems (all of them in the message,
 * the first one's reason), no upstream at all, Secrets or keys the pods wait for (all of them, the first one's
 * reason), or a rollout the Deployment controller gave up on (with why the pods are not ready, when known, and where
 * to look). `missingSecrets` and `pods` are undefined once the rollout is done.
 */
function personProblem(
  routerName: string,
  observation: Extract<RouterObservation, {kind: 'rendered'}>,
  rollout: Rollout,
  missingSecrets: MissingSecret[] | undefined,
  pods: {reason: string; message: string} | undefined,
): {reason: string; message: string} | undefined {
  const problems = upstreamProblems(observation.resolved);
  if (problems.length > 0) {
    return {reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; ')};
  }
  if (observation.upstreams.length === 0) {
    return {
      reason: RouterReason.NoUpstreams,
      message:
        'the router selects no McpUpstream, so it serves nothing: set spec.upstreamSelector or spec.upstreams, or ' +
        'label McpUpstreams of this namespace to match',
    };
  }
  if (missingSecrets && missingSecrets.length > 0) {
    return {
      reason: missingSecrets[0]!.reason,
      message:
        `router pods cannot start: ${missingSecrets.map(describeMissingSecret).join('; ')}; create it in the ` +
        `router's namespace, or fix the secretKeyRef that names it`,
    };
  }
  if (rollout.deadlineExceeded) {
    const selector = Object.entries(selectorLabels(routerName))
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    return {
      reason: RouterReason.ProgressDeadlineExceeded,
      message:
        `Deployment "${routerName}" made no progress within its progress deadline (${rollout.message})` +
        (pods ? `: ${pods.message}` : '') +
        `; check the router pods' events and container states (kubectl describe pods -l ${selector}): image ` +
        'pulls, crashes, failing probes, scheduling, missing Secrets or ConfigMaps',
    };
  }
  return undefined;
}

/**
 * Computes the status of a router.
 * @param router the McpRouter as last read (its `status` gives the previous conditions and their transition times)
 * @param now RFC 3339 time used for conditions whose status flips
 */
export function computeRouterStatus(
  router: McpRouterResource,
  observation: RouterObservation,
  now: string,
): McpRouterStatus {
  const generation = router.metadata.generation;
  const previous = router.status ?? {};
  const deployment = observation.deployment;
  const counts = {
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
  };

  if (observation.kind === 'invalid') {
    const message = `spec is invalid: ${observation.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    const conditions: DesiredCondition[] = [
      {type: RouterCondition.Ready, status: 'False', reason: RouterReason.InvalidSpec, message},
      {
        type: RouterCondition.Progressing,
        status: 'False',
        reason: RouterReason.InvalidSpec,
        message: 'nothing is rolled out until the spec is fixed',
      },
      {type: RouterCondition.Degraded, status: 'True', reason: RouterReason.InvalidSpec, message},
    ];
    return {
      observedGeneration: generation,
      conditions: mergeConditions(previous.conditions, conditions, generation, now),
      ...counts,
      ...(previous.url !== undefined && {url: previous.url}),
      ...(previous.upstreams !== undefined && {upstreams: previous.upstreams}),
      ...(previous.upstreamCount !== undefined && {upstreamCount: previous.upstreamCount}),
      ...(previous.upstreamsReady !== undefined && {upstreamsReady: previous.upstreamsReady}),
      ...(previous.configHash !== undefined && {configHash: previous.configHash}),
    };
  }

  const states = upstreamStates(observation.upstreams, observation.readiness ?? []);
  const rollout = rolloutOf(deployment, observation.replicas);
  const pods = rollout.done ? undefined : podsNotReady(observation.pods);
  const missingSecrets = rollout.done ? undefined : observation.pods?.missingSecrets;
  const {failure} = observation;
  // What a person must act on, first one first: it is both the Ready=False and the Degraded=True reason.
  const problem = failure ?? personProblem(router.metadata.name, observation, rollout, missingSecrets, pods);

  let ready: DesiredCondition;
  if (problem) {
    ready = {type: RouterCondition.Ready, status: 'False', ...problem};
  } else if (pods) {
    ready = {type: RouterCondition.Ready, status: 'False', ...pods};
  } else if (!rollout.done) {
    ready = {type: RouterCondition.Ready, status: 'False', reason: RouterReason.RollingOut, message: rollout.message};
  } else {
    ready = {
      type: RouterCondition.Ready,
      status: 'True',
      reason: RouterReason.Available,
      message: `${rollout.message}, serving ${plural(observation.upstreams.length, 'upstream')}`,
    };
  }

  const progressing: DesiredCondition = failure
    ? {
        type: RouterCondition.Progressing,
        status: 'False',
        reason: failure.reason,
        message: 'nothing is rolled out until the problem is solved',
      }
    : rollout.done
      ? {
          type: RouterCondition.Progressing,
          status: 'False',
          reason: RouterReason.RolloutComplete,
          message: rollout.message,
        }
      : rollout.deadlineExceeded
        ? {
            type: RouterCondition.Progressing,
            status: 'False',
            reason: RouterReason.ProgressDeadlineExceeded,
            message: rollout.message,
          }
        : {
            type: RouterCondition.Progressing,
            status: 'True',
            reason: RouterReason.RollingOut,
            message: rollout.message,
          };

  const degraded: DesiredCondition = problem
    ? {type: RouterCondition.Degraded, status: 'True', ...problem}
    : {
        type: RouterCondition.Degraded,
        status: 'False',
        reason: RouterReason.AsExpected,
        message: 'nothing needs attention',
      };

  return {
    observedGeneration: generation,
    conditions: mergeConditions(previous.conditions, [ready, progressing, degraded], generation, now),
    ...counts,
    url: observation.url,
    upstreams: states.upstreams,
    upstreamCount: observation.upstreams.length,
    upstreamsReady: `${states.ready}/${observation.upstreams.length}`,
    configHash: observation.configHash,
  };
}
