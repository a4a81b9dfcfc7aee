/**
 * A one-node Kubernetes cluster on this machine: the local control plane (test/cluster/control-plane.ts), with
 * kube-apiserver bound to the node's bridge address, plus containerd with runc, a CNI bridge, kubelet, kube-proxy
 * (nftables), kube-scheduler and CoreDNS, all built from pinned Go modules (test/cluster/binaries.ts). See
 * docs/cluster.md.
 *
 * One node per machine: kubelets on one host delete each other's pod cgroups and kube-proxy's nftables table has a
 * fixed name. A lock folder in /run/kube-mcp-router names the owner; a node whose owner has died is stopped, and its
 * changes to the machine undone, before another starts.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {Resolver} from 'node:dns/promises';
import {basename, join, resolve} from 'node:path';

import {
  ControlPlaneUnavailableError,
  type Log,
  defaultLog,
  ensureComponent,
  isAlive,
  readPid,
  resolveControlPlaneBinaries,
  sleep,
} from './binaries.js';
import {
  type ControlPlaneState,
  freePort,
  isControlPlaneHealthy,
  isRunning,
  kubeconfigYaml,
  readControlPlaneState,
  signal,
  startControlPlane,
  stopControlPlane,
} from './control-plane.js';
import {readHostRecord, recordHost, undoHost, writeHostRecord} from './host-changes.js';
import {ensurePauseImage, imageArchives, importImages, pauseImage} from './images.js';
import {coreDnsUser, nodePkiPaths, serviceClusterIpRange} from './pki.js';

/** The node's name, its bridge, the pod subnet on it and the bridge's address (gateway, API server, DNS, kubelet). */
export const nodeNetwork = {
  nodeName: 'kube-mcp-router-node',
  bridge: 'kmr0',
  podCidr: '10.244.0.0/24',
  address: '10.244.0.1',
  serviceCidr: serviceClusterIpRange,
  clusterDomain: 'cluster.local',
} as const;

/** The machine-wide folder of the node: its lock and containerd's sockets and runtime state (a tmpfs). */
export const machineDir = '/run/kube-mcp-router';
const lockDir = join(machineDir, 'node.lock');

type NodeProgram = 'containerd' | 'kubelet' | 'kube-scheduler' | 'kube-proxy' | 'coredns';
const nodePrograms: NodeProgram[] = ['containerd', 'kubelet', 'kube-scheduler', 'kube-proxy', 'coredns'];

/** A running one-node cluster, as recorded in `<stateDir>/node.json` once the node is Ready. */
export interface NodeClusterState extends ControlPlaneState {
  node: {
    name: string;
    address: string;
    processes: {name: NodeProgram; pid: number}[];
    /** containerd's socket, for `ctr --address` (image imports). */
    containerdAddress: string;
    ctr: string;
  };
}

/**
 * Why this machine cannot run the node, or undefined when it can: it needs Linux, root, cgroups, and the `ip`,
 * `nft` and `iptables` commands (Debian: iproute2, nftables, iptables).
 */
