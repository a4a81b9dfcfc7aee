/* eslint-disable @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON */
/**
 * The whole product on a real one-node cluster (test/support/node.ts): the chart installed by helm with the project's
 * own image, the operator running as a pod under the chart's ServiceAccount, router pods reconciled by it from custom
 * resources, and MCP clients on this machine calling tools through the router's ClusterIP Service.
 *
 * Upstreams are the MCP servers of the project's image (pods cannot download anything): server-everything and
 * server-memory as stdio children of the router, and server-everything behind a router of its own (with a bearer
 * token) as a Deployment and Service.
 */
import {execFile} from 'node:child_process';
import {mkdtemp} from 'node:fs/promises';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';

import {PRE_STOP_SLEEP_SECONDS} from '../../operator/controllers/mcprouter/render.js';
import {sessionTag} from '../../router/policy/audit.js';
import {CHART, installArgs, ROOT} from '../chart/helm.js';
import {waitFor} from '../operator/support.js';
import {createNamespace, ensureHelm, helm, kubectl, type Cluster} from '../support/cluster.js';
import {hasNode, projectImage, useNodeCluster} from '../support/node.js';
import {INITIALIZE, MCP_HEADERS, connectClient} from '../support/router.js';
import {describeReplicas} from './replicas.js';

const TOKEN = 'Bearer e2e-secret-token-value';
const RELEASE = 'kmr';

async function kc(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const result = await kubectl(cluster, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function getJson(cluster: Cluster, args: string[]): Promise<any> {
  return JSON.parse(await kc(cluster, ['get', ...args, '-o', 'json']));
}

/** A new client session on `endpoint` (an MCP URL), one tool call, the session closed: the result's content. */
async function callOnce(endpoint: string, name: string, args: Record<string, unknown>): Promise<unknown> {
  const client = await connectClient(endpoint);
  try {
    return (await client.client.callTool({name, arguments: args})).content;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * An MCP `initialize` on a TCP connection of its own, as a new client opens one (no keep-alive connection to reuse):
 * the HTTP status, or the error's code when there was no answer.
 */
function initializeOnNewConnection(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, {method: 'POST', agent: false, headers: MCP_HEADERS, timeout: 5_000}, (response) => {
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), {code: 'ETIMEDOUT'})));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(JSON.stringify(INITIALIZE));
  });
}

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: {drop: ['ALL']},
  seccompProfile: {type: 'RuntimeDefault'},
};

const TOKEN_VALUE = TOKEN.replace(/^Bearer /, '');

/**
 * An HTTP upstream of its own that only answers with the Secret's token: a router (from the same image) in front of
 * server-everything, with a static bearer token from the Secret, as a Deployment and a Service. The router under test
 * reaches it at `/mcp/everything`, names unchanged, sending the Secret-backed header.
 */
const remoteUpstream = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 'remote-token'},
      stringData: {authorization: TOKEN, token: TOKEN_VALUE},
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'remote-config'},
      data: {
        'router.json': JSON.stringify({
          mcpServers: {everything: {command: 'mcp-server-everything', args: ['stdio']}},
          router: {
            auth: {bearerTokens: [{principal: 'e2e-router', token: '${REMOTE_TOKEN}'}]},
            access: [{principals: ['e2e-router']}],
          },
        }),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'remote'},
      spec: {
        selector: {matchLabels: {app: 'remote'}},
        template: {
          metadata: {labels: {app: 'remote'}},
          spec: {
            containers: [
              {
                name: 'router',
                image: projectImage,
                imagePullPolicy: 'Never',
                command: ['kube-mcp-router'],
                args: ['router', '--config', '/etc/remote/router.json', '--host', '0.0.0.0', '--port', '3001'],
                env: [{name: 'REMOTE_TOKEN', valueFrom: {secretKeyRef: {name: 'remote-token', key: 'token'}}}],
                ports: [{containerPort: 3001}],
                readinessProbe: {httpGet: {path: '/readyz', port: 3001}, periodSeconds: 1},
                volumeMounts: [
                  {name: 'config', mountPath: '/etc/remote', readOnly: true},
                  {name: 'tmp', mountPath: '/tmp'},
                ],
                securityContext: restricted,
              },
            ],
            volumes: [
              {name: 'config', configMap: {name: 'remote-config'}},
              {name: 'tmp', emptyDir: {}},
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'remote'},
      spec: {selector: {app: 'remote'}, ports: [{port: 80, targetPort: 3001}]},
    },
  ],
};

