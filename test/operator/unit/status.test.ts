import type {V1Deployment, V1Pod} from '@kubernetes/client-node';
import {describe, expect, it} from 'vitest';
import {mergeConditions} from '../../../operator/api/conditions.js';
import type {ResolvedUpstreams} from '../../../operator/controllers/mcprouter/resolve.js';
import {
  computeRouterStatus,
  rolloutOf,
  summarizePods,
  type RouterObservation,
} from '../../../operator/controllers/mcprouter/status.js';
import {computeUpstreamStatus, namesSecret} from '../../../operator/controllers/mcpupstream/status.js';
import {routerPod, routerResource, upstreamResource, waitingRouter} from '../fixtures.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

function deployment(status: V1Deployment['status'], generation = 1): V1Deployment {
  return {metadata: {name: 'tools', generation}, status};
}

const complete = deployment({
  observedGeneration: 1,
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
});
/** Two replicas, none ready, and the Deployment controller gave up. */
const pastDeadline = deployment({
  observedGeneration: 1,
  replicas: 2,
  updatedReplicas: 2,
  conditions: [{type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded'}],
});
const noUpstreamProblems: ResolvedUpstreams = {selected: [], missing: [], invalid: [], conflicts: []};

function rendered(extra: Partial<Extract<RouterObservation, {kind: 'rendered'}>> = {}): RouterObservation {
  return {
    kind: 'rendered',
    replicas: 2,
    url: 'http://tools.team-a.svc.cluster.local:80',
    resolved: noUpstreamProblems,
    upstreams: [{name: 'a', prefix: 'a'}],
    configHash: 'sha256:0123456789abcdef',
    ...extra,
  };
}

const pendingPod: V1Pod = {
  metadata: {name: 'tools-1'},
  spec: {containers: []},
  status: {phase: 'Pending'},
};

describe('computeRouterStatus', () => {
  it.each<[string, RouterObservation, Record<string, [string, string]>]>([
    [
      'a complete rollout',
      rendered({deployment: complete}),
      {Ready: ['True', 'Available'], Progressing: ['False', 'RolloutComplete'], Degraded: ['False', 'AsExpected']},
    ],
    [
      'a missing upstream',
      rendered({deployment: complete, resolved: {...noUpstreamProblems, missing: ['github']}}),
      {
        Ready: ['False', 'UpstreamNotFound'],
        Progressing: ['False', 'RolloutComplete'],
        Degraded: ['True', 'UpstreamNotFound'],
      },
    ],
    [
      'pods Pending without nodes',
      rendered({
        deployment: deployment({observedGeneration: 1, replicas: 2, updatedReplicas: 2, unavailableReplicas: 2}),
        pods: summarizePods([pendingPod, {...pendingPod, metadata: {name: 'tools-2'}}]),
      }),
      {Ready: ['False', 'PodsPending'], Progressing: ['True', 'RollingOut'], Degraded: ['False', 'AsExpected']},
    ],
    [
      'a Deployment the controller has not seen',
      rendered({deployment: deployment({}, 1)}),
      {Ready: ['False', 'RollingOut'], Progressing: ['True', 'RollingOut'], Degraded: ['False', 'AsExpected']},
    ],
    [
      'a failed apply',
      rendered({failure: {reason: 'ApplyFailed', message: 'apply failed: 422 Invalid'}}),
      {Ready: ['False', 'ApplyFailed'], Progressing: ['False', 'ApplyFailed'], Degraded: ['True', 'ApplyFailed']},
    ],
    [
      "a child's name taken by an object it does not own",
      rendered({failure: {reason: 'ResourceExists', message: 'ConfigMap "tools-config" already exists ...'}}),
      {
        Ready: ['False', 'ResourceExists'],
        Progressing: ['False', 'ResourceExists'],
        Degraded: ['True', 'ResourceExists'],
      },
    ],
    [
      'no upstream selected',
      rendered({deployment: complete, upstreams: []}),
      {Ready: ['False', 'NoUpstreams'], Progressing: ['False', 'RolloutComplete'], Degraded: ['True', 'NoUpstreams']},
    ],
    [
      'a stuck rollout',
      rendered({
        deployment: deployment({
          observedGeneration: 1,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 0,
          conditions: [{type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded'}],
        }),
      }),
      {
        Ready: ['False', 'ProgressDeadlineExceeded'],
        Progressing: ['False', 'ProgressDeadlineExceeded'],
        Degraded: ['True', 'ProgressDeadlineExceeded'],
      },
    ],
    [
      'an invalid spec',
      {kind: 'invalid', issues: [{path: 'spec.replicas', message: 'Too small'}]},
      {Ready: ['False', 'InvalidSpec'], Progressing: ['False', 'InvalidSpec'], Degraded: ['True', 'InvalidSpec']},
    ],
  ])('reports %s', (_name, observation, expected) => {
    const status = computeRouterStatus(routerResource('tools', {}, {generation: 3}), observation, T0);
    const got = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]));
    expect(got).toEqual(expected);
    for (const condition of status.conditions ?? []) expect(condition.observedGeneration).toBe(3);
    expect(status.observedGeneration).toBe(3);
  });

  it('names the missing upstream and says why pods are pending', () => {
    const missing = computeRouterStatus(
      routerResource('tools', {}),
      rendered({deployment: complete, resolved: {...noUpstreamProblems, missing: ['github']}}),
      T0,
    );
    expect(missing.conditions?.[0]?.message).toBe('McpUpstream "github" not found');
    const pending = computeRouterStatus(
      routerResource('tools', {}),
      rendered({
        deployment: deployment({observedGeneration: 1, replicas: 1, updatedReplicas: 1}),
        pods: summarizePods([pendingPod]),
      }),
      T0,
    );
    expect(pending.conditions?.[0]?.message).toBe('1 pod Pending with no node assigned');
  });

  it.each([
    ['a missing Secret', 'secret "github-token" not found', 'SecretNotFound', 'Secret "github-token" not found'],
    [
      'a missing key',
      "couldn't find key token in Secret team-a/github-token",
      'SecretKeyNotFound',
      'key "token" not found in Secret "github-token"',
    ],
  ])('names %s that the pods wait for, even past the progress deadline', (_name, kubelet, reason, what) => {
    const pod = routerPod('tools', [waitingRouter('CreateContainerConfigError', kubelet)]);
    const status = computeRouterStatus(
      routerResource('tools', {}),
      rendered({
        deployment: pastDeadline,
        pods: summarizePods([pod, {...pod, metadata: {...pod.metadata, name: 'tools-2'}}]),
      }),
      T0,
    );
    const message =
      `router pods cannot start: ${what}; create it in the router's namespace, or fix the secretKeyRef that ` +
      'names it';
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['Ready', 'False', reason, message],
      ['Progressing', 'False', 'ProgressDeadlineExceeded', '0 of 2 replicas ready'],
      ['Degraded', 'True', reason, message],
    ]);
  });

  it('says what to check when the Deployment exceeded its progress deadline', () => {
    const stuck = computeRouterStatus(
      routerResource('tools', {}),
      rendered({
        deployment: pastDeadline,
        pods: {total: 2, unscheduled: 0, pendingOnNode: 0, waitingReasons: ['ImagePullBackOff'], missingSecrets: []},
      }),
      T0,
    );
    expect(stuck.conditions?.[0]?.message).toBe(
      'Deployment "tools" made no progress within its progress deadline (0 of 2 replicas ready): 2 pods, containers ' +
        "waiting: ImagePullBackOff; check the router pods' events and container states (kubectl describe pods -l " +
        'app.kubernetes.io/name=kube-mcp-router,app.kubernetes.io/instance=tools): image pulls, crashes, failing ' +
        'probes, scheduling, missing Secrets or ConfigMaps',
    );
  });

  it('reports counts, url, upstreams and configHash', () => {
    const status = computeRouterStatus(routerResource('tools', {}), rendered({deployment: complete}), T0);
    expect(status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      url: 'http://tools.team-a.svc.cluster.local:80',
      upstreams: [{name: 'a', prefix: 'a'}],
      upstreamCount: 1,
      configHash: 'sha256:0123456789abcdef',
    });
  });

  it('is stable: the same observation on the status it produced gives the same status', () => {
    const first = computeRouterStatus(routerResource('tools', {}), rendered({deployment: complete}), T0);
    const again = computeRouterStatus(
      {...routerResource('tools', {}), status: first},
      rendered({deployment: complete}),
      T1,
    );
    expect(again).toEqual(first);
  });
});