export function nodeUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `a node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a node needs root (kubelet, containerd and the CNI bridge change the machine)';
  if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return 'a node needs cgroups (no memory controller under /sys/fs/cgroup)';
  }
  const missing = ['ip', 'nft', 'iptables', 'gcc'].filter(
    (program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0,
  );
  if (missing.length > 0) {
    return `a node needs the commands ${missing.join(', ')} (Debian: apt-get install iproute2 nftables iptables gcc)`;
  }
  return undefined;
}

/** Who holds the machine's node, as written in the lock. */
interface LockOwner {
  pid: number;
  stateDir: string;
  /** `cluster:up` (a node that runs until `cluster:down`) or `test run` (one that ends with its run). */
  kind: string;
}

function readLockOwner(): LockOwner | undefined {
  const pid = readPid(join(lockDir, 'pid'));
  if (pid === undefined) return undefined;
  const read = (file: string) => {
    try {
      return readFileSync(join(lockDir, file), 'utf8').trim();
    } catch {
      return '';
    }
  };
  return {pid, stateDir: read('state-dir'), kind: read('kind')};
}

/**
 * Takes the machine's node lock for `owner` (a process whose life bounds the node's: the vitest main process, or
 * `npm run cluster:up`'s kubelet once started). A lock whose owner died is taken over after stopping that node.
 * Waits up to `waitMs` while a live owner holds it.
 *
 * @throws ControlPlaneUnavailableError naming the holder when the wait runs out.
 */
async function acquireNodeLock(owner: LockOwner, waitMs: number, log: Log): Promise<void> {
  mkdirSync(machineDir, {recursive: true});
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'state-dir'), owner.stateDir);
      writeFileSync(join(lockDir, 'kind'), owner.kind);
      writeFileSync(join(lockDir, 'pid'), String(owner.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLockOwner();
    if (holder && holder.stateDir === owner.stateDir) {
      writeFileSync(join(lockDir, 'pid'), String(owner.pid));
      return;
    }
    if (holder && !isAlive(holder.pid)) {
      log(`The node of ${holder.stateDir} was left running by process ${holder.pid}, which is gone: stopping it.`);
      await stopNodeCluster(holder.stateDir, {log});
      rmSync(lockDir, {recursive: true, force: true});
      continue;
    }
    if (!holder) {
      await sleep(1_000);
      if (!readLockOwner()) rmSync(lockDir, {recursive: true, force: true});
      continue;
    }
    // A cluster:up node runs until someone stops it: waiting for it would only waste the wait.
    if (Date.now() > deadline || holder.kind === 'cluster:up') {
      throw new ControlPlaneUnavailableError(
        `This machine's one node is in use by process ${holder.pid} (state in ${holder.stateDir}); only one kubelet ` +
          `may run per machine. ${holder.kind === 'cluster:up' ? 'It was started by `npm run cluster:up`: stop it with `npm run cluster:down` in that checkout' : 'Wait for that test run to end'}.`,
      );
    }
    if (!announced) {
      log(`Waiting for the machine's node, held by process ${holder.pid} (${holder.stateDir}) ...`);
      announced = true;
    }
    await sleep(2_000);
  }
}

function releaseNodeLock(stateDir: string): void {
  if (readLockOwner()?.stateDir === resolve(stateDir)) rmSync(lockDir, {recursive: true, force: true});
}

export interface StartNodeClusterOptions {
  stateDir: string;
  /** The process whose exit frees the node for others (default: the kubelet started here). */
  ownerPid?: number;
  preferredApiserverPort?: number;
  /** How long to wait for another owner's node (ms). Default 0. */
  lockWaitMs?: number;
  log?: Log;
}

/**
 * Starts the control plane and the node in `stateDir` (anything there is stopped and removed first), and returns once
 * the node is Ready and CoreDNS answers. Builds missing programs and the pause image first, records the machine's
 * state in `<stateDir>/host.json`, and imports every archive of the image cache into containerd.
 *
 * @throws ControlPlaneUnavailableError when the machine cannot run a node, a program fails, or the node is not Ready
 *   in time; whatever started is stopped and the machine restored.
 */
