/**
 * What the local node changes on the machine, recorded before it starts and undone when it stops: kernel settings
 * (kubelet's and the bridge plugin's sysctls), netfilter tables (kube-proxy's nftables table, kubelet's iptables
 * chains, the node's own forward filter), cgroups (`/kubepods` in every hierarchy), the bridge with its routes, and
 * the folders the programs create outside the node's own folder.
 */
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import type {Log} from './binaries.js';

/** Kernel settings the node's programs change: kubelet's (kubelet/cm/container_manager_linux.go) and the bridge's. */
export const recordedSysctls = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
] as const;

/** Folders outside the node's own folder that its programs create when missing. */
export const recordedPaths = [
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/cni',
  '/run/netns',
  '/var/run/netns',
  '/run/containerd',
  '/var/lib/kubelet',
  '/etc/cni',
  '/opt/cni',
  '/opt/containerd',
  '/var/run/nri',
  '/usr/libexec/kubernetes',
] as const;

/** The machine's state before the node started, as far as the node may change it. */
export interface HostRecord {
  sysctls: Record<string, string>;
  /** `family name` of every nftables table (iptables-nft's tables among them). */
  nftTables: string[];
  /** cgroup hierarchies (folders under /sys/fs/cgroup, the cgroup2 one included) that had a `kubepods` child. */
  kubepods: string[];
  /** Which of {@link recordedPaths} existed. */
  paths: string[];
  bridge: string;
}

/** Reads the machine's state that the node may change. */
export function recordHost(bridge: string): HostRecord {
  const sysctls: Record<string, string> = {};
  for (const key of recordedSysctls) {
    const value = readSysctl(key);
    if (value !== undefined) sysctls[key] = value;
  }
  return {
    sysctls,
    nftTables: nftTables(),
    kubepods: cgroupHierarchies().filter((dir) => existsSync(join(dir, 'kubepods'))),
    paths: recordedPaths.filter((path) => existsSync(path)),
    bridge,
  };
}

/** What {@link undoHost} found still changed afterwards (empty when the machine is as recorded). */
export interface HostDifferences {
  sysctls: string[];
  nftTables: string[];
  kubepods: string[];
  paths: string[];
  links: string[];
}

/**
 * Puts the machine back as `record` found it. Call it once every process of the node has exited (cgroups with
 * processes cannot be removed). Each step goes on when another fails; what is left is returned and logged.
 */
export function undoHost(record: HostRecord, log: Log): HostDifferences {
  for (const table of nftTables()) {
    if (!record.nftTables.includes(table)) command('nft', ['delete', 'table', ...table.split(' ')], log);
  }
  for (const dir of cgroupHierarchies()) {
    if (!record.kubepods.includes(dir)) removeCgroup(join(dir, 'kubepods'), log);
  }
  if (linkExists(record.bridge)) command('ip', ['link', 'delete', record.bridge], log);
  for (const [key, value] of Object.entries(record.sysctls)) {
    if (readSysctl(key) !== value) writeSysctl(key, value, log);
  }
  for (const path of recordedPaths) {
    if (!record.paths.includes(path) && existsSync(path)) removeCreatedFolder(path, log);
  }
  const left = differences(record);
  const all = Object.entries(left).filter(([, items]) => items.length > 0);
  if (all.length > 0)
    log(`Left changed on the machine: ${all.map(([what, items]) => `${what}: ${items.join(', ')}`).join('; ')}`);
  return left;
}

/** What differs now from `record`. */
export function differences(record: HostRecord): HostDifferences {
  return {
    sysctls: Object.entries(record.sysctls)
      .filter(([key, value]) => readSysctl(key) !== value)
      .map(([key, value]) => `${key}=${readSysctl(key)} (was ${value})`),
    nftTables: nftTables().filter((table) => !record.nftTables.includes(table)),
    kubepods: cgroupHierarchies()
      .filter((dir) => !record.kubepods.includes(dir) && existsSync(join(dir, 'kubepods')))
      .map((dir) => join(dir, 'kubepods')),
    paths: recordedPaths.filter((path) => !record.paths.includes(path) && existsSync(path)),
    links: linkExists(record.bridge) ? [record.bridge] : [],
  };
}

export function writeHostRecord(file: string, record: HostRecord): void {
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}

export function readHostRecord(file: string): HostRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
}

function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(join('/proc/sys', key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(key: string, value: string, log: Log): void {
  try {
    writeFileSync(join('/proc/sys', key), value);
    log(`Restored ${key.replaceAll('/', '.')}=${value}`);
  } catch (error) {
    log(`Could not restore ${key}=${value}: ${(error as Error).message}`);
  }
}

/** `family name` of every nftables table, e.g. `ip kube-proxy`; empty without the `nft` command. */
export function nftTables(): string[] {
  const result = spawnSync('nft', ['list', 'tables'], {encoding: 'utf8'});
  if (result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .map((line) => /^table (\S+) (\S+)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => `${match[1]} ${match[2]}`);
}

/** Every cgroup hierarchy: the folders mounted under /sys/fs/cgroup (v1 controllers and the cgroup2 one). */
export function cgroupHierarchies(): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const dirs = mounts
    .map((line) => line.split(' '))
    .filter(([, dir, type]) => (type === 'cgroup' || type === 'cgroup2') && dir?.startsWith('/sys/fs/cgroup'))
    .map(([, dir]) => dir as string);
  return [...new Set(dirs)];
}

/** Removes a cgroup and its children, deepest first (a cgroup is removed with rmdir, not by removing its files). */
function removeCgroup(dir: string, log: Log): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (entry.isDirectory()) removeCgroup(join(dir, entry.name), log);
  }
  try {
    rmdirSync(dir);
  } catch (error) {
    log(`Could not remove the cgroup ${dir}: ${(error as Error).message}`);
  }
}

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name], {encoding: 'utf8'}).status === 0;
}

/** Removes a folder the node created, unmounting the network namespaces mounted in it first. */
function removeCreatedFolder(path: string, log: Log): void {
  try {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) spawnSync('umount', [join(path, entry)], {encoding: 'utf8'});
    }
    rmSync(path, {recursive: true, force: true});
  } catch (error) {
    log(`Could not remove ${path}: ${(error as Error).message}`);
  }
}

function command(program: string, args: string[], log: Log): void {
  const result = spawnSync(program, args, {encoding: 'utf8'});
  if (result.status !== 0) log(`\`${program} ${args.join(' ')}\` failed: ${result.stderr.trim()}`);
}