describe('mergeConditions', () => {
  const previous = [
    {
      type: 'Ready',
      status: 'False' as const,
      reason: 'RollingOut',
      message: 'm',
      lastTransitionTime: T0,
      observedGeneration: 1,
    },
  ];
  it.each([
    ['keeps the time when the status holds, even if the reason changes', 'False', 'PodsPending', T0],
    ['takes the new time when the status flips', 'True', 'Available', T1],
  ] as const)('%s', (_name, status, reason, time) => {
    const [merged] = mergeConditions(previous, [{type: 'Ready', status, reason, message: 'n'}], 2, T1);
    expect(merged).toEqual({
      type: 'Ready',
      status,
      reason,
      message: 'n',
      lastTransitionTime: time,
      observedGeneration: 2,
    });
  });
});

describe('rolloutOf', () => {
  it.each([
    ['no Deployment', undefined, 1, false],
    ['an unobserved generation', deployment({observedGeneration: 1}, 2), 1, false],
    [
      'old replicas still running',
      deployment({observedGeneration: 1, replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3}),
      2,
      false,
    ],
    ['all updated and ready', complete, 2, true],
    ['zero replicas', deployment({observedGeneration: 1}), 0, true],
  ])('with %s: done is %s', (_name, live, desired, done) => {
    expect(rolloutOf(live, desired).done).toBe(done);
  });
});

