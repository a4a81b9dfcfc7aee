import http from 'node:http';
import https from 'node:https';
import {KubeConfig, PatchStrategy} from '@kubernetes/client-node';

/**
 * A thin REST client for the resources the operator touches, on top of `@kubernetes/client-node`'s KubeConfig (which
 * does authentication: client certificates, bearer tokens, exec plugins, the in-cluster service account).
 *
 * Objects stay plain JSON as the API server sends them, in lists, watches and apply responses alike, so the
 * operator compares like with like (the generated clients turn timestamps into Dates and drop unknown fields).
 * See docs/adr/0002-operator-rest-client.md.
 */

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {apiVersion: string; kind: string; name: string; uid: string; controller?: boolean}[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** A kind of resource and where it is served. */
export interface ResourceType {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
}

export const CONFIG_MAPS: ResourceType = {group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps'};
export const SERVICES: ResourceType = {group: '', version: 'v1', kind: 'Service', plural: 'services'};
export const SERVICE_ACCOUNTS: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
};
export const PODS: ResourceType = {group: '', version: 'v1', kind: 'Pod', plural: 'pods'};
export const EVENTS: ResourceType = {group: '', version: 'v1', kind: 'Event', plural: 'events'};
export const DEPLOYMENTS: ResourceType = {group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments'};
export const ROLES: ResourceType = {group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles'};
export const ROLE_BINDINGS: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
};
export const LEASES: ResourceType = {group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases'};
export const POD_DISRUPTION_BUDGETS: ResourceType = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
};
export const NETWORK_POLICIES: ResourceType = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  plural: 'networkpolicies',
};

/** `apiVersion` of a resource type: `v1`, `apps/v1`. */
export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/**
 * The URL path of a collection or an object: `/api/v1/namespaces/ns/configmaps[/name[/subresource]]`.
 * Without a namespace, the collection across all namespaces.
 */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const root = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  let path =
    namespace === undefined
      ? `${root}/${type.plural}`
      : `${root}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

/** An error response of the API server: HTTP status code plus the `reason` and `message` of its Status object. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${reason}: ${message}`);
    this.name = 'ApiError';
  }
}

/** Whether `error` is an API error with the given status code (404 Not Found, 409 Conflict, 410 Gone, ...). */
export function isStatus(error: unknown, statusCode: number): boolean {
  return error instanceof ApiError && error.statusCode === statusCode;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Milliseconds before the request is aborted; default 30000. */
  timeoutMs?: number;
}

/** Loads a KubeConfig: from `file` when given, else in-cluster when in a pod, else from $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(file?: string): KubeConfig {
  const config = new KubeConfig();
  if (file !== undefined) config.loadFromFile(file);
  else config.loadFromDefault();
  if (!config.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
  return config;
}

/** Called after every response (or failure, with code 0), e.g. to count requests by method and status code. */
export type ResponseObserver = (method: string, code: number) => void;

/** A client of the API server for JSON requests. Stateless apart from the KubeConfig. */
export class KubeClient {
  readonly #observe: ResponseObserver | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    observe?: ResponseObserver,
  ) {
    this.#observe = observe;
  }

  /**
   * Sends one request and returns the parsed JSON body.
   * @throws ApiError for a non-2xx response; Error for a network failure or timeout
   */
  async request<T = KubeObject>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const requestOptions: https.RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined && {
          'Content-Type': options.contentType ?? 'application/json',
          'Content-Length': Buffer.byteLength(body),
        }),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    const transport = url.protocol === 'https:' ? https : http;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const observe = this.#observe;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          observe?.(method, status);
          let parsed: unknown;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : {};
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300 && parsed !== undefined) {
            resolve(parsed as T);
            return;
          }
          const statusObject = (parsed ?? {}) as {reason?: string; message?: string};
          reject(
            new ApiError(
              status,
              statusObject.reason ?? http.STATUS_CODES[status] ?? 'Unknown',
              statusObject.message ?? text.slice(0, 200),
              method,
              url.pathname,
            ),
          );
        });
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${url.pathname}: no response in ${timeoutMs} ms`)),
      );
      req.on('error', (error) => {
        observe?.(method, 0);
        reject(error);
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** Reads one object; `undefined` when it does not exist. */
  async get<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(type, namespace, name));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /**
   * Lists objects, in one namespace or all; `labelSelector` in its string form (`a=b,c`). With `page`, one page of
   * at most `limit` objects, from the start or from the `continue` token of the page before (Kubernetes API
   * concepts, "Retrieving large results sets in chunks"); `continue` is absent on the last page.
   */
  async list<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace?: string,
    labelSelector?: string,
    page?: {limit: number; continue?: string},
  ): Promise<{items: T[]; resourceVersion: string; continue?: string}> {
    const list = await this.request<{items?: T[]; metadata?: {resourceVersion?: string; continue?: string}}>(
      'GET',
      resourcePath(type, namespace),
      {query: {labelSelector, limit: page?.limit, continue: page?.continue}},
    );
    const token = list.metadata?.continue;
    return {
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? '',
      ...(token ? {continue: token} : {}),
    };
  }

  /**
   * Server-side apply (Kubernetes "Server-Side Apply"): sends the fields `fieldManager` owns; with `force`, takes
   * over fields another manager set. With `subresource: 'status'`, applies the status.
   * @returns the object as stored after the apply
   */
  async apply<T extends KubeObject = KubeObject>(
    type: ResourceType,
    object: KubeObject & {metadata: {name: string; namespace: string}},
    options: {fieldManager: string; force?: boolean; subresource?: 'status'; dryRun?: boolean},
  ): Promise<T> {
    return this.request<T>(
      'PATCH',
      resourcePath(type, object.metadata.namespace, object.metadata.name, options.subresource),
      {
        query: {
          fieldManager: options.fieldManager,
          force: options.force ? true : undefined,
          dryRun: options.dryRun ? 'All' : undefined,
        },
        body: object,
        contentType: PatchStrategy.ServerSideApply,
      },
    );
  }

  /**
   * Deletes an object only while its uid is `uid` (a precondition: the API server answers 409 Conflict when the name
   * now belongs to another object), in the background (dependents are garbage-collected after); an object already
   * gone is not an error.
   * @throws ApiError when the API server refuses the delete
   */
  async delete(type: ResourceType, namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.request('DELETE', resourcePath(type, namespace, name), {
        body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid}, propagationPolicy: 'Background'},
      });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  /** Creates an object. */
  async create<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace: string,
    object: KubeObject,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('POST', resourcePath(type, namespace), {query: {fieldManager}, body: object});
  }

  /** Replaces an object; its `metadata.resourceVersion` makes this a compare-and-swap (409 Conflict when stale). */
  async replace<T extends KubeObject = KubeObject>(
    type: ResourceType,
    object: KubeObject & {metadata: {name: string; namespace: string}},
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('PUT', resourcePath(type, object.metadata.namespace, object.metadata.name), {
      query: {fieldManager},
      body: object,
    });
  }

  /** Applies a JSON merge patch (RFC 7386). */
  async mergePatch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace: string,
    name: string,
    patch: unknown,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, namespace, name), {
      query: {fieldManager},
      body: patch,
      contentType: PatchStrategy.MergePatch,
    });
  }
}
