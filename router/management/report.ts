import {z} from 'zod';
import type {UpstreamStatus} from '../upstream/upstream.js';

/**
 * One row of `list_upstreams` and `GET /upstreams`. `era` is the MCP protocol era the router speaks with the upstream:
 * `modern` (2026-07-28, stateless) or `legacy` (sessionful, 2025-11-25 and older), null before it first connected.
 * `p50Ms` is the median time of the calls forwarded to it over the last 10 minutes, in ms (null
 * without calls); `lastError` the last failure to reach it or call it (credentials redacted), kept after it recovers.
 */
export const UpstreamReportSchema = z.object({
  name: z.string(),
  transport: z.enum(['stdio', 'streamableHttp', 'sse', 'builtin']),
  era: z.enum(['modern', 'legacy']).nullable(),
  state: z.enum(['connecting', 'ready', 'down', 'closed']),
  circuit: z.enum(['closed', 'open', 'halfOpen']),
  tools: z.number().int().describe('Tools it lists, after its tool filter.'),
  inFlight: z.number().int().describe('Calls forwarded to it and not answered yet, over every session.'),
  p50Ms: z.number().nullable(),
  lastError: z.string().nullable(),
  group: z.string().nullable().describe('The upstream group it serves in (router.groups), or null.'),
});

export type UpstreamReport = z.infer<typeof UpstreamReportSchema>;

/** What `get_upstream_health` adds to a report: the session mode and the ISO 8601 time of the last state change. */
export const UpstreamHealthSchema = UpstreamReportSchema.extend({
  session: z.enum(['perSession', 'shared']),
  since: z.string(),
});

export type UpstreamHealth = z.infer<typeof UpstreamHealthSchema>;

/** What the router measures of an upstream beside its status. */
export interface UpstreamLoad {
  /** The group it is a member of, if any. */
  group?: string | undefined;
  tools: number;
  inFlight: number;
  /** Median call time in seconds; undefined (or NaN) without calls in the window. */
  p50Seconds: number | undefined;
}

/** The health of one upstream from its status and load (pure); `p50Ms` rounded to 0.1 ms. */
export function upstreamHealth(status: UpstreamStatus, load: UpstreamLoad): UpstreamHealth {
  const p50 = load.p50Seconds;
  return {
    name: status.name,
    transport: status.transport,
    era: status.era ?? null,
    state: status.state,
    circuit: status.circuit,
    tools: load.tools,
    inFlight: load.inFlight,
    p50Ms: p50 === undefined || Number.isNaN(p50) ? null : Math.round(p50 * 10_000) / 10,
    lastError: status.lastError ?? null,
    group: load.group ?? null,
    session: status.session,
    since: status.since,
  };
}

/** The row of `list_upstreams` (pure): the health without session and since. */
export function upstreamReport(health: UpstreamHealth): UpstreamReport {
  const {session: _session, since: _since, ...report} = health;
  return report;
}