export async function startNodeCluster(options: StartNodeClusterOptions): Promise<NodeClusterState> {
  const log = options.log ?? defaultLog;
  const stateDir = resolve(options.stateDir);
  const reason = nodeUnavailableReason();
  if (reason) throw new ControlPlaneUnavailableError(`Cannot run a node on this machine: ${reason}.`);
  const started = Date.now();
  const binaries = await resolveControlPlaneBinaries({log});
  const dirs: Record<string, string> = {};
  for (const component of ['kubernetes-node', 'containerd', 'runc', 'cni-plugins', 'coredns'] as const) {
    dirs[component] = await ensureComponent(component, {log});
  }
  await ensurePauseImage(log);

  await acquireNodeLock(
    {pid: options.ownerPid ?? process.pid, stateDir, kind: options.ownerPid === undefined ? 'cluster:up' : 'test run'},
    options.lockWaitMs ?? 0,
    log,
  );
  try {
    await stopNodeCluster(stateDir, {log: () => {}, keepLock: true});
    rmSync(join(stateDir, 'node'), {recursive: true, force: true});
    mkdirSync(join(stateDir, 'node'), {recursive: true});
    const record = recordHost(nodeNetwork.bridge);
    writeHostRecord(join(stateDir, 'host.json'), record);
    log(`Recorded the machine's state in ${join(stateDir, 'host.json')}; \`npm run cluster:down\` restores it.`);
    createBridge();

    const plane = await startControlPlane({
      stateDir,
      binaries,
      preferredApiserverPort: options.preferredApiserverPort,
      node: {name: nodeNetwork.nodeName, address: nodeNetwork.address},
      log,
    });
    const node = await startNode(plane, dirs, log);
    const state: NodeClusterState = {...plane, node};
    writeFileSync(join(stateDir, 'node.json'), JSON.stringify(state, null, 2) + '\n');
    if (options.ownerPid === undefined) {
      const kubelet = node.processes.find(({name}) => name === 'kubelet');
      if (kubelet) writeFileSync(join(lockDir, 'pid'), String(kubelet.pid));
    }
    log(`The node ${nodeNetwork.nodeName} is Ready; cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
    return state;
  } catch (error) {
    await stopNodeCluster(stateDir, {log});
    throw error;
  }
}

/** Creates the bridge with its address, and routes the Service range to it so that no Service IP leaves the machine. */
function createBridge(): void {
  const {bridge, address, podCidr, serviceCidr} = nodeNetwork;
  const prefix = podCidr.split('/')[1];
  const ip = (...args: string[]) => {
    const result = spawnSync('ip', args, {encoding: 'utf8'});
    if (result.status !== 0) {
      throw new ControlPlaneUnavailableError(`\`ip ${args.join(' ')}\` failed: ${result.stderr.trim()}`);
    }
  };
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${address}/${prefix}`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  ip('route', 'add', serviceCidr, 'dev', bridge, 'src', address);
  // The node forwards between its pods only: Service traffic is DNATed from the bridge back onto it. Nothing from a
  // pod is forwarded off the machine, and nothing from elsewhere to the pods.
  const rules = [
    'table inet kube-mcp-router-node {',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname "${bridge}" oifname "${bridge}" accept`,
    `    iifname "${bridge}" drop`,
    `    oifname "${bridge}" drop`,
    '  }',
    '}',
  ].join('\n');
  const nft = spawnSync('nft', ['-f', '-'], {input: rules, encoding: 'utf8'});
  if (nft.status !== 0) throw new ControlPlaneUnavailableError(`nft failed: ${nft.stderr}`);
}

