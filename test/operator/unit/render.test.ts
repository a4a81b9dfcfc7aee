/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read rendered manifests as plain JSON */
import {describe, expect, it} from 'vitest';

import {validateRendered} from '../../../operator/controllers/mcprouter/reconcile.js';
import {renderRouter, routerUrl} from '../../../operator/controllers/mcprouter/render.js';
import {parseRouterConfig} from '../../../router/config/index.js';
import {parsedRouter, parsedUpstream, renderOptions} from '../fixtures.js';

const options = renderOptions;

const router = parsedRouter;

const upstream = parsedUpstream;

const everything = upstream('everything', {
  stdio: {
    command: 'npx',
    args: ['-y', '@modelcontextprotocol/server-everything'],
    env: [{name: 'LOG', value: 'debug'}],
  },
});
const github = upstream('github', {
  http: {
    url: 'https://api.example.test/mcp',
    headers: [
      {name: 'Authorization', valueFrom: {secretKeyRef: {name: 'github', key: 'authorization'}}},
      {name: 'X-Team', value: 'a'},
    ],
  },
  prefix: 'gh',
});
const memory = upstream('memory', {
  http: {serviceRef: {name: 'memory-mcp', port: 8080}, transport: 'sse'},
  tools: {include: ['read_*']},
  timeouts: {callSeconds: 30, tools: [{name: 'read_graph', callSeconds: 300}]},
  circuitBreaker: {consecutiveFailures: 3},
  retries: {maxAttempts: 2, toolCalls: true},
});
const tokenEnv = upstream('fs', {
  stdio: {
    command: 'fs-mcp',
    env: [{name: 'TOKEN', valueFrom: {secretKeyRef: {name: 'fs', key: 'token', optional: true}}}],
  },
});