const resources = (namespace: string, domain: string) => `
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: everything, labels: {team: e2e}}
spec:
  stdio: {command: mcp-server-everything, args: [stdio]}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: memory, labels: {team: e2e}}
spec:
  stdio:
    command: mcp-server-memory
    env: [{name: MEMORY_FILE_PATH, value: /tmp/memory.jsonl}]
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: remote, labels: {team: e2e}}
spec:
  http:
    url: http://remote.${namespace}.svc.${domain}/mcp/everything
    transport: streamableHttp
    headers:
      - name: Authorization
        valueFrom: {secretKeyRef: {name: remote-token, key: authorization}}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpRouter
metadata: {name: e2e}
spec:
  upstreamSelector: {matchLabels: {team: e2e}}
  replicas: 2
`;

describe('the chart, the operator and router pods on a real node', () => {
  const cluster = useNodeCluster();
  let namespace: string;
  let url: string;
  let session: {client: Client; received: JSONRPCMessage[]; close(): Promise<void>};

  const routerPods = async () =>
    (await getJson(cluster(), ['pods', '-n', namespace, '-l', 'app.kubernetes.io/instance=e2e'])).items.filter(
      (pod: any) => !pod.metadata.deletionTimestamp,
    );

  /** A merge patch of the McpRouter `e2e`'s spec. */
  const patchRouter = (spec: Record<string, unknown>) =>
    kc(cluster(), ['patch', 'mcprouter', 'e2e', '-n', namespace, '--type', 'merge', '-p', JSON.stringify({spec})]);
  /** The pods a Service offers as ready in its EndpointSlices, by name: where kube-proxy sends new connections. */
  const readyEndpoints = async (service: string): Promise<string[]> =>
    (await getJson(cluster(), ['endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service}`])).items
      .flatMap((slice: any) => slice.endpoints ?? [])
      .filter((endpoint: any) => endpoint.conditions?.ready === true)
      .map((endpoint: any) => endpoint.targetRef?.name);
  const readyRouterPods = async (count: number) =>
    waitFor(
      `${count} router pods Ready`,
      async () => {
        const pods = await routerPods();
        const ready = pods.filter((pod: any) =>
          pod.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === count && pods.length === count ? ready : undefined;
      },
      180_000,
    );

  /**
   * Waits until a router's Service (`base`, the e2e router's by default) answers /readyz from this machine: kube-proxy
   * programs a Service's new endpoints a moment after the pods turn Ready, and a connection opened in between goes
   * nowhere.
   */
  const serviceAnswers = (base = url) =>
    waitFor(
      'the Service to answer',
      () =>
        fetch(`${base}/readyz`, {signal: AbortSignal.timeout(2_000)}).then(
          (response) => response.ok,
          () => false,
        ),
      120_000,
    );

  beforeAll(async () => {
    if (!hasNode(cluster)) return; // useNodeCluster() reports and skips.
    await ensureHelm(cluster());
    namespace = await createNamespace(cluster(), 'e2e', {'pod-security.kubernetes.io/enforce': 'restricted'});
    const installed = await helm(cluster(), installArgs(RELEASE, namespace));
    expect(installed.code, installed.stderr).toBe(0);
    await kc(cluster(), ['apply', '-n', namespace, '-f', '-'], JSON.stringify(remoteUpstream));
    await kc(cluster(), ['rollout', 'status', '-n', namespace, 'deployment/remote', '--timeout=180s']);
    await kc(cluster(), ['apply', '-n', namespace, '-f', '-'], resources(namespace, cluster().clusterDomain));
    await readyRouterPods(2);
    const service = await getJson(cluster(), ['service', 'e2e', '-n', namespace]);
    url = `http://${service.spec.clusterIP}:${service.spec.ports[0].port}`;
    await serviceAnswers();
    session = await connectClient(`${url}/mcp`);
  }, 15 * 60_000);

  // What the router pods said, when a test fails: their refusals and forward failures name a reason (never an id).
  afterEach(async ({task}) => {
    if (task.result?.state !== 'fail' || !namespace) return;
    const pods = await getJson(cluster(), ['pods', '-n', namespace, '-l', 'app.kubernetes.io/instance=e2e']);
    for (const pod of pods.items) {
      const logs = await kubectl(cluster(), ['logs', '-n', namespace, pod.metadata.name, '--tail=60']);
      console.log(`router pod ${pod.metadata.name} (${pod.status.podIP}), its last log lines:\n${logs.stdout}`);
    }
  });

  afterAll(async () => {
    await session?.close().catch(() => undefined);
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  });

  it('runs the operator as a pod of the chart, under its ServiceAccount, from the local image', async () => {
    const pods = (await getJson(cluster(), ['pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${RELEASE}`]))
      .items;
    expect(pods).toHaveLength(1);
    expect(pods[0].spec.serviceAccountName).toBe(`${RELEASE}-kube-mcp-router`);
    expect(pods[0].spec.containers[0].image).toBe(projectImage);
    expect(pods[0].status.containerStatuses[0].ready).toBe(true);
    const router = await getJson(cluster(), ['mcprouter', 'e2e', '-n', namespace]);
    expect(router.status.conditions).toContainEqual(expect.objectContaining({type: 'Ready', status: 'True'}));
    expect(router.status.readyReplicas).toBe(2);
  });

  it('keeps the Secret out of the ConfigMap and passes it to the router pods as an env var', async () => {
    const configMap = await kc(cluster(), ['get', 'configmap', 'e2e-config', '-n', namespace, '-o', 'json']);
    expect(configMap).not.toContain('e2e-secret-token-value');
    const env = (await getJson(cluster(), ['deployment', 'e2e', '-n', namespace])).spec.template.spec.containers[0].env;
    expect(env).toContainEqual(
      expect.objectContaining({valueFrom: {secretKeyRef: expect.objectContaining({name: 'remote-token'})}}),
    );
  });

  it('sends the Secret-backed header to the HTTP upstream, which refuses a call without it', async () => {
    const remote = await getJson(cluster(), ['service', 'remote', '-n', namespace]);
    const initialize = (headers: Record<string, string>) =>
      fetch(`http://${remote.spec.clusterIP}/mcp/everything`, {
        method: 'POST',
        headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers},
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'e2e', version: '1'}},
        }),
      });
    expect((await initialize({})).status).toBe(401);
    expect((await initialize({authorization: TOKEN})).status).toBe(200);
    const echo = await session.client.callTool({name: 'remote__echo', arguments: {message: 'with the token'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: with the token'}]);
  });

  it('serves every upstream, aggregated, through the ClusterIP Service over Streamable HTTP and SSE', async () => {
    const names = (await session.client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'remote__echo', 'memory__read_graph']));
    const echo = await session.client.callTool({name: 'remote__echo', arguments: {message: 'through the pods'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: through the pods'}]);
    expect(await callOnce(`${url}/sse`, 'everything__get-sum', {a: 20, b: 22})).toEqual([
      {type: 'text', text: 'The sum of 20 and 22 is 42.'},
    ]);
  });

  it.each([
    ['/mcp/remote', 'get-sum'],
    ['/sse/everything', 'get-sum'],
  ])('serves one upstream, names unchanged, on %s', async (path, tool) => {
    const single = await connectClient(`${url}${path}`);
    try {
      expect((await single.client.listTools()).tools.map((t) => t.name)).toContain(tool);
      const sum = await single.client.callTool({name: tool, arguments: {a: 1, b: 2}});
      expect(sum.content).toEqual([{type: 'text', text: 'The sum of 1 and 2 is 3.'}]);
    } finally {
      await single.close();
    }
  });

  it('answers the Inspector CLI, an independent client, on /mcp and /sse', async () => {
    const inspector = async (args: string[]) => {
      const {stdout} = await promisify(execFile)('npx', ['--no-install', 'mcp-inspector', '--cli', ...args], {
        env: {...process.env, HOME: await mkdtemp(join(tmpdir(), 'inspector-'))},
        timeout: 60_000,
      });
      return JSON.parse(stdout) as {tools?: {name: string}[]; content?: unknown[]};
    };
    const listed = await inspector([`${url}/mcp`, '--transport', 'http', '--method', 'tools/list']);
    expect(listed.tools?.map((t) => t.name)).toEqual(expect.arrayContaining(['everything__echo', 'remote__echo']));
    const called = await inspector([
      `${url}/sse`,
      '--transport',
      'sse',
      '--method',
      'tools/call',
      '--tool-name',
      'remote__get-sum',
      '--tool-arg',
      'a=2',
      'b=3',
    ]);
    expect(called.content).toEqual([{type: 'text', text: 'The sum of 2 and 3 is 5.'}]);
  });

  it('runs examples/k8s offline, with the image of this machine set by the examples/local-node kustomization', async () => {
    const examples = await createNamespace(cluster(), 'examples', {'pod-security.kubernetes.io/enforce': 'restricted'});
    try {
      await kc(cluster(), ['apply', '-n', examples, '-k', join(ROOT, 'examples', 'local-node')]);
      await kc(cluster(), ['rollout', 'status', '-n', examples, 'deployment/everything-http', '--timeout=180s']);
      await waitFor(
        'the demo router Ready',
        async () =>
          (await getJson(cluster(), ['mcprouter', 'demo', '-n', examples])).status?.conditions?.some(
            (c: any) => c.type === 'Ready' && c.status === 'True',
          ),
        180_000,
      );
      const service = await getJson(cluster(), ['service', 'demo', '-n', examples]);
      const demoUrl = `http://${service.spec.clusterIP}`;
      await serviceAnswers(demoUrl);
      const demo = await connectClient(`${demoUrl}/mcp`);
      try {
        const names = (await demo.client.listTools()).tools.map((t) => t.name);
        expect(names).toEqual(expect.arrayContaining(['everything__echo', 'remote__echo', 'memory__read_graph']));
        const echo = await demo.client.callTool({name: 'remote__echo', arguments: {message: 'offline'}});
        expect(echo.content).toEqual([{type: 'text', text: 'Echo: offline'}]);
        const entities = [{name: 'kube-mcp-router', entityType: 'project', observations: ['runs offline']}];
        await demo.client.callTool({name: 'memory__create_entities', arguments: {entities}});
        const graph = await demo.client.callTool({name: 'memory__read_graph', arguments: {}});
        expect(JSON.stringify(graph.content)).toContain('runs offline');
      } finally {
        await demo.close();
      }
    } finally {
      await kubectl(cluster(), ['delete', 'namespace', examples, '--wait=false']);
    }
  });

  it('shows the router JSON log lines in `kubectl logs`', async () => {
    const [pod] = await routerPods();
    const logs = await kc(cluster(), ['logs', '-n', namespace, pod.metadata.name]);
    const lines = logs.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines.slice(0, 5)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("gives the router pods a 1Gi memory limit by default, and Node sizes each pod's heap from it (ADR 0039)", async () => {
    for (const pod of await routerPods()) {
      const router = pod.spec.containers.find((container: any) => container.name === 'router');
      expect(router.resources.limits).toEqual({memory: '1Gi'});
      const metrics = await fetch(`http://${pod.status.podIP}:9090/metrics`, {signal: AbortSignal.timeout(5_000)});
      const heapLimit = Number(/^mcp_router_heap_limit_bytes (\S+)$/m.exec(await metrics.text())?.[1]) / 2 ** 20;
      // Half the limit, plus V8's young generation (larger on Node.js 24); from the node's memory it would be GiB.
      expect(heapLimit).toBeGreaterThanOrEqual(512);
      expect(heapLimit).toBeLessThan(1024);
    }
  });

  it('keeps a router pod out of its Service until its readiness probe passes: Running, not Ready, then Ready', async () => {
    // An upstream slow to start (a server loading a model or warming a cache): here one that waits for a file in the
    // pod's /tmp. The router answers /readyz with 503 until every upstream has made its first connection.
    await kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      `
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: slow, labels: {team: gated}}
spec:
  stdio:
    command: sh
    args: ['-c', 'until [ -e /tmp/started ]; do sleep 1; done; exec mcp-server-everything stdio']
  timeouts: {connectSeconds: 600}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpRouter
metadata: {name: gated}
spec:
  upstreamSelector: {matchLabels: {team: gated}}
  replicas: 1
`,
    );
    try {
      const gatedPod = async () =>
        (await getJson(cluster(), ['pods', '-n', namespace, '-l', 'app.kubernetes.io/instance=gated'])).items[0];
      // What `kubectl describe pod` shows: the readiness probe failed with 503.
      const pod = await waitFor(
        'the readiness probe to fail',
        async () => {
          const events = await getJson(cluster(), ['events', '-n', namespace, '--field-selector', 'reason=Unhealthy']);
          const failed = events.items.some(
            (event: any) =>
              event.involvedObject.name.startsWith('gated-') &&
              event.message.includes('Readiness probe failed: HTTP probe failed with statuscode: 503'),
          );
          return failed ? gatedPod() : undefined;
        },
        120_000,
      );
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.containerStatuses[0]).toMatchObject({ready: false, started: true, restartCount: 0});
      expect(pod.status.conditions).toContainEqual(expect.objectContaining({type: 'Ready', status: 'False'}));
      expect(await readyEndpoints('gated')).toEqual([]);
      const router = await getJson(cluster(), ['mcprouter', 'gated', '-n', namespace]);
      expect(router.status.conditions).toContainEqual(expect.objectContaining({type: 'Ready', status: 'False'}));

      await kc(cluster(), ['exec', '-n', namespace, pod.metadata.name, '--', 'touch', '/tmp/started']);
      await waitFor(
        'the Service to offer the pod as ready',
        async () => (await readyEndpoints('gated')).includes(pod.metadata.name),
        120_000,
      );
      expect((await gatedPod()).metadata.uid).toBe(pod.metadata.uid);
      const service = await getJson(cluster(), ['service', 'gated', '-n', namespace]);
      const gatedUrl = `http://${service.spec.clusterIP}`;
      await serviceAnswers(gatedUrl);
      expect(await callOnce(`${gatedUrl}/mcp`, 'slow__get-sum', {a: 6, b: 7})).toEqual([
        {type: 'text', text: 'The sum of 6 and 7 is 13.'},
      ]);
    } finally {
      await kubectl(cluster(), ['delete', 'mcprouter/gated', 'mcpupstream/slow', '-n', namespace, '--wait=false']);
    }
  });

  it('applies an edited McpUpstream to the running pods and the open session, without a restart', async () => {
    const before = (await routerPods()).map((pod: any) => pod.metadata.uid).sort();
    await kc(cluster(), [
      'patch',
      'mcpupstream',
      'everything',
      '-n',
      namespace,
      '--type',
      'merge',
      '-p',
      '{"spec":{"prefix":"ev"}}',
    ]);
    await expect
      .poll(async () => (await session.client.listTools()).tools.map((t) => t.name), {
        timeout: 120_000,
        interval: 1_000,
      })
      .toContain('ev__echo');
    expect(session.received.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed')).toBe(true);
    const echo = await session.client.callTool({name: 'ev__echo', arguments: {message: 'renamed'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: renamed'}]);
    const after = await routerPods();
    expect(after.map((pod: any) => pod.metadata.uid).sort()).toEqual(before);
    expect(after.map((pod: any) => pod.status.containerStatuses[0].restartCount)).toEqual([0, 0]);
  });

  it('restarts a stdio upstream whose process was killed inside the pod', async () => {
    const pods = await routerPods();
    for (const pod of pods) {
      // No ps in the image: find server-everything's stdio child through /proc and kill it (the bracket keeps the
      // pattern from matching this shell's own command line).
      await kc(cluster(), [
        'exec',
        '-n',
        namespace,
        pod.metadata.name,
        '--',
        'sh',
        '-c',
        `for d in /proc/[0-9]*; do if tr '\\0' ' ' < $d/cmdline 2>/dev/null | grep -q 'mcp-server-everything[ ]stdio'; then kill -9 \${d#/proc/}; fi; done`,
      ]);
    }
    await expect
      .poll(() => callOnce(`${url}/mcp`, 'ev__get-sum', {a: 4, b: 5}).catch((error: unknown) => String(error)), {
        timeout: 60_000,
        interval: 1_000,
      })
      .toEqual([{type: 'text', text: 'The sum of 4 and 5 is 9.'}]);
  });

  it('keeps answering new connections while a deleted router pod leaves the Service (preStop sleep, then drain)', async () => {
    // The pod that owns this suite's client's session (the Service has sessionAffinity None): the one whose audit
    // lines carry its tag. Its replacement turns ready during the loop below, so the last call's session may belong
    // to a pod that the other pod's view still has starting (ADR 0038).
    await session.client.listTools(); // an audit line of this session, at least
    const tag = sessionTag((session.client.transport as StreamableHTTPClientTransport).sessionId);
    const pods = await routerPods();
    const logs = await Promise.all(pods.map((pod: any) => kc(cluster(), ['logs', '-n', namespace, pod.metadata.name])));
    const affine = pods[logs.findIndex((text) => text.includes(`"session":"${tag}"`))];
    expect(affine, `no router pod logged the session ${tag}`).toBeDefined();
    // The leaving pod's log to its end (its logs go with it), printed if a client sees a refusal.
    const leavingLog = kubectl(cluster(), ['logs', '-f', '-n', namespace, affine.metadata.name]);
    const printLeavingLog = async () => {
      const log = await Promise.race([
        leavingLog,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000)),
      ]);
      console.log(`the leaving pod ${affine.metadata.name}'s log:\n${log?.stdout.split('\n').slice(-60).join('\n')}`);
    };
    await kc(cluster(), ['delete', 'pod', '-n', namespace, affine.metadata.name, '--wait=false']);
    // New clients at once and on, each on a connection of its own, until past the SIGTERM: kube-proxy goes on sending
    // new connections to the deleted pod until it sees the pod's endpoint go, so the pod serves for the preStop sleep
    // before it drains (and answers 503); none of them may see a refusal.
    const deleted = Date.now();
    const refusals: string[] = [];
    let left = -1;
    const leaving = waitFor('the EndpointSlice to drop the pod', async () => {
      if ((await readyEndpoints('e2e')).includes(affine.metadata.name)) return undefined;
      left = Date.now() - deleted;
      return true;
    });
    while (Date.now() < deleted + (PRE_STOP_SLEEP_SECONDS + 3) * 1000) {
      const status = await initializeOnNewConnection(`${url}/mcp`);
      if (status !== 200) refusals.push(`${status} after ${Date.now() - deleted} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await leaving;
    if (refusals.length > 0) await printLeavingLog();
    expect(refusals, `the EndpointSlice dropped the pod after ${left} ms`).toEqual([]);
    expect(await readyEndpoints('e2e')).not.toContain(affine.metadata.name);
    // A new client right after the drain: its next request may come on a kept-alive connection to the leaving pod,
    // which forwards it with a current view of the pods (a 404 here once came from a view closed too early).
    const content = await callOnce(`${url}/mcp`, 'remote__echo', {message: 'from the other pod'}).catch(
      async (error: Error) => {
        await printLeavingLog();
        throw error;
      },
    );
    expect(content).toEqual([{type: 'text', text: 'Echo: from the other pod'}]);
    await readyRouterPods(2);
  });

  it('rolls the Deployment to a new image, and the old pods drain on SIGTERM', async () => {
    const rolled = `${projectImage}-rolled`;
    const {ctr, containerdAddress} = cluster().node;
    // As a new release would arrive: the same image under a new name (execFile rejects when ctr fails).
    await promisify(execFile)(ctr, [
      '--address',
      containerdAddress,
      '-n',
      'k8s.io',
      'images',
      'tag',
      '--force',
      projectImage,
      rolled,
    ]);
    const old = await routerPods();
    const logs = old.map((pod: any) =>
      promisify(execFile)(join(cluster().binDir, 'kubectl'), ['logs', '-f', '-n', namespace, pod.metadata.name], {
        env: cluster().env,
        timeout: 180_000,
      }),
    );
    await patchRouter({image: rolled});
    await kc(cluster(), ['rollout', 'status', '-n', namespace, 'deployment/e2e', '--timeout=180s']);
    const pods = await readyRouterPods(2);
    expect(pods.map((pod: any) => pod.spec.containers[0].image)).toEqual([rolled, rolled]);
    expect(pods.map((pod: any) => pod.metadata.uid)).not.toContain(old[0].metadata.uid);
    for (const output of await Promise.all(logs)) {
      // When the old container is removed while it is followed, the kubelet ends the stream with a plain-text line
      // ("rpc error: code = NotFound ..."); only the router's own lines are JSON.
      const lines = String(output.stdout).split('\n').filter(Boolean);
      const stopping = lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as {msg?: string; signal?: string})
        .find((line) => line.msg === 'Stopping');
      expect(stopping, `the old pod's log ends:\n${lines.slice(-10).join('\n')}`).toMatchObject({signal: 'SIGTERM'});
    }
    await serviceAnswers();
    expect(await callOnce(`${url}/mcp`, 'remote__echo', {message: 'after the roll'})).toEqual([
      {type: 'text', text: 'Echo: after the roll'},
    ]);
  });

  describeReplicas({
    cluster,
    namespace: () => namespace,
    kc: (args, input) => kc(cluster(), args, input),
    getJson: (args) => getJson(cluster(), args),
  });

  it('upgrades the release with helm and keeps reconciling; uninstall keeps the CRDs', async () => {
    const upgraded = await helm(cluster(), [
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      namespace,
      '--reuse-values',
      '--set',
      'logLevel=debug',
      '--wait',
      '--timeout',
      '180s',
    ]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const operator = (await getJson(cluster(), ['deployment', `${RELEASE}-kube-mcp-router`, '-n', namespace])).spec
      .template.spec.containers[0].args;
    expect(operator).toContain('--log-level=debug');
    await patchRouter({replicas: 1});
    await readyRouterPods(1);

    const uninstalled = await helm(cluster(), ['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '120s']);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    await waitFor('the operator pod to go', async () =>
      (await getJson(cluster(), ['pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${RELEASE}`])).items
        .length === 0
        ? true
        : undefined,
    );
    expect((await kubectl(cluster(), ['get', 'crd', 'mcprouters.mcprouter.dev'])).code).toBe(0);
  });
});
