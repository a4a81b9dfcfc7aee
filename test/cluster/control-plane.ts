import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {request} from 'node:https';
import {createServer} from 'node:net';
import {basename, join, resolve} from 'node:path';

import {
  type ControlPlaneBinaries,
  ControlPlaneUnavailableError,
  type Log,
  defaultLog,
  isAlive,
  isFile,
  sleep,
} from './binaries.js';
import {type Pki, createNodePki, createPki, frontProxyClientName, serviceClusterIpRange} from './pki.js';

/** What a running control plane is, as recorded in `<stateDir>/state.json` once it is ready. */
export interface ControlPlaneState {
  stateDir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin kubeconfig (client certificate in system:masters). */
  kubeconfig: string;
  /** Folder with links to kubectl (and helm, once added) for this control plane, or '' when PATH's are used. */
  binDir: string;
  logsDir: string;
  /** Whether kube-controller-manager runs (it does unless KUBEBUILDER_ASSETS lacks it and it was never built). */
  controllerManager: boolean;
  processes: {name: ProgramName; pid: number}[];
  startedAt: string;
}

type ProgramName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';
const programNames: ProgramName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager'];

export interface StartOptions {
  /** Folder for everything the control plane writes: data, certificates, logs, kubeconfig, state.json. */
  stateDir: string;
  binaries: ControlPlaneBinaries;
  /** kube-apiserver's port when it is free; else, or when absent, a free port is taken. */
  preferredApiserverPort?: number;
  /**
   * For a cluster with a node: the node's name and the address (on the node's bridge) that kube-apiserver binds and
   * advertises instead of 127.0.0.1, so that pods reach it through the `kubernetes` Service. The node's certificates
   * are made too, and the API server reaches the kubelet by that address with a client certificate.
   */
  node?: {name: string; address: string};
  /** How long to wait for /readyz (ms). Default 180 s. */
  readyTimeoutMs?: number;
  log?: Log;
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager as detached processes on 127.0.0.1, each logging to
 * `<stateDir>/logs/<program>.log`, and returns once the API server's /readyz and the manager's /healthz answer `ok`.
 * The processes outlive the caller; {@link stopControlPlane} ends them. Anything left in `stateDir` is removed first.
 *
 * kube-apiserver runs with its default admission plugins (PodSecurity among them), RBAC and Node authorization, client
 * certificate auth, service-account tokens signed by a generated key, `--allow-privileged` (so that Pod Security
 * admission, not validation, is what refuses privileged Pods) and no endpoint reconciler (a loopback address may not be
 * an Endpoints address). kube-controller-manager runs its default controllers without leader election.
 *
 * @throws ControlPlaneUnavailableError when a program exits or readiness times out; everything started is stopped and
 *   the message ends with the tail of the failing program's log.
 */
export async function startControlPlane(options: StartOptions): Promise<ControlPlaneState> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      // The free ports are picked before the programs bind them: another process may take one in between.
      const portTaken = error instanceof ControlPlaneUnavailableError && /address already in use/.test(error.message);
      if (!portTaken || attempt === 3) throw error;
      (options.log ?? defaultLog)('A port was taken while starting; starting again on other ports.');
    }
  }
}

