/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are read as plain YAML */
/**
 * The chart as rendered by the pinned helm, without a cluster: lint, the objects of the defaults and of the main
 * values, the operator flags (parsed by the operator's own flag parser), RBAC, and schema violations.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {parseOperatorFlags} from '../../operator/cli.js';
// The rules the operator needs, tested against the real API server in test/operator/rbac.test.ts.
import {OPERATOR_RULES} from '../../operator/rbac.js';
import {DEFAULT_ROUTER_IMAGE} from '../../operator/version.js';
import {CHART, ROOT, only, parseManifests, templateArgs, useHelm, type Manifest} from './helm.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
const IMAGE = `ghcr.io/kube-mcp-router/kube-mcp-router:${VERSION}`;

function container(manifests: Manifest[]): any {
  return only(manifests, 'Deployment').spec.template.spec.containers[0];
}

describe('chart kube-mcp-router', () => {
  const helm = useHelm();

  const render = async (sets: Record<string, string | number | boolean> = {}, extra: string[] = []) => {
    const {code, stdout, stderr} = await helm(templateArgs(sets, extra));
    expect(code, stderr).toBe(0);
    return parseManifests(stdout);
  };

  it('passes helm lint --strict', async () => {
    const {code, stdout, stderr} = await helm(['lint', '--strict', CHART]);
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).toContain('0 chart(s) failed');
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders the operator, its RBAC, a metrics Service and the CRDs by default', async () => {
    const manifests = await render();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ClusterRole/release-kube-mcp-router',
      'ClusterRoleBinding/release-kube-mcp-router',
      'CustomResourceDefinition/mcprouters.mcprouter.dev',
      'CustomResourceDefinition/mcpupstreams.mcprouter.dev',
      'Deployment/release-kube-mcp-router',
      'Role/release-kube-mcp-router-leader-election',
      'RoleBinding/release-kube-mcp-router-leader-election',
      'Secret/release-kube-mcp-router-session-key',
      'Service/release-kube-mcp-router-metrics',
      'ServiceAccount/release-kube-mcp-router',
    ]);
    for (const manifest of manifests.filter(
      (m) => m.kind !== 'CustomResourceDefinition' && !m.kind.startsWith('Cluster'),
    )) {
      expect(manifest.metadata.namespace, `${manifest.kind} namespace`).toBe('tools');
    }
    for (const manifest of manifests) {
      expect(manifest.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'kube-mcp-router',
        'app.kubernetes.io/instance': 'release',
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': `kube-mcp-router-${VERSION}`,
      });
    }
  });

  it('runs the image the operator deploys routers with, tagged with the chart appVersion', async () => {
    const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
    expect(chart).toContain(`appVersion: "${VERSION}"`);
    expect(DEFAULT_ROUTER_IMAGE).toBe(IMAGE);
    const operator = container(await render());
    expect(operator.image).toBe(IMAGE);
    expect(operator.args).toContain(`--router-image=${IMAGE}`);
  });

  it('gives the operator flags that its own parser accepts: leader election in the pod namespace, probes, metrics', async () => {
    const deployment = only(await render(), 'Deployment');
    const operator = deployment.spec.template.spec.containers[0];
    expect(operator.command).toEqual(['kube-mcp-router']);
    expect(operator.args[0]).toBe('operator');
    expect(operator.env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: {fieldRef: {fieldPath: 'metadata.namespace'}},
    });
    const previous = process.env.POD_NAMESPACE;
    process.env.POD_NAMESPACE = 'tools';
    try {
      expect(parseOperatorFlags(operator.args.slice(1))).toMatchObject({
        help: false,
        render: {
          routerImage: IMAGE,
          clusterDomain: 'cluster.local',
          sessionKeySecret: 'release-kube-mcp-router-session-key',
        },
        leaderElection: {namespace: 'tools', name: 'kube-mcp-router-operator', leaseDurationSeconds: 15},
        healthProbeAddress: ':8081',
        metricsAddress: ':8080',
        workers: 2,
        logLevel: 'info',
      });
    } finally {
      if (previous === undefined) delete process.env.POD_NAMESPACE;
      else process.env.POD_NAMESPACE = previous;
    }
    expect(operator.ports).toEqual([
      {name: 'healthz', containerPort: 8081, protocol: 'TCP'},
      {name: 'metrics', containerPort: 8080, protocol: 'TCP'},
    ]);
    expect(operator.livenessProbe.httpGet).toEqual({path: '/healthz', port: 'healthz'});
    expect(operator.readinessProbe.httpGet).toEqual({path: '/readyz', port: 'healthz'});
    expect(operator.resources).toEqual({requests: {cpu: '50m', memory: '192Mi'}, limits: {memory: '384Mi'}});
    // V8's heap capped below the limit (values.yaml nodeOptions; npm run bench:operator measured with it).
    expect(operator.env).toContainEqual({name: 'NODE_OPTIONS', value: '--max-old-space-size=192'});
    expect(deployment.spec.template.spec.serviceAccountName).toBe('release-kube-mcp-router');
  });

  it('creates a random session key Secret in the release namespace and the listed ones; none with create false', async () => {
    const secrets = (await render({'sessionKey.namespaces[0]': 'team-a'})).filter((m) => m.kind === 'Secret');
    expect(secrets.map((s) => s.metadata.namespace)).toEqual(['tools', 'team-a']);
    for (const secret of secrets) {
      expect(secret.metadata.name).toBe('release-kube-mcp-router-session-key');
      expect(Buffer.from(secret.data.keys, 'base64').length).toBe(64);
    }
    const without = await render({'sessionKey.create': 'false'});
    expect(without.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(container(without).args.join(' ')).not.toContain('--session-key-secret');
  });

  it('traces the operator and its router pods with tracing.otlpEndpoint; neither without it', async () => {
    const endpoint = 'http://otel-collector.monitoring:4318';
    const traced = container(await render({'tracing.otlpEndpoint': endpoint}));
    expect(traced.env).toContainEqual({name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: endpoint});
    expect(parseOperatorFlags(traced.args.slice(1))).toMatchObject({render: {otlpEndpoint: endpoint}});
    const plain = container(await render());
    expect(plain.env.map((variable: {name: string}) => variable.name)).not.toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(plain.args.join(' ')).not.toContain('--router-otlp-endpoint');
  });

  it('runs the operator under the restricted Pod Security Standard', async () => {
    const deployment = only(await render(), 'Deployment');
    expect(deployment.spec.template.spec.securityContext).toEqual({
      runAsNonRoot: true,
      seccompProfile: {type: 'RuntimeDefault'},
    });
    expect(deployment.spec.template.spec.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    });
  });

  it('selects only the operator pods, not the routers it creates (which share name and instance labels)', async () => {
    const manifests = await render({'podLabels.app\\.kubernetes\\.io/component': 'router'});
    const deployment = only(manifests, 'Deployment');
    const selector = deployment.spec.selector.matchLabels;
    expect(selector).toEqual({
      'app.kubernetes.io/name': 'kube-mcp-router',
      'app.kubernetes.io/instance': 'release',
      'app.kubernetes.io/component': 'operator',
    });
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    expect(only(manifests, 'Service').spec.selector).toEqual(selector);
  });

  it('grants exactly the operator verbs cluster-wide, nothing on Secrets, and the Lease by name', async () => {
    const manifests = await render();
    expect(only(manifests, 'ClusterRole').rules).toEqual(OPERATOR_RULES);
    expect(only(manifests, 'ClusterRoleBinding')).toMatchObject({
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'release-kube-mcp-router'},
      subjects: [{kind: 'ServiceAccount', name: 'release-kube-mcp-router', namespace: 'tools'}],
    });
    expect(only(manifests, 'Role').rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['kube-mcp-router-operator'],
        verbs: ['get', 'update'],
      },
      {apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create']},
    ]);
    expect(only(manifests, 'RoleBinding')).toMatchObject({
      metadata: {namespace: 'tools'},
      roleRef: {kind: 'Role', name: 'release-kube-mcp-router-leader-election'},
      subjects: [{kind: 'ServiceAccount', name: 'release-kube-mcp-router', namespace: 'tools'}],
    });
    const rules = manifests.filter((m) => m.kind.endsWith('Role')).flatMap((m) => m.rules);
    for (const rule of rules) {
      expect(rule.resources).not.toContain('secrets');
      expect([...rule.resources, ...rule.verbs, ...rule.apiGroups]).not.toContain('*');
    }
  });

  it('watches one namespace with a Role there when watchNamespace is set', async () => {
    const manifests = await render({watchNamespace: 'team-a'});
    expect(manifests.filter((m) => m.kind.startsWith('Cluster'))).toEqual([]);
    const role = only(manifests, 'Role', 'release-kube-mcp-router');
    expect(role.metadata.namespace).toBe('team-a');
    expect(role.rules).toEqual(OPERATOR_RULES);
    expect(only(manifests, 'RoleBinding', 'release-kube-mcp-router')).toMatchObject({
      metadata: {namespace: 'team-a'},
      roleRef: {kind: 'Role', name: 'release-kube-mcp-router'},
      subjects: [{kind: 'ServiceAccount', name: 'release-kube-mcp-router', namespace: 'tools'}],
    });
    expect(parseOperatorFlags(container(manifests).args.slice(1))).toMatchObject({namespace: 'team-a'});
  });

  it('keeps the CRDs on uninstall by default, and leaves them out or unkept when asked', async () => {
    const kept = (await render()).filter((m) => m.kind === 'CustomResourceDefinition');
    expect(kept).toHaveLength(2);
    for (const crd of kept) expect(crd.metadata.annotations).toEqual({'helm.sh/resource-policy': 'keep'});

    const unkept = (await render({'crds.keep': false})).filter((m) => m.kind === 'CustomResourceDefinition');
    expect(unkept).toHaveLength(2);
    for (const crd of unkept) expect(crd.metadata.annotations).toBeUndefined();

    expect((await render({'crds.enabled': false})).map((m) => m.kind)).not.toContain('CustomResourceDefinition');
  });

  it('follows image overrides for the operator and the routers', async () => {
    const tagged = container(await render({'image.repository': 'registry.example/mcp/router', 'image.tag': '1.2.3'}));
    expect(tagged.image).toBe('registry.example/mcp/router:1.2.3');
    expect(tagged.args).toContain('--router-image=registry.example/mcp/router:1.2.3');

    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = container(await render({'image.digest': digest, 'image.pullPolicy': 'Always'}));
    expect(pinned.image).toBe(`${IMAGE}@${digest}`);
    expect(pinned.imagePullPolicy).toBe('Always');

    const routers = container(await render({routerImage: 'registry.example/router:9'}));
    expect(routers.image).toBe(IMAGE);
    expect(routers.args).toContain('--router-image=registry.example/router:9');
  });

  it("passes the cluster's ServiceAccount issuer to the operator only when set", async () => {
    expect(container(await render()).args.join(' ')).not.toContain('--service-account-issuer');
    const issuer = 'https://oidc.eks.example.test/id/ABC';
    const operator = container(await render({serviceAccountIssuer: issuer}));
    expect(operator.args).toContain(`--service-account-issuer=${issuer}`);
    expect(parseOperatorFlags(operator.args.slice(1))).toMatchObject({render: {serviceAccountIssuer: issuer}});
    const {code, stderr} = await helm(templateArgs({serviceAccountIssuer: 'kubernetes'}));
    expect(code).not.toBe(0);
    expect(stderr).toContain('serviceAccountIssuer');
  });

  it('turns off leader election, metrics and the ServiceAccount when asked', async () => {
    const manifests = await render({
      'leaderElection.enabled': false,
      'metrics.enabled': false,
      'serviceAccount.create': false,
      'serviceAccount.name': 'existing',
    });
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(kinds).not.toContain('Role/release-kube-mcp-router-leader-election');
    expect(kinds).not.toContain('Service/release-kube-mcp-router-metrics');
    expect(kinds.filter((k) => k.startsWith('ServiceAccount/'))).toEqual([]);
    const deployment = only(manifests, 'Deployment');
    expect(deployment.spec.template.spec.serviceAccountName).toBe('existing');
    const operator = deployment.spec.template.spec.containers[0];
    expect(operator.args).not.toContain('--leader-elect');
    expect(operator.args).toContain('--metrics-bind-address=0');
    const flags = parseOperatorFlags(operator.args.slice(1));
    expect(flags).not.toHaveProperty('leaderElection');
    expect(flags).not.toHaveProperty('metricsAddress');
    expect(only(manifests, 'ClusterRoleBinding').subjects).toEqual([
      {kind: 'ServiceAccount', name: 'existing', namespace: 'tools'},
    ]);
  });

  it('renders a ServiceMonitor for the metrics Service only when enabled', async () => {
    expect((await render()).map((m) => m.kind)).not.toContain('ServiceMonitor');
    const manifests = await render({
      'metrics.serviceMonitor.enabled': true,
      'metrics.serviceMonitor.labels.release': 'prometheus',
      'metrics.serviceMonitor.scrapeTimeout': '10s',
    });
    const monitor = only(manifests, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    expect(monitor.spec.endpoints).toEqual([
      {port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s'},
    ]);
    const service = only(manifests, 'Service');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP'}]);
  });

  it('refuses a ServiceMonitor without metrics, saying why', async () => {
    const {code, stderr} = await helm(templateArgs({'metrics.serviceMonitor.enabled': true, 'metrics.enabled': false}));
    expect(code).not.toBe(0);
    expect(stderr).toContain('metrics.serviceMonitor.enabled needs metrics.enabled');
  });

  it('passes scheduling values and extra env and args through', async () => {
    const values = [
      'nodeSelector:',
      '  kubernetes.io/os: linux',
      'tolerations: [{key: dedicated, operator: Equal, value: tools, effect: NoSchedule}]',
      'extraEnv: [{name: NODE_OPTIONS, value: --max-old-space-size=200}]',
      'extraArgs: [--log-level=debug]',
      'imagePullSecrets: [{name: ghcr}]',
      'priorityClassName: system-cluster-critical',
      'replicaCount: 2',
    ].join('\n');
    const {code, stdout, stderr} = await helmWithValues(helm, values);
    expect(code, stderr).toBe(0);
    const deployment = only(parseManifests(stdout), 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.nodeSelector).toEqual({'kubernetes.io/os': 'linux'});
    expect(pod.tolerations).toEqual([{key: 'dedicated', operator: 'Equal', value: 'tools', effect: 'NoSchedule'}]);
    expect(pod.imagePullSecrets).toEqual([{name: 'ghcr'}]);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    // extraEnv's NODE_OPTIONS replaces the chart's nodeOptions: one entry, not two.
    expect(pod.containers[0].env.filter((e: {name: string}) => e.name === 'NODE_OPTIONS')).toEqual([
      {name: 'NODE_OPTIONS', value: '--max-old-space-size=200'},
    ]);
    expect(pod.containers[0].args.at(-1)).toBe('--log-level=debug');
    expect(parseOperatorFlags(pod.containers[0].args.slice(1))).toMatchObject({logLevel: 'debug'});
  });

  it('cuts names to 63 characters', async () => {
    const release = `a${'b'.repeat(52)}`; // helm's longest release name: 53
    const {code, stdout, stderr} = await helm(['template', release, CHART, '--namespace', 'tools']);
    expect(code, stderr).toBe(0);
    for (const manifest of parseManifests(stdout).filter((m) => m.kind !== 'CustomResourceDefinition')) {
      expect(manifest.metadata.name.length, manifest.metadata.name).toBeLessThanOrEqual(63);
      for (const value of Object.values(manifest.metadata.labels ?? {})) expect(value.length).toBeLessThanOrEqual(63);
    }
  });

  it.each([
    [{'crds.enabld': true}, "at '/crds': additional properties 'enabld' not allowed"],
    [{replicaCount: 'two'}, "at '/replicaCount': got string, want integer"],
    [
      {'image.pullPolicy': 'Sometimes'},
      "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
    ],
    [{logLevel: 'verbose'}, "at '/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error'"],
    [{'metrics.port': 70000}, "at '/metrics/port': maximum: got 70,000, want 65,535"],
    [{watchNamespace: 'Team_A'}, "at '/watchNamespace'"],
  ])('rejects values that break the schema (%o) with a message naming the value', async (sets, message) => {
    const {code, stdout, stderr} = await helm(templateArgs(sets));
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain("values don't meet the specifications of the schema");
    expect(stderr).toContain(message);
  });

  it('documents every value of values.yaml with a comment and in the schema', () => {
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const undocumented: string[] = [];
    const path: string[] = [];
    lines.forEach((line, index) => {
      const key = /^( *)([A-Za-z]\w*):/.exec(line);
      if (!key) return;
      path.splice(key[1]!.length / 2, path.length, key[2]!);
      let parent = schema;
      for (const part of path.slice(0, -1)) parent = parent?.properties?.[part];
      // Inside a value of a Kubernetes type (securityContext, resources.requests): its own fields, not the chart's.
      if (path.length > 1 && !parent?.properties) return;
      const node = parent?.properties?.[path.at(-1)!];
      const name = path.join('.');
      if (!node?.description && !node?.properties) undocumented.push(`${name} (not in the schema)`);
      const isGroup = node?.properties !== undefined;
      if (!isGroup && !/^\s*#/.test(lines[index - 1] ?? '')) undocumented.push(`${name} (no comment above it)`);
    });
    expect(undocumented).toEqual([]);
  });

  it('closes every object of the schema to unknown keys', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const open: string[] = [];
    const visit = (node: any, path: string) => {
      if (node?.properties) {
        if (node.additionalProperties !== false) open.push(path || '(root)');
        for (const [key, child] of Object.entries(node.properties)) visit(child, `${path}.${key}`);
      }
      if (node?.items) visit(node.items, `${path}[]`);
    };
    visit(schema, '');
    // extraEnv items are Kubernetes EnvVars (value, valueFrom): the API server validates them.
    expect(open).toEqual(['.extraEnv[]']);
  });
});

/** `helm template` with a values file given on stdin (`-f -`). */
async function helmWithValues(
  helm: (args: string[]) => Promise<{code: number; stdout: string; stderr: string}>,
  values: string,
): Promise<{code: number; stdout: string; stderr: string}> {
  const dir = mkdtempSync(join(tmpdir(), 'chart-values-'));
  try {
    writeFileSync(join(dir, 'values.yaml'), values);
    return await helm(templateArgs({}, ['--values', join(dir, 'values.yaml')]));
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
