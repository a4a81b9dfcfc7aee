import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest';

import {resolveControlPlaneBinaries} from './binaries.js';
import {findProcesses, isRunning, readControlPlaneState, stopControlPlane} from './control-plane.js';
import {repoRoot} from './test-run.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done, reject) => {
    const child = spawn(program, args, {cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => done({code: code ?? 1, stdout, stderr}));
  });
}

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

// The scripts a developer runs, in a folder of their own so that a developer's own `npm run cluster:up` is left alone.
describe('npm run cluster:up / cluster:down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-mcp-router-cluster-'));
  // The control plane alone: the machine's one node belongs to the node suites (test/cluster/node.test.ts).
  const env = {...process.env, KUBE_MCP_ROUTER_CLUSTER_DIR: dir, KUBE_MCP_ROUTER_NODE: '0'};
  let unavailable: string | undefined;

  beforeAll(async () => {
    try {
      // Only with binaries already there: building them is cluster:build's job (and the other suite's).
      await resolveControlPlaneBinaries({build: false});
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      unavailable = error instanceof Error ? error.message : String(error);
      console.warn(`SKIPPED: the control plane's binaries are not built: ${unavailable}`);
    }
  });
  beforeEach((context) => {
    if (unavailable) context.skip(`binaries not built: ${unavailable.split('\n')[0]}`);
  });
  afterAll(async () => {
    await stopControlPlane(dir, {log: () => {}});
    rmSync(dir, {recursive: true, force: true});
  });

  it('starts a control plane that answers /readyz, is left alone by a second up, and is fully stopped by down', async () => {
    const up = await run(tsx, ['test/cluster/up.ts'], env);
    expect(up.code, up.stderr).toBe(0);
    const kubeconfig = join(dir, 'kubeconfig');
    expect(up.stdout).toContain(`export KUBECONFIG=${kubeconfig}\n`);
    const binDir = join(dir, 'bin');
    expect(up.stdout).toContain(`export PATH="${binDir}:$PATH"\n`);

    const readyz = await run(join(binDir, 'kubectl'), ['get', '--raw', '/readyz'], {...env, KUBECONFIG: kubeconfig});
    expect(readyz).toEqual({code: 0, stdout: 'ok', stderr: ''});
    const first = readControlPlaneState(dir);
    expect(first?.processes.map(({name}) => name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager']);

    const again = await run(tsx, ['test/cluster/up.ts'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already running');
    expect(again.stdout).toBe(up.stdout);
    expect(readControlPlaneState(dir)?.processes).toEqual(first?.processes);

    const down = await run(tsx, ['test/cluster/down.ts'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('The control plane is stopped.');
    expect(first?.processes.filter(({pid}) => isRunning(pid))).toEqual([]);
    expect(findProcesses(dir)).toEqual([]);

    const downAgain = await run(tsx, ['test/cluster/down.ts'], env);
    expect(downAgain.stderr).toContain('No control plane was running.');
  }, 300_000);
});