async function startOnce(options: StartOptions): Promise<ControlPlaneState> {
  const log = options.log ?? defaultLog;
  const stateDir = resolve(options.stateDir);
  const {binaries} = options;
  await stopControlPlane(stateDir, {log: () => {}});
  for (const entry of ['etcd', 'pki', 'logs', 'bin', 'kube-controller-manager', 'state.json', 'kubeconfig']) {
    rmSync(join(stateDir, entry), {recursive: true, force: true});
  }
  const logsDir = join(stateDir, 'logs');
  mkdirSync(logsDir, {recursive: true});
  const pki = await createPki(join(stateDir, 'pki'), {apiserverAddresses: options.node ? [options.node.address] : []});
  const nodePki = options.node ? await createNodePki(pki, options.node.name, options.node.address) : undefined;

  const [etcdPort, etcdPeerPort, managerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const apiserverPort = await freePort(options.preferredApiserverPort);
  const apiserverAddress = options.node?.address ?? '127.0.0.1';
  const server = `https://${apiserverAddress}:${apiserverPort}`;
  const kubeconfig = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki, pki.adminCert, pki.adminKey), {mode: 0o600});
  const managerKubeconfig = join(stateDir, 'pki', 'controller-manager.kubeconfig');
  writeFileSync(managerKubeconfig, kubeconfigYaml(server, pki, pki.controllerManagerCert, pki.controllerManagerKey));

  const binDir = join(stateDir, 'bin');
  mkdirSync(binDir);
  if (binaries.kubectl) symlinkSync(binaries.kubectl, join(binDir, 'kubectl'));

  const started: Started[] = [];
  const fail = async (cause: string, program?: Started): Promise<never> => {
    await stopProcesses(
      started.map(({name, child}) => ({name, pid: child.pid ?? 0})),
      stateDir,
    );
    const tail = program ? `\n--- last lines of ${program.logFile} ---\n${logTail(program.logFile)}` : '';
    throw new ControlPlaneUnavailableError(`${cause}${tail}`);
  };
  const timeoutMs = options.readyTimeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  log(`Starting etcd on ${etcdUrl}`);
  const etcd = launch('etcd', binaries.etcd, logsDir, [
    '--name=default',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${etcdPeerUrl}`,
    `--initial-advertise-peer-urls=${etcdPeerUrl}`,
    `--initial-cluster=default=${etcdPeerUrl}`,
    // Test data: losing it on a crash is fine, and skipping fsync makes writes fast on a busy disk.
    '--unsafe-no-fsync=true',
  ]);
  started.push(etcd);
  if (!(await waitFor(() => httpGet(`${etcdUrl}/health`).then((r) => r.status === 200), [etcd], deadline))) {
    return fail(`etcd did not become healthy at ${etcdUrl}/health`, exited([etcd]) ?? etcd);
  }

  log(`Starting kube-apiserver on ${server}`);
  const apiserver = launch('kube-apiserver', binaries.kubeApiserver, logsDir, [
    `--etcd-servers=${etcdUrl}`,
    `--bind-address=${apiserverAddress}`,
    `--advertise-address=${apiserverAddress}`,
    `--secure-port=${apiserverPort}`,
    `--cert-dir=${pki.dir}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // The aggregation layer's front proxy, as kubeadm sets it up (one CA for everything here): without it, every
    // component that delegates authentication keeps logging a missing request-header CA.
    `--requestheader-client-ca-file=${pki.caCert}`,
    `--requestheader-allowed-names=${frontProxyClientName}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${pki.frontProxyClientKey}`,
    '--allow-privileged=true',
    // A loopback address may not be an Endpoints address: without a node nothing needs the `kubernetes` Service's
    // endpoints; with one, they name the bridge address so that pods (the operator among them) reach the API server.
    `--endpoint-reconciler-type=${nodePki ? 'lease' : 'none'}`,
    ...(nodePki
      ? [
          `--kubelet-client-certificate=${nodePki.apiserverKubeletClientCert}`,
          `--kubelet-client-key=${nodePki.apiserverKubeletClientKey}`,
          `--kubelet-certificate-authority=${pki.caCert}`,
          // The node has no DNS name this machine resolves.
          '--kubelet-preferred-address-types=InternalIP',
        ]
      : []),
    '--profiling=false',
  ]);
  started.push(apiserver);

  const tls = {ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey)};
  const ready = await waitFor(
    () => httpGet(`${server}/readyz`, tls).then((r) => r.status === 200 && r.body === 'ok'),
    started,
    deadline,
  );
  if (!ready) {
    const dead = exited(started);
    return fail(
      dead
        ? `${dead.name} exited (code ${dead.child.exitCode})`
        : `kube-apiserver was not ready within ${timeoutMs / 1000}s`,
      dead ?? apiserver,
    );
  }
  // After /readyz: the manager needs the RBAC bootstrap policy that the API server creates on start.
  let manager: Started | undefined;
  if (binaries.kubeControllerManager) {
    log(`Starting kube-controller-manager (health on https://127.0.0.1:${managerPort})`);
    manager = launch('kube-controller-manager', binaries.kubeControllerManager, logsDir, [
      `--kubeconfig=${managerKubeconfig}`,
      `--authentication-kubeconfig=${managerKubeconfig}`,
      `--authorization-kubeconfig=${managerKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${managerPort}`,
      `--tls-cert-file=${pki.controllerManagerServingCert}`,
      `--tls-private-key-file=${pki.controllerManagerServingKey}`,
      `--cert-dir=${join(stateDir, 'kube-controller-manager')}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--controllers=*',
      '--profiling=false',
    ]);
    started.push(manager);
  } else {
    log(
      'kube-controller-manager is not available (KUBEBUILDER_ASSETS lacks it): Deployments will get no ReplicaSets ' +
        'and nothing will be garbage-collected.',
    );
  }

  if (manager) {
    const managerUrl = `https://127.0.0.1:${managerPort}/healthz`;
    const healthy = await waitFor(
      () => httpGet(managerUrl, {ca: tls.ca}).then((r) => r.status === 200),
      started,
      deadline,
    );
    if (!healthy) {
      const dead = exited(started);
      return fail(`kube-controller-manager did not become healthy at ${managerUrl}`, dead ?? manager);
    }
  }

  const state: ControlPlaneState = {
    stateDir,
    server,
    kubeconfig,
    binDir: binaries.kubectl ? binDir : '',
    logsDir,
    controllerManager: manager !== undefined,
    processes: started.map(({name, child}) => ({name, pid: child.pid ?? 0})),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  for (const {child} of started) child.unref();
  log(`Control plane ready at ${server} (logs in ${logsDir})`);
  return state;
}

/** The recorded state of the control plane in `stateDir`, or undefined when none was started there. */
export function readControlPlaneState(stateDir: string): ControlPlaneState | undefined {
  const file = join(resolve(stateDir), 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/**
 * Whether the control plane recorded in `state` still runs: every process alive and /readyz answering `ok`.
 */
export async function isControlPlaneHealthy(state: ControlPlaneState): Promise<boolean> {
  if (!state.processes.every(({name, pid}) => ownedProcess(pid, name, state.stateDir))) return false;
  const pki = join(state.stateDir, 'pki');
  const tls = {
    ca: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(join(pki, 'admin.crt')),
    key: readFileSync(join(pki, 'admin.key')),
  };
  const answer = await httpGet(`${state.server}/readyz`, tls).catch(() => undefined);
  return answer?.status === 200 && answer.body === 'ok';
}

/**
 * Stops the control plane of `stateDir`: the processes in its state.json and any other etcd, kube-apiserver or
 * kube-controller-manager whose command line names `stateDir` (left by a start that was killed half-way). Sends
 * SIGTERM, then SIGKILL after 15 s. Removes state.json; keeps the logs.
 *
 * @returns the programs that were stopped.
 */
export async function stopControlPlane(stateDir: string, options: {log?: Log} = {}): Promise<string[]> {
  const log = options.log ?? defaultLog;
  const dir = resolve(stateDir);
  const recorded = readControlPlaneState(dir)?.processes ?? [];
  const found = findProcesses(dir);
  const all = [...recorded, ...found.filter((f) => !recorded.some((r) => r.pid === f.pid))];
  const stopped = await stopProcesses(all, dir);
  rmSync(join(dir, 'state.json'), {force: true});
  for (const name of stopped) log(`Stopped ${name}`);
  return stopped;
}

async function stopProcesses(processes: {name: ProgramName; pid: number}[], stateDir: string): Promise<string[]> {
  // The manager and the API server first: they would log errors for a vanished etcd.
  const order = [...processes].sort((a, b) => programNames.indexOf(b.name) - programNames.indexOf(a.name));
  const stopped: string[] = [];
  for (const {name, pid} of order) {
    if (!ownedProcess(pid, name, stateDir)) continue;
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && !isZombie(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid) && !isZombie(pid)) signal(pid, 'SIGKILL');
    while (isAlive(pid) && !isZombie(pid)) await sleep(100);
    stopped.push(`${name} (pid ${pid})`);
  }
  return stopped;
}

/** Whether `pid` is still the program we started for `stateDir` (a pid can be reused once it exited). */
function ownedProcess(pid: number, name: ProgramName, stateDir: string): boolean {
  if (!pid || !isAlive(pid) || isZombie(pid)) return false;
  const args = commandLine(pid);
  if (!args) return false;
  return basename(args[0] ?? '') === name && args.some((arg) => arg.includes(stateDir + '/'));
}

/** etcd, kube-apiserver and kube-controller-manager processes whose arguments name `stateDir` (Linux /proc only). */
export function findProcesses(stateDir: string): {name: ProgramName; pid: number}[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  const found: {name: ProgramName; pid: number}[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const args = commandLine(pid);
    const name = basename(args?.[0] ?? '') as ProgramName;
    if (args && programNames.includes(name) && args.some((arg) => arg.includes(stateDir + '/'))) {
      found.push({name, pid});
    }
  }
  return found;
}

function commandLine(pid: number): string[] | undefined {
  if (existsSync('/proc/self/cmdline')) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return undefined;
    }
  }
  // Without /proc (macOS): ps joins the arguments with spaces, which is enough to recognise our own programs.
  const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], {encoding: 'utf8'});
  return ps.status === 0 ? ps.stdout.trim().split(/\s+/) : undefined;
}

