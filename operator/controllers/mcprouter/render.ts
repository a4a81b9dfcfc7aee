import {createHash} from 'node:crypto';
import type {V1EnvVar, V1OwnerReference} from '@kubernetes/client-node';
import {
  escapeLiteral,
  RouterOptionsSchema,
  type AuthInput,
  type RouterConfigInput,
  type RouterOptionsInput,
  type ServerInput,
} from '../../../router/config/index.js';
import type {AuthSpec} from '../../api/auth.js';
import type {ValueSource} from '../../api/common.js';
import {API_VERSION, MCP_ROUTER, prefixOf, type McpRouter, type McpUpstream} from '../../api/types.js';
import {renderNetworkPolicy, renderPodDisruptionBudget} from './policies.js';

/**
 * Render: the pure part of reconciling an McpRouter. From the router, its resolved upstreams and the operator's
 * options it computes `router.json` and the three children (ConfigMap, Deployment, Service) as server-side apply
 * configurations. No clock, no randomness, no I/O: the same input gives byte-identical output, which is what lets a
 * reconcile with nothing to change write nothing.
 *
 * Secrets: a value from a Secret (or ConfigMap) never enters router.json. It becomes an env var of the router
 * container (`valueFrom`), and router.json refers to it as `${VAR}`, which the router interpolates at load time.
 *
 * Literals: every string copied from a custom resource into router.json is escaped (`escapeLiteral`: `$` becomes
 * `$$`), so that only the `${VAR}` references the operator generates are expanded. Without it, a literal value
 * `${MCPU_OTHER_HEADER_AUTHORIZATION}` in one McpUpstream would read another upstream's Secret from the router's
 * environment. Object keys are never interpolated by the router, so they are copied as they are.
 */

/** Options of the operator that shape what it renders. */
export interface RenderOptions {
  /** Image of router containers when the McpRouter sets none, e.g. ghcr.io/kube-mcp-router/kube-mcp-router:0.1.0. */
  routerImage: string;
  /** DNS domain of the cluster, for the router URL and serviceRef URLs (default cluster.local). */
  clusterDomain: string;
  /**
   * `iss` of the cluster's ServiceAccount tokens (the API server's --service-account-issuer), for
   * `spec.auth.serviceAccountTokens`; default https://kubernetes.default.svc.cluster.local.
   */
  serviceAccountIssuer: string;
  /**
   * Name of the Secret with the router pods' session keys (key `keys`), which the chart creates in the namespaces of
   * routers (the operator reads no Secret): router pods get it as env `MCP_ROUTER_SESSION_KEYS`, optional. Absent:
   * no such env, and each pod's sessions are served by that pod only.
   */
  sessionKeySecret?: string;
  /**
   * OTLP/HTTP endpoint of the router pods' traces (e.g. `http://otel-collector.monitoring:4318`), their env
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (OpenTelemetry SDK configuration). Absent: no such env, and the pods do not trace.
   */
  otlpEndpoint?: string;
  /**
   * Namespace of the operator's own pods, when it runs in the cluster: a router's NetworkPolicy lets them reach the
   * router pods' /readyz (per-upstream status, readiness.ts).
   */
  operatorNamespace?: string;
}

/** The key of the session key Secret that holds the keys (one a line, the first signs). */
export const SESSION_KEYS_KEY = 'keys';

/** The API server's default --service-account-issuer, and so the operator's. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The port the router container listens on, named `http`. */
export const CONTAINER_PORT = 8080;
/** The port of the router's `/metrics` (`--metrics-port`), named `metrics`. */
export const METRICS_PORT = 9090;
/**
 * Seconds a terminating router pod goes on serving before it gets SIGTERM (a preStop `sleep`, Kubernetes 1.30+). The
 * pod leaves its Service's ready endpoints as soon as it is deleted, but kube-proxy (and any load balancer or ingress
 * controller) takes a moment to stop sending it new connections; without the sleep those would reach a router that
 * is already draining and answers 503.
 */