async function startNode(
  plane: ControlPlaneState,
  dirs: Record<string, string>,
  log: Log,
): Promise<NodeClusterState['node']> {
  const stateDir = plane.stateDir;
  const nodeDir = join(stateDir, 'node');
  const logsDir = plane.logsDir;
  const pkiDir = join(stateDir, 'pki');
  const pki = nodePkiPaths(pkiDir);
  const caCert = join(pkiDir, 'ca.crt');
  const processes: {name: NodeProgram; pid: number; child: ChildProcess}[] = [];
  const launchNode = (name: NodeProgram, binary: string, args: string[], env?: NodeJS.ProcessEnv) => {
    const logFile = join(logsDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(binary, args, {detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env});
      child.on('error', () => {});
      processes.push({name, pid: child.pid ?? 0, child});
      return child;
    } finally {
      closeSync(fd);
    }
  };
  const kubeconfig = (name: string, cert: string, key: string) => {
    const file = join(pkiDir, `${name}.kubeconfig`);
    const pkiForConfig = {caCert} as Parameters<typeof kubeconfigYaml>[1];
    writeFileSync(file, kubeconfigYaml(plane.server, pkiForConfig, cert, key), {mode: 0o600});
    return file;
  };
  const fail = async (message: string, name?: NodeProgram): Promise<never> => {
    const tail = name
      ? `\n--- last lines of ${join(logsDir, `${name}.log`)} ---\n${logTail(join(logsDir, `${name}.log`))}`
      : '';
    throw new ControlPlaneUnavailableError(`${message}${tail}`);
  };
  const waitUntil = async (what: NodeProgram, check: () => Promise<boolean> | boolean, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = processes.find(({child}) => child.exitCode !== null || child.signalCode !== null);
      if (dead) return fail(`${dead.name} exited (code ${dead.child.exitCode})`, dead.name);
      if (await Promise.resolve(check()).catch(() => false)) return;
      if (Date.now() > deadline) return fail(`${what} was not ready within ${timeoutMs / 1000}s`, what);
      await sleep(250);
    }
  };

  // containerd, with its sockets and runtime state on the machine's tmpfs (short paths) and its images in the node's
  // folder.
  const containerdRun = join(machineDir, 'containerd');
  rmSync(containerdRun, {recursive: true, force: true});
  mkdirSync(containerdRun, {recursive: true});
  const containerdAddress = join(containerdRun, 'containerd.sock');
  const cniBin = join(nodeDir, 'cni', 'bin');
  const cniConf = join(nodeDir, 'cni', 'net.d');
  mkdirSync(cniBin, {recursive: true});
  mkdirSync(cniConf, {recursive: true});
  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
    spawnSync('ln', ['-sf', join(dirs['cni-plugins'] ?? '', plugin), join(cniBin, plugin)]);
  }
  writeFileSync(
    join(cniConf, '10-kube-mcp-router.conflist'),
    JSON.stringify(cniConfig(join(nodeDir, 'cni', 'ipam')), null, 2),
  );
  const containerdConfig = join(nodeDir, 'containerd.toml');
  writeFileSync(
    containerdConfig,
    containerdToml({
      root: join(nodeDir, 'containerd'),
      state: join(containerdRun, 'state'),
      address: containerdAddress,
      runc: join(dirs.runc ?? '', 'runc'),
      runcRoot: join(containerdRun, 'runc'),
      cniBin,
      cniConf,
    }),
  );
  const containerdDir = dirs.containerd ?? '';
  const path = `${containerdDir}:${dirs.runc}:${process.env.PATH ?? ''}`;
  log(`Starting containerd (${containerdAddress})`);
  launchNode('containerd', join(containerdDir, 'containerd'), ['--config', containerdConfig], {
    ...process.env,
    PATH: path,
  });
  const ctr = join(containerdDir, 'ctr');
  await waitUntil('containerd', () => spawnSync(ctr, ['--address', containerdAddress, 'version']).status === 0, 60_000);
  importImages(ctr, containerdAddress, imageArchives(), log);

  // kubelet
  const kubeletDir = join(nodeDir, 'kubelet');
  mkdirSync(kubeletDir, {recursive: true});
  const resolvConf = join(nodeDir, 'resolv.conf');
  // Pods get the cluster DNS only: no name server of the machine's (dnsPolicy Default gets none at all).
  writeFileSync(resolvConf, '');
  const kubeletHealthPort = await freePort();
  const kubeletConfig = join(nodeDir, 'kubelet.yaml');
  writeFileSync(
    kubeletConfig,
    JSON.stringify(
      kubeletConfiguration({
        caCert,
        servingCert: pki.kubeletServingCert,
        servingKey: pki.kubeletServingKey,
        healthPort: kubeletHealthPort,
        resolvConf,
        podLogsDir: join(nodeDir, 'pod-logs'),
        volumePluginDir: join(nodeDir, 'volume-plugins'),
        containerdAddress,
      }),
      null,
      2,
    ),
  );
  log('Starting kubelet');
  launchNode('kubelet', join(dirs['kubernetes-node'] ?? '', 'kubelet'), [
    `--config=${kubeletConfig}`,
    `--kubeconfig=${kubeconfig('kubelet', pki.kubeletCert, pki.kubeletKey)}`,
    `--root-dir=${kubeletDir}`,
    `--cert-dir=${join(kubeletDir, 'pki')}`,
    `--hostname-override=${nodeNetwork.nodeName}`,
    `--node-ip=${nodeNetwork.address}`,
    '--v=1',
  ]);

  // kube-scheduler
  const schedulerConfig = kubeconfig('scheduler', pki.schedulerCert, pki.schedulerKey);
  log('Starting kube-scheduler');
  launchNode('kube-scheduler', join(dirs['kubernetes-node'] ?? '', 'kube-scheduler'), [
    `--kubeconfig=${schedulerConfig}`,
    `--authentication-kubeconfig=${schedulerConfig}`,
    `--authorization-kubeconfig=${schedulerConfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${await freePort()}`,
    `--cert-dir=${join(nodeDir, 'kube-scheduler')}`,
    '--leader-elect=false',
    '--profiling=false',
  ]);

  // kube-proxy
  const proxyConfig = join(nodeDir, 'kube-proxy.yaml');
  writeFileSync(
    proxyConfig,
    JSON.stringify(
      kubeProxyConfiguration({
        kubeconfig: kubeconfig('kube-proxy', pki.proxyCert, pki.proxyKey),
        healthPort: await freePort(),
        metricsPort: await freePort(),
      }),
      null,
      2,
    ),
  );
  log('Starting kube-proxy (nftables)');
  launchNode('kube-proxy', join(dirs['kubernetes-node'] ?? '', 'kube-proxy'), [`--config=${proxyConfig}`, '--v=1']);

  // CoreDNS on the bridge address, reading Services through its own user.
  await applyCoreDnsRbac(plane);
  const corefile = join(nodeDir, 'Corefile');
  writeFileSync(corefile, coreFile(kubeconfig('coredns', pki.coreDnsCert, pki.coreDnsKey)));
  log(`Starting CoreDNS on ${nodeNetwork.address}:53`);
  launchNode('coredns', join(dirs.coredns ?? '', 'coredns'), ['-conf', corefile]);

  await waitUntil('kubelet', () => nodeReady(plane), 120_000);
  await waitUntil('coredns', () => resolves(`kubernetes.default.svc.${nodeNetwork.clusterDomain}`), 60_000);
  for (const {child} of processes) child.unref();
  return {
    name: nodeNetwork.nodeName,
    address: nodeNetwork.address,
    processes: processes.map(({name, pid}) => ({name, pid})),
    containerdAddress,
    ctr,
  };
}

