import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {createNamespace, kubectl} from '../support/cluster.js';
import {hasNode, projectImage, useNodeCluster} from '../support/node.js';
import {readNodeClusterState} from './node.js';
import {repoRoot} from './test-run.js';

/** A pod spec's container that runs a Node.js one-liner from the project's image, as the restricted profile allows. */
function nodeContainer(name: string, script: string) {
  return {
    name,
    image: projectImage,
    imagePullPolicy: 'Never',
    command: ['node', '-e', script],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    },
  };
}

const server = `require('node:http').createServer((req, res) => res.end('hello from ' + process.env.HOSTNAME)).listen(8080)`;

const client = (host: string) => `
const dns = require('node:dns/promises');
const https = require('node:https');
const fs = require('node:fs');
(async () => {
  const {address} = await dns.lookup('${host}');
  console.log('resolved ${host} to ' + address);
  // kube-proxy programs a new Service a moment after its pod turns Ready: try again until it answers.
  for (let attempt = 1; ; attempt++) {
    try {
      console.log('service answered: ' + await (await fetch('http://${host}/', {signal: AbortSignal.timeout(2000)})).text());
      break;
    } catch (error) {
      if (attempt === 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  const ca = fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
  const version = await new Promise((resolve, reject) =>
    https.get('https://kubernetes.default.svc/version', {ca}, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body).gitVersion));
    }).on('error', reject));
  console.log('API server version: ' + version);
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** Runs one of the npm scripts' files (test/cluster/up.ts, down.ts) with `env` added. */
function runScript(file: string, env: NodeJS.ProcessEnv): Promise<{code: number; stderr: string}> {
  return new Promise((done) => {
    const child = spawn(join(repoRoot, 'node_modules', '.bin', 'tsx'), [file], {
      cwd: repoRoot,
      env: {...process.env, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => done({code: code ?? 1, stderr}));
  });
}

describe('the one-node cluster', () => {
  const cluster = useNodeCluster();
  let namespace: string;

  beforeAll(async () => {
    if (!hasNode(cluster)) return; // useNodeCluster() reports and skips.
    namespace = await createNamespace(cluster(), 'node', {'pod-security.kubernetes.io/enforce': 'restricted'});
  });
  afterAll(async () => {
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  });

  it('runs a pod from a local image that resolves a Service by name, reaches it and the API server', async () => {
    const objects = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {name: 'hello', labels: {app: 'hello'}},
          spec: {containers: [{...nodeContainer('hello', server), ports: [{containerPort: 8080}]}]},
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {name: 'hello'},
          spec: {selector: {app: 'hello'}, ports: [{port: 80, targetPort: 8080}]},
        },
      ],
    };
    const applied = await kubectl(cluster(), ['apply', '-n', namespace, '-f', '-'], JSON.stringify(objects));
    expect(applied.code, applied.stderr).toBe(0);
    const ready = await kubectl(cluster(), [
      'wait',
      '-n',
      namespace,
      '--for=condition=Ready',
      'pod/hello',
      '--timeout=120s',
    ]);
    expect(ready.code, ready.stderr).toBe(0);

    const host = `hello.${namespace}.svc.${cluster().clusterDomain}`;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name: 'client'},
      spec: {restartPolicy: 'Never', containers: [nodeContainer('client', client(host))]},
    };
    expect((await kubectl(cluster(), ['apply', '-n', namespace, '-f', '-'], JSON.stringify(pod))).code).toBe(0);
    const done = await kubectl(cluster(), [
      'wait',
      '-n',
      namespace,
      '--for=jsonpath={.status.phase}=Succeeded',
      'pod/client',
      '--timeout=120s',
    ]);
    const logs = await kubectl(cluster(), ['logs', '-n', namespace, 'client']);
    expect(done.code, `${done.stderr}\n${logs.stdout}${logs.stderr}`).toBe(0);

    const clusterIp = (
      await kubectl(cluster(), ['get', 'service', 'hello', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
    ).stdout;
    expect(logs.stdout).toContain(`resolved ${host} to ${clusterIp}`);
    expect(logs.stdout).toContain('service answered: hello from hello');
    expect(logs.stdout).toMatch(/API server version: v1\.\d+\.\d+/);
  });

  it('answers from a Service from the host, through its ClusterIP', async () => {
    const clusterIp = (
      await kubectl(cluster(), ['get', 'service', 'hello', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
    ).stdout;
    const answer = await fetch(`http://${clusterIp}/`);
    expect(await answer.text()).toBe('hello from hello');
  });

  it("still takes images when `npm run cluster:down` stops a folder without a node (it once removed the running node's containerd socket)", async () => {
    const other = mkdtempSync(join(tmpdir(), 'kube-mcp-router-no-node-'));
    try {
      const down = await runScript('test/cluster/down.ts', {KUBE_MCP_ROUTER_CLUSTER_DIR: other});
      expect(down.code, down.stderr).toBe(0);
    } finally {
      rmSync(other, {recursive: true, force: true});
    }
    // What `npm run image` does to load images into the running node: a new connection to its containerd.
    const {ctr, containerdAddress} = cluster().node;
    const version = spawnSync(ctr, ['--address', containerdAddress, 'version'], {encoding: 'utf8'});
    expect(version.status, version.stderr).toBe(0);
  });

  it('is left as it is by a second `npm run cluster:up` on its folder', async () => {
    const dir = join(cluster().kubeconfig, '..');
    const before = readNodeClusterState(dir);
    const up = await runScript('test/cluster/up.ts', {KUBE_MCP_ROUTER_CLUSTER_DIR: dir});
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('already running');
    expect(readNodeClusterState(dir)?.node.processes).toEqual(before?.node.processes);
  });
});
