/**
 * `npm run demo` where no node can run (scripts/demo.ts decides): the chain with the router as a local process. It
 * brings up the local control plane alone (or uses the one `npm run cluster:up` started), installs the CRDs, starts
 * the operator, applies `examples/k8s`, starts the router of the `demo` McpRouter exactly as its pod would (from the
 * rendered Deployment and ConfigMap), and prints where an agent connects. While it runs it copies ConfigMap changes
 * into the router's config folder, as the kubelet does, so edits to the McpUpstreams reach the running router, and
 * says whether the router applied or refused each new config (and why). Ctrl-C stops everything it started and
 * removes the router's config folder.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {execFile} from 'node:child_process';
import {mkdirSync, openSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {resolveControlPlaneBinaries} from '../test/cluster/binaries.js';
import {
  isControlPlaneHealthy,
  readControlPlaneState,
  startControlPlane,
  stopControlPlane,
  type ControlPlaneState,
} from '../test/cluster/control-plane.js';
import {clusterDir} from '../test/cluster/test-run.js';
import {installCrds} from './crds.js';
import {describeReload, log, waitFor} from './demo-support.js';
import {startLocalPod, type LocalPod} from './local-pod.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NAMESPACE = 'default';

async function controlPlane(): Promise<{state: ControlPlaneState; started: boolean}> {
  const existing = readControlPlaneState(clusterDir());
  if (existing && (await isControlPlaneHealthy(existing))) {
    log(`Using the control plane already running at ${existing.server}.`);
    return {state: existing, started: false};
  }
  log('Starting the local control plane (the first run builds Kubernetes from source: about 15 minutes)...');
  const binaries = await resolveControlPlaneBinaries({log});
  const state = await startControlPlane({stateDir: clusterDir(), binaries, preferredApiserverPort: 6443, log});
  return {state, started: true};
}

/** Runs the local fallback until Ctrl-C; the stdio upstreams' commands come from node_modules/.bin (npm run's PATH). */
export async function runLocalDemo(): Promise<void> {
  const started: {cluster?: boolean; operator?: ChildProcess; pod?: LocalPod; sync?: NodeJS.Timeout} = {};
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('Stopping...');
    clearInterval(started.sync);
    await started.pod?.stop();
    if (started.operator && started.operator.exitCode === null) {
      const exited = new Promise((resolve) => started.operator?.once('exit', resolve));
      started.operator.kill('SIGTERM');
      await exited;
    }
    if (started.cluster) await stopControlPlane(clusterDir(), {log});
    log('Stopped everything the demo started.');
    process.exit(code);
  };
  // Ctrl-C reaches every process of the terminal's group, and tsx relays it once more: a second signal must not kill
  // the demo half-way through stopping.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const {state, started: startedCluster} = await controlPlane();
    started.cluster = startedCluster;
    const env = {
      ...process.env,
      KUBECONFIG: state.kubeconfig,
      PATH: state.binDir ? `${state.binDir}:${process.env.PATH}` : process.env.PATH,
    };
    const kubectl = async (args: string[]) => (await promisify(execFile)('kubectl', args, {env, cwd: ROOT})).stdout;

    log('Installing the CRDs...');
    await installCrds(kubectl);

    const logs = join(ROOT, '.cache', 'demo');
    mkdirSync(logs, {recursive: true});
    const operatorLog = join(logs, 'operator.log');
    log(`Starting the operator (log: ${operatorLog})...`);
    const out = openSync(operatorLog, 'w');
    started.operator = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli.ts',
        'operator',
        '--kubeconfig',
        state.kubeconfig,
        '--namespace',
        NAMESPACE,
        '--health-probe-bind-address',
        '127.0.0.1:0',
        '--metrics-bind-address',
        '127.0.0.1:0',
      ],
      {cwd: ROOT, env, stdio: ['ignore', out, out]},
    );
    started.operator.once('exit', (code) => !stopping && log(`The operator exited (${code}); see ${operatorLog}.`));

    log('Applying examples/k8s ...');
    await kubectl(['apply', '-n', NAMESPACE, '-k', 'examples/k8s']);
    await waitFor('the demo router ConfigMap and Deployment', () =>
      kubectl(['get', 'configmap/demo-config', 'deployment/demo', '-n', NAMESPACE]).then(() => true),
    );

    log('Starting the demo router as its pod would...');
    started.pod = await startLocalPod({
      kubectl,
      namespace: NAMESPACE,
      name: 'demo',
      port: 8080,
      // Whether the router took a new config, and why not: otherwise a refused edit looks like one still on its way.
      onLine: (line) => {
        const said = describeReload(line);
        if (said !== undefined) log(said);
      },
    });
    started.sync = setInterval(() => {
      void started.pod?.syncConfig().then(
        (copied) =>
          copied && log("The operator rendered a new router.json; copied it into the router's config folder."),
        () => undefined,
      );
    }, 2000);

    process.stdout.write(`
The demo is running. Agents connect to:

  ${started.pod.url}/mcp      (Streamable HTTP)
  ${started.pod.url}/sse      (legacy HTTP+SSE)

Try (the Inspector needs Node.js 22.7.5 or newer; the README shows curl for Node.js 20):
  npx mcp-inspector --cli ${started.pod.url}/mcp --transport http --method tools/list
  curl -s ${started.pod.url}/readyz

Watch the resources (in another terminal):
  export KUBECONFIG=${state.kubeconfig}${state.binDir ? `\n  export PATH="${state.binDir}:$PATH"` : ''}
  kubectl get mcpr,mcpu -w

Edit an McpUpstream (kubectl edit mcpu everything) and the running router picks it up.
Upstreams behind cluster Services are unreachable from outside a cluster and show as down in /readyz.
Press Ctrl-C to stop everything the demo started.
`);
  } catch (error) {
    log(`Failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
}