/** Whether the node reports Ready. */
async function nodeReady(plane: ControlPlaneState): Promise<boolean> {
  const result = spawnSync(
    join(plane.binDir, 'kubectl'),
    ['get', 'node', nodeNetwork.nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
    {env: {...process.env, KUBECONFIG: plane.kubeconfig}, encoding: 'utf8'},
  );
  return result.status === 0 && result.stdout.trim() === 'True';
}

/** Whether the node's DNS answers `name` with an address. */
export async function resolves(name: string): Promise<boolean> {
  const resolver = new Resolver({timeout: 2_000, tries: 1});
  resolver.setServers([nodeNetwork.address]);
  const addresses = await resolver.resolve4(name).catch(() => []);
  return addresses.length > 0;
}

async function applyCoreDnsRbac(plane: ControlPlaneState): Promise<void> {
  const rbac = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: {name: 'kube-mcp-router:coredns'},
        rules: [
          {apiGroups: [''], resources: ['services', 'pods', 'namespaces'], verbs: ['list', 'watch']},
          {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']},
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: {name: 'kube-mcp-router:coredns'},
        roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kube-mcp-router:coredns'},
        subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: coreDnsUser}],
      },
    ],
  };
  const result = spawnSync(join(plane.binDir, 'kubectl'), ['apply', '-f', '-'], {
    env: {...process.env, KUBECONFIG: plane.kubeconfig},
    input: JSON.stringify(rbac),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new ControlPlaneUnavailableError(`Applying CoreDNS's RBAC failed: ${result.stderr}`);
}

/** The CNI network: a bridge with the pod subnet, routes to the Service range only (pods have no way off the node). */
export function cniConfig(ipamDir: string): object {
  return {
    cniVersion: '1.0.0',
    name: 'kube-mcp-router',
    plugins: [
      {
        type: 'bridge',
        bridge: nodeNetwork.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: ipamDir,
          ranges: [[{subnet: nodeNetwork.podCidr, gateway: nodeNetwork.address}]],
          routes: [{dst: nodeNetwork.serviceCidr, gw: nodeNetwork.address}],
        },
      },
    ],
  };
}