/** Whether `pid` runs: alive and not a zombie (an exited process its parent has not reaped yet). */
export function isRunning(pid: number): boolean {
  return isAlive(pid) && !isZombie(pid);
}

/** An exited child of this process stays a zombie until reaped; it counts as stopped. */
function isZombie(pid: number): boolean {
  try {
    return /\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Sends `name` to the process group led by `pid` (programs are spawned detached), else to `pid` alone. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    // Each program leads its own process group (it was spawned detached).
    process.kill(-pid, name);
  } catch {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

interface Started {
  name: ProgramName;
  child: ChildProcess;
  logFile: string;
}

function launch(name: ProgramName, binary: string, logsDir: string, args: string[]): Started {
  const logFile = join(logsDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(binary, args, {detached: true, stdio: ['ignore', fd, fd]});
    child.on('error', () => {
      // Reported through exitCode/readiness; an unhandled 'error' would crash the caller.
    });
    return {name, child, logFile};
  } finally {
    closeSync(fd);
  }
}

function exited(started: Started[]): Started | undefined {
  return started.find(({child}) => child.exitCode !== null || child.signalCode !== null || child.pid === undefined);
}

/** Polls `check` every 250 ms until it is true, a started program exits, or the deadline passes. */
async function waitFor(check: () => Promise<boolean>, started: Started[], deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (exited(started)) return false;
    if (await check().catch(() => false)) return true;
    await sleep(250);
  }
  return false;
}

interface Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** GET over http or https with a 5 s timeout; resolves with the status and body, rejects on connection errors. */
export function httpGet(url: string, tls: Tls = {}): Promise<{status: number; body: string}> {
  return new Promise((done, reject) => {
    const get = url.startsWith('https:') ? request : httpRequest;
    const req = get(url, {method: 'GET', timeout: 5_000, ...tls}, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({status: res.statusCode ?? 0, body}));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A free TCP port on 127.0.0.1: `preferred` when it is free, else one the kernel picks. */
export async function freePort(preferred?: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((done, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => done(typeof address === 'object' && address ? address.port : port));
      });
    });
  if (preferred) {
    try {
      return await listen(preferred);
    } catch {
      // Taken: fall back to any free port.
    }
  }
  return listen(0);
}

export function kubeconfigYaml(server: string, pki: Pki, cert: string, key: string): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-mcp-router-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '- name: kube-mcp-router-local-admin',
    '  user:',
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    'contexts:',
    '- name: kube-mcp-router-local',
    '  context:',
    '    cluster: kube-mcp-router-local',
    '    user: kube-mcp-router-local-admin',
    '    namespace: default',
    'current-context: kube-mcp-router-local',
    '',
  ].join('\n');
}

function logTail(file: string, lines = 40): string {
  if (!isFile(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}
