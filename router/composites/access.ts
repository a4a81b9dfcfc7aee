import type {NamedEntry} from '../catalog/aggregate.js';
import {aggregatedName} from '../catalog/naming.js';
import type {Grant} from '../policy/rules.js';
import {COMPOSITE_UPSTREAM, type Composite} from './schema.js';

/** An upstream as a step's tool is resolved against it: its prefix and the tools it lists now (none while down). */
export interface StepUpstream {
  name: string;
  prefix: string;
  tools: NamedEntry[];
}

/** The upstream, upstream name and annotations of the tool a step calls. */
export interface StepRoute {
  upstream: string;
  tool: string;
  annotations?: Record<string, unknown>;
}

/**
 * Where a step's tool may go (pure): the upstreams whose `<prefix><separator>` starts the aggregated name (the
 * longest prefix; several when they are the members of a group, which share the group's prefix), each with the tool
 * of its list whose aggregated name it is, or, while it lists nothing, the rest of the name. None when no prefix fits.
 */
export function stepRoutes(tool: string, upstreams: StepUpstream[], separator: string): StepRoute[] {
  const matching = upstreams.filter((u) => tool.startsWith(`${u.prefix}${separator}`));
  const longest = Math.max(...matching.map((u) => u.prefix.length));
  return matching
    .filter((u) => u.prefix.length === longest)
    .map((owner) => {
      const listed = owner.tools.find((t) => aggregatedName(owner.prefix, separator, t.name) === tool);
      if (listed)
        return {
          upstream: owner.name,
          tool: listed.name,
          annotations: (listed.annotations ?? {}) as Record<string, unknown>,
        };
      return {upstream: owner.name, tool: tool.slice(owner.prefix.length + separator.length)};
    });
}

/**
 * Why a grant may not run a composite (pure), or undefined when it may: the composite itself must be granted (rules
 * on the upstream `composite`, by composite name) and so must every step's tool, on one of the upstreams it may go
 * to (a group's tool: on one of its members, as the session's catalog shows it), so that a composite is never a way
 * around the access rules. Each step is checked again when it runs, as the caller's own call.
 */
export function compositeRefusal(
  name: string,
  composite: Composite,
  grant: Grant,
  routes: (tool: string) => StepRoute[],
): string | undefined {
  if (!grant.tool(COMPOSITE_UPSTREAM, name, composite.annotations ?? {})) return `Access denied: tool "${name}"`;
  for (const step of composite.steps) {
    if (!routes(step.tool).some((target) => grant.tool(target.upstream, target.tool, target.annotations)))
      return `Access denied: step "${step.id}" calls a tool this principal may not use`;
  }
  return undefined;
}
