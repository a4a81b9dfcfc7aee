/**
 * Runs an McpRouter's router as its pod would, on this machine: the container's command and args from the rendered
 * Deployment, its env with `valueFrom` resolved from the Secrets and ConfigMaps it names, and `router.json` from the
 * rendered ConfigMap written into a folder the way the kubelet writes a mounted ConfigMap volume. Only the listen
 * address (127.0.0.1) and port differ. Used by the end-to-end test and by `npm run demo`.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createInterface} from 'node:readline';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import type {V1ConfigMap, V1Deployment, V1EnvVar} from '@kubernetes/client-node';
import {writeConfigMapVolume} from './configmap-volume.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Runs kubectl with `args` and resolves with its stdout; rejects on a non-zero exit. */
export type Kubectl = (args: string[]) => Promise<string>;

/** A router process started as a pod of a Deployment would be. */
export interface LocalPod {
  url: string;
  process: ChildProcess;
  /** Log lines of the router so far (pino JSON, as text). */
  logs: string[];
  /** The folder the ConfigMap is written into, kubelet-style; `stop` removes it. */
  configFolder: string;
  /**
   * Copies the ConfigMap into the config folder, kubelet-style, when its router.json changed.
   * @returns true when it wrote a new version
   */
  syncConfig(): Promise<boolean>;
  /** Stops the router and removes its config folder. */
  stop(): Promise<void>;
}

async function getJson<T>(kubectl: Kubectl, namespace: string, resource: string, name: string): Promise<T> {
  return JSON.parse(await kubectl(['get', resource, name, '-n', namespace, '-o', 'json'])) as T;
}

/** The value of one container env var, with `valueFrom` Secret and ConfigMap keys looked up through kubectl. */
async function resolveEnv(kubectl: Kubectl, namespace: string, variable: V1EnvVar): Promise<string | undefined> {
  if (variable.value !== undefined) return variable.value;
  const secret = variable.valueFrom?.secretKeyRef;
  if (secret) {
    const data = (await getJson<{data?: Record<string, string>}>(kubectl, namespace, 'secret', secret.name as string))
      .data;
    const encoded = data?.[secret.key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  }
  const configMap = variable.valueFrom?.configMapKeyRef;
  if (configMap) {
    return (await getJson<V1ConfigMap>(kubectl, namespace, 'configmap', configMap.name as string)).data?.[
      configMap.key
    ];
  }
  return undefined;
}

/** Flags of a pod that a local process goes without, with their values: one process has no peers to forward to. */
const POD_ONLY_FLAGS = new Set(['--peers-service', '--advertise-address']);

/** The container's args with the mounted config file, listen address and port of this machine. */
export function localArgs(args: string[], mount: {from: string; to: string}, port: number): string[] {
  return args.flatMap((arg, i) => {
    const flag = args[i - 1];
    if (POD_ONLY_FLAGS.has(arg) || (flag !== undefined && POD_ONLY_FLAGS.has(flag))) return [];
    if (flag === '--config') return [arg.replace(mount.from, mount.to)];
    if (flag === '--host') return ['127.0.0.1'];
    if (flag === '--port') return [String(port)];
    return [arg];
  });
}

/**
 * Starts the router of Deployment `name` (ConfigMap `<name>-config`) in `namespace` as a local process; `onLine` is
 * called with each log line of the router (pino JSON, as text). Its config folder is removed when it fails to start.
 * @throws when the Deployment or ConfigMap does not exist, or the router does not become ready within 60 s
 */
export async function startLocalPod(options: {
  kubectl: Kubectl;
  namespace: string;
  name: string;
  port: number;
  onLine?: (line: string) => void;
}): Promise<LocalPod> {
  const {kubectl, namespace, name, port} = options;
  const deployment = await getJson<V1Deployment>(kubectl, namespace, 'deployment', name);
  const pod = deployment.spec?.template.spec;
  const container = pod?.containers[0];
  const mount = container?.volumeMounts?.find((m) => m.name === 'config');
  if (!container || !mount)
    throw new Error(`Deployment ${namespace}/${name} has no router container with a config mount`);

  const folder = await mkdtemp(join(tmpdir(), `${name}-config-`));
  let child: ChildProcess | undefined;
  try {
    let applied = '';
    const syncConfig = async () => {
      const configMap = await getJson<V1ConfigMap>(kubectl, namespace, 'configmap', `${name}-config`);
      const data = configMap.data ?? {};
      const text = JSON.stringify(data);
      if (text === applied) return false;
      await writeConfigMapVolume(folder, data);
      applied = text;
      return true;
    };
    await syncConfig();

    const env: NodeJS.ProcessEnv = {PATH: process.env.PATH};
    for (const variable of container.env ?? []) {
      const value = await resolveEnv(kubectl, namespace, variable);
      if (value !== undefined) env[variable.name] = value;
    }
    // The image's `kube-mcp-router` is this checkout's CLI, run from its sources.
    const [command, ...rest] = [...(container.command ?? []), ...(container.args ?? [])];
    if (command !== 'kube-mcp-router') throw new Error(`unexpected router command ${command}`);
    const args = localArgs(rest, {from: mount.mountPath, to: folder}, port);
    const router = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = router;
    const exited = new Promise<void>((resolve) => router.once('exit', () => resolve()));
    const logs: string[] = [];
    for (const stream of [router.stdout, router.stderr]) {
      if (!stream) continue;
      createInterface({input: stream, crlfDelay: Infinity}).on('line', (line) => {
        logs.push(line);
        options.onLine?.(line);
      });
    }
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (router.exitCode !== null) throw new Error(`the router exited with ${router.exitCode}:\n${logs.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`the router did not become ready:\n${logs.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return {
      url,
      process: router,
      logs,
      configFolder: folder,
      syncConfig,
      stop: async () => {
        if (router.exitCode === null && router.signalCode === null) router.kill('SIGTERM');
        await exited;
        await rm(folder, {recursive: true, force: true});
      },
    };
  } catch (error) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await rm(folder, {recursive: true, force: true});
    throw error;
  }
}