interface ContainerdPaths {
  root: string;
  state: string;
  address: string;
  runc: string;
  runcRoot: string;
  cniBin: string;
  cniConf: string;
}

/** containerd's configuration (version 4, containerd 2.x): CRI with runc on cgroupfs, no TCP, no registry use. */
export function containerdToml(paths: ContainerdPaths): string {
  const q = (value: string) => `'${value}'`;
  return [
    'version = 4',
    `root = ${q(paths.root)}`,
    `state = ${q(paths.state)}`,
    'imports = []',
    // NRI would listen on /var/run/nri; /opt/containerd is an unused plugin folder.
    "disabled_plugins = ['io.containerd.nri.v1.nri', 'io.containerd.internal.v1.opt', 'io.containerd.internal.v1.tracing']",
    '[plugins]',
    "  [plugins.'io.containerd.cri.v1.images']",
    "    snapshotter = 'overlayfs'",
    "    [plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `      sandbox = ${q(pauseImage)}`,
    "  [plugins.'io.containerd.cri.v1.runtime']",
    // This machine lacks CAP_SYS_RESOURCE: runc cannot lower a container's oom_score_adj below containerd's.
    '    restrict_oom_score_adj = true',
    '    netns_mounts_under_state_dir = true',
    '    cdi_spec_dirs = []',
    "    [plugins.'io.containerd.cri.v1.runtime'.containerd]",
    "      default_runtime_name = 'runc'",
    "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    "        runtime_type = 'io.containerd.runc.v2'",
    "        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    `          BinaryName = ${q(paths.runc)}`,
    `          Root = ${q(paths.runcRoot)}`,
    '          SystemdCgroup = false',
    "    [plugins.'io.containerd.cri.v1.runtime'.cni]",
    `      bin_dirs = [${q(paths.cniBin)}]`,
    `      conf_dir = ${q(paths.cniConf)}`,
    "  [plugins.'io.containerd.grpc.v1.cri']",
    '    disable_tcp_service = true',
    "    stream_server_address = '127.0.0.1'",
    "    stream_server_port = '0'",
    "  [plugins.'io.containerd.server.v1.grpc']",
    `    address = ${q(paths.address)}`,
    "  [plugins.'io.containerd.server.v1.ttrpc']",
    `    address = ${q(`${paths.address}.ttrpc`)}`,
    "  [plugins.'io.containerd.shim.v1.manager']",
    `    socket_dir = ${q(join(paths.state, 's'))}`,
    '',
  ].join('\n');
}

interface KubeletPaths {
  caCert: string;
  servingCert: string;
  servingKey: string;
  healthPort: number;
  resolvConf: string;
  podLogsDir: string;
  volumePluginDir: string;
  containerdAddress: string;
}

/** The kubelet's KubeletConfiguration (JSON is YAML): the settings docs/cluster.md explains. */
export function kubeletConfiguration(paths: KubeletPaths): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: nodeNetwork.address,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: paths.healthPort,
    tlsCertFile: paths.servingCert,
    tlsPrivateKeyFile: paths.servingKey,
    authentication: {
      anonymous: {enabled: false},
      webhook: {enabled: true},
      x509: {clientCAFile: paths.caCert},
    },
    authorization: {mode: 'Webhook'},
    containerRuntimeEndpoint: `unix://${paths.containerdAddress}`,
    cgroupDriver: 'cgroupfs',
    // kubelet 1.35+ refuses cgroup v1 unless told otherwise; this machine has v1 hierarchies.
    failCgroupV1: false,
    failSwapOn: false,
    // The kubelet may not lower its own oom_score_adj here (no CAP_SYS_RESOURCE).
    oomScoreAdj: 0,
    clusterDNS: [nodeNetwork.address],
    clusterDomain: nodeNetwork.clusterDomain,
    resolvConf: paths.resolvConf,
    podLogsDir: paths.podLogsDir,
    volumePluginDir: paths.volumePluginDir,
    // Local images cannot be pulled again: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%'},
    rotateCertificates: false,
    serverTLSBootstrap: false,
    protectKernelDefaults: false,
    registerNode: true,
    maxPods: 110,
    staticPodPath: '',
    shutdownGracePeriod: '0s',
    // A mounted ConfigMap's new content reaches pods at the next pod sync: make that seconds, not a minute.
    syncFrequency: '10s',
  };
}