export const PRE_STOP_SLEEP_SECONDS = 5;
/**
 * The router pod's `terminationGracePeriodSeconds`: the preStop sleep, then the router's drain after SIGTERM (its
 * `shutdownGraceSeconds`, the default, as router.json sets none), then 5 s to close upstreams and exit.
 */
export const TERMINATION_GRACE_SECONDS =
  PRE_STOP_SLEEP_SECONDS + RouterOptionsSchema.parse({}).shutdownGraceSeconds + 5;
/**
 * Resources of the router container when the McpRouter sets none: requests cpu 100m, memory 128Mi; a memory limit of
 * 1Gi and no CPU limit (throttling slows calls without saving anything). Node sizes V8's heap from the container's
 * memory limit (half of it: 512 MiB here), and V8 lets garbage grow to up to four times the live heap when that limit
 * is large (from a node's memory) but at most 1.4 times with this one, so the limit keeps the router's RSS near what it
 * holds: 10,000 sessions on a 1,000-tool catalog settle at about 340 MiB (docs/benchmarks.md, ADR 0039).
 */
export const DEFAULT_RESOURCES = {requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '1Gi'}};
/** Where the router pod's own ServiceAccount token and the cluster CA are mounted: the folder client libraries look in. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Lifetime of the router pod's projected token, in seconds; the kubelet renews it at 80%. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
/** Where the ConfigMap is mounted: the folder, not a subPath, so the kubelet's updates reach the running router. */
export const CONFIG_DIR = '/etc/kube-mcp-router';
export const CONFIG_FILE = 'router.json';
/** Annotation of the ConfigMap holding the configHash of its router.json. */
export const CONFIG_HASH_ANNOTATION = 'mcprouter.dev/config-hash';
/** Label on every child: the name of the McpRouter that owns it. */
export const ROUTER_LABEL = 'mcprouter.dev/router';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kube-mcp-router';

/** A Kubernetes object as sent in a server-side apply: only the fields the operator owns. */
export interface ApplyObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: V1OwnerReference[];
  };
  [field: string]: unknown;
}

/** What rendering one router produces. */
export interface RenderedRouter {
  /** router.json, in the router's config contract (`router/config/index.ts`). */
  config: RouterConfigInput;
  /** The text of router.json (`config` as JSON), ending in a newline. */
  routerJson: string;
  /** `sha256:` and the first 16 hex digits of the SHA-256 of routerJson. */
  configHash: string;
  /** Upstreams in router.json, sorted by name. */
  upstreams: {name: string; prefix: string}[];
  /** Env vars of the router container that carry values from Secrets and ConfigMaps. */
  env: V1EnvVar[];
  configMap: ApplyObject;
  /**
   * The router's own ServiceAccount; absent when the McpRouter names one (`spec.serviceAccountName`) or is named
   * `default` (its pods then run as the namespace's default ServiceAccount, which the operator does not touch).
   */
  serviceAccount?: ApplyObject;
  deployment: ApplyObject;
  service: ApplyObject;
  /** The Role and RoleBinding by which the router's ServiceAccount watches EndpointSlices (its peers). */
  role: ApplyObject;
  roleBinding: ApplyObject;
  /** With `spec.replicas > 1`: one router pod at a time may be evicted (policies.ts). */
  podDisruptionBudget?: ApplyObject;
  /** With `spec.networkPolicy`: who may reach the router pods (policies.ts). */
  networkPolicy?: ApplyObject;
}

/** The ServiceAccount every namespace has; a router named after it runs as it and leaves it alone. */
const NAMESPACE_SERVICE_ACCOUNT = 'default';

/** Names of the children of a router. */
export function childNames(routerName: string): {
  configMap: string;
  deployment: string;
  service: string;
  serviceAccount: string;
  podDisruptionBudget: string;
  networkPolicy: string;
} {
  return {
    configMap: `${routerName}-config`,
    deployment: routerName,
    service: routerName,
    serviceAccount: routerName,
    podDisruptionBudget: routerName,
    networkPolicy: routerName,
  };
}

