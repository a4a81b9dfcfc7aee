import type {V1Deployment, V1Pod} from '@kubernetes/client-node';
import {mergeConditions, type DesiredCondition} from '../../api/conditions.js';
import type {McpRouterStatus} from '../../api/mcprouter.js';
import type {McpRouterResource, SpecIssue} from '../../api/types.js';
import type {ResolvedUpstreams} from './resolve.js';

/**
 * Status of an McpRouter, computed (purely) from what a reconcile saw and did. Three conditions, each with
 * `observedGeneration` (Kubernetes API conventions, "Typical status properties"):
 *
 * - Ready: True (Available) when every replica runs the current template and the config holds every declared
 *   upstream. False with the first reason that applies: InvalidSpec, ApplyFailed, UpstreamNotFound, UpstreamInvalid,
 *   PrefixConflict, PodsPending, PodsNotReady, RollingOut.
 * - Progressing: True (RollingOut) while the Deployment rolls out; False (RolloutComplete) when done.
 * - Degraded: True when a person has to act (InvalidSpec, ApplyFailed, UpstreamNotFound, UpstreamInvalid,
 *   PrefixConflict, ProgressDeadlineExceeded); False (AsExpected) otherwise.
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
      /** Set when applying a child failed for a reason retries cannot fix (e.g. the API server rejected it). */
      applyError?: string;
      /** The live Deployment after apply, if known. */
      deployment?: V1Deployment;
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
      reason: 'UpstreamNotFound',
      message: `McpUpstream ${resolved.missing.map((n) => `"${n}"`).join(', ')} not found`,
    });
  }
  for (const invalid of resolved.invalid) {
    const first = invalid.issues[0];
    problems.push({
      reason: 'UpstreamInvalid',
      message: `McpUpstream "${invalid.name}" is invalid${first ? `: ${first.path}: ${first.message}` : ''}`,
    });
  }
  for (const conflict of resolved.conflicts) {
    problems.push({
      reason: 'PrefixConflict',
      message: `McpUpstream "${conflict.name}" left out: prefix "${conflict.prefix}" is already used by "${conflict.with}"`,
    });
  }
  return problems;
}

function podsNotReady(pods: PodSummary | undefined): {reason: string; message: string} | undefined {
  if (!pods) return undefined;
  if (pods.unscheduled > 0) {
    return {
      reason: 'PodsPending',
      message:
        `${plural(pods.unscheduled, 'pod')} Pending with no node assigned` +
        (pods.unscheduledMessage ? `: ${pods.unscheduledMessage}` : ''),
    };
  }
  if (pods.waitingReasons.length > 0 || pods.pendingOnNode > 0) {
    const detail =
      pods.waitingReasons.length > 0 ? `containers waiting: ${pods.waitingReasons.join(', ')}` : 'starting';
    return {reason: 'PodsNotReady', message: `${plural(pods.total, 'pod')}, ${detail}`};
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
      {type: 'Ready', status: 'False', reason: 'InvalidSpec', message},
      {
        type: 'Progressing',
        status: 'False',
        reason: 'InvalidSpec',
        message: 'nothing is rolled out until the spec is fixed',
      },
      {type: 'Degraded', status: 'True', reason: 'InvalidSpec', message},
    ];
    return {
      observedGeneration: generation,
      conditions: mergeConditions(previous.conditions, conditions, generation, now),
      ...counts,
      ...(previous.url !== undefined && {url: previous.url}),
      ...(previous.upstreams !== undefined && {upstreams: previous.upstreams}),
      ...(previous.upstreamCount !== undefined && {upstreamCount: previous.upstreamCount}),
      ...(previous.configHash !== undefined && {configHash: previous.configHash}),
    };
  }

  const rollout = rolloutOf(deployment, observation.replicas);
  const problems = upstreamProblems(observation.resolved);
  const pods = rollout.done ? undefined : podsNotReady(observation.pods);

  let ready: DesiredCondition;
  if (observation.applyError !== undefined) {
    ready = {type: 'Ready', status: 'False', reason: 'ApplyFailed', message: observation.applyError};
  } else if (problems.length > 0) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: problems[0]!.reason,
      message: problems.map((p) => p.message).join('; '),
    };
  } else if (pods) {
    ready = {type: 'Ready', status: 'False', ...pods};
  } else if (!rollout.done) {
    ready = {type: 'Ready', status: 'False', reason: 'RollingOut', message: rollout.message};
  } else {
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Available',
      message: `${rollout.message}, serving ${plural(observation.upstreams.length, 'upstream')}`,
    };
  }

  const progressing: DesiredCondition =
    rollout.done || observation.applyError !== undefined
      ? {type: 'Progressing', status: 'False', reason: 'RolloutComplete', message: rollout.message}
      : rollout.deadlineExceeded
        ? {type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: rollout.message}
        : {type: 'Progressing', status: 'True', reason: 'RollingOut', message: rollout.message};
  if (observation.applyError !== undefined) {
    progressing.reason = 'ApplyFailed';
    progressing.message = 'the last apply failed';
  }

  let degraded: DesiredCondition;
  if (observation.applyError !== undefined) {
    degraded = {type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: observation.applyError};
  } else if (problems.length > 0) {
    degraded = {
      type: 'Degraded',
      status: 'True',
      reason: problems[0]!.reason,
      message: problems.map((p) => p.message).join('; '),
    };
  } else if (rollout.deadlineExceeded) {
    degraded = {
      type: 'Degraded',
      status: 'True',
      reason: 'ProgressDeadlineExceeded',
      message: `the Deployment exceeded its progress deadline: ${rollout.message}`,
    };
  } else {
    degraded = {type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'nothing needs attention'};
  }

  return {
    observedGeneration: generation,
    conditions: mergeConditions(previous.conditions, [ready, progressing, degraded], generation, now),
    ...counts,
    url: observation.url,
    upstreams: observation.upstreams,
    upstreamCount: observation.upstreams.length,
    configHash: observation.configHash,
  };
}