/** kube-proxy's configuration: nftables, health and metrics on loopback, conntrack settings of the machine left alone. */
export function kubeProxyConfiguration(options: {kubeconfig: string; healthPort: number; metricsPort: number}): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'nftables',
    clientConnection: {kubeconfig: options.kubeconfig},
    hostnameOverride: nodeNetwork.nodeName,
    bindAddress: nodeNetwork.address,
    clusterCIDR: nodeNetwork.podCidr,
    healthzBindAddress: `127.0.0.1:${options.healthPort}`,
    metricsBindAddress: `127.0.0.1:${options.metricsPort}`,
    nodePortAddresses: [`${nodeNetwork.address}/32`],
    // Replies from a pod that served its own Service's address come back through the node, not across the bridge.
    nftables: {masqueradeAll: true},
    conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s'},
  };
}

/** CoreDNS: the cluster's names from the API server, nothing forwarded anywhere. */
export function coreFile(kubeconfig: string): string {
  return [
    `${nodeNetwork.clusterDomain} in-addr.arpa ip6.arpa {`,
    `  bind ${nodeNetwork.address}`,
    '  errors',
    `  kubernetes ${nodeNetwork.clusterDomain} in-addr.arpa ip6.arpa {`,
    `    kubeconfig ${kubeconfig}`,
    '    pods insecure',
    '    fallthrough in-addr.arpa ip6.arpa',
    '  }',
    '  cache 5',
    '}',
    '. {',
    `  bind ${nodeNetwork.address}`,
    '  errors',
    '}',
    '',
  ].join('\n');
}

/** The recorded state of a running one-node cluster in `stateDir`, or undefined. */
export function readNodeClusterState(stateDir: string): NodeClusterState | undefined {
  try {
    return JSON.parse(readFileSync(join(resolve(stateDir), 'node.json'), 'utf8')) as NodeClusterState;
  } catch {
    return undefined;
  }
}

/** Whether the one-node cluster of `stateDir` runs: its control plane healthy, every node program alive, the node Ready. */
export async function isNodeClusterHealthy(stateDir: string): Promise<boolean> {
  const state = readNodeClusterState(stateDir);
  const plane = readControlPlaneState(stateDir);
  if (!state || !plane || !(await isControlPlaneHealthy(plane))) return false;
  if (!state.node.processes.every(({pid, name}) => isRunning(pid) && ownNodeProcess(pid, name, stateDir))) return false;
  return nodeReady(plane);
}

/**
 * Stops the one-node cluster of `stateDir`: every container (through containerd), the node's programs, the control
 * plane; then undoes its changes to the machine as recorded in `<stateDir>/host.json`, and frees the machine's node.
 * Safe to call when nothing runs. What is machine-wide is only touched when `stateDir` holds the machine's node lock
 * (or nobody does): stopping a folder without a node leaves another folder's running node alone.
 *
 * @returns the programs that were stopped.
 */