describe('summarizePods', () => {
  it('counts unscheduled pods, takes the scheduler message and collects waiting reasons', () => {
    const unscheduled: V1Pod = {
      ...pendingPod,
      status: {
        phase: 'Pending',
        conditions: [{type: 'PodScheduled', status: 'False', message: '0/3 nodes are available'}],
      },
    };
    const pulling: V1Pod = {
      metadata: {name: 'p'},
      spec: {containers: [], nodeName: 'n1'},
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'router',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {waiting: {reason: 'ImagePullBackOff'}},
          },
        ],
      },
    };
    expect(summarizePods([unscheduled, pulling])).toEqual({
      total: 2,
      unscheduled: 1,
      unscheduledMessage: '0/3 nodes are available',
      pendingOnNode: 1,
      waitingReasons: ['ImagePullBackOff'],
      missingSecrets: [],
    });
  });
});

describe('computeUpstreamStatus', () => {
  const routers = [
    routerResource('by-label', {upstreamSelector: {matchLabels: {team: 'a'}}}),
    routerResource('by-name', {upstreams: [{name: 'github'}]}),
    routerResource('other', {upstreamSelector: {matchLabels: {team: 'b'}}}),
  ];
  it.each([
    [
      'a valid HTTP upstream selected by label and by name',
      upstreamResource('github', {http: {url: 'https://x.test/mcp'}}, {team: 'a'}),
      {Accepted: 'True', transport: 'streamableHttp', prefix: 'github', routers: ['by-label', 'by-name']},
    ],
    [
      'a stdio upstream with its own prefix and no router',
      upstreamResource('fs', {stdio: {command: 'x'}, prefix: 'files'}),
      {Accepted: 'True', transport: 'stdio', prefix: 'files', routers: []},
    ],
    [
      'an upstream with both transports',
      upstreamResource('both', {stdio: {command: 'x'}, http: {url: 'https://x.test/mcp'}}),
      {Accepted: 'False', routers: []},
    ],
  ])('reports %s', (_name, upstream, expected) => {
    const status = computeUpstreamStatus(upstream, {routers, upstreams: [upstream], pods: []}, T0);
    const {Accepted, ...rest} = expected;
    expect(status.conditions?.[0]?.status).toBe(Accepted);
    expect(status).toMatchObject(rest);
    if (Accepted === 'False') expect(status.conditions?.[0]?.message).toContain('set exactly one of stdio or http');
  });
});

