import type {V1ContainerStatus, V1Pod} from '@kubernetes/client-node';
import {
  parseMcpRouter,
  parseMcpUpstream,
  type McpRouter,
  type McpRouterResource,
  type McpUpstream,
  type McpUpstreamResource,
} from '../../operator/api/types.js';
import type {RenderOptions} from '../../operator/controllers/mcprouter/render.js';

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

/** Render options of the unit tests. */
export const renderOptions: RenderOptions = {
  routerImage: 'example.test/router:1',
  clusterDomain: 'cluster.local',
  serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
};

/** A validated McpRouter, as the controller gets it from the parser; throws on an invalid spec. */
export function parsedRouter(spec: Record<string, unknown> = {upstreamSelector: {}}, name = 'tools'): McpRouter {
  const parsed = parseMcpRouter(routerResource(name, spec));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A validated McpUpstream; throws on an invalid spec. */
export function parsedUpstream(name: string, spec: Record<string, unknown>): McpUpstream {
  const parsed = parseMcpUpstream(upstreamResource(name, spec));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A router container's status as the kubelet writes it while it cannot build the container's config. */
export function waitingRouter(reason: string, message?: string): V1ContainerStatus {
  return {
    name: 'router',
    image: 'example.test/router:1',
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state: {waiting: {reason, ...(message !== undefined && {message})}},
  };
}

/** A router pod of `router` whose containers are in the given states. */
export function routerPod(router: string, containers: V1ContainerStatus[], name = `${router}-1`): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'team-a',
      labels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': router},
    },
    spec: {containers: [{name: 'router'}], nodeName: 'node-1'},
    status: {phase: 'Pending', containerStatuses: containers},
  };
}
