import type {V1Pod} from '@kubernetes/client-node';
import {z} from 'zod';
import type {RouterUpstreamStatus} from '../../api/mcprouter.js';

/**
 * Per-upstream status of a router, from its pods: the operator asks each ready router pod's `/readyz` over the pod
 * network (docs/adr/0025-router-upstream-status-from-pod-readyz.md) and folds the answers into
 * `status.upstreams[].state` and `.tools` and `status.upstreamsReady` ("3/4", the UPSTREAMS column of `kubectl get
 * mcpr`). Fetching is the thin I/O part; choosing pods and folding answers are pure.
 */

/** The part of a router pod's `/readyz` body (router/router.ts, ReadinessReport) that the operator reads. */
export const PodReadinessSchema = z.object({
  upstreams: z.array(
    z.object({
      name: z.string(),
      state: z.string(),
      tools: z.number().int().nonnegative().optional(),
    }),
  ),
});

export type PodReadiness = z.infer<typeof PodReadinessSchema>;

/** Milliseconds the operator waits for one pod's `/readyz`. */
export const READINESS_TIMEOUT_MS = 2000;

/** How often, in ms, a router with ready pods is reconciled again to refresh its upstreams' states. */
export const READINESS_POLL_MS = 30_000;

/**
 * The pod IPs to ask: pods not being deleted, with an IP and the Ready condition True (a pod that is not ready is
 * not behind the Service, so what it says is not what clients get).
 */
export function readyPodIps(pods: readonly V1Pod[]): string[] {
  return pods
    .filter((pod) => !pod.metadata?.deletionTimestamp && pod.status?.podIP)
    .filter((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((pod) => pod.status!.podIP!)
    .sort();
}

/**
 * GETs `http://<host>:<port>/readyz` of a router pod. The body is read whatever the status (503 still lists the
 * upstreams).
 * @returns what it says of its upstreams, or undefined when it did not answer within `timeoutMs` or the body is not a
 *   readiness report (the pod then counts as not reporting)
 */
export async function fetchReadiness(
  host: string,
  port: number,
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<PodReadiness | undefined> {
  try {
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/readyz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const parsed = PodReadinessSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

// Which state an upstream has when pods disagree: the one that needs attention first.
const STATE_ORDER = ['down', 'connecting', 'closed'];

/**
 * Folds the pods' reports into the status of each upstream of the rendered config: `ready` when every pod that
 * reports the upstream has it ready (with the fewest tools any of them exposes), else the state of the pod that needs
 * attention first (down, then connecting, then closed); no state when no pod reports it (no pod is ready, or the
 * pods still run an older config).
 * @returns the upstreams in the order given, and how many of them are ready
 */
export function upstreamStates(
  upstreams: readonly {name: string; prefix: string}[],
  reports: readonly PodReadiness[],
): {upstreams: RouterUpstreamStatus[]; ready: number} {
  let ready = 0;
  const states = upstreams.map(({name, prefix}): RouterUpstreamStatus => {
    const seen = reports.flatMap((report) => report.upstreams.filter((u) => u.name === name));
    if (seen.length === 0) return {name, prefix};
    if (seen.every((u) => u.state === 'ready')) {
      ready += 1;
      const tools = seen.map((u) => u.tools).filter((n): n is number => n !== undefined);
      return {name, prefix, state: 'ready', ...(tools.length > 0 && {tools: Math.min(...tools)})};
    }
    const rank = (state: string) => (STATE_ORDER.includes(state) ? STATE_ORDER.indexOf(state) : STATE_ORDER.length);
    const worst = seen.filter((u) => u.state !== 'ready').sort((a, b) => rank(a.state) - rank(b.state))[0]!;
    return {name, prefix, state: worst.state};
  });
  return {upstreams: states, ready};
}