describe('computeUpstreamStatus: Accepted=False for what routers cannot use', () => {
  const accepted = (status: ReturnType<typeof computeUpstreamStatus>) => status.conditions?.[0];
  const withHeader = (name: string, secret: string, optional?: boolean) =>
    upstreamResource(name, {
      http: {
        url: 'https://x.test/mcp',
        headers: [{name: 'Authorization', valueFrom: {secretKeyRef: {name: secret, key: 'token', optional}}}],
      },
    });

  const routers = [routerResource('tools', {upstreams: [{name: 'github'}]}), routerResource('other', {upstreams: []})];
  const configError = (message: string) => routerPod('tools', [waitingRouter('CreateContainerConfigError', message)]);

  it.each([
    [
      'a missing Secret (SecretNotFound)',
      configError('secret "github-token" not found'),
      'SecretNotFound',
      'Secret "github-token" not found (spec.http.headers[0].valueFrom.secretKeyRef): pods of McpRouter "tools" ' +
        'cannot start',
    ],
    [
      'a missing key (SecretKeyNotFound)',
      configError("couldn't find key token in Secret team-a/github-token"),
      'SecretKeyNotFound',
      'key "token" not found in Secret "github-token" (spec.http.headers[0].valueFrom.secretKeyRef): pods of ' +
        'McpRouter "tools" cannot start',
    ],
  ])('names %s that pods of a router selecting it wait for, and where it names it', (_n, pod, reason, message) => {
    const upstream = withHeader('github', 'github-token');
    const status = computeUpstreamStatus(upstream, {routers, upstreams: [upstream], pods: [pod]}, T0);
    expect(accepted(status)).toMatchObject({status: 'False', reason, message});
  });

  it.each([
    ['no pod waits', withHeader('github', 'github-token'), []],
    [
      'the pods wait for a Secret it does not name',
      withHeader('github', 'other'),
      [configError('secret "x" not found')],
    ],
    [
      'the pods wait for a key of its Secret that it does not name',
      withHeader('github', 'github-token'),
      [configError("couldn't find key other in Secret team-a/github-token")],
    ],
    [
      'its reference is optional',
      withHeader('github', 'github-token', true),
      [configError('secret "github-token" not found')],
    ],
    [
      'the waiting pods are of a router that does not select it',
      withHeader('github', 'github-token'),
      [routerPod('other', [waitingRouter('CreateContainerConfigError', 'secret "github-token" not found')])],
    ],
  ])('is Valid when %s', (_name, upstream, pods) => {
    const status = computeUpstreamStatus(upstream, {routers, upstreams: [upstream], pods}, T0);
    expect(accepted(status)).toMatchObject({status: 'True', reason: 'Valid'});
  });

  it('tells the loser of a prefix conflict which router left it out, and for which upstream (PrefixConflict)', () => {
    const first = upstreamResource('alpha', {stdio: {command: 'x'}, prefix: 'dup'}, {team: 'a'});
    const second = upstreamResource('beta', {stdio: {command: 'x'}, prefix: 'dup'}, {team: 'a'});
    const other = upstreamResource('gamma', {stdio: {command: 'x'}}, {team: 'a'});
    const routers = [
      routerResource('dup', {upstreamSelector: {matchLabels: {team: 'a'}}}),
      routerResource('only-beta', {upstreams: [{name: 'beta'}]}),
    ];
    const observation = {routers, upstreams: [first, second, other], pods: []};
    expect(accepted(computeUpstreamStatus(second, observation, T0))).toMatchObject({
      status: 'False',
      reason: 'PrefixConflict',
      message: 'McpRouter "dup" left it out: prefix "dup" is already used by McpUpstream "alpha"',
    });
    expect(computeUpstreamStatus(second, observation, T0).routers).toEqual(['dup', 'only-beta']);
    expect(accepted(computeUpstreamStatus(first, observation, T0))).toMatchObject({status: 'True', reason: 'Valid'});
    expect(accepted(computeUpstreamStatus(other, observation, T0))).toMatchObject({status: 'True'});
  });
});

describe('namesSecret', () => {
  it.each([
    [
      'a header',
      {http: {url: 'https://x.test', headers: [{name: 'A', valueFrom: {secretKeyRef: {name: 's', key: 'k'}}}]}},
      true,
    ],
    ['an env var', {stdio: {command: 'x', env: [{name: 'A', valueFrom: {secretKeyRef: {name: 's', key: 'k'}}}]}}, true],
    [
      'another Secret',
      {stdio: {command: 'x', env: [{name: 'A', valueFrom: {secretKeyRef: {name: 't', key: 'k'}}}]}},
      false,
    ],
    [
      'a ConfigMap of that name',
      {stdio: {command: 'x', env: [{name: 'A', valueFrom: {configMapKeyRef: {name: 's', key: 'k'}}}]}},
      false,
    ],
    ['a malformed spec', {stdio: {command: 'x', env: 'not a list'}}, false],
  ])('finds the Secret in %s: %s', (_name, spec, expected) => {
    expect(namesSecret(upstreamResource('u', spec), 's')).toBe(expected);
  });
});