describe('renderRouter', () => {
  it.each([
    [
      'a stdio upstream with literal env',
      [everything],
      {
        everything: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-everything'],
          env: {LOG: 'debug'},
          prefix: 'everything',
        },
      },
    ],
    [
      'an HTTP upstream with a Secret-backed header',
      [github],
      {
        github: {
          type: 'http',
          url: 'https://api.example.test/mcp',
          headers: {Authorization: '${MCPU_GITHUB_HEADER_AUTHORIZATION}', 'X-Team': 'a'},
          prefix: 'gh',
        },
      },
    ],
    [
      'an SSE upstream behind a Service',
      [memory],
      {
        memory: {
          type: 'sse',
          url: 'http://memory-mcp.team-a.svc.cluster.local:8080/mcp',
          prefix: 'memory',
          tools: {include: ['read_*']},
          timeouts: {callSeconds: 30, tools: {read_graph: {callSeconds: 300}}},
          circuitBreaker: {consecutiveFailures: 3},
          retries: {maxAttempts: 2, toolCalls: true},
        },
      },
    ],
    [
      'a stdio upstream with a Secret-backed env var',
      [tokenEnv],
      {fs: {command: 'fs-mcp', env: {TOKEN: '${MCPU_FS_ENV_TOKEN}'}, prefix: 'fs'}},
    ],
  ])('renders %s', (_name, upstreams, mcpServers) => {
    const rendered = renderRouter(router(), upstreams, options);
    expect(JSON.parse(rendered.routerJson)).toEqual({
      mcpServers,
      router: {toolNameSeparator: '__', transports: {sse: true, streamableHttp: true}, allowedHosts: expect.any(Array)},
    });
    expect(validateRendered(rendered)).toBeUndefined();
  });

  it('renders spec.catalog into router.json, which the router reads as its catalog mode', () => {
    const catalog = {mode: 'search' as const, pinned: ['memory__read_graph']};
    const rendered = renderRouter(router({upstreamSelector: {}, catalog}), [everything], options);
    const routerJson = rendered.routerJson;
    expect(JSON.parse(routerJson).router.catalog).toEqual(catalog);
    expect(parseRouterConfig(routerJson, {}, 'router.json').router.catalog).toEqual({...catalog, dynamicTools: 20});
  });

  it('renders spec.output of the router and of an upstream into router.json, which the router reads as its caps', () => {
    const capped = upstream('capped', {
      stdio: {command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/data']},
      output: {maxResultTokens: 4000, minifyJson: false},
    });
    const output = {maxResultBytes: 65536, maxMediaBytes: 1048576, minifyJson: true, keepSeconds: 60};
    const rendered = renderRouter(router({upstreamSelector: {}, output}), [capped, everything], options);
    const json = JSON.parse(rendered.routerJson);
    expect(json.router.output).toEqual(output);
    expect(json.mcpServers.capped.output).toEqual({maxResultTokens: 4000, minifyJson: false});
    expect(json.mcpServers.everything.output).toBeUndefined();
    const config = parseRouterConfig(rendered.routerJson, {}, 'router.json');
    expect(config.router.output).toEqual({...output, keepBytes: 64 * 1024 * 1024});
    expect(config.upstreams.find((u) => u.name === 'capped')?.output).toEqual({
      maxResultTokens: 4000,
      minifyJson: false,
    });
  });

  it('renders spec.composites into router.json by name, escaped, which the router reads as the upstream "composite"', () => {
    const composites = [
      {
        name: 'sum_twice',
        description: 'Costs $5',
        steps: [
          {id: 'one', tool: 'everything__get-sum', arguments: {a: '{{input.a}}', b: 1}},
          {id: 'two', tool: 'everything__get-sum', arguments: {a: '{{steps.one.structuredContent.sum}}', b: 1}},
        ],
      },
    ];
    const rendered = renderRouter(router({upstreamSelector: {}, composites}), [everything], options);
    const {sum_twice} = JSON.parse(rendered.routerJson).router.composites;
    expect(sum_twice).toEqual({description: 'Costs $$5', steps: composites[0]?.steps});
    const config = parseRouterConfig(rendered.routerJson, {}, 'router.json');
    expect(config.upstreams.at(-1)).toMatchObject({name: 'composite', transport: 'builtin'});
    expect(config.router.composites.sum_twice?.description).toBe('Costs $5');
  });

  it('reports a composite step of no upstream with its router.json path, before anything is applied', () => {
    const composites = [{name: 'x', description: 'd', steps: [{id: 'one', tool: 'github__search'}]}];
    const rendered = renderRouter(router({upstreamSelector: {}, composites}), [everything], options);
    expect(validateRendered(rendered)).toMatch(
      /router\.composites\.x\.steps\.0\.tool: "github__search" is no upstream's/,
    );
  });

  it('renders spec.management into router.json, which the router reads as the built-in upstream "router"', () => {
    const rendered = renderRouter(router({upstreamSelector: {}, management: {enabled: true}}), [everything], options);
    expect(JSON.parse(rendered.routerJson).router.management).toEqual({enabled: true});
    const config = parseRouterConfig(rendered.routerJson, {}, 'x');
    expect(config.upstreams.map((u) => u.name)).toEqual(['everything', 'router']);
    expect(config.upstreams[1]).toMatchObject({transport: 'builtin', register: false});
    expect(JSON.parse(renderRouter(router(), [everything], options).routerJson).router.management).toBeUndefined();
  });

  it('renders spec.groups into router.groups, which the router reads; absent members and their routes are left out', () => {
    const groups = [
      {
        name: 'kit',
        strategy: 'capability' as const,
        members: ['everything', 'memory', 'absent'],
        routes: [
          {tools: ['read_*'], upstreams: ['memory']},
          {tools: ['x*'], upstreams: ['absent']},
        ],
      },
      {name: 'ghosts', strategy: 'priority' as const, members: ['absent']},
    ];
    const rendered = renderRouter(router({groups}), [everything, memory], options);
    expect(JSON.parse(rendered.routerJson).router.groups).toEqual({
      kit: {
        members: ['everything', 'memory'],
        strategy: 'capability',
        routes: [{tools: ['read_*'], upstreams: ['memory']}],
      },
    });
    expect(parseRouterConfig(rendered.routerJson, {}, 'x').groups).toEqual([
      {
        name: 'kit',
        prefix: 'kit',
        strategy: 'capability',
        members: ['everything', 'memory'],
        routes: [{tools: ['read_*'], upstreams: ['memory']}],
      },
    ]);
  });

  it('puts Secret references on the container, never values, and the router resolves them from the env', () => {
    const rendered = renderRouter(router(), [github, tokenEnv], options);
    const container = (rendered.deployment as any).spec.template.spec.containers[0];
    expect(container.env).toEqual([
      {name: 'HOME', value: '/tmp'},
      {name: 'npm_config_cache', value: '/tmp/.npm'},
      {name: 'MCPU_FS_ENV_TOKEN', valueFrom: {secretKeyRef: {name: 'fs', key: 'token', optional: true}}},
      {name: 'MCPU_GITHUB_HEADER_AUTHORIZATION', valueFrom: {secretKeyRef: {name: 'github', key: 'authorization'}}},
      {name: 'POD_IP', valueFrom: {fieldRef: {fieldPath: 'status.podIP'}}},
      {name: 'POD_NAMESPACE', valueFrom: {fieldRef: {fieldPath: 'metadata.namespace'}}},
    ]);
    const config = parseRouterConfig(
      rendered.routerJson,
      {MCPU_GITHUB_HEADER_AUTHORIZATION: 'Bearer s3cret', MCPU_FS_ENV_TOKEN: 't'},
      'x',
    );
    const gh = config.upstreams.find((u) => u.name === 'github');
    expect(gh && 'headers' in gh && gh.headers.Authorization).toBe('Bearer s3cret');
  });

  it('gives two sources that sanitize to the same env name distinct names', () => {
    const a = upstream('a-b', {
      stdio: {command: 'x', env: [{name: 'T', valueFrom: {secretKeyRef: {name: 's', key: 'k'}}}]},
    });
    const b = upstream('a_b', {
      stdio: {command: 'x', env: [{name: 'T', valueFrom: {secretKeyRef: {name: 's', key: 'k'}}}]},
    });
    const rendered = renderRouter(router(), [a, b], options);
    const names = rendered.env.map((e) => e.name);
    expect(new Set(names).size).toBe(2);
    expect(names[0]).toBe('MCPU_A_B_ENV_T');
    expect(names[1]).toMatch(/^MCPU_A_B_ENV_T_[0-9A-F]{8}$/);
  });

  it('is deterministic and independent of the order of upstreams', () => {
    const one = renderRouter(router(), [github, everything, memory], options);
    const two = renderRouter(router(), [memory, everything, github], options);
    expect(two).toEqual(one);
    expect(one.configHash).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(one.upstreams).toEqual([
      {name: 'everything', prefix: 'everything'},
      {name: 'github', prefix: 'gh'},
      {name: 'memory', prefix: 'memory'},
    ]);
  });

  it('changes the ConfigMap but not the pod template when an upstream changes without Secret-backed values', () => {
    const before = renderRouter(router(), [everything], options);
    const edited = upstream('everything', {
      stdio: {command: 'npx', args: ['-y', 'other'], env: [{name: 'LOG', value: 'info'}]},
    });
    const after = renderRouter(router(), [edited], options);
    expect(after.configMap.data).not.toEqual(before.configMap.data);
    expect(after.configHash).not.toBe(before.configHash);
    expect((after.deployment as any).spec.template).toEqual((before.deployment as any).spec.template);
  });

  it.each([
    ['the image changes', router({upstreamSelector: {}, image: 'example.test/router:2'}), [everything]],
    ['a Secret-backed env var is added', router(), [everything, tokenEnv]],
  ])('changes the pod template when %s', (_name, changed, upstreams) => {
    const before = renderRouter(router(), [everything], options);
    const after = renderRouter(changed, upstreams, options);
    expect((after.deployment as any).spec.template).not.toEqual((before.deployment as any).spec.template);
  });

  it('renders the Deployment, Service and ConfigMap with owner references, probes, a preStop sleep and a restricted security context', () => {
    const spec = {
      upstreamSelector: {},
      replicas: 2,
      resources: {requests: {cpu: '100m', memory: '128Mi'}},
      nodeSelector: {pool: 'tools'},
      tolerations: [{key: 'dedicated', operator: 'Equal', value: 'tools', effect: 'NoSchedule'}],
      podLabels: {team: 'a', 'app.kubernetes.io/instance': 'overridden'},
      service: {port: 8000, annotations: {a: 'b'}},
    };
    const rendered = renderRouter(router(spec), [], options);
    const owner = {
      apiVersion: 'mcprouter.dev/v1alpha1',
      kind: 'McpRouter',
      name: 'tools',
      uid: 'uid-tools',
      controller: true,
      blockOwnerDeletion: true,
    };
    for (const child of [rendered.configMap, rendered.deployment, rendered.service]) {
      expect(child.metadata.ownerReferences).toEqual([owner]);
      expect(child.metadata.namespace).toBe('team-a');
    }
    expect(rendered.configMap.metadata.name).toBe('tools-config');
    const deployment = rendered.deployment as any;
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'kube-mcp-router',
      'app.kubernetes.io/instance': 'tools',
    });
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.template.metadata.labels).toMatchObject({team: 'a', 'app.kubernetes.io/instance': 'tools'});
    expect(pod.nodeSelector).toEqual({pool: 'tools'});
    expect(pod.tolerations).toEqual(spec.tolerations);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes[0]).toEqual({name: 'config', configMap: {name: 'tools-config'}});
    const container = pod.containers[0];
    expect(container.image).toBe('example.test/router:1');
    expect([...container.command, ...container.args]).toEqual([
      'kube-mcp-router',
      'router',
      '--config',
      '/etc/kube-mcp-router/router.json',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--metrics-port',
      '9090',
      '--peers-service',
      'tools',
    ]);
    expect(container.ports).toEqual([
      {name: 'http', containerPort: 8080, protocol: 'TCP'},
      {name: 'metrics', containerPort: 9090, protocol: 'TCP'},
    ]);
    expect(container.volumeMounts[0]).toEqual({name: 'config', mountPath: '/etc/kube-mcp-router', readOnly: true});
    expect(container.volumeMounts[0].subPath).toBeUndefined();
    expect(container.livenessProbe.httpGet).toEqual({path: '/healthz', port: 'http'});
    expect(container.readinessProbe.httpGet).toEqual({path: '/readyz', port: 'http'});
    // Out of the Service's endpoints before the drain: 5 s of serving, then SIGTERM, 10 s of drain, 5 s to exit.
    expect(container.lifecycle).toEqual({preStop: {sleep: {seconds: 5}}});
    expect(pod.terminationGracePeriodSeconds).toBe(20);
    expect(container.resources).toEqual(spec.resources);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    });
    const service = rendered.service as any;
    expect(service.spec.sessionAffinity).toBe('None');
    expect(service.spec.ports).toEqual([{name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP'}]);
    expect(service.metadata.annotations).toEqual({a: 'b'});
    expect(routerUrl(router(spec), 'cluster.local')).toBe('http://tools.team-a.svc.cluster.local:8000');
  });

  it("lets the router's ServiceAccount list and watch EndpointSlices, nothing else, and names its peers' Service", () => {
    const rendered = renderRouter(router({upstreamSelector: {}}), [], options);
    const owner = rendered.service.metadata.ownerReferences;
    expect(rendered.role).toMatchObject({
      kind: 'Role',
      metadata: {name: 'tools-peers', namespace: 'team-a', ownerReferences: owner},
      rules: [{apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']}],
    });
    expect(rendered.roleBinding).toMatchObject({
      kind: 'RoleBinding',
      metadata: {name: 'tools-peers', namespace: 'team-a', ownerReferences: owner},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tools-peers'},
      subjects: [{kind: 'ServiceAccount', name: 'tools', namespace: 'team-a'}],
    });
    const named = renderRouter(router({upstreamSelector: {}, serviceAccountName: 'theirs'}), [], options);
    expect(named.roleBinding.subjects).toEqual([{kind: 'ServiceAccount', name: 'theirs', namespace: 'team-a'}]);
  });

  it('gives router pods the session keys from the Secret named by --session-key-secret, never its value', () => {
    const rendered = renderRouter(router({upstreamSelector: {}}), [], {
      ...options,
      sessionKeySecret: 'kmr-session-key',
    });
    const container = (rendered.deployment as any).spec.template.spec.containers[0];
    expect(container.env).toContainEqual({
      name: 'MCP_ROUTER_SESSION_KEYS',
      valueFrom: {secretKeyRef: {name: 'kmr-session-key', key: 'keys', optional: true}},
    });
    expect(rendered.env).toEqual([]);
    expect(validateRendered(rendered)).toBeUndefined();
  });

  it('gives router pods the OTLP endpoint of --router-otlp-endpoint, and no OTEL env without it', () => {
    const envOf = (rendered: ReturnType<typeof renderRouter>) =>
      (rendered.deployment as any).spec.template.spec.containers[0].env as {name: string; value?: string}[];
    const traced = renderRouter(router({upstreamSelector: {}}), [], {
      ...options,
      otlpEndpoint: 'http://otel-collector.monitoring:4318',
    });
    expect(envOf(traced)).toContainEqual({
      name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      value: 'http://otel-collector.monitoring:4318',
    });
    const plain = renderRouter(router({upstreamSelector: {}}), [], options);
    expect(envOf(plain).filter((variable) => variable.name.startsWith('OTEL_'))).toEqual([]);
  });

  it.each(['None', 'ClientIP'] as const)('sets the Service sessionAffinity %s from spec.service', (affinity) => {
    const rendered = renderRouter(
      router({upstreamSelector: {}, service: {type: 'ClusterIP', port: 80, sessionAffinity: affinity}}),
      [],
      options,
    );
    expect((rendered.service as any).spec.sessionAffinity).toBe(affinity);
  });

  it('renders the router options from the spec', () => {
    const rendered = renderRouter(
      router({upstreamSelector: {}, toolNameSeparator: '-', transports: {sse: false, streamableHttp: true}}),
      [],
      options,
    );
    expect(JSON.parse(rendered.routerJson).router).toMatchObject({
      toolNameSeparator: '-',
      transports: {sse: false, streamableHttp: true},
    });
  });
});
