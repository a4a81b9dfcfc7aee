import picomatch from 'picomatch';
import type {UpstreamGroupConfig} from '../config/schema.js';
import {UpstreamUnreachableError} from '../errors.js';
import {isUpstreamFailure} from './breaker.js';

/** What the choice of a member needs to know of one member of a group, at the time of a request. */
export interface MemberView {
  name: string;
  /** Connected, and its circuit not open: a request to it is expected to get through. */
  available: boolean;
  /** Calls in flight to it, over every session of the router. */
  pending: number;
  /** It lists the tool or prompt asked for (true for requests that name none). */
  exposes: boolean;
}

/** What a request brings to the choice. */
export interface MemberRequest {
  /** The tool of a `tools/call`, as the members name it; explicit `routes` match on it. */
  tool?: string;
  /** The router's count of requests to this group so far, for `roundRobin`. */
  turn: number;
  /** The member this session keeps to (its upstream session holds state, or it subscribed there), if any. */
  sticky?: string;
}

/** The explicit route of a group that a tool matches: its members, in order, or undefined. */
function explicitRoute(group: UpstreamGroupConfig, tool: string | undefined): string[] | undefined {
  if (tool === undefined) return undefined;
  return group.routes.find((route) => picomatch(route.tools)(tool))?.upstreams;
}

function byPending(a: MemberView, b: MemberView): number {
  return a.pending - b.pending;
}

/**
 * The members of a group to try for one request, in order (pure). Only members that expose the name are candidates;
 * an explicit route that matches the tool narrows them to its members, in its order. Available members come first,
 * ordered by the strategy:
 * - `priority`: member order;
 * - `roundRobin`: member order rotated by `turn`;
 * - `leastPending` and `capability`: fewest calls in flight first, ties in member order;
 * and the session's sticky member ahead of them when it is a candidate and available. Unavailable candidates follow,
 * in member order, so that a request to a group whose members are all down fails with the first one's reason.
 * `views` are in member order. Empty when no member exposes the name.
 */
export function memberOrder(group: UpstreamGroupConfig, views: MemberView[], request: MemberRequest): string[] {
  const route = explicitRoute(group, request.tool);
  let candidates = views.filter((view) => view.exposes);
  if (route) {
    candidates = route
      .map((name) => candidates.find((view) => view.name === name))
      .filter((view) => view !== undefined);
  }
  const available = candidates.filter((view) => view.available);
  const down = candidates.filter((view) => !view.available);
  let ordered = available;
  if (!route && group.strategy === 'roundRobin' && available.length > 0) {
    const start = request.turn % available.length;
    ordered = [...available.slice(start), ...available.slice(0, start)];
  } else if (!route && (group.strategy === 'leastPending' || group.strategy === 'capability')) {
    ordered = [...available].sort(byPending);
  }
  const sticky = ordered.find((view) => view.name === request.sticky);
  if (sticky) ordered = [sticky, ...ordered.filter((view) => view !== sticky)];
  return [...ordered, ...down].map((view) => view.name);
}

/**
 * Whether a request that failed on one member of a group may go to the next (pure): only when the member could not
 * be reached (down, unreachable, its circuit open) or timed out, and either the request never went out to it, or
 * sending it again is harmless (`repeatable`: the retry rules of `retry.ts`). A request handed to a connection whose
 * address refused it (`UpstreamUnreachableError`) never went out. A call that reached a member which then died is not
 * sent elsewhere unless it is repeatable: that is the one failure a group cannot hide.
 */
export function mayFailOver(error: unknown, facts: {sent: boolean; repeatable: boolean}): boolean {
  const sent = facts.sent && !(error instanceof UpstreamUnreachableError);
  return isUpstreamFailure(error) && (!sent || facts.repeatable);
}
