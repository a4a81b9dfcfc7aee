import type {LabelSelector} from './common.js';
import type {McpRouter, McpUpstreamResource} from './types.js';

/**
 * Whether `labels` satisfy `selector`, with the semantics of metav1.LabelSelector: every matchLabels entry and every
 * matchExpressions requirement must hold; an empty selector matches everything.
 */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, requirement.key);
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (!present || !values.includes(have[requirement.key] as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[requirement.key] as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/** The upstreams a router names: in `spec.upstreams` and as members of `spec.groups`. */
export function namedUpstreams(router: Pick<McpRouter, 'spec'>): string[] {
  return [
    ...(router.spec.upstreams ?? []).map((ref) => ref.name),
    ...(router.spec.groups ?? []).flatMap((group) => group.members),
  ];
}

/**
 * Whether a router selects an upstream (by its selector, by name, or as a member of one of its groups), whatever the
 * upstream's validity.
 */
export function selects(router: Pick<McpRouter, 'spec'>, upstream: Pick<McpUpstreamResource, 'metadata'>): boolean {
  const {name, labels} = upstream.metadata;
  if (namedUpstreams(router).includes(name)) return true;
  return router.spec.upstreamSelector !== undefined && matchesSelector(router.spec.upstreamSelector, labels);
}