/** The in-cluster URL of a router: `http://<name>.<namespace>.svc.<domain>:<service port>`. */
export function routerUrl(router: McpRouter, clusterDomain: string): string {
  return `http://${router.metadata.name}.${router.metadata.namespace}.svc.${clusterDomain}:${router.spec.service.port}`;
}

/** Labels that select a router's pods. Fixed: a Deployment's selector cannot change. */
export function selectorLabels(routerName: string): Record<string, string> {
  return {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': routerName};
}

function childLabels(routerName: string): Record<string, string> {
  return {
    ...selectorLabels(routerName),
    'app.kubernetes.io/component': 'router',
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [ROUTER_LABEL]: routerName,
  };
}

function ownerReference(router: McpRouter): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: MCP_ROUTER.kind,
    name: router.metadata.name,
    uid: router.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function sanitize(part: string): string {
  return part.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * Names env vars for values taken from Secrets and ConfigMaps: `MCPU_<UPSTREAM>_<ENV|HEADER>_<NAME>` for upstreams,
 * `MCPR_BEARER_<PRINCIPAL>` for the router's bearer tokens; upper case, other characters as `_`. Two sources that
 * would get the same name (`a-b` and `a_b`, or two tokens of one principal) are told apart by a short hash of the
 * later one's source.
 */
class EnvNamer {
  readonly #taken = new Map<string, string>();

  name(upstream: string, kind: 'ENV' | 'HEADER', variable: string): string {
    return this.#claim(`MCPU_${sanitize(upstream)}_${kind}_${sanitize(variable)}`, `${upstream}/${kind}/${variable}`);
  }

  /** @param index position in `spec.auth.bearerTokens`, so that two tokens of one principal are two sources */
  bearer(principal: string, index: number): string {
    return this.#claim(`MCPR_BEARER_${sanitize(principal)}`, `bearer/${index}/${principal}`);
  }

  #claim(wanted: string, source: string): string {
    let name = wanted;
    const owner = this.#taken.get(name);
    if (owner !== undefined && owner !== source) {
      name = `${name}_${createHash('sha256').update(source).digest('hex').slice(0, 8).toUpperCase()}`;
    }
    this.#taken.set(name, source);
    return name;
  }
}

function valueFromOf(source: ValueSource): V1EnvVar['valueFrom'] {
  if (source.secretKeyRef) {
    const {name, key, optional} = source.secretKeyRef;
    return {secretKeyRef: {name, key, ...(optional !== undefined && {optional})}};
  }
  const {name, key, optional} = source.configMapKeyRef as NonNullable<ValueSource['configMapKeyRef']>;
  return {configMapKeyRef: {name, key, ...(optional !== undefined && {optional})}};
}

/** The URL of an HTTP upstream: `spec.http.url`, or built from `spec.http.serviceRef`. */
export function upstreamUrl(upstream: McpUpstream, clusterDomain: string): string {
  const http = upstream.spec.http;
  if (!http) throw new Error(`McpUpstream ${upstream.metadata.name} has no http`);
  if (http.url !== undefined) return http.url;
  const ref = http.serviceRef as NonNullable<typeof http.serviceRef>;
  const namespace = ref.namespace ?? upstream.metadata.namespace;
  return `http://${ref.name}.${namespace}.svc.${clusterDomain}:${ref.port}${ref.path}`;
}

/** Renders the `mcpServers` entry of one upstream; values from Secrets and ConfigMaps are added to `env`. */
function renderServer(upstream: McpUpstream, options: RenderOptions, namer: EnvNamer, env: V1EnvVar[]): ServerInput {
  const {spec} = upstream;
  const name = upstream.metadata.name;
  const routerOptions = {
    prefix: prefixOf(upstream),
    ...(spec.tools && {tools: escapeStrings(spec.tools)}),
    ...(spec.session && {session: spec.session}),
    ...(spec.timeouts && Object.keys(spec.timeouts).length > 0 && {timeouts: renderTimeouts(spec.timeouts)}),
    ...(spec.circuitBreaker && Object.keys(spec.circuitBreaker).length > 0 && {circuitBreaker: spec.circuitBreaker}),
    ...(spec.retries && Object.keys(spec.retries).length > 0 && {retries: spec.retries}),
    ...(spec.output && Object.keys(spec.output).length > 0 && {output: spec.output}),
  };
  const valueOf = (kind: 'ENV' | 'HEADER', item: {name: string; value?: string; valueFrom?: ValueSource}) => {
    if (item.valueFrom === undefined) return escapeLiteral(item.value ?? '');
    const variable = namer.name(name, kind, item.name);
    env.push({name: variable, valueFrom: valueFromOf(item.valueFrom)});
    return `\${${variable}}`;
  };
  if (spec.stdio) {
    const processEnv: Record<string, string> = {};
    for (const item of spec.stdio.env ?? []) processEnv[item.name] = valueOf('ENV', item);
    return {
      command: escapeLiteral(spec.stdio.command),
      ...(spec.stdio.args && spec.stdio.args.length > 0 && {args: spec.stdio.args.map(escapeLiteral)}),
      ...(Object.keys(processEnv).length > 0 && {env: processEnv}),
      ...(spec.stdio.cwd !== undefined && {cwd: escapeLiteral(spec.stdio.cwd)}),
      ...routerOptions,
    };
  }
  const http = spec.http as NonNullable<typeof spec.http>;
  const headers: Record<string, string> = {};
  for (const item of http.headers ?? []) headers[item.name] = valueOf('HEADER', item);
  return {
    type: http.transport === 'sse' ? 'sse' : 'http',
    url: escapeLiteral(upstreamUrl(upstream, options.clusterDomain)),
    ...(Object.keys(headers).length > 0 && {headers}),
    ...routerOptions,
  };
}

/**
 * `spec.groups` as router.json has them (`router.groups`, by name): members and route targets limited to the
 * upstreams in `mcpServers` (one missing or invalid is reported as such, and the group goes on without it); a group or
 * route left without any is left out.
 */
export function renderGroups(
  groups: NonNullable<McpRouter['spec']['groups']>,
  servers: ReadonlySet<string>,
): NonNullable<RouterOptionsInput['groups']> {
  const rendered: NonNullable<RouterOptionsInput['groups']> = {};
  for (const {name, members, strategy, prefix, routes} of groups) {
    const present = members.filter((member) => servers.has(member));
    if (present.length === 0) continue;
    const kept = (routes ?? [])
      .map((route) => ({tools: route.tools, upstreams: route.upstreams.filter((u) => present.includes(u))}))
      .filter((route) => route.upstreams.length > 0);
    rendered[name] = escapeStrings({
      members: present,
      strategy,
      ...(prefix !== undefined && {prefix}),
      ...(kept.length > 0 && {routes: kept}),
    });
  }
  return rendered;
}

/** `spec.timeouts` as router.json has them: the list of per-tool timeouts becomes a map by tool name. */
function renderTimeouts(timeouts: NonNullable<McpUpstream['spec']['timeouts']>): ServerInput['timeouts'] {
  const {tools, ...upstream} = timeouts;
  if (!tools) return upstream;
  return {...upstream, tools: Object.fromEntries(tools.map(({name, ...own}) => [name, own]))};
}

/**
 * `spec.composites` as router.json has them: the list becomes a map by name, every string escaped. The CRD keeps
 * `inputSchema` free-form; the router's parser checks it on the rendered file (`validateRendered`), with its path.
 */
function renderComposites(
  composites: NonNullable<McpRouter['spec']['composites']>,
): NonNullable<RouterOptionsInput['composites']> {
  type Composite = NonNullable<RouterOptionsInput['composites']>[string];
  return Object.fromEntries(composites.map(({name, ...composite}) => [name, escapeStrings(composite) as Composite]));
}

/**
 * Escapes every string value in `value` (arrays and objects, deeply) with `escapeLiteral`; object keys are kept as
 * they are, since the router does not interpolate keys.
 */
export function escapeStrings<T>(value: T): T {
  if (typeof value === 'string') return escapeLiteral(value) as T;
  if (Array.isArray(value)) return value.map(escapeStrings) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeStrings(item)])) as T;
  }
  return value;
}

