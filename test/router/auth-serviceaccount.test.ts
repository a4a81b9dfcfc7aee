import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createNamespace, kubectl, useCluster, type Cluster} from '../support/cluster.js';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, postInitialize, startLoggedRouter} from '../support/router.js';

// Kubernetes ServiceAccount tokens, made by the real kube-apiserver's TokenRequest API (`kubectl create token`), and
// verified by the router offline against the API server's own OIDC JWKS (docs/adr, ServiceAccount tokens). The router
// reads the JWKS as a pod would: with its own ServiceAccount's token and the cluster's CA, through the built-in
// ClusterRoleBinding system:service-account-issuer-discovery; it needs no Role of its own.
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'kube-mcp-router';

describe('ServiceAccount tokens', () => {
  const cluster = useCluster();
  const captured = capturedLogger('info');
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;
  let namespace: string;

  async function token(c: Cluster, serviceAccount: string, ns: string, audience?: string): Promise<string> {
    const args = ['create', 'token', serviceAccount, '-n', ns, ...(audience ? ['--audience', audience] : [])];
    const made = await kubectl(c, args);
    if (made.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${made.stderr}`);
    return made.stdout.trim();
  }

  beforeAll(async () => {
    const c = cluster();
    namespace = await createNamespace(c, 'sa-auth');
    for (const name of ['agent', 'router']) {
      const created = await kubectl(c, ['create', 'serviceaccount', name, '-n', namespace]);
      if (created.code !== 0) throw new Error(created.stderr);
    }
    const folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-sa-'));
    const ca = await kubectl(c, [
      'config',
      'view',
      '--raw',
      '--minify',
      '-o',
      'jsonpath={.clusters[0].cluster.certificate-authority-data}',
    ]);
    await writeFile(join(folder, 'ca.crt'), Buffer.from(ca.stdout.trim(), 'base64'));
    // The router's own token, for the API server's default audience: what the projected volume gives a router pod.
    await writeFile(join(folder, 'token'), await token(c, 'router', namespace));
    router = await startLoggedRouter(
      {
        mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
        router: {
          auth: {
            jwt: [
              {
                issuer: ISSUER,
                audiences: [AUDIENCE],
                jwksUri: `${c.server}/openid/v1/jwks`,
                caFile: join(folder, 'ca.crt'),
                tokenFile: join(folder, 'token'),
              },
            ],
          },
          access: [{namespaces: [namespace], upstreams: ['everything'], tools: {exclude: ['get-env']}}],
        },
      },
      captured.log,
    );
  });
  afterAll(async () => {
    await router?.stop();
  });

  async function initialize(bearer: string) {
    const {status, headers} = await postInitialize(`${router.url}/mcp`, {authorization: `Bearer ${bearer}`});
    return {status, challenge: headers.get('www-authenticate')};
  }

  it("an agent's token for the router's audience is accepted as system:serviceaccount:<namespace>:<name>", async () => {
    const bearer = await token(cluster(), 'agent', namespace, AUDIENCE);
    const {client, close} = await connectClient(`${router.url}/mcp`, {headers: {authorization: `Bearer ${bearer}`}});
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__echo');
      expect(names).not.toContain('everything__get-env');
      const result = await client.callTool({name: 'everything__echo', arguments: {message: 'from a pod'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: from a pod'}]);
    } finally {
      await close();
    }
    const audit = captured.lines().filter((line) => line.component === 'audit' && line.method === 'tools/call');
    expect(audit.at(-1)).toMatchObject({principal: `system:serviceaccount:${namespace}:agent`, outcome: 'ok'});
    expect(captured.text()).not.toContain(bearer);
  });

  it('a token for another audience is refused with 401', async () => {
    const {status, challenge} = await initialize(await token(cluster(), 'agent', namespace, 'another-service'));
    expect(status).toBe(401);
    expect(challenge).toContain('aud claim');
  });

  it("a token with the API server's own audience (what a pod mounts by default) is refused with 401", async () => {
    expect((await initialize(await token(cluster(), 'agent', namespace))).status).toBe(401);
  });

  it('a ServiceAccount of a namespace no rule names gets 403', async () => {
    const {status} = await initialize(await token(cluster(), 'default', 'default', AUDIENCE));
    expect(status).toBe(403);
  });
});
