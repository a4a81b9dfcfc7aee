import {isIP} from 'node:net';

/** The Host and Origin policy of the MCP endpoints (MCP 2025-11-25 basic/transports, Security Warning). */
export interface OriginPolicy {
  /**
   * Host header values accepted (`name` or `name:port`); undefined means any, unless `loopbackOnly`. An IP address is
   * accepted too: DNS rebinding needs a name.
   */
  allowedHosts?: string[];
  /** Origin header values accepted (besides loopback origins when `loopbackOnly`). */
  allowedOrigins: string[];
  /** The router listens on loopback only: accept only loopback Host names (DNS-rebinding protection). */
  loopbackOnly: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The name part of a Host header value (`[::1]:8080` -> `[::1]`, `a.b:80` -> `a.b`). */
export function hostName(host: string): string {
  const bracketed = /^(\[[^\]]+\])(?::\d+)?$/.exec(host);
  if (bracketed) return (bracketed[1] as string).toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

/** True for an IPv4 address or a bracketed IPv6 address (`[fd00::1]`), as a Host header names them. */
export function isIpAddress(name: string): boolean {
  return isIP(name.replace(/^\[(.*)\]$/, '$1')) !== 0;
}

/** True for the addresses a server bound to loopback listens on. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase());
}

/**
 * Decides whether a request's Host and Origin headers are acceptable (pure). A request with an `Origin` comes from a
 * browser page, so it is accepted only from a listed origin, or from a loopback origin while the router listens on
 * loopback only; an Origin that matches the Host proves nothing (a DNS-rebinding page has the same origin as the
 * name it rebinds). Requests without an Origin (agents, CLIs) pass the Origin check.
 * @returns undefined when accepted, else the reason (for a 403)
 */
export function rejectOrigin(headers: {host?: string; origin?: string}, policy: OriginPolicy): string | undefined {
  const host = headers.host ?? '';
  const name = hostName(host);
  if (policy.allowedHosts) {
    const allowed = policy.allowedHosts.map((h) => h.toLowerCase());
    if (!allowed.includes(host.toLowerCase()) && !allowed.includes(name) && !isIpAddress(name))
      return 'Host header not allowed';
  } else if (policy.loopbackOnly && !LOOPBACK.has(name)) {
    return 'Host header not allowed';
  }
  const origin = headers.origin;
  if (origin === undefined || policy.allowedOrigins.includes(origin)) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return 'Origin header not allowed';
  }
  if (policy.loopbackOnly && LOOPBACK.has(hostName(originHost))) return undefined;
  return 'Origin header not allowed';
}
