/**
 * `npm run demo`: the whole product on this machine, for a person. Where a node can run (Linux, root, cgroups; see
 * `nodeUnavailableReason`), on the real one-node cluster: `npm run image` when the image is missing, `npm run
 * cluster:up` when no cluster runs, `helm install` of the chart with the local image (unless an operator of the chart
 * already runs), `kubectl apply -k examples/local-node` into the namespace `kube-mcp-router-demo`; it waits for the
 * `demo` McpRouter to be Ready and prints the URL of its Service, which this machine reaches on its ClusterIP. Ctrl-C
 * undoes what it started (scripts/demo-plan.ts). Elsewhere it says why in a banner and runs the router as a local
 * process instead (scripts/demo-local.ts).
 *
 * Environment: `KUBE_MCP_ROUTER_NODE=0` asks for the local fallback; `KUBE_MCP_ROUTER_CLUSTER_DIR` as for cluster:up.
 */
import {execFile, spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';

import {ensureComponent} from '../test/cluster/binaries.js';
import {imagesDir, projectArchive, projectImage} from '../test/cluster/images.js';
import {isNodeClusterHealthy, nodeUnavailableReason, readNodeClusterState} from '../test/cluster/node.js';
import {clusterDir} from '../test/cluster/test-run.js';
import {runLocalDemo} from './demo-local.js';
import {type DemoPlan, planDemo} from './demo-plan.js';
import {log, waitFor} from './demo-support.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NAMESPACE = 'kube-mcp-router-demo';
const RELEASE = 'kube-mcp-router';
const [IMAGE_REPOSITORY, IMAGE_TAG] = projectImage.split(':') as [string, string];

/** Runs `npm run -s <script>` with its progress on our stderr; rejects on a non-zero exit. */
function npmRun(script: string): Promise<void> {
  return new Promise((done, reject) => {
    const child = spawn('npm', ['run', '-s', script], {cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']});
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? done() : reject(new Error(`npm run ${script} failed (${code})`))));
  });
}

function banner(text: string): void {
  const rule = '!'.repeat(100);
  process.stderr.write(`\n${rule}\n${text}\n${rule}\n\n`);
}

/** Commands against the one-node cluster of `dir`, with the pinned kubectl and helm. */
async function clusterTools(dir: string) {
  const state = readNodeClusterState(dir);
  if (!state) throw new Error(`no one-node cluster in ${dir}`);
  const helmDir = await ensureComponent('helm', {log});
  const env = {...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.binDir}:${helmDir}:${process.env.PATH}`};
  const run = async (program: string, args: string[]) =>
    (await promisify(execFile)(program, args, {env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024})).stdout;
  return {
    state,
    kubectl: (args: string[]) => run(join(state.binDir, 'kubectl'), args),
    helm: (args: string[]) => run(join(helmDir, 'helm'), args),
  };
}

/** Whether a helm release of this chart runs in any namespace. */
async function operatorInstalled(helm: (args: string[]) => Promise<string>): Promise<boolean> {
  const releases = JSON.parse(await helm(['list', '--all-namespaces', '--output', 'json'])) as {chart: string}[];
  return releases.some((release) => /^kube-mcp-router-\d/.test(release.chart));
}

async function runOnNode(plan: Extract<DemoPlan, {on: 'node'}>): Promise<void> {
  const dir = clusterDir();
  let tools: Awaited<ReturnType<typeof clusterTools>> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('Stopping...');
    for (const step of plan.undo) {
      log(`... ${step}`);
      const undone =
        step === 'cluster:down'
          ? npmRun('cluster:down')
          : step === 'uninstall the chart'
            ? tools?.helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '120s'])
            : tools?.kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--timeout=120s']);
      await Promise.resolve(undone).catch((error: unknown) => log(`Could not ${step}: ${String(error)}`));
    }
    log('Stopped everything the demo started.');
    process.exit(code);
  };
  // Ctrl-C reaches every process of the terminal's group, and tsx relays it once more: a second signal must not stop
  // the demo half-way through undoing.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    if (plan.buildImage) {
      log(`Building ${projectImage} (npm run image)...`);
      await npmRun('image');
    }
    if (plan.startCluster) {
      log('Starting the one-node cluster (npm run cluster:up; the first run builds it from source)...');
      await npmRun('cluster:up');
    }
    tools = await clusterTools(dir);
    const {kubectl, helm, state} = tools;
    await kubectl(['create', 'namespace', NAMESPACE]).catch(() => undefined); // left over from a killed demo: reused
    if (plan.installChart) {
      log(`Installing the chart with ${projectImage} (helm install ${RELEASE} -n ${NAMESPACE})...`);
      await helm([
        'install',
        RELEASE,
        join(ROOT, 'charts', 'kube-mcp-router'),
        '-n',
        NAMESPACE,
        '--set',
        `image.repository=${IMAGE_REPOSITORY}`,
        '--set',
        `image.tag=${IMAGE_TAG}`,
        '--set',
        'image.pullPolicy=Never',
        '--wait',
        '--timeout',
        '180s',
      ]);
    } else {
      log('Using the operator already installed by helm.');
    }
    log('Applying the examples (kubectl apply -k examples/local-node)...');
    await kubectl(['apply', '-n', NAMESPACE, '-k', join(ROOT, 'examples', 'local-node')]);
    log('Waiting for the demo router to be Ready...');
    await kubectl(['wait', 'mcprouter/demo', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=180s']);
    const clusterIP = await kubectl(['get', 'service', 'demo', '-n', NAMESPACE, '-o', 'jsonpath={.spec.clusterIP}']);
    const url = `http://${clusterIP}`;
    // kube-proxy programs the Service a moment after the pod turns Ready.
    await waitFor('the Service to answer', async () => (await fetch(`${url}/readyz`)).ok, 60_000);

    process.stdout.write(`
The demo is running on the one-node cluster. Agents on this machine connect to the router's Service:

  ${url}/mcp              (Streamable HTTP, every upstream)
  ${url}/mcp/everything   (one upstream, names unchanged)
  ${url}/sse              (legacy HTTP+SSE)

Inside the cluster: http://demo.${NAMESPACE}.svc.cluster.local/mcp

Try (the Inspector needs Node.js 22.7.5 or newer; the README shows curl for Node.js 20):
  npx mcp-inspector --cli ${url}/mcp --transport http --method tools/list
  curl -s ${url}/readyz

Watch the resources (in another terminal):
  export KUBECONFIG=${state.kubeconfig}
  export PATH="${state.binDir}:$PATH"
  kubectl get mcpr,mcpu,pods -n ${NAMESPACE}

Edit an McpUpstream (kubectl edit mcpu everything -n ${NAMESPACE}) and the running router picks it up.
Press Ctrl-C to stop what the demo started (${plan.undo.join(', ')}).
`);
    setInterval(() => undefined, 1 << 30); // keeps running until Ctrl-C
  } catch (error) {
    log(`Failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
}

async function main(): Promise<void> {
  const dir = clusterDir();
  const noNode = process.env.KUBE_MCP_ROUTER_NODE === '0' ? 'KUBE_MCP_ROUTER_NODE=0 is set' : nodeUnavailableReason();
  const clusterRunning = noNode === undefined && (await isNodeClusterHealthy(dir));
  const plan = planDemo({
    noNode,
    clusterRunning,
    imageBuilt: existsSync(join(imagesDir(), projectArchive)),
    operatorInstalled: clusterRunning && (await operatorInstalled((await clusterTools(dir)).helm)),
  });
  if (plan.on === 'local') {
    banner(
      `NO NODE: ${plan.reason}.\n` +
        'The demo runs the router as a local process beside the control plane alone, not as a pod: the examples\n' +
        'run, but nothing of the kubelet (probes, Services, rollouts) does. On Linux as root it uses a real node.',
    );
    await runLocalDemo();
    return;
  }
  await runOnNode(plan);
}

main().catch((error: unknown) => {
  log(`Failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
