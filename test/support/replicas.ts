/**
 * Client-side helpers for router replicas (the e2e on the node and `npm run bench:replicas`): which pod owns a
 * session, and a fetch that chooses the pod a session's requests go to.
 */
import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js';

/** The port router pods listen on for MCP (the chart's and the operator's default). */
export const ROUTER_POD_PORT = 8080;

/** The owning pod's IP from a session id (`<base64url host:port>.<nonce>.<mac>`): test knowledge of the format. */
export function sessionOwner(id: string): string {
  return Buffer.from(id.split('.')[0] as string, 'base64url')
    .toString()
    .replace(/:\d+$/, '');
}

/**
 * A fetch that sends each request of a session (by the id it carries: `Mcp-Session-Id`, or `?sessionId=` of
 * `POST /message`) straight to a router pod: its owner (`to: 'owner'`, served locally), or the other pods in turn
 * (`to: 'elsewhere'`, so that every such request is forwarded). Requests without a session id (`initialize`, the SSE
 * GET that opens a legacy session) go where they were addressed, e.g. the Service.
 */
export function steeredFetch(podIps: string[], to: 'owner' | 'elsewhere'): FetchLike {
  let turn = 0;
  return (input, init) => {
    const target = new URL(input);
    const id = target.searchParams.get('sessionId') ?? new Headers(init?.headers).get('mcp-session-id');
    if (id) {
      const owner = sessionOwner(id);
      const others = podIps.filter((ip) => ip !== owner);
      target.host = `${to === 'owner' ? owner : others[turn++ % others.length]}:${ROUTER_POD_PORT}`;
    }
    return fetch(target, init);
  };
}
