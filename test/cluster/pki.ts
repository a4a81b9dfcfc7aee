import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';

import {ControlPlaneUnavailableError} from './binaries.js';

const run = promisify(execFile);

/** Files of the control plane's certificates and keys (PEM), all under one folder. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  /** kube-apiserver's serving certificate, for 127.0.0.1, localhost and the `kubernetes` Service's names. */
  apiserverCert: string;
  apiserverKey: string;
  /** Client certificate in group system:masters. */
  adminCert: string;
  adminKey: string;
  /** Client certificate of user system:kube-controller-manager, bound by the API server's bootstrap RBAC policy. */
  controllerManagerCert: string;
  controllerManagerKey: string;
  /** kube-controller-manager's serving certificate, so that its health can be probed with the CA. */
  controllerManagerServingCert: string;
  controllerManagerServingKey: string;
  /** Client certificate the API server presents to aggregated API servers (the aggregation layer's front proxy). */
  frontProxyClientCert: string;
  frontProxyClientKey: string;
  /** Service-account token signing key pair. */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

/** The first address of the Service range, which the `kubernetes` Service takes. */
export const serviceClusterIpRange = '10.0.0.0/24';
const kubernetesServiceIp = '10.0.0.1';
/** The common name of the front-proxy client certificate, which the API server allows to send request headers. */
export const frontProxyClientName = 'front-proxy-client';

/**
 * Creates a fresh CA and the certificates and keys a single-node control plane needs, with the `openssl` command
 * (1.1.1 or newer). Keys are ECDSA P-256; certificates last a year (the CA ten).
 *
 * @throws ControlPlaneUnavailableError when `openssl` is missing or fails.
 */
export async function createPki(dir: string, options: {apiserverAddresses?: string[]} = {}): Promise<Pki> {
  mkdirSync(dir, {recursive: true, mode: 0o700});
  const file = (name: string) => join(dir, name);
  const pki: Pki = {
    dir,
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    apiserverCert: file('apiserver.crt'),
    apiserverKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    controllerManagerCert: file('controller-manager.crt'),
    controllerManagerKey: file('controller-manager.key'),
    controllerManagerServingCert: file('controller-manager-serving.crt'),
    controllerManagerServingKey: file('controller-manager-serving.key'),
    frontProxyClientCert: file('front-proxy-client.crt'),
    frontProxyClientKey: file('front-proxy-client.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
  };
  const keys = [
    pki.caKey,
    pki.apiserverKey,
    pki.adminKey,
    pki.controllerManagerKey,
    pki.controllerManagerServingKey,
    pki.frontProxyClientKey,
    pki.serviceAccountKey,
  ];
  await Promise.all(
    keys.map((key) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])),
  );
  await openssl(['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey]);

  const caConfig = writeConfig(file('ca.cnf'), {CN: 'kube-mcp-router-local-ca'}, [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, digitalSignature, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-sha256',
    '-days',
    '3650',
    '-key',
    pki.caKey,
    '-config',
    caConfig,
    '-extensions',
    'ext',
    '-out',
    pki.caCert,
  ]);

  const serverNames = [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'IP:127.0.0.1',
    `IP:${kubernetesServiceIp}`,
    ...(options.apiserverAddresses ?? []).map((address) => `IP:${address}`),
  ];
  await Promise.all([
    sign(pki, 'apiserver', pki.apiserverKey, pki.apiserverCert, {CN: 'kube-apiserver'}, 'serverAuth', serverNames),
    sign(
      pki,
      'front-proxy-client',
      pki.frontProxyClientKey,
      pki.frontProxyClientCert,
      {CN: frontProxyClientName},
      'clientAuth',
    ),
    sign(pki, 'admin', pki.adminKey, pki.adminCert, {CN: 'kube-mcp-router-admin', O: 'system:masters'}, 'clientAuth'),
    sign(
      pki,
      'controller-manager',
      pki.controllerManagerKey,
      pki.controllerManagerCert,
      {CN: 'system:kube-controller-manager'},
      'clientAuth',
    ),
    sign(
      pki,
      'controller-manager-serving',
      pki.controllerManagerServingKey,
      pki.controllerManagerServingCert,
      {CN: 'kube-controller-manager'},
      'serverAuth',
      ['DNS:localhost', 'IP:127.0.0.1'],
    ),
  ]);
  return pki;
}

/** The certificates and keys of a node and its programs, signed by the control plane's CA. */
export interface NodePki {
  /** kubelet's client certificate: user `system:node:<node>`, group `system:nodes`. */
  kubeletCert: string;
  kubeletKey: string;
  /** kubelet's serving certificate, for the node's address and name. */
  kubeletServingCert: string;
  kubeletServingKey: string;
  /** What kube-apiserver presents to kubelets (logs, exec, port-forward): group system:masters. */
  apiserverKubeletClientCert: string;
  apiserverKubeletClientKey: string;
  /** kube-scheduler (user system:kube-scheduler) and kube-proxy (user system:kube-proxy), bound by bootstrap RBAC. */
  schedulerCert: string;
  schedulerKey: string;
  proxyCert: string;
  proxyKey: string;
  /** CoreDNS: user {@link coreDnsUser}, granted reads of Services, EndpointSlices, Pods and Namespaces. */
  coreDnsCert: string;
  coreDnsKey: string;
}

/** The user CoreDNS authenticates as. */
export const coreDnsUser = 'kube-mcp-router:coredns';

/**
 * Adds the certificates of a node named `nodeName` at `address` to a PKI made by {@link createPki}.
 *
 * @throws ControlPlaneUnavailableError when `openssl` is missing or fails.
 */
/** The files of a node's certificates and keys in the PKI folder `dir`. */
export function nodePkiPaths(dir: string): NodePki {
  const file = (name: string) => join(dir, name);
  return {
    kubeletCert: file('kubelet.crt'),
    kubeletKey: file('kubelet.key'),
    kubeletServingCert: file('kubelet-serving.crt'),
    kubeletServingKey: file('kubelet-serving.key'),
    apiserverKubeletClientCert: file('apiserver-kubelet-client.crt'),
    apiserverKubeletClientKey: file('apiserver-kubelet-client.key'),
    schedulerCert: file('scheduler.crt'),
    schedulerKey: file('scheduler.key'),
    proxyCert: file('kube-proxy.crt'),
    proxyKey: file('kube-proxy.key'),
    coreDnsCert: file('coredns.crt'),
    coreDnsKey: file('coredns.key'),
  };
}

export async function createNodePki(pki: Pki, nodeName: string, address: string): Promise<NodePki> {
  const node = nodePkiPaths(pki.dir);

  const pairs: [string, string, string, Record<string, string>, 'serverAuth' | 'clientAuth', string[]][] = [
    [
      'kubelet',
      node.kubeletKey,
      node.kubeletCert,
      {CN: `system:node:${nodeName}`, O: 'system:nodes'},
      'clientAuth',
      [],
    ],
    [
      'kubelet-serving',
      node.kubeletServingKey,
      node.kubeletServingCert,
      {CN: nodeName},
      'serverAuth',
      [`DNS:${nodeName}`, `IP:${address}`],
    ],
    [
      'apiserver-kubelet-client',
      node.apiserverKubeletClientKey,
      node.apiserverKubeletClientCert,
      {CN: 'kube-apiserver-kubelet-client', O: 'system:masters'},
      'clientAuth',
      [],
    ],
    ['scheduler', node.schedulerKey, node.schedulerCert, {CN: 'system:kube-scheduler'}, 'clientAuth', []],
    ['kube-proxy', node.proxyKey, node.proxyCert, {CN: 'system:kube-proxy'}, 'clientAuth', []],
    ['coredns', node.coreDnsKey, node.coreDnsCert, {CN: coreDnsUser}, 'clientAuth', []],
  ];
  await Promise.all(
    pairs.map(([, key]) =>
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]),
    ),
  );
  await Promise.all(
    pairs.map(([name, key, cert, subject, usage, names]) => sign(pki, name, key, cert, subject, usage, names)),
  );
  return node;
}

