import type {McpRouterResource, McpUpstreamResource} from '../../operator/api/types.js';

/** An McpRouter as the API server would return it (spec unvalidated), with defaults left to the parser. */
export function routerResource(
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<McpRouterResource['metadata']> = {},
): McpRouterResource {
  return {
    apiVersion: 'mcprouter.dev/v1alpha1',
    kind: 'McpRouter',
    metadata: {name, namespace: 'team-a', uid: `uid-${name}`, generation: 1, ...extra},
    spec,
  };
}

/** An McpUpstream as the API server would return it. */
export function upstreamResource(
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = {},
  namespace = 'team-a',
): McpUpstreamResource {
  return {
    apiVersion: 'mcprouter.dev/v1alpha1',
    kind: 'McpUpstream',
    metadata: {name, namespace, uid: `uid-${name}`, generation: 1, labels},
    spec,
  };
}
