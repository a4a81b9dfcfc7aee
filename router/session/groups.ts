import type {UpstreamGroupConfig} from '../config/schema.js';
import {memberOrder} from '../upstream/group.js';
import type {Upstream} from '../upstream/upstream.js';

/** What a session's groups need of the router. */
export interface GroupHost {
  upstream(name: string): Upstream | undefined;
  /** The number of requests routed to a group so far, counted up by each call (for `roundRobin`). */
  groupTurn(group: string): number;
}

/**
 * One downstream session's side of upstream groups: the member it keeps to in each group (where that member holds
 * state for it: its own upstream session of a `perSession` member), and the order in which to try members.
 */
export class SessionGroups {
  readonly #host: GroupHost;
  readonly #sticky = new Map<string, string>();

  constructor(host: GroupHost) {
    this.#host = host;
  }

  /**
   * The members to try for one request, in order (see `memberOrder`), from the members' state now.
   * @param request `tool`: the tool of a `tools/call`; `exposing`: the members that list the tool or prompt the request
   *   names, or undefined when it names none (every member is a candidate)
   */
  order(group: UpstreamGroupConfig, request: {tool?: string; exposing?: readonly string[]}): string[] {
    const {exposing, tool} = request;
    const views = group.members.map((member) => {
      const upstream = this.#host.upstream(member);
      return {
        name: member,
        available: upstream?.state === 'ready' && upstream.circuit.state !== 'open',
        pending: upstream?.pending ?? 0,
        exposes: exposing === undefined || exposing.includes(member),
      };
    });
    const sticky = this.#sticky.get(group.name);
    return memberOrder(group, views, {
      ...(tool !== undefined && {tool}),
      turn: this.#host.groupTurn(group.name),
      ...(sticky !== undefined && {sticky}),
    });
  }

  /** A member answered a request: the session keeps to it when it holds the session's state (`perSession`). */
  answered(group: UpstreamGroupConfig, member: string): void {
    if (this.#host.upstream(member)?.config.session === 'perSession') this.#sticky.set(group.name, member);
  }

  /** A member failed a request or lost the session's connection: the session no longer keeps to it. */
  forget(member: string): void {
    for (const [group, sticky] of this.#sticky) if (sticky === member) this.#sticky.delete(group);
  }
}