/**
 * The Host header values a router accepts (`router.allowedHosts`): its Service's names (`name`, `name.ns`,
 * `name.ns.svc`, `name.ns.svc.<domain>`), each with and without `:<service port>`; `localhost`, `127.0.0.1` and
 * `[::1]` with and without the container port (kubectl port-forward); then `spec.allowedHosts`. Without duplicates,
 * in that order.
 */
export function allowedHosts(router: McpRouter, clusterDomain: string): string[] {
  const {name, namespace} = router.metadata;
  const port = router.spec.service.port;
  const service = [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${clusterDomain}`,
  ];
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  const hosts = [
    ...service.flatMap((host) => [host, `${host}:${port}`]),
    ...loopback.flatMap((host) => [host, `${host}:${CONTAINER_PORT}`]),
    ...(router.spec.allowedHosts ?? []),
  ];
  return [...new Set(hosts)];
}

/**
 * Renders `router.auth` from `spec.auth`. ServiceAccount tokens become a JWT issuer: the cluster's issuer, the API
 * server's JWKS (`https://kubernetes.default.svc.<domain>/openid/v1/jwks`, readable by any authenticated
 * ServiceAccount through the built-in ClusterRoleBinding system:service-account-issuer-discovery), fetched with the
 * pod's projected token and the cluster CA. Bearer tokens become env vars from their Secrets, added to `env`.
 */
function renderAuth(auth: AuthSpec, options: RenderOptions, namer: EnvNamer, env: V1EnvVar[]): AuthInput {
  const jwt: NonNullable<AuthInput['jwt']> = [];
  if (auth.serviceAccountTokens) {
    jwt.push({
      issuer: escapeLiteral(options.serviceAccountIssuer),
      audiences: auth.serviceAccountTokens.audiences.map(escapeLiteral),
      jwksUri: `https://kubernetes.default.svc.${options.clusterDomain}/openid/v1/jwks`,
      caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
      tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
    });
  }
  for (const issuer of auth.jwt ?? []) jwt.push(escapeStrings(issuer));
  const bearerTokens = (auth.bearerTokens ?? []).map((entry, index) => {
    const variable = namer.bearer(entry.principal, index);
    env.push({name: variable, valueFrom: {secretKeyRef: {name: entry.secretKeyRef.name, key: entry.secretKeyRef.key}}});
    return {principal: escapeLiteral(entry.principal), token: `\${${variable}}`};
  });
  return {
    jwt,
    bearerTokens,
    ...(auth.resource !== undefined && {resource: escapeLiteral(auth.resource)}),
    ...(auth.authorizationServers && {authorizationServers: auth.authorizationServers.map(escapeLiteral)}),
  };
}

const TOKEN_VOLUME = 'serviceaccount-token';

/**
 * The projected volume with the pod's own ServiceAccount token (for the API server's default audience, short-lived,
 * renewed by the kubelet) and the cluster CA (the ConfigMap kube-root-ca.crt that every namespace has): what the
 * router needs to watch its EndpointSlices and fetch the JWKS from the API server, and nothing more (no namespace
 * file, no automount).
 */
function tokenVolume(): Record<string, unknown> {
  return {
    name: TOKEN_VOLUME,
    projected: {
      sources: [
        {serviceAccountToken: {path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS}},
        {configMap: {name: 'kube-root-ca.crt', items: [{key: 'ca.crt', path: 'ca.crt'}]}},
      ],
    },
  };
}

/**
 * What forwarding between router pods needs (router/http/forward.ts): the pod's address and namespace from the
 * downward API, the session keys from the chart's Secret (optional: a namespace without it still runs routers).
 */
function replicaEnv(options: RenderOptions): V1EnvVar[] {
  return [
    {name: 'POD_IP', valueFrom: {fieldRef: {fieldPath: 'status.podIP'}}},
    {name: 'POD_NAMESPACE', valueFrom: {fieldRef: {fieldPath: 'metadata.namespace'}}},
    ...(options.sessionKeySecret
      ? [
          {
            name: 'MCP_ROUTER_SESSION_KEYS',
            valueFrom: {secretKeyRef: {name: options.sessionKeySecret, key: SESSION_KEYS_KEY, optional: true}},
          },
        ]
      : []),
  ];
}

/**
 * The Role and RoleBinding that let the router's pods watch the EndpointSlices of the namespace (the router's own
 * Service's, which name it picks by label: EndpointSlice names are generated, so the rule cannot name them), and
 * nothing else: list and watch, no get, no write.
 */
function peerRbac(
  name: string,
  namespace: string,
  serviceAccount: string,
  labels: Record<string, string>,
  owner: V1OwnerReference[],
): {role: ApplyObject; roleBinding: ApplyObject} {
  const metadata = {name: `${name}-peers`, namespace, labels, ownerReferences: owner};
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']}],
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name},
      subjects: [{kind: 'ServiceAccount', name: serviceAccount, namespace}],
    },
  };
}