async function sign(
  pki: Pki,
  name: string,
  key: string,
  cert: string,
  subject: Record<string, string>,
  usage: 'serverAuth' | 'clientAuth',
  altNames: string[] = [],
): Promise<void> {
  const extensions = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    `extendedKeyUsage = ${usage}`,
    'authorityKeyIdentifier = keyid',
  ];
  if (altNames.length > 0) extensions.push(`subjectAltName = ${altNames.join(', ')}`);
  const config = writeConfig(join(pki.dir, `${name}.cnf`), subject, extensions);
  const csr = join(pki.dir, `${name}.csr`);
  await openssl(['req', '-new', '-sha256', '-key', key, '-config', config, '-out', csr]);
  await openssl([
    'x509',
    '-req',
    '-sha256',
    '-days',
    '365',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-set_serial',
    `0x${randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1')}`,
    '-extfile',
    config,
    '-extensions',
    'ext',
    '-out',
    cert,
  ]);
}

/** A minimal openssl config, so that the machine's openssl.cnf plays no part. */
function writeConfig(path: string, subject: Record<string, string>, extensions: string[]): string {
  const dn = Object.entries(subject).map(([field, value]) => `${field} = ${value}`);
  const text = ['[req]', 'prompt = no', 'distinguished_name = dn', '', '[dn]', ...dn, '', '[ext]', ...extensions, ''];
  writeFileSync(path, text.join('\n'));
  return path;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const {code, stderr} = error as NodeJS.ErrnoException & {stderr?: string};
    if (code === 'ENOENT') {
      throw new ControlPlaneUnavailableError(
        'The local control plane makes its certificates with the `openssl` command, which is not on PATH: install ' +
          'it (Debian/Ubuntu: `apt-get install openssl`; macOS: it ships with the system).',
      );
    }
    throw new ControlPlaneUnavailableError(`\`openssl ${args.join(' ')}\` failed: ${stderr ?? String(error)}`);
  }
}
