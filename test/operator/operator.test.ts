/* eslint-disable @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON */
import {isDeepStrictEqual} from 'node:util';
/**
 * The operator against a real kube-apiserver (and kube-controller-manager): the examples are applied with kubectl,
 * an in-process operator watching the test's namespace reconciles them, and the tests look at the objects in the
 * cluster.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parse} from 'yaml';
import {DEFAULT_SERVICE_ACCOUNT_ISSUER} from '../../operator/controllers/mcprouter/render.js';
import type {Operator} from '../../operator/manager.js';
import {Authenticator} from '../../router/auth/authenticate.js';
import {parseRouterConfig} from '../../router/config/index.js';
import {createNamespace, kubectl, useCluster} from '../support/cluster.js';
import {
  applyCrds,
  eventsOf,
  applyExamples,
  getJson,
  kc,
  operatorState,
  settle,
  stableOperatorState,
  startOperator,
  waitFor,
} from './support.js';

const SECRET_VALUE = 'ghp_replace-with-your-token';

describe('operator on a real API server', () => {
  const cluster = useCluster();
  let namespace: string;
  let operator: Operator;

  beforeAll(async () => {
    await applyCrds(cluster());
    namespace = await createNamespace(cluster(), 'operator');
    operator = await startOperator(cluster(), namespace);
    await applyExamples(cluster(), namespace);
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  const get = (resource: string, name: string) => getJson(cluster(), namespace, resource, name);
  /** `kubectl apply` of an object (or a List) in the test's namespace. */
  const applyJson = (object: Record<string, unknown>) =>
    kc(cluster(), ['apply', '-n', namespace, '-f', '-'], JSON.stringify(object));
  /** The API server's answer to an McpRouter it must refuse (stderr of `kubectl apply`); fails if it is accepted. */
  const refusedRouter = async (name: string, spec: Record<string, unknown>) => {
    const result = await kubectl(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: 'mcprouter.dev/v1alpha1', kind: 'McpRouter', metadata: {name}, spec}),
    );
    expect(result.code).not.toBe(0);
    return result.stderr;
  };
  /** `kubectl apply` of an McpRouter in the test's namespace. */
  const applyRouter = (name: string, spec: Record<string, unknown>) =>
    applyJson({apiVersion: 'mcprouter.dev/v1alpha1', kind: 'McpRouter', metadata: {name}, spec});

  it('renders the examples into a ConfigMap, a Deployment and a Service owned by the router', async () => {
    const router = await waitFor('the router status', async () => {
      const r = await get('mcprouter', 'demo');
      return r?.status?.upstreams?.length === 4 ? r : undefined;
    });
    const owner = {
      apiVersion: 'mcprouter.dev/v1alpha1',
      kind: 'McpRouter',
      name: 'demo',
      uid: router.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };

    const configMap = await waitFor('the ConfigMap', () => get('configmap', 'demo-config'));
    expect(configMap.metadata.ownerReferences).toEqual([owner]);
    const text = configMap.data['router.json'];
    const config = parseRouterConfig(text, {MCPU_GITHUB_HEADER_AUTHORIZATION: 'from-the-secret'}, 'router.json');
    expect(config.upstreams.map((u) => [u.name, u.prefix, u.transport])).toEqual([
      ['everything', 'everything', 'stdio'],
      ['everything-http', 'remote', 'streamableHttp'],
      ['github', 'github', 'streamableHttp'],
      ['memory', 'memory', 'stdio'],
    ]);
    expect(JSON.parse(text).mcpServers['everything-http'].url).toBe(
      `http://everything-http.${namespace}.svc.cluster.local:3001/mcp`,
    );
    expect(JSON.parse(text).mcpServers.github.headers).toEqual({Authorization: '${MCPU_GITHUB_HEADER_AUTHORIZATION}'});

    const deployment = await get('deployment', 'demo');
    expect(deployment.metadata.ownerReferences).toEqual([owner]);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe('example.test/kube-mcp-router:test');
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
      'demo',
    ]);
    expect(container.ports).toEqual([
      {name: 'http', containerPort: 8080, protocol: 'TCP'},
      {name: 'metrics', containerPort: 9090, protocol: 'TCP'},
    ]);
    expect(container.env).toContainEqual({
      name: 'MCPU_GITHUB_HEADER_AUTHORIZATION',
      valueFrom: {secretKeyRef: {name: 'github-mcp', key: 'authorization'}},
    });
    expect(container.livenessProbe.httpGet).toMatchObject({path: '/healthz', port: 'http'});
    expect(container.readinessProbe.httpGet).toMatchObject({path: '/readyz', port: 'http'});
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: {drop: ['ALL']},
    });
    expect(container.resources).toEqual({requests: {cpu: '100m', memory: '256Mi'}, limits: {memory: '1Gi'}});
    expect(container.volumeMounts).toContainEqual({name: 'config', mountPath: '/etc/kube-mcp-router', readOnly: true});
    expect(pod.volumes).toContainEqual({name: 'config', configMap: {name: 'demo-config', defaultMode: 420}});
    expect(pod.serviceAccountName).toBe('demo');
    expect(pod.automountServiceAccountToken).toBe(false);

    const serviceAccount = await get('serviceaccount', 'demo');
    expect(serviceAccount.metadata.ownerReferences).toEqual([owner]);
    expect(serviceAccount.automountServiceAccountToken).toBe(false);

    // Its pods watch their Service's EndpointSlices (their peers), and nothing else.
    const role = await get('role', 'demo-peers');
    expect(role.metadata.ownerReferences).toEqual([owner]);
    expect(role.rules).toEqual([
      {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']},
    ]);
    expect((await get('rolebinding', 'demo-peers')).subjects).toEqual([
      {kind: 'ServiceAccount', name: 'demo', namespace},
    ]);

    const service = await get('service', 'demo');
    expect(service.metadata.ownerReferences).toEqual([owner]);
    expect(service.spec.sessionAffinity).toBe('None');
    expect(service.spec.ports).toEqual([{name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}]);
    expect(service.spec.selector).toEqual({
      'app.kubernetes.io/name': 'kube-mcp-router',
      'app.kubernetes.io/instance': 'demo',
    });
  });

  it('copies no Secret value into any ConfigMap', async () => {
    await waitFor('the ConfigMap', () => get('configmap', 'demo-config'));
    const all = await kc(cluster(), ['get', 'configmaps', '-n', namespace, '-o', 'json']);
    expect(all).toContain('MCPU_GITHUB_HEADER_AUTHORIZATION');
    expect(all).not.toContain(SECRET_VALUE);
  });

  it('reports status on the router and the upstreams, shown by kubectl get and describe', async () => {
    const router = await waitFor('the router status to follow the Deployment', async () => {
      const r = await get('mcprouter', 'demo');
      // 1, or 2 while a first pod template (rendered before the Secret-backed upstream arrived) is replaced.
      return r?.status?.replicas >= 1 ? r : undefined;
    });
    const conditions = Object.fromEntries(router.status.conditions.map((c: any) => [c.type, c]));
    expect(conditions.Ready).toMatchObject({
      status: 'False',
      reason: 'PodsPending',
      observedGeneration: router.metadata.generation,
    });
    expect(conditions.Ready.message).toMatch(/Pending with no node assigned/);
    expect(conditions.Progressing).toMatchObject({status: 'True', reason: 'RollingOut'});
    expect(conditions.Degraded).toMatchObject({status: 'False', reason: 'AsExpected'});
    expect(router.status).toMatchObject({
      observedGeneration: router.metadata.generation,
      readyReplicas: 0,
      upstreamCount: 4,
      url: `http://demo.${namespace}.svc.cluster.local:80`,
      upstreams: [
        {name: 'everything', prefix: 'everything'},
        {name: 'everything-http', prefix: 'remote'},
        {name: 'github', prefix: 'github'},
        {name: 'memory', prefix: 'memory'},
      ],
    });
    expect(router.status.configHash).toMatch(/^sha256:[0-9a-f]{16}$/);

    const upstream = await waitFor('the upstream status', async () => {
      const u = await get('mcpupstream', 'everything-http');
      return u?.status?.routers?.length ? u : undefined;
    });
    expect(upstream.status).toMatchObject({transport: 'streamableHttp', prefix: 'remote', routers: ['demo']});
    expect(upstream.status.conditions[0]).toMatchObject({type: 'Accepted', status: 'True', reason: 'Valid'});

    const routers = await kc(cluster(), ['get', 'mcpr', '-n', namespace]);
    expect(routers.split('\n')[0]).toMatch(/^NAME\s+READY\s+REPLICAS\s+UPSTREAMS\s+URL\s+AGE$/);
    // No pod runs on this control plane, so no upstream is known to be ready: 0 of the 4.
    expect(routers).toMatch(/demo\s+False\s+\d\s+0\/4\s+http:\/\/demo\./);
    const upstreams = await kc(cluster(), ['get', 'mcpu', '-n', namespace]);
    expect(upstreams.split('\n')[0]).toMatch(/^NAME\s+TRANSPORT\s+PREFIX\s+AGE$/);
    expect(upstreams).toMatch(/everything\s+stdio\s+everything\s/);
    expect(await kc(cluster(), ['get', 'mcp', '-n', namespace])).toContain('mcprouter.mcprouter.dev/demo');

    const described = await waitFor('Events in kubectl describe', async () => {
      const text = await kc(cluster(), ['describe', 'mcpr', 'demo', '-n', namespace]);
      return /Applied\s+.*Applied Deployment demo/.test(text) && /PodsPending/.test(text) ? text : undefined;
    });
    expect(described).toMatch(/Conditions:/);
    expect(described).toMatch(/Type:\s+Ready/);
  });

  it('changes the ConfigMap of every router that selects an edited upstream, but not the pod template', async () => {
    await applyRouter('second', {
      upstreamSelector: {matchExpressions: [{key: 'team', operator: 'In', values: ['demo']}]},
    });
    await waitFor('the second router ConfigMap', () => get('configmap', 'second-config'));
    await settle(operator);
    const before = {configMap: await get('configmap', 'demo-config'), deployment: await get('deployment', 'demo')};
    await kc(cluster(), [
      'patch',
      'mcpupstream',
      'everything',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      JSON.stringify({spec: {stdio: {args: ['-y', '@modelcontextprotocol/server-everything', 'stdio']}}}),
    ]);
    const configMap = await waitFor('the ConfigMap to change', async () => {
      const c = await get('configmap', 'demo-config');
      return JSON.parse(c.data['router.json']).mcpServers.everything.args.includes('stdio') ? c : undefined;
    });
    expect(JSON.parse(configMap.data['router.json']).mcpServers.everything.args).toEqual([
      '-y',
      '@modelcontextprotocol/server-everything',
      'stdio',
    ]);
    await waitFor('the second router ConfigMap to change', async () => {
      const c = await get('configmap', 'second-config');
      return JSON.parse(c.data['router.json']).mcpServers.everything.args.includes('stdio');
    });
    await settle(operator);
    const deployment = await get('deployment', 'demo');
    expect(deployment.spec.template).toEqual(before.deployment.spec.template);
    expect(deployment.metadata.generation).toBe(before.deployment.metadata.generation);
    const router = await get('mcprouter', 'demo');
    expect(router.status.configHash).toBe(configMap.metadata.annotations['mcprouter.dev/config-hash']);
    expect(router.status.configHash).not.toBe(before.configMap.metadata.annotations['mcprouter.dev/config-hash']);
  });

  it('leaves every resourceVersion unchanged over two reconciles in a row', async () => {
    await settle(operator);
    const before = await stableOperatorState(cluster(), namespace);
    const writes = await operator.writes();
    await operator.routerReconciler.reconcile({namespace, name: 'demo'});
    await operator.routerReconciler.reconcile({namespace, name: 'demo'});
    for (const upstream of ['everything', 'everything-http', 'github']) {
      await operator.upstreamReconciler.reconcile({namespace, name: upstream});
    }
    expect(await operatorState(cluster(), namespace)).toEqual(before);
    // Not even a no-op request: no apply, status update or Event was sent.
    expect(await operator.writes()).toBe(writes);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([
        'McpRouter/demo',
        'ConfigMap/demo-config',
        'ServiceAccount/demo',
        'Deployment/demo',
        'Service/demo',
      ]),
    );
  });

  it('brings back an owned object that is deleted or edited', async () => {
    await settle(operator);
    const deleted = await get('configmap', 'demo-config');
    await kc(cluster(), ['delete', 'configmap', 'demo-config', '-n', namespace]);
    await kc(cluster(), [
      'patch',
      'service',
      'demo',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"sessionAffinity":"ClientIP"}}',
    ]);
    await kc(cluster(), ['scale', 'deployment', 'demo', '-n', namespace, '--replicas=3']);
    const back = await waitFor('the ConfigMap to come back', async () => {
      const c = await get('configmap', 'demo-config');
      return c && c.metadata.uid !== deleted.metadata.uid ? c : undefined;
    });
    expect(back.data).toEqual(deleted.data);
    await waitFor(
      'the Service affinity to come back',
      async () => (await get('service', 'demo')).spec.sessionAffinity === 'None',
    );
    await waitFor('the replicas to come back', async () => (await get('deployment', 'demo')).spec.replicas === 1);
  });

  it('reports a missing upstream by name without an error loop, and recovers when it appears', async () => {
    await applyRouter('named', {upstreams: [{name: 'ghost'}, {name: 'everything'}]});
    const router = await waitFor('the UpstreamNotFound condition', async () => {
      const r = await get('mcprouter', 'named');
      return r?.status?.conditions?.find((c: any) => c.type === 'Ready' && c.reason === 'UpstreamNotFound')
        ? r
        : undefined;
    });
    const ready = router.status.conditions.find((c: any) => c.type === 'Ready');
    expect(ready.message).toBe('McpUpstream "ghost" not found');
    expect(router.status.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'UpstreamNotFound',
    });
    expect(router.status.upstreams).toEqual([{name: 'everything', prefix: 'everything'}]);
    await waitFor('the ConfigMap with the upstreams that exist', async () => {
      const c = await get('configmap', 'named-config');
      return c && Object.keys(JSON.parse(c.data['router.json']).mcpServers).join() === 'everything';
    });
    // Not an error loop: the status settles and stays as it is.
    await settle(operator);
    const settled = (await stableOperatorState(cluster(), namespace))['McpRouter/named'];
    await operator.routerReconciler.reconcile({namespace, name: 'named'});
    expect((await get('mcprouter', 'named')).metadata.resourceVersion).toBe(settled);
    expect((await eventsOf(cluster(), namespace, 'named', 'UpstreamNotFound'))[0]).toMatchObject({
      type: 'Warning',
      message: 'McpUpstream "ghost" not found',
    });

    await applyJson({
      apiVersion: 'mcprouter.dev/v1alpha1',
      kind: 'McpUpstream',
      metadata: {name: 'ghost'},
      spec: {http: {url: 'https://ghost.example.test/mcp'}},
    });
    const recovered = await waitFor('the router to recover', async () => {
      const r = await get('mcprouter', 'named');
      const degraded = r.status.conditions.find((c: any) => c.type === 'Degraded');
      return degraded.status === 'False' ? r : undefined;
    });
    expect(recovered.status.upstreams.map((u: any) => u.name)).toEqual(['everything', 'ghost']);
    const configMap = await get('configmap', 'named-config');
    expect(Object.keys(JSON.parse(configMap.data['router.json']).mcpServers)).toEqual(['everything', 'ghost']);
  });

  it('records an apply the API server rejects on the status, does not retry it, and recovers when the spec is fixed', async () => {
    const bad = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{matchExpressions: [{key: 'pool', operator: 'Near'}]}],
        },
      },
    };
    await applyRouter('rejected', {upstreams: [{name: 'everything'}], affinity: bad});
    const router = await waitFor('the ApplyFailed condition', async () => {
      const r = await get('mcprouter', 'rejected');
      return r?.status?.conditions?.find((c: any) => c.type === 'Degraded' && c.reason === 'ApplyFailed')
        ? r
        : undefined;
    });
    const ready = router.status.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({status: 'False', reason: 'ApplyFailed'});
    expect(ready.message).toMatch(/deployments\/rejected: 422 Invalid/);
    expect(ready.message).toMatch(/Near/);
    expect(await get('deployment', 'rejected')).toBeUndefined();
    const terminal = async () =>
      (await operator.metrics.reconcileTotal.get()).values.find(
        (v) => v.labels.controller === 'mcprouter' && v.labels.result === 'terminal',
      )?.value ?? 0;
    await settle(operator);
    const failures = await terminal();
    expect(failures).toBeGreaterThan(0);
    // A terminal error is not retried: nothing reconciles the router again until something changes.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await terminal()).toBe(failures);
    expect((await eventsOf(cluster(), namespace, 'rejected', 'ApplyFailed'))[0]).toMatchObject({type: 'Warning'});

    await kc(cluster(), [
      'patch',
      'mcprouter',
      'rejected',
      '-n',
      namespace,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/affinity"}]',
    ]);
    await waitFor('the Deployment once the spec is fixed', () => get('deployment', 'rejected'));
    await waitFor('Degraded to clear', async () => {
      const r = await get('mcprouter', 'rejected');
      return r.status.conditions.find((c: any) => c.type === 'Degraded').status === 'False';
    });
  });

  it('renders auth and access into router.json without a Secret value, and a token volume for the JWKS', async () => {
    const token = 'bearer-token-from-the-secret-4f7a9c';
    await applyJson({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'ci-token'}, stringData: {token}},
        {
          apiVersion: 'mcprouter.dev/v1alpha1',
          kind: 'McpRouter',
          metadata: {name: 'guarded'},
          spec: {
            upstreamSelector: {matchLabels: {team: 'demo'}},
            auth: {
              serviceAccountTokens: {audiences: [`http://guarded.${namespace}.svc.cluster.local`]},
              jwt: [{issuer: 'https://idp.example.test', audiences: ['mcp'], principalClaim: 'email'}],
              bearerTokens: [{principal: 'ci-bot', secretKeyRef: {name: 'ci-token', key: 'token'}}],
            },
            access: [
              {namespaces: ['agents'], upstreams: ['everything'], tools: {annotations: {readOnlyHint: true}}},
              {principals: ['ci-bot'], upstreams: ['*']},
            ],
            limits: {maxSessionsPerPrincipal: 10},
            allowedHosts: ['mcp.example.test'],
          },
        },
      ],
    });
    const configMap = await waitFor('the ConfigMap of "guarded"', () => get('configmap', 'guarded-config'));
    const text = configMap.data['router.json'];
    expect(text).not.toContain(token);
    const deployment = await waitFor('the Deployment of "guarded"', () => get('deployment', 'guarded'));
    const pod = deployment.spec.template.spec;
    const env = Object.fromEntries(
      pod.containers[0].env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, 'from-the-secret-0123456789']),
    );
    const config = parseRouterConfig(text, env, 'router.json');
    expect(config.router.auth?.jwt.map((issuer) => [issuer.issuer, issuer.jwksUri])).toEqual([
      ['https://kubernetes.default.svc.cluster.local', 'https://kubernetes.default.svc.cluster.local/openid/v1/jwks'],
      ['https://idp.example.test', undefined],
    ]);
    expect(config.router.auth?.bearerTokens).toEqual([{principal: 'ci-bot', token: 'from-the-secret-0123456789'}]);
    expect(config.router.access?.map((rule) => rule.upstreams)).toEqual([['everything'], ['*']]);
    expect(config.router.limits.maxSessionsPerPrincipal).toBe(10);
    expect(config.router.allowedHosts).toEqual(
      expect.arrayContaining(['guarded', 'localhost:8080', 'mcp.example.test']),
    );
    expect(pod.containers[0].env).toContainEqual({
      name: 'MCPR_BEARER_CI_BOT',
      valueFrom: {secretKeyRef: {name: 'ci-token', key: 'token'}},
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('guarded');
    expect(pod.volumes).toContainEqual({
      name: 'serviceaccount-token',
      projected: {
        defaultMode: 420,
        sources: [
          {serviceAccountToken: {path: 'token', expirationSeconds: 3600}},
          {configMap: {name: 'kube-root-ca.crt', items: [{key: 'ca.crt', path: 'ca.crt'}]}},
        ],
      },
    });
    const all = await kc(cluster(), ['get', 'configmaps,mcprouters', '-n', namespace, '-o', 'json']);
    expect(all).not.toContain(token);
    expect(await get('serviceaccount', 'guarded')).toMatchObject({automountServiceAccountToken: false});
    await waitFor('"guarded" to be Ready=False for its pods only', async () => {
      const r = await get('mcprouter', 'guarded');
      return r?.status?.conditions?.find((c: any) => c.type === 'Degraded')?.status === 'False';
    });
  });

  it("verifies an agent's ServiceAccount token with the router's authenticator, reading the JWKS as the router's ServiceAccount (no Role)", async () => {
    const configMap = await waitFor('the ConfigMap of "guarded"', () => get('configmap', 'guarded-config'));
    const config = parseRouterConfig(
      configMap.data['router.json'],
      {MCPR_BEARER_CI_BOT: 'from-the-secret-0123456789', MCPU_GITHUB_HEADER_AUTHORIZATION: 'from-the-secret'},
      'router.json',
    );
    const auth = config.router.auth!;
    const issuer = auth.jwt[0]!;
    expect(issuer.issuer).toBe(DEFAULT_SERVICE_ACCOUNT_ISSUER);

    // What the router pod would have at /var/run/secrets/kubernetes.io/serviceaccount: a token of its own
    // ServiceAccount (bound to no Role) for the API server's audience, and the cluster CA. kubernetes.default.svc does
    // not resolve outside a cluster, so the JWKS is read from the same path on the API server's address.
    const dir = mkdtempSync(join(tmpdir(), 'router-sa-'));
    const kubeconfig = parse(readFileSync(cluster().kubeconfig, 'utf8')) as {clusters: {cluster: any}[]};
    const clusterEntry = kubeconfig.clusters[0]!.cluster;
    const ca = clusterEntry['certificate-authority-data']
      ? Buffer.from(clusterEntry['certificate-authority-data'], 'base64').toString('utf8')
      : readFileSync(clusterEntry['certificate-authority'], 'utf8');
    writeFileSync(join(dir, 'ca.crt'), ca);
    const routerToken = await kc(cluster(), ['create', 'token', 'guarded', '-n', namespace, '--duration=10m']);
    writeFileSync(join(dir, 'token'), routerToken.trim());
    const local = {
      ...issuer,
      jwksUri: `${cluster().server}${new URL(issuer.jwksUri!).pathname}`,
      caFile: join(dir, 'ca.crt'),
      tokenFile: join(dir, 'token'),
    };
    const authenticator = new Authenticator({...auth, jwt: [local, ...auth.jwt.slice(1)]});

    await kc(cluster(), ['create', 'serviceaccount', 'agent', '-n', namespace]);
    const audience = issuer.audiences[0]!;
    const agentToken = (
      await kc(cluster(), ['create', 'token', 'agent', '-n', namespace, `--audience=${audience}`, '--duration=10m'])
    ).trim();
    const principal = await authenticator.authenticate(`Bearer ${agentToken}`);
    expect(principal.name).toBe(`system:serviceaccount:${namespace}:agent`);

    // A token for the API server (the default audience) does not open the router.
    const apiToken = (await kc(cluster(), ['create', 'token', 'agent', '-n', namespace, '--duration=10m'])).trim();
    await expect(authenticator.authenticate(`Bearer ${apiToken}`)).rejects.toThrow(/aud/);
    // The bearer token from the Secret works too.
    expect((await authenticator.authenticate('Bearer from-the-secret-0123456789')).name).toBe('ci-bot');
  });

  it('does not take over a ServiceAccount of its name that is not its own, and recovers when it is gone', async () => {
    await kc(cluster(), ['create', 'serviceaccount', 'taken', '-n', namespace]);
    await applyRouter('taken', {upstreams: [{name: 'everything'}]});
    const router = await waitFor('the conflict on the status', async () => {
      const r = await get('mcprouter', 'taken');
      return r?.status?.conditions?.find((c: any) => c.type === 'Degraded' && c.status === 'True') ? r : undefined;
    });
    const ready = router.status.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({status: 'False', reason: 'ResourceExists'});
    expect(ready.message).toMatch(/ServiceAccount "taken" already exists and is not owned by this McpRouter/);
    expect(ready.message).toMatch(/set spec\.serviceAccountName/);
    expect(await get('deployment', 'taken')).toBeUndefined();
    const serviceAccount = await get('serviceaccount', 'taken');
    expect(serviceAccount.metadata.ownerReferences).toBeUndefined();
    expect(serviceAccount.automountServiceAccountToken).toBeUndefined();

    await kc(cluster(), ['delete', 'serviceaccount', 'taken', '-n', namespace]);
    const own = await waitFor('the router to create its own ServiceAccount', async () => {
      const sa = await get('serviceaccount', 'taken');
      return sa?.metadata?.ownerReferences?.[0]?.uid === router.metadata.uid ? sa : undefined;
    });
    expect(own.automountServiceAccountToken).toBe(false);
    await waitFor('the Deployment of "taken"', () => get('deployment', 'taken'));
    await waitFor('Degraded to clear', async () => {
      const r = await get('mcprouter', 'taken');
      return r.status.conditions.find((c: any) => c.type === 'Degraded').status === 'False';
    });
  });

  /** The condition of `type` once it has `reason`. */
  const conditionWith = (resource: string, name: string, type: string, reason: string) =>
    waitFor(`${resource} ${name} to get ${type} with reason ${reason}`, async () => {
      const object = await get(resource, name);
      return object?.status?.conditions?.find((c: any) => c.type === type && c.reason === reason);
    });

  it("a user's ConfigMap and Service named like the router are not adopted, and survive deleting the McpRouter", async (context) => {
    const userObjects = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'clash-config'}, data: {'app.conf': 'mine'}},
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {name: 'clash'},
          spec: {selector: {app: 'users-app'}, ports: [{port: 8443}]},
        },
      ],
    };
    await applyJson(userObjects);
    const before = {configMap: await get('configmap', 'clash-config'), service: await get('service', 'clash')};
    await applyRouter('clash', {upstreams: [{name: 'everything'}]});

    const ready = await conditionWith('mcprouter', 'clash', 'Ready', 'ResourceExists');
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(
      /^ConfigMap "clash-config" and Service "clash" already exist and are not owned by this McpRouter/,
    );
    const event = await waitFor(
      'the ResourceExists Event',
      async () => (await eventsOf(cluster(), namespace, 'clash', 'ResourceExists'))[0],
    );
    expect(event).toMatchObject({type: 'Warning', message: ready.message});
    expect(await kc(cluster(), ['get', 'mcpr', 'clash', '-n', namespace, '-o', 'wide'])).toMatch(
      /clash\s+False\s.*ResourceExists/,
    );
    await settle(operator);
    // Untouched: same resourceVersion, no owner reference, no router.json merged in, the selector kept.
    expect(await get('configmap', 'clash-config')).toEqual(before.configMap);
    expect(await get('service', 'clash')).toEqual(before.service);
    expect(await get('deployment', 'clash')).toBeUndefined();

    if (!cluster().controllerManager) context.skip('no kube-controller-manager: nothing garbage-collects');
    // A canary the garbage collector deletes with the McpRouter: once it is gone, an adopted object would be too.
    const router = await get('mcprouter', 'clash');
    const owner = {apiVersion: 'mcprouter.dev/v1alpha1', kind: 'McpRouter', name: 'clash', uid: router.metadata.uid};
    await applyJson({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'clash-canary', ownerReferences: [owner]}});
    await kc(cluster(), ['delete', 'mcprouter', 'clash', '-n', namespace]);
    await waitFor('the garbage collector to delete the canary', async () =>
      (await get('configmap', 'clash-canary')) === undefined ? true : undefined,
    );
    expect((await get('configmap', 'clash-config'))?.metadata.uid).toBe(before.configMap.metadata.uid);
    expect((await get('service', 'clash'))?.metadata.uid).toBe(before.service.metadata.uid);
  });

  it("an McpRouter named like the operator does not touch the operator's Deployment", async () => {
    // The operator's objects as the chart installs them (release kube-mcp-router in this namespace).
    const labels = {
      'app.kubernetes.io/name': 'kube-mcp-router',
      'app.kubernetes.io/instance': 'kube-mcp-router',
      'app.kubernetes.io/component': 'operator',
      'app.kubernetes.io/managed-by': 'Helm',
    };
    const selector = {
      'app.kubernetes.io/name': 'kube-mcp-router',
      'app.kubernetes.io/instance': 'kube-mcp-router',
      'app.kubernetes.io/component': 'operator',
    };
    const release = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'kube-mcp-router', labels}},
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {name: 'kube-mcp-router', labels},
          spec: {
            selector: {matchLabels: selector},
            template: {
              metadata: {labels},
              spec: {
                serviceAccountName: 'kube-mcp-router',
                containers: [{name: 'operator', image: 'example.test/kube-mcp-router:operator', args: ['operator']}],
              },
            },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {name: 'kube-mcp-router', labels},
          spec: {selector, ports: [{name: 'metrics', port: 8080}]},
        },
      ],
    };
    await applyJson(release);
    /** The field managers that ever wrote each of the release's objects. */
    const managers = async () =>
      Object.fromEntries(
        await Promise.all(
          ['serviceaccount', 'deployment', 'service'].map(async (resource) => {
            const args = ['get', resource, 'kube-mcp-router', '-n', namespace, '-o', 'json', '--show-managed-fields'];
            const object = JSON.parse(await kc(cluster(), args));
            return [resource, object.metadata.managedFields.map((f: any) => f.manager)];
          }),
        ),
      );
    await applyRouter('kube-mcp-router', {upstreams: [{name: 'everything'}]});

    const ready = await conditionWith('mcprouter', 'kube-mcp-router', 'Ready', 'ResourceExists');
    expect(ready.message).toContain(
      `ServiceAccount "kube-mcp-router" (part of the kube-mcp-router operator's installation) and Deployment ` +
        `"kube-mcp-router" (part of the kube-mcp-router operator's installation) and Service "kube-mcp-router" ` +
        `(part of the kube-mcp-router operator's installation) already exist`,
    );
    expect((await eventsOf(cluster(), namespace, 'kube-mcp-router', 'ResourceExists'))[0]).toMatchObject({
      type: 'Warning',
    });
    await settle(operator);
    const deployment = await get('deployment', 'kube-mcp-router');
    expect(deployment.metadata.generation).toBe(1);
    expect(deployment.metadata.ownerReferences).toBeUndefined();
    expect(deployment.spec.template.spec.containers.map((c: any) => c.image)).toEqual([
      'example.test/kube-mcp-router:operator',
    ]);
    for (const resource of ['serviceaccount', 'service']) {
      expect((await get(resource, 'kube-mcp-router')).metadata.ownerReferences).toBeUndefined();
    }
    // Never written by the operator: its field manager is on none of them.
    for (const written of Object.values(await managers())) expect(written).not.toContain('kube-mcp-router');
    expect(await get('configmap', 'kube-mcp-router-config')).toBeUndefined();
  });

  it('reports a router that selects no upstream as NoUpstreams, with a Warning', async () => {
    await applyRouter('empty', {upstreamSelector: {matchLabels: {team: 'nobody'}}});
    const ready = await conditionWith('mcprouter', 'empty', 'Ready', 'NoUpstreams');
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(/selects no McpUpstream/);
    const event = await waitFor(
      'the NoUpstreams Event',
      async () => (await eventsOf(cluster(), namespace, 'empty', 'NoUpstreams'))[0],
    );
    expect(event).toMatchObject({type: 'Warning', message: ready.message});
    expect(await kc(cluster(), ['get', 'mcpr', 'empty', '-n', namespace])).toMatch(/empty\s+False\s+\d+\s+0\/0\s/);
  });

  // The routers of these tests select no upstream, so that they change no upstream's status (routers, prefixes).
  const alone = {upstreamSelector: {matchLabels: {'day-2': 'none'}}};

  it('gives a router of 2 replicas a PodDisruptionBudget, writes nothing more at steady state, and deletes it at 1 replica', async () => {
    await applyRouter('ha', {...alone, replicas: 2});
    const router = await waitFor('the router status', async () => {
      const r = await get('mcprouter', 'ha');
      return r?.status ? r : undefined;
    });
    const budget = await waitFor('the PodDisruptionBudget', () => get('poddisruptionbudget', 'ha'));
    expect(budget.spec).toMatchObject({
      maxUnavailable: 1,
      selector: {matchLabels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': 'ha'}},
    });
    expect(budget.metadata.ownerReferences).toEqual([
      expect.objectContaining({kind: 'McpRouter', name: 'ha', uid: router.metadata.uid, controller: true}),
    ]);

    await settle(operator);
    const writes = await operator.writes();
    await operator.routerReconciler.reconcile({namespace, name: 'ha'});
    expect(await operator.writes()).toBe(writes);

    await applyRouter('ha', {...alone, replicas: 1});
    await waitFor(
      'the PodDisruptionBudget to be deleted',
      async () => (await get('poddisruptionbudget', 'ha')) === undefined,
    );
    const deleted = await waitFor(
      'the Deleted Event',
      async () => (await eventsOf(cluster(), namespace, 'ha', 'Deleted'))[0],
    );
    expect(deleted).toMatchObject({type: 'Normal', message: 'Deleted PodDisruptionBudget ha (no longer wanted)'});
  });

  it("leaves a user's PodDisruptionBudget named like a router of 1 replica alone, and does not adopt it at 2", async () => {
    await applyJson({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {name: 'solo'},
      spec: {minAvailable: 1, selector: {matchLabels: {app: 'solo'}}},
    });
    const mine = await get('poddisruptionbudget', 'solo');
    await applyRouter('solo', {...alone, replicas: 1});
    await waitFor('the router to be rendered', async () => (await get('deployment', 'solo')) !== undefined);
    await settle(operator);
    expect(await get('poddisruptionbudget', 'solo')).toMatchObject({metadata: {uid: mine.metadata.uid}});

    await applyRouter('solo', {...alone, replicas: 2});
    const ready = await conditionWith('mcprouter', 'solo', 'Ready', 'ResourceExists');
    expect(ready.message).toMatch(/^PodDisruptionBudget "solo" already exists and is not owned by this McpRouter/);
    const after = await get('poddisruptionbudget', 'solo');
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(after.spec).toEqual(mine.spec);
  });

  it('renders spec.networkPolicy as a NetworkPolicy that admits only the named peers, and deletes it when the field goes', async () => {
    const agents = {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'agents'}}};
    const prometheus = {
      namespaceSelector: {matchLabels: {team: 'monitoring'}},
      podSelector: {matchLabels: {app: 'prometheus'}},
    };
    await applyRouter('fenced', {
      ...alone,
      networkPolicy: {from: [agents, {podSelector: {}}], metricsFrom: [prometheus]},
    });
    const policy = await waitFor('the NetworkPolicy', () => get('networkpolicy', 'fenced'));
    const routerPods = {
      podSelector: {matchLabels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': 'fenced'}},
    };
    expect(policy.spec).toEqual({
      ...routerPods,
      policyTypes: ['Ingress'],
      ingress: [
        {from: [agents, {podSelector: {}}, routerPods], ports: [{protocol: 'TCP', port: 'http'}]},
        {from: [prometheus], ports: [{protocol: 'TCP', port: 'metrics'}]},
      ],
    });

    // An empty list lets no one in but the router's own pods, which forward to each other (a rule with an empty
    // from would admit every source), and no one may scrape.
    await applyRouter('fenced', {...alone, networkPolicy: {from: []}});
    await waitFor('the metrics rule to go', async () => {
      const ingress = (await get('networkpolicy', 'fenced'))?.spec.ingress;
      return isDeepStrictEqual(ingress, [{ports: [{protocol: 'TCP', port: 'http'}], from: [routerPods]}]);
    });
    await settle(operator);
    const writes = await operator.writes();
    await operator.routerReconciler.reconcile({namespace, name: 'fenced'});
    expect(await operator.writes()).toBe(writes);

    await applyRouter('fenced', {...alone});
    await waitFor('the NetworkPolicy to be deleted', async () => (await get('networkpolicy', 'fenced')) === undefined);
  });

  it('refuses a networkPolicy peer without a selector at admission', async () => {
    expect(await refusedRouter('unfenced', {upstreamSelector: {}, networkPolicy: {from: [{}]}})).toMatch(
      /spec\.networkPolicy\.from\[0\]: Invalid value: .*set namespaceSelector, podSelector or both/,
    );
  });

  // No kubelet runs here, so no container ever waits for a Secret. The test writes the pod status the kubelet would
  // (CreateContainerConfigError with the kubelet's messages) through the status subresource, as its admin may: a
  // stand-in for the kubelet, not for the API server or the operator.
  it('reports a Secret or key the router pods wait for on the router and the upstream that names it, from the pod status a kubelet writes', async (context) => {
    if (!cluster().controllerManager) context.skip('no kube-controller-manager: no router pods');
    await applyJson({
      apiVersion: 'mcprouter.dev/v1alpha1',
      kind: 'McpUpstream',
      metadata: {name: 'locked'},
      spec: {
        http: {
          url: 'https://locked.example.test/mcp',
          headers: [{name: 'Authorization', valueFrom: {secretKeyRef: {name: 'locked-token', key: 'token'}}}],
        },
      },
    });
    await applyRouter('locked', {upstreams: [{name: 'locked'}]});
    // The operator reads no Secret: until a pod says so, it cannot know that this one is missing.
    await conditionWith('mcpupstream', 'locked', 'Accepted', 'Valid');
    const pod = await waitFor('a pod of "locked"', async () => {
      const pods = JSON.parse(
        await kc(cluster(), ['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/instance=locked', '-o', 'json']),
      );
      // One with the Secret-backed env var (a pod rendered before the upstream was seen would lack it).
      const withHeader = pods.items.find(
        (p: any) =>
          !p.metadata.deletionTimestamp &&
          p.spec.containers[0].env?.some((e: any) => e.name === 'MCPU_LOCKED_HEADER_AUTHORIZATION'),
      );
      return withHeader?.metadata.name as string | undefined;
    });
    /** The Warning Events of the router and the upstream (both "locked") with `reason`, once both exist. */
    const warningsOf = (reason: string) =>
      waitFor(`a ${reason} Warning on the router and the upstream`, async () => {
        const events = (await eventsOf(cluster(), namespace, 'locked', reason)).filter((e) => e.type === 'Warning');
        const found = events.map((e) => [e.involvedObject.kind as string, e.message as string]).sort();
        return found.length === 2 ? found : undefined;
      });
    const kubeletSays = (state: Record<string, unknown>) =>
      kc(cluster(), [
        'patch',
        'pod',
        pod,
        '-n',
        namespace,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            containerStatuses: [
              {
                name: 'router',
                image: 'example.test/kube-mcp-router:test',
                imageID: '',
                ready: false,
                restartCount: 0,
                started: false,
                state,
              },
            ],
          },
        }),
      ]);

    await kubeletSays({waiting: {reason: 'CreateContainerConfigError', message: 'secret "locked-token" not found'}});
    const ready = await conditionWith('mcprouter', 'locked', 'Ready', 'SecretNotFound');
    expect(ready).toMatchObject({
      status: 'False',
      message:
        'router pods cannot start: Secret "locked-token" not found; create it in the router\'s namespace, or fix the ' +
        'secretKeyRef that names it',
    });
    const accepted = await conditionWith('mcpupstream', 'locked', 'Accepted', 'SecretNotFound');
    expect(accepted).toMatchObject({
      status: 'False',
      message:
        'Secret "locked-token" not found (spec.http.headers[0].valueFrom.secretKeyRef): pods of McpRouter "locked" ' +
        'cannot start',
    });
    // Event reasons equal condition reasons: a Warning on each, with the condition's message.
    expect(await warningsOf('SecretNotFound')).toEqual([
      ['McpRouter', ready.message],
      ['McpUpstream', accepted.message],
    ]);
    expect(await kc(cluster(), ['get', 'mcpu', 'locked', '-n', namespace, '-o', 'wide'])).toMatch(/locked\s+.*False/);

    await kubeletSays({
      waiting: {
        reason: 'CreateContainerConfigError',
        message: `couldn't find key token in Secret ${namespace}/locked-token`,
      },
    });
    expect((await conditionWith('mcprouter', 'locked', 'Ready', 'SecretKeyNotFound')).message).toMatch(
      /^router pods cannot start: key "token" not found in Secret "locked-token";/,
    );
    expect((await conditionWith('mcpupstream', 'locked', 'Accepted', 'SecretKeyNotFound')).message).toBe(
      'key "token" not found in Secret "locked-token" (spec.http.headers[0].valueFrom.secretKeyRef): pods of ' +
        'McpRouter "locked" cannot start',
    );
    expect((await warningsOf('SecretKeyNotFound')).map(([kind]) => kind)).toEqual(['McpRouter', 'McpUpstream']);

    // Once the key exists the kubelet creates the container.
    await kubeletSays({waiting: {reason: 'ContainerCreating'}});
    await conditionWith('mcpupstream', 'locked', 'Accepted', 'Valid');
    expect((await get('mcprouter', 'locked')).status.conditions[0].reason).not.toMatch(/Secret/);
  });

  it('tells the loser of a prefix conflict that it lost, and in which router', async () => {
    const upstream = (name: string) => ({
      apiVersion: 'mcprouter.dev/v1alpha1',
      kind: 'McpUpstream',
      metadata: {name, labels: {clash: 'prefix'}},
      spec: {prefix: 'dup', http: {url: `https://${name}.example.test/mcp`}},
    });
    await applyJson({apiVersion: 'v1', kind: 'List', items: [upstream('dup-a'), upstream('dup-b')]});
    await applyRouter('dup', {upstreamSelector: {matchLabels: {clash: 'prefix'}}});
    const lost = await conditionWith('mcpupstream', 'dup-b', 'Accepted', 'PrefixConflict');
    expect(lost).toMatchObject({
      status: 'False',
      message: 'McpRouter "dup" left it out: prefix "dup" is already used by McpUpstream "dup-a"',
    });
    expect((await eventsOf(cluster(), namespace, 'dup-b', 'PrefixConflict'))[0]).toMatchObject({type: 'Warning'});
    expect((await get('mcpupstream', 'dup-a')).status.conditions[0]).toMatchObject({status: 'True', reason: 'Valid'});
    expect((await conditionWith('mcprouter', 'dup', 'Ready', 'PrefixConflict')).status).toBe('False');

    // The winner goes: the loser is accepted.
    await kc(cluster(), ['delete', 'mcpupstream', 'dup-a', '-n', namespace]);
    await conditionWith('mcpupstream', 'dup-b', 'Accepted', 'Valid');
  });

  it('reports a Deployment past its progress deadline with a Warning that says what to check', async (context) => {
    if (!cluster().controllerManager) context.skip('no kube-controller-manager: no Deployment controller');
    await applyRouter('stuck', {upstreams: [{name: 'everything'}]});
    await waitFor('the Deployment of "stuck"', () => get('deployment', 'stuck'));
    // The operator does not own progressDeadlineSeconds; one second makes the Deployment controller give up at once
    // on pods that no node will run.
    await kc(cluster(), [
      'patch',
      'deployment',
      'stuck',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"progressDeadlineSeconds":1}}',
    ]);
    const ready = await conditionWith('mcprouter', 'stuck', 'Ready', 'ProgressDeadlineExceeded');
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(/^Deployment "stuck" made no progress within its progress deadline/);
    expect(ready.message).toMatch(/Pending with no node assigned/);
    expect(ready.message).toContain(
      'kubectl describe pods -l app.kubernetes.io/name=kube-mcp-router,app.kubernetes.io/instance=stuck',
    );
    const event = await waitFor(
      'the ProgressDeadlineExceeded Event',
      async () => (await eventsOf(cluster(), namespace, 'stuck', 'ProgressDeadlineExceeded'))[0],
    );
    expect(event).toMatchObject({type: 'Warning', message: ready.message});
  });

  it('refuses access rules without auth at admission', async () => {
    expect(await refusedRouter('open', {access: [{principals: ['*']}]})).toMatch(
      /spec\.access: Invalid value: .*access rules need auth/,
    );
  });

  it('garbage-collects the children when the router is deleted', async (context) => {
    if (!cluster().controllerManager) context.skip('no kube-controller-manager: nothing garbage-collects');
    await waitFor('the children of "named"', () => get('deployment', 'named'));
    expect(await get('serviceaccount', 'named')).toBeDefined();
    await kc(cluster(), ['delete', 'mcprouter', 'named', '-n', namespace]);
    await waitFor('the children to be collected', async () => {
      const left = await kc(cluster(), [
        'get',
        'configmaps,deployments,services,serviceaccounts',
        '-n',
        namespace,
        '-l',
        'mcprouter.dev/router=named',
        '-o',
        'name',
      ]);
      return left.trim() === '';
    });
    const upstream = await waitFor('"ghost" to be used by no router', async () => {
      const u = await get('mcpupstream', 'ghost');
      return u.status.routers.length === 0 ? u : undefined;
    });
    expect(upstream.status.conditions[0].message).toBe('valid; no router selects it');
  });
});
