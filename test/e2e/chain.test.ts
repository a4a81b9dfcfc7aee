import {execFile} from 'node:child_process';
import {mkdtemp} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {promisify} from 'node:util';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startLocalPod, type LocalPod} from '../../scripts/local-pod.js';
import {createNamespace, useCluster} from '../support/cluster.js';
import {freePort, serverEntry, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {connectClient} from '../support/router.js';
import {applyCrds, kc, spawnOperator, waitFor, type OperatorProcess} from '../operator/support.js';

// The whole chain on the local control plane: CRs -> operator (a local process with the kubeconfig) -> ConfigMap and
// Deployment -> a router started exactly as its pod would be -> MCP clients (the SDK, and the Inspector CLI).
const TOKEN = 'Bearer e2e-secret-token-value';

describe('from custom resources to MCP clients', () => {
  const cluster = useCluster();
  let namespace: string;
  let operator: OperatorProcess;
  let remote: HttpMcpServer;
  let pod: LocalPod;
  let session: {client: Client; received: JSONRPCMessage[]; close(): Promise<void>};

  const upstreams = (remoteUrl: string) => `
apiVersion: v1
kind: Secret
metadata: {name: remote-token}
stringData: {authorization: '${TOKEN}'}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: everything, labels: {team: e2e}}
spec:
  stdio: {command: '${process.execPath}', args: ['${serverEntry('server-everything')}', 'stdio']}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: remote, labels: {team: e2e}}
spec:
  http:
    url: ${remoteUrl}
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
`;

  beforeAll(async () => {
    namespace = await createNamespace(cluster(), 'e2e');
    await applyCrds(cluster());
    operator = await spawnOperator(cluster(), ['--namespace', namespace]);
    remote = await startEverythingHttp('streamableHttp');
    await kc(cluster(), ['apply', '-n', namespace, '-f', '-'], upstreams(remote.url));
    await waitFor('the rendered ConfigMap with both upstreams', async () => {
      const text = await kc(cluster(), [
        'get',
        'configmap',
        'e2e-config',
        '-n',
        namespace,
        '-o',
        'jsonpath={.data.router\\.json}',
      ]).catch(() => '');
      return text.includes('"remote"') && text.includes('"everything"');
    });
    await waitFor('the Deployment', () =>
      kc(cluster(), ['get', 'deployment', 'e2e', '-n', namespace]).then(
        () => true,
        () => false,
      ),
    );
    pod = await startLocalPod({
      kubectl: (args) => kc(cluster(), args),
      namespace,
      name: 'e2e',
      port: await freePort(),
    });
    session = await connectClient(`${pod.url}/mcp`);
  }, 600_000);

  afterAll(async () => {
    await session?.close();
    await pod?.stop();
    await operator?.stop();
    await remote?.stop();
    if (namespace) await kc(cluster(), ['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  });

  it('keeps the Secret out of the ConfigMap and passes it to the router as an env var', async () => {
    const configMap = await kc(cluster(), ['get', 'configmap', 'e2e-config', '-n', namespace, '-o', 'json']);
    expect(configMap).not.toContain('e2e-secret-token-value');
    const env = JSON.parse(
      await kc(cluster(), [
        'get',
        'deployment',
        'e2e',
        '-n',
        namespace,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].env}',
      ]),
    ) as {name: string; valueFrom?: {secretKeyRef?: {name: string}}}[];
    expect(env).toContainEqual(
      expect.objectContaining({valueFrom: {secretKeyRef: expect.objectContaining({name: 'remote-token'})}}),
    );
  });

  it('serves both upstreams, aggregated, over Streamable HTTP and SSE', async () => {
    const names = (await session.client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'remote__echo']));
    const echo = await session.client.callTool({name: 'remote__echo', arguments: {message: 'through the chain'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: through the chain'}]);
    const sse = await connectClient(`${pod.url}/sse`);
    try {
      const sum = await sse.client.callTool({name: 'everything__get-sum', arguments: {a: 20, b: 22}});
      expect(sum.content).toEqual([{type: 'text', text: 'The sum of 20 and 22 is 42.'}]);
    } finally {
      await sse.close();
    }
  });

  it.each([
    ['/mcp/remote', 'get-sum'],
    ['/sse/everything', 'get-sum'],
  ])('serves one upstream, names unchanged, on %s', async (path, tool) => {
    const single = await connectClient(`${pod.url}${path}`);
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
        env: {...process.env, HOME: await mkdtemp(`${tmpdir()}/inspector-`)},
        timeout: 60_000,
      });
      return JSON.parse(stdout) as {tools?: {name: string}[]; content?: unknown[]};
    };
    const listed = await inspector([`${pod.url}/mcp`, '--transport', 'http', '--method', 'tools/list']);
    expect(listed.tools?.map((t) => t.name)).toEqual(expect.arrayContaining(['everything__echo', 'remote__echo']));
    const called = await inspector([
      `${pod.url}/sse`,
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

  it('applies an edited McpUpstream to the open session without a restart or a new pod template', async () => {
    const template = () =>
      kc(cluster(), ['get', 'deployment', 'e2e', '-n', namespace, '-o', 'jsonpath={.spec.template}']);
    const before = await template();
    const pid = pod.process.pid;
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
    await waitFor('the operator to render the new prefix', () => pod.syncConfig());
    await expect
      .poll(async () => (await session.client.listTools()).tools.map((t) => t.name), {timeout: 20_000})
      .toContain('ev__echo');
    expect(session.received.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed')).toBe(true);
    const echo = await session.client.callTool({name: 'ev__echo', arguments: {message: 'renamed'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: renamed'}]);
    expect(pod.process.pid).toBe(pid);
    expect(pod.process.exitCode).toBeNull();
    expect(await template()).toBe(before);
  });
});
