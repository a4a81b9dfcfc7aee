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
export async function createPki(dir: string): Promise<Pki> {
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
