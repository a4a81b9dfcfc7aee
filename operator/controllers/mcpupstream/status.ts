import {mergeConditions, type DesiredCondition} from '../../api/conditions.js';
import type {McpUpstreamStatus} from '../../api/mcpupstream.js';
import {parseMcpRouter, parseMcpUpstream, type McpRouterResource, type McpUpstreamResource} from '../../api/types.js';
import {selects} from '../mcprouter/resolve.js';

/** Names of the routers (valid ones, not being deleted) in the upstream's namespace that select it, sorted. */
export function routersSelecting(upstream: McpUpstreamResource, routers: readonly McpRouterResource[]): string[] {
  const names: string[] = [];
  for (const candidate of routers) {
    if (candidate.metadata.namespace !== upstream.metadata.namespace || candidate.metadata.deletionTimestamp) continue;
    const parsed = parseMcpRouter(candidate);
    if (parsed.ok && selects(parsed.value, upstream)) names.push(candidate.metadata.name);
  }
  return names.sort();
}

/**
 * Status of an McpUpstream: one condition, Accepted (True/Valid when the spec can be rendered into a router config,
 * False/InvalidSpec with the path and reason otherwise), the transport and prefix in effect, and the routers using it.
 * Pure; `now` (RFC 3339) is used only when Accepted flips.
 */
export function computeUpstreamStatus(
  upstream: McpUpstreamResource,
  routers: readonly McpRouterResource[],
  now: string,
): McpUpstreamStatus {
  const generation = upstream.metadata.generation;
  const parsed = parseMcpUpstream(upstream);
  const usedBy = routersSelecting(upstream, routers);
  let accepted: DesiredCondition;
  let transport: McpUpstreamStatus['transport'];
  let prefix: string | undefined;
  if (parsed.ok) {
    const {spec} = parsed.value;
    transport = spec.stdio ? 'stdio' : spec.http?.transport;
    prefix = spec.prefix ?? upstream.metadata.name;
    accepted = {
      type: 'Accepted',
      status: 'True',
      reason: 'Valid',
      message: usedBy.length > 0 ? `used by ${usedBy.join(', ')}` : 'valid; no router selects it',
    };
  } else {
    accepted = {
      type: 'Accepted',
      status: 'False',
      reason: 'InvalidSpec',
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
