/**
 * The router as `npm run demo` runs it locally (scripts/local-pod.ts), from what the operator renders for an
 * McpRouter. `kubectl` is a fake here (it answers `get` with the rendered Deployment and ConfigMap): the point is the
 * local process, its log lines and its config folder, not the API server (test/e2e covers the chain on a cluster).
 */
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {parseMcpRouter, API_VERSION} from '../../operator/api/types.js';
import {DEFAULT_SERVICE_ACCOUNT_ISSUER, renderRouter} from '../../operator/controllers/mcprouter/render.js';
import {startLocalPod, type Kubectl} from '../../scripts/local-pod.js';

function renderedDemo() {
  const parsed = parseMcpRouter({
    apiVersion: API_VERSION,
    kind: 'McpRouter',
    metadata: {name: 'demo', namespace: 'default', uid: '00000000-0000-0000-0000-000000000001', generation: 1},
    spec: {},
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return renderRouter(parsed.value, [], {
    routerImage: 'example.test/kube-mcp-router:test',
    clusterDomain: 'cluster.local',
    serviceAccountIssuer: DEFAULT_SERVICE_ACCOUNT_ISSUER,
  });
}

/** A fake kubectl that knows the rendered Deployment `demo` and ConfigMap `demo-config`, and nothing else. */
function fakeKubectl(rendered: ReturnType<typeof renderRouter>): Kubectl {
  return async (args) => {
    const [verb, resource, name] = args;
    if (verb === 'get' && resource === 'deployment' && name === 'demo') return JSON.stringify(rendered.deployment);
    if (verb === 'get' && resource === 'configmap' && name === 'demo-config') return JSON.stringify(rendered.configMap);
    throw new Error(`the fake kubectl knows no "${args.join(' ')}"`);
  };
}

/** A port free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as {port: number};
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('startLocalPod', () => {
  it('runs the rendered router, hands over its log lines, and removes its config folder when stopped', async () => {
    const rendered = renderedDemo();
    const lines: string[] = [];
    const pod = await startLocalPod({
      kubectl: fakeKubectl(rendered),
      namespace: 'default',
      name: 'demo',
      port: await freePort(),
      onLine: (line) => lines.push(line),
    });
    try {
      expect((await fetch(`${pod.url}/readyz`)).status).toBe(200);
      expect(await readFile(join(pod.configFolder, 'router.json'), 'utf8')).toBe(rendered.routerJson);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines).toEqual(pod.logs);
    } finally {
      await pod.stop();
    }
    expect(existsSync(pod.configFolder)).toBe(false);
  }, 60_000);
});
