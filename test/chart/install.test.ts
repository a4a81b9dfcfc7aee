/* eslint-disable @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON */
/**
 * `helm install` of the chart into the local control plane: the operator's objects, admitted under the restricted Pod
 * Security Standard; the ServiceAccount's permissions (exactly what the operator needs, nothing on Secrets, the Lease
 * by name); the operator itself running as that ServiceAccount with the Deployment's flags, reconciling the resources
 * NOTES.txt tells the user to apply; and `helm uninstall` removing everything but the CRDs.
 *
 * The CRDs are shared with the suites that run in parallel (they apply crds/ with kubectl), so they are applied first
 * here too and the release adopts them (--take-ownership); with crds.keep they outlive the release, same uid.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {createNamespace, ensureHelm, helm, kubectl, useCluster, type Cluster} from '../support/cluster.js';
import {CHART, ROOT} from './helm.js';

const RELEASE = 'kmr';
const FULLNAME = 'kmr-kube-mcp-router';
const CRDS = ['mcprouters.mcprouter.dev', 'mcpupstreams.mcprouter.dev'];

async function kc(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const result = await kubectl(cluster, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** `kubectl get -o json`; undefined when the object does not exist. */
async function getJson(cluster: Cluster, args: string[]): Promise<any> {
  const result = await kubectl(cluster, ['get', ...args, '-o', 'json']);
  if (result.code !== 0) {
    if (/NotFound|not found/.test(result.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')} failed: ${result.stderr}`);
  }
  return JSON.parse(result.stdout);
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The resources NOTES.txt tells the user to apply (the heredoc after `kubectl apply -f - <<'YAML'`). */
function notesManifests(installOutput: string): string {
  const notes = installOutput.slice(installOutput.indexOf('NOTES:'));
  const body = /kubectl apply -f - <<'YAML'\n([\s\S]*?)\n\s*YAML\n/.exec(notes)?.[1];
  if (!body) throw new Error(`NOTES.txt has no kubectl apply heredoc:\n${notes}`);
  return body.replace(/^ {2}/gm, '');
}

describe('helm install kube-mcp-router', () => {
  const cluster = useCluster();
  let namespace: string;
  let routers: string;
  let installOutput: string;
  const crdUids: Record<string, string> = {};
  let operator: ChildProcess | undefined;
  let tmp: string;

  beforeAll(async () => {
    await ensureHelm(cluster());
    tmp = mkdtempSync(join(tmpdir(), 'chart-install-'));
    namespace = await createNamespace(cluster(), 'chart', {'pod-security.kubernetes.io/enforce': 'restricted'});
    routers = await createNamespace(cluster(), 'chart-routers');
    // As the other suites do: the CRDs exist before the release.
    await kc(cluster(), ['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds')]);
    await kc(cluster(), ['wait', '--for', 'condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}`)]);
    for (const crd of CRDS) crdUids[crd] = (await getJson(cluster(), ['crd', crd])).metadata.uid;
  }, 60 * 60_000);

  afterAll(async () => {
    if (operator && operator.exitCode === null) {
      operator.kill('SIGKILL');
      await new Promise((resolve) => operator!.once('exit', resolve));
    }
    if (tmp) rmSync(tmp, {recursive: true, force: true});
  });

  it('installs the operator, its RBAC and metrics Service, and adopts the existing CRDs', async () => {
    const installed = await helm(cluster(), [
      'install',
      RELEASE,
      CHART,
      '--namespace',
      namespace,
      '--take-ownership',
      '--set',
      'crds.enabled=true',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    installOutput = installed.stdout;
    expect(installOutput).toContain('STATUS: deployed');
    expect(installOutput).toContain(`kubectl -n ${namespace} rollout status deployment/${FULLNAME}`);

    const deployment = await getJson(cluster(), ['deployment', FULLNAME, '-n', namespace]);
    expect(deployment.spec.template.spec.serviceAccountName).toBe(FULLNAME);
    expect(deployment.spec.template.spec.containers[0].args).toContain('--leader-elect');
    expect(await getJson(cluster(), ['serviceaccount', FULLNAME, '-n', namespace])).toBeDefined();
    const service = await getJson(cluster(), ['service', `${FULLNAME}-metrics`, '-n', namespace]);
    expect(service.spec.ports).toMatchObject([{name: 'metrics', port: 8080, targetPort: 'metrics'}]);
    expect(await getJson(cluster(), ['role', `${FULLNAME}-leader-election`, '-n', namespace])).toBeDefined();
    expect(await getJson(cluster(), ['rolebinding', `${FULLNAME}-leader-election`, '-n', namespace])).toBeDefined();
    expect(await getJson(cluster(), ['clusterrole', FULLNAME])).toBeDefined();
    expect(await getJson(cluster(), ['clusterrolebinding', FULLNAME])).toBeDefined();

    for (const name of CRDS) {
      const crd = await getJson(cluster(), ['crd', name]);
      expect(crd.metadata.uid, `${name} was not recreated`).toBe(crdUids[name]);
      expect(crd.metadata.annotations).toMatchObject({
        'meta.helm.sh/release-name': RELEASE,
        'meta.helm.sh/release-namespace': namespace,
        'helm.sh/resource-policy': 'keep',
      });
    }
  });

  it('has its pod admitted under the restricted Pod Security Standard (it stays Pending: no nodes)', async (context) => {
    if (!cluster().controllerManager) context.skip('no kube-controller-manager: Deployments get no ReplicaSets');
    const selector = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`;
    const pod = await waitFor('the operator pod', async () => {
      const pods = await getJson(cluster(), ['pods', '-n', namespace, '-l', selector]);
      return pods.items[0];
    });
    expect(pod.status.phase).toBe('Pending');
    expect(pod.spec.containers[0].env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.namespace'}},
    });
  });

  it.each([
    // Informers, cluster-wide.
    ['list', 'mcprouters.mcprouter.dev', ['-A'], 'yes'],
    ['watch', 'mcpupstreams.mcprouter.dev', ['-A'], 'yes'],
    ['watch', 'deployments.apps', ['-A'], 'yes'],
    ['list', 'pods', ['-A'], 'yes'],
    ['watch', 'pods', ['-A'], 'yes'],
    // Server-side apply of children and status, Events.
    ['create', 'configmaps', ['-n', 'anywhere'], 'yes'],
    ['patch', 'services', ['-n', 'anywhere'], 'yes'],
    ['patch', 'mcprouters.mcprouter.dev', ['-n', 'anywhere', '--subresource=status'], 'yes'],
    ['update', 'mcprouters.mcprouter.dev', ['-n', 'anywhere'], 'no'],
    ['create', 'events', ['-n', 'anywhere'], 'yes'],
    ['delete', 'deployments.apps', ['-n', 'anywhere'], 'no'],
    ['create', 'pods', ['-n', 'anywhere'], 'no'],
    // Each router's own ServiceAccount, and its peers Role and RoleBinding (EndpointSlices: ADR 0021), which RBAC lets
    // grant only what the operator holds itself: no bind, no escalate, nothing cluster-wide. No TokenReview: routers
    // verify tokens offline.
    ['create', 'serviceaccounts', ['-n', 'anywhere'], 'yes'],
    ['create', 'serviceaccounts', ['-n', 'anywhere', '--subresource=token'], 'no'],
    ['create', 'rolebindings.rbac.authorization.k8s.io', ['-n', 'anywhere'], 'yes'],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', [], 'no'],
    ['escalate', 'roles.rbac.authorization.k8s.io', ['-n', 'anywhere'], 'no'],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io', [], 'no'],
    ['watch', 'endpointslices.discovery.k8s.io', ['-A'], 'yes'],
    ['create', 'tokenreviews.authentication.k8s.io', [], 'no'],
    // Whether a child's name is taken by an object the operator did not create.
    ['get', 'configmaps', ['-n', 'anywhere'], 'yes'],
    // No Secrets, at all: a stolen token reads none (a missing one is learnt from the router pods).
    ['get', 'secrets', ['-A'], 'no'],
    ['list', 'secrets', ['-A'], 'no'],
    ['watch', 'secrets', ['-A'], 'no'],
    ['patch', 'secrets', ['-n', 'anywhere'], 'no'],
  ])('lets the ServiceAccount %s %s %j: %s', async (verb, resource, scope, expected) => {
    const result = await kubectl(cluster(), [
      'auth',
      'can-i',
      verb,
      resource,
      ...scope,
      `--as=system:serviceaccount:${namespace}:${FULLNAME}`,
    ]);
    expect(result.stdout.trim(), result.stderr).toBe(expected);
  });

  it('scopes the Lease to its name and the release namespace', async () => {
    const can = async (verb: string, resource: string, where: string) =>
      (
        await kubectl(cluster(), [
          'auth',
          'can-i',
          verb,
          resource,
          '-n',
          where,
          `--as=system:serviceaccount:${namespace}:${FULLNAME}`,
        ])
      ).stdout.trim();
    expect(await can('get', 'leases.coordination.k8s.io/kube-mcp-router-operator', namespace)).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io/kube-mcp-router-operator', namespace)).toBe('yes');
    expect(await can('create', 'leases.coordination.k8s.io', namespace)).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io/another-lease', namespace)).toBe('no');
    expect(await can('delete', 'leases.coordination.k8s.io/kube-mcp-router-operator', namespace)).toBe('no');
    expect(await can('get', 'leases.coordination.k8s.io/kube-mcp-router-operator', routers)).toBe('no');
    expect(await can('create', 'leases.coordination.k8s.io', routers)).toBe('no');
  });

  it('runs the operator as its ServiceAccount with its flags: it leads and reconciles what NOTES.txt suggests', async () => {
    // A kubeconfig with the ServiceAccount's token, as the pod would have.
    const token = (await kc(cluster(), ['create', 'token', FULLNAME, '-n', namespace, '--duration=1h'])).trim();
    const admin = JSON.parse(await kc(cluster(), ['config', 'view', '--raw', '--minify', '-o', 'json']));
    const kubeconfig = join(tmp, 'operator.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{name: 'local', cluster: admin.clusters[0].cluster}],
        users: [{name: 'operator', user: {token}}],
        contexts: [{name: 'operator', context: {cluster: 'local', user: 'operator'}}],
        'current-context': 'operator',
      }),
    );

    const deployment = await getJson(cluster(), ['deployment', FULLNAME, '-n', namespace]);
    const args: string[] = deployment.spec.template.spec.containers[0].args.map((arg: string) =>
      // The probe and metrics servers are not what this test is about; 0 turns them off (no port clashes).
      arg.replace(/^(--health-probe-bind-address|--metrics-bind-address)=.*$/, '$1=0'),
    );
    // Reconcile only this test's namespace: suites running in parallel own the others. The permissions are the
    // ClusterRole's all the same (cluster-wide list and watch are checked above).
    args.push('--namespace', routers, '--kubeconfig', kubeconfig);
    expect(args[0]).toBe('operator');

    let output = '';
    const env: NodeJS.ProcessEnv = {...process.env, POD_NAMESPACE: namespace};
    delete env.KUBECONFIG;
    operator = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    operator.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

    await kc(cluster(), ['apply', '-n', routers, '-f', '-'], notesManifests(installOutput));

    const lease = await waitFor(
      'the operator to take its Lease',
      async () => {
        if (operator!.exitCode !== null) throw new Error(`the operator exited with ${operator!.exitCode}:\n${output}`);
        const found = await getJson(cluster(), ['lease', 'kube-mcp-router-operator', '-n', namespace]);
        return found?.spec?.holderIdentity ? found : undefined;
      },
      90_000,
    );
    expect(lease.spec.holderIdentity).not.toBe('');

    const router = await waitFor(
      'McpRouter demo to be reconciled',
      async () => {
        if (operator!.exitCode !== null) throw new Error(`the operator exited with ${operator!.exitCode}:\n${output}`);
        const found = await getJson(cluster(), ['mcprouter', 'demo', '-n', routers]);
        // Degraded=False: every child applied (a forbidden apply is Degraded=True with reason ApplyFailed).
        const degraded = found?.status?.conditions?.find((c: any) => c.type === 'Degraded');
        return degraded?.status === 'False' && degraded.observedGeneration === found.metadata.generation
          ? found
          : undefined;
      },
      90_000,
    );
    expect(router.status.upstreams).toEqual([{name: 'everything', prefix: 'everything'}]);
    expect(router.status.url).toBe(`http://demo.${routers}.svc.cluster.local:80`);
    for (const [kind, name] of [
      ['configmap', 'demo-config'],
      ['deployment', 'demo'],
      ['service', 'demo'],
    ] as const) {
      expect(await getJson(cluster(), [kind, name, '-n', routers]), `${kind}/${name}`).toBeDefined();
    }
    const upstream = await getJson(cluster(), ['mcpupstream', 'everything', '-n', routers]);
    expect(upstream.status.conditions).toContainEqual(expect.objectContaining({type: 'Accepted', status: 'True'}));
    await waitFor('an Event on McpRouter demo', async () => {
      const events = await getJson(cluster(), ['events', '-n', routers]);
      return events.items.some((e: any) => e.involvedObject.kind === 'McpRouter' && e.involvedObject.name === 'demo');
    });
    expect(output).not.toMatch(/forbidden|\b403\b/i);

    operator.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      operator!.exitCode !== null ? resolve(operator!.exitCode) : operator!.once('exit', resolve),
    );
    expect(code, output).toBe(0);
  }, 180_000);

  it('upgrades in place, CRDs included', async () => {
    const upgraded = await helm(cluster(), [
      'upgrade',
      RELEASE,
      CHART,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      'logLevel=debug',
    ]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toContain('REVISION: 2');
    const deployment = await getJson(cluster(), ['deployment', FULLNAME, '-n', namespace]);
    expect(deployment.spec.template.spec.containers[0].args).toContain('--log-level=debug');
    for (const name of CRDS) expect((await getJson(cluster(), ['crd', name])).metadata.uid).toBe(crdUids[name]);
  });

  it('uninstalls everything but the CRDs, which keep their uid and their resources', async () => {
    const uninstalled = await helm(cluster(), ['uninstall', RELEASE, '--namespace', namespace, '--wait']);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    for (const args of [
      ['deployment', FULLNAME, '-n', namespace],
      ['serviceaccount', FULLNAME, '-n', namespace],
      ['service', `${FULLNAME}-metrics`, '-n', namespace],
      ['role', `${FULLNAME}-leader-election`, '-n', namespace],
      ['rolebinding', `${FULLNAME}-leader-election`, '-n', namespace],
      ['clusterrole', FULLNAME],
      ['clusterrolebinding', FULLNAME],
    ]) {
      expect(await getJson(cluster(), args), args.join(' ')).toBeUndefined();
    }
    for (const name of CRDS) {
      const crd = await getJson(cluster(), ['crd', name]);
      expect(crd?.metadata.uid, `${name} kept`).toBe(crdUids[name]);
      expect(crd.metadata.deletionTimestamp).toBeUndefined();
    }
    expect(await getJson(cluster(), ['mcprouter', 'demo', '-n', routers])).toBeDefined();
  });
});