export async function stopNodeCluster(
  stateDir: string,
  options: {log?: Log; keepLock?: boolean} = {},
): Promise<string[]> {
  const log = options.log ?? defaultLog;
  const dir = resolve(stateDir);
  const state = readNodeClusterState(dir);
  const stopped: string[] = [];
  const found = findNodeProcesses(dir);
  const recorded = state?.node.processes ?? [];
  const all = [...recorded, ...found.filter((f) => !recorded.some((r) => r.pid === f.pid))].filter(({pid, name}) =>
    ownNodeProcess(pid, name, dir),
  );
  const byName = (name: NodeProgram) => all.filter((p) => p.name === name);
  // What is machine-wide (containerd's socket and runtime folder, the shims, the recorded machine state) belongs to
  // the node that holds the lock: a folder whose node is gone or never was (a control plane alone, an old test run)
  // must not touch another running node's.
  const holder = readLockOwner();
  const ownsMachine = holder === undefined || holder.stateDir === dir;
  // The kubelet first, so that it restarts nothing; then every container, while containerd still runs.
  for (const name of ['kubelet', 'kube-proxy', 'kube-scheduler', 'coredns'] as const) {
    for (const {pid} of byName(name)) stopped.push(await stopProcess(name, pid));
  }
  if (ownsMachine && state && byName('containerd').length > 0) {
    removeContainers(state.node.ctr, state.node.containerdAddress, log);
  }
  for (const {pid} of byName('containerd')) stopped.push(await stopProcess('containerd', pid));
  if (ownsMachine) await killShims();
  stopped.push(...(await stopControlPlane(dir, {log: () => {}})));
  if (ownsMachine) {
    unmountUnder(join(machineDir, 'containerd'));
    rmSync(join(machineDir, 'containerd'), {recursive: true, force: true});
  }
  unmountUnder(join(dir, 'node'));
  const record = readHostRecord(join(dir, 'host.json'));
  if (record && ownsMachine) undoHost(record, log);
  rmSync(join(dir, 'host.json'), {force: true});
  rmSync(join(dir, 'node.json'), {force: true});
  if (!options.keepLock) releaseNodeLock(dir);
  for (const name of stopped) log(`Stopped ${name}`);
  return stopped;
}

function removeContainers(ctr: string, address: string, log: Log): void {
  const ctrRun = (...args: string[]) =>
    spawnSync(ctr, ['--address', address, '-n', 'k8s.io', ...args], {encoding: 'utf8', timeout: 60_000});
  const tasks = ctrRun('tasks', 'ls', '-q').stdout.split('\n').filter(Boolean);
  for (const task of tasks) ctrRun('tasks', 'kill', '-s', 'SIGKILL', task);
  for (const task of tasks) ctrRun('tasks', 'delete', '-f', task);
  const containers = ctrRun('containers', 'ls', '-q').stdout.split('\n').filter(Boolean);
  if (containers.length > 0) ctrRun('containers', 'delete', ...containers);
  if (tasks.length > 0) log(`Stopped ${tasks.length} containers`);
}

/** runc shims outlive containerd; they are the node's when their command line names its socket folder. */
async function killShims(): Promise<void> {
  for (const pid of procPids()) {
    const args = commandLine(pid);
    if (args && basename(args[0] ?? '') === 'containerd-shim-runc-v2' && args.some((a) => a.includes(machineDir))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await sleep(200);
}

function unmountUnder(dir: string): void {
  if (!existsSync('/proc/self/mounts')) return;
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mount) => mount.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) spawnSync('umount', ['-l', mount]);
}

async function stopProcess(name: string, pid: number): Promise<string> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isRunning(pid) && Date.now() < deadline) await sleep(100);
  if (isRunning(pid)) signal(pid, 'SIGKILL');
  while (isRunning(pid)) await sleep(100);
  return `${name} (pid ${pid})`;
}

/** Node programs whose arguments name `stateDir` (a start killed half-way leaves them unrecorded). */
function findNodeProcesses(stateDir: string): {name: NodeProgram; pid: number}[] {
  const found: {name: NodeProgram; pid: number}[] = [];
  for (const pid of procPids()) {
    const args = commandLine(pid);
    const name = basename(args?.[0] ?? '') as NodeProgram;
    if (args && nodePrograms.includes(name) && args.some((arg) => arg.includes(stateDir + '/'))) {
      found.push({name, pid});
    }
  }
  return found;
}

function ownNodeProcess(pid: number, name: NodeProgram, stateDir: string): boolean {
  if (!pid || !isRunning(pid)) return false;
  const args = commandLine(pid);
  return !!args && basename(args[0] ?? '') === name && args.some((arg) => arg.includes(stateDir + '/'));
}

function procPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