/** `sha256:` plus the first 16 hex digits of the SHA-256 of `text`. */
export function hashOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/**
 * Renders a router.
 * @param router a validated McpRouter with `metadata.uid` (for owner references)
 * @param upstreams the upstreams to configure, as `resolveUpstreams` returns them (valid, unique prefixes)
 */
export function renderRouter(
  router: McpRouter,
  upstreams: readonly McpUpstream[],
  options: RenderOptions,
): RenderedRouter {
  const {name, namespace} = router.metadata;
  const {spec} = router;
  const names = childNames(name);
  const labels = childLabels(name);
  const owner = [ownerReference(router)];
  const namer = new EnvNamer();
  const env: V1EnvVar[] = [];

  const sorted = [...upstreams].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const mcpServers: Record<string, ServerInput> = {};
  for (const upstream of sorted) mcpServers[upstream.metadata.name] = renderServer(upstream, options, namer, env);
  const routerOptions: RouterOptionsInput = {
    toolNameSeparator: spec.toolNameSeparator,
    transports: {sse: spec.transports.sse, streamableHttp: spec.transports.streamableHttp},
    allowedHosts: allowedHosts(router, options.clusterDomain).map(escapeLiteral),
    ...(spec.allowedOrigins && {allowedOrigins: spec.allowedOrigins.map(escapeLiteral)}),
    ...(spec.auth && {auth: renderAuth(spec.auth, options, namer, env)}),
    ...(spec.access && {access: escapeStrings(spec.access)}),
    ...(spec.limits && Object.keys(spec.limits).length > 0 && {limits: spec.limits}),
    ...(spec.management?.enabled && {management: {enabled: true}}),
    ...(spec.catalog && {catalog: spec.catalog}),
    ...(spec.groups && {groups: renderGroups(spec.groups, new Set(Object.keys(mcpServers)))}),
    ...(spec.output && Object.keys(spec.output).length > 0 && {output: spec.output}),
    ...(spec.composites && {composites: renderComposites(spec.composites)}),
  };
  const config: RouterConfigInput = {mcpServers, router: routerOptions};
  const routerJson = `${JSON.stringify(config, null, 2)}\n`;
  const configHash = hashOf(routerJson);

  const configMap: ApplyObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: names.configMap,
      namespace,
      labels,
      annotations: {[CONFIG_HASH_ANNOTATION]: configHash},
      ownerReferences: owner,
    },
    data: {[CONFIG_FILE]: routerJson},
  };

  const podLabels = {...spec.podLabels, ...labels};
  // The router reads its Service's EndpointSlices (its peers), and for `spec.auth.serviceAccountTokens` the API
  // server's JWKS, with a token of its own; automounting stays off, so nothing else in the pod gets one.
  const container = {
    name: 'router',
    image: spec.image ?? options.routerImage,
    ...(spec.imagePullPolicy && {imagePullPolicy: spec.imagePullPolicy}),
    command: ['kube-mcp-router'],
    args: [
      'router',
      '--config',
      `${CONFIG_DIR}/${CONFIG_FILE}`,
      '--host',
      '0.0.0.0',
      '--port',
      String(CONTAINER_PORT),
      '--metrics-port',
      String(METRICS_PORT),
      '--peers-service',
      names.service,
    ],
    ports: [
      {name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP'},
      {name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP'},
    ],
    // stdio upstreams started with npx need a writable HOME and npm cache; the root filesystem is read-only.
    env: [
      {name: 'HOME', value: '/tmp'},
      {name: 'npm_config_cache', value: '/tmp/.npm'},
      ...env,
      ...replicaEnv(options),
      ...(options.otlpEndpoint !== undefined
        ? [{name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: options.otlpEndpoint}]
        : []),
    ],
    volumeMounts: [
      {name: 'config', mountPath: CONFIG_DIR, readOnly: true},
      {name: 'tmp', mountPath: '/tmp'},
      {name: TOKEN_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true},
    ],
    livenessProbe: {httpGet: {path: '/healthz', port: 'http'}, periodSeconds: 10, failureThreshold: 3},
    readinessProbe: {httpGet: {path: '/readyz', port: 'http'}, periodSeconds: 5, failureThreshold: 3},
    lifecycle: {preStop: {sleep: {seconds: PRE_STOP_SLEEP_SECONDS}}},
    resources: spec.resources ?? DEFAULT_RESOURCES,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    },
  };
  const deployment: ApplyObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: names.deployment, namespace, labels, ownerReferences: owner},
    spec: {
      replicas: spec.replicas,
      selector: {matchLabels: selectorLabels(name)},
      template: {
        metadata: {labels: podLabels, ...(spec.podAnnotations && {annotations: spec.podAnnotations})},
        spec: {
          serviceAccountName: spec.serviceAccountName ?? names.serviceAccount,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}},
          containers: [container],
          volumes: [{name: 'config', configMap: {name: names.configMap}}, {name: 'tmp', emptyDir: {}}, tokenVolume()],
          ...(spec.imagePullSecrets && {imagePullSecrets: spec.imagePullSecrets}),
          ...(spec.nodeSelector && {nodeSelector: spec.nodeSelector}),
          ...(spec.tolerations && {tolerations: spec.tolerations}),
          ...(spec.affinity && {affinity: spec.affinity}),
        },
      },
    },
  };

  const service: ApplyObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.service,
      namespace,
      labels,
      ...(spec.service.annotations && {annotations: spec.service.annotations}),
      ownerReferences: owner,
    },
    spec: {
      type: spec.service.type,
      selector: selectorLabels(name),
      ports: [{name: 'http', port: spec.service.port, targetPort: 'http', protocol: 'TCP'}],
      sessionAffinity: spec.service.sessionAffinity,
    },
  };

  // Only when the McpRouter names no ServiceAccount: one it names is someone else's, and must not become owned by
  // (and garbage-collected with) the router. Nor for a router named `default`: its ServiceAccount would be the
  // namespace's own, which every pod without a serviceAccountName runs as.
  const serviceAccount: ApplyObject | undefined =
    spec.serviceAccountName === undefined && names.serviceAccount !== NAMESPACE_SERVICE_ACCOUNT
      ? {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: {name: names.serviceAccount, namespace, labels, ownerReferences: owner},
          automountServiceAccountToken: false,
        }
      : undefined;

  const serviceAccountName = spec.serviceAccountName ?? names.serviceAccount;
  const metadata = {namespace, labels, ownerReferences: owner};
  const podDisruptionBudget = renderPodDisruptionBudget(
    router,
    names.podDisruptionBudget,
    selectorLabels(name),
    metadata,
  );
  const networkPolicy = renderNetworkPolicy(
    router,
    names.networkPolicy,
    selectorLabels(name),
    metadata,
    options.operatorNamespace,
  );
  return {
    config,
    routerJson,
    configHash,
    ...peerRbac(name, namespace, serviceAccountName, labels, owner),
    upstreams: sorted.map((u) => ({name: u.metadata.name, prefix: prefixOf(u)})),
    env,
    configMap,
    ...(serviceAccount && {serviceAccount}),
    deployment,
    service,
    ...(podDisruptionBudget && {podDisruptionBudget}),
    ...(networkPolicy && {networkPolicy}),
  };
}
