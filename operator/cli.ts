import {readFileSync} from 'node:fs';
import {parseArgs} from 'node:util';
import {pino, type Logger} from 'pino';
import {DEFAULT_SERVICE_ACCOUNT_ISSUER} from './controllers/mcprouter/render.js';
import {Operator, type OperatorOptions} from './manager.js';
import {FlagError} from './runtime/errors.js';
import {loadKubeConfig} from './runtime/kube.js';
import {parseBindAddress} from './runtime/server.js';
import {DEFAULT_ROUTER_IMAGE} from './version.js';

export const OPERATOR_USAGE = `Usage: kube-mcp-router operator [flags]

Reconciles McpRouter and McpUpstream resources (mcprouter.dev/v1alpha1) into a ConfigMap, a Deployment, a
Service, a ServiceAccount and its Role and RoleBinding per router. Runs until SIGTERM or SIGINT.

Flags:
  --kubeconfig FILE                     kubeconfig to use; default: in-cluster config in a pod, else $KUBECONFIG or
                                        ~/.kube/config
  --namespace NS                        watch only this namespace; default: all namespaces
  --router-image IMAGE                  router image when an McpRouter sets none
                                        (default ${DEFAULT_ROUTER_IMAGE})
  --cluster-domain DOMAIN               cluster DNS domain for router and Service URLs (default cluster.local)
  --service-account-issuer URL          issuer (iss) of the cluster's ServiceAccount tokens, as the API server's
                                        --service-account-issuer, for McpRouters with auth.serviceAccountTokens
                                        (default ${DEFAULT_SERVICE_ACCOUNT_ISSUER})
  --session-key-secret NAME             Secret (key "keys", in each router's namespace; the chart creates it) whose
                                        session keys router pods get as env, so that any pod serves any session;
                                        the operator only names it and never reads it (default: none)
  --router-otlp-endpoint URL            OTLP/HTTP endpoint router pods export traces to, as their
                                        OTEL_EXPORTER_OTLP_ENDPOINT (default: none, no traces)
  --leader-elect                        elect a leader on a Lease before reconciling, so several replicas are safe
  --leader-election-namespace NS        namespace of the Lease; default: the pod's namespace ($POD_NAMESPACE),
                                        else --namespace, else default
  --leader-election-id NAME             name of the Lease (default kube-mcp-router-operator)
  --leader-election-lease-duration SEC  seconds a Lease stays valid without renewal (default 15)
  --leader-election-renew-deadline SEC  seconds the leader tries to renew before giving up (default 10)
  --leader-election-retry-period SEC    seconds between attempts to acquire or renew (default 2)
  --health-probe-bind-address ADDR      where /healthz and /readyz are served (default :8081; "0" to disable)
  --metrics-bind-address ADDR           where /metrics is served (default :8080; "0" to disable)
  --workers N                           reconciles in parallel per controller (default 2)
  --log-level LEVEL                     trace, debug, info, warn or error (default info)
  -h, --help                            show this help`;

const OPTIONS = {
  kubeconfig: {type: 'string'},
  namespace: {type: 'string'},
  'router-image': {type: 'string'},
  'cluster-domain': {type: 'string'},
  'service-account-issuer': {type: 'string'},
  'session-key-secret': {type: 'string'},
  'router-otlp-endpoint': {type: 'string'},
  'leader-elect': {type: 'boolean'},
  'leader-election-namespace': {type: 'string'},
  'leader-election-id': {type: 'string'},
  'leader-election-lease-duration': {type: 'string'},
  'leader-election-renew-deadline': {type: 'string'},
  'leader-election-retry-period': {type: 'string'},
  'health-probe-bind-address': {type: 'string'},
  'metrics-bind-address': {type: 'string'},
  workers: {type: 'string'},
  'log-level': {type: 'string'},
  help: {type: 'boolean', short: 'h'},
} as const;

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new FlagError(`--${flag} must be a positive number, got "${value}"`);
  return number;
}

function bindAddress(flag: string, value: string | undefined, fallback: string): string | undefined {
  const address = value ?? fallback;
  if (address === '0') return undefined;
  try {
    parseBindAddress(address);
  } catch (error) {
    throw new FlagError(`--${flag}: ${(error as Error).message}`);
  }
  return address;
}

function podNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses the operator's flags into options (without the KubeConfig and logger).
 * @throws FlagError naming the flag for an unknown flag or a bad value
 */
export function parseOperatorFlags(
  argv: string[],
): {help: true} | (Omit<OperatorOptions, 'kubeConfig' | 'log'> & {help: false; kubeconfig?: string; logLevel: string}) {
  let values;
  try {
    ({values} = parseArgs({args: argv, options: OPTIONS, strict: true, allowPositionals: false}));
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
  if (values.help) return {help: true};
  const logLevel = values['log-level'] ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new FlagError(`--log-level must be trace, debug, info, warn or error, got "${logLevel}"`);
  }
  const workers = positive('workers', values.workers, 2);
  if (!Number.isInteger(workers)) throw new FlagError(`--workers must be a whole number, got "${values.workers}"`);
  const clusterDomain = values['cluster-domain'] ?? 'cluster.local';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(clusterDomain)) {
    throw new FlagError(`--cluster-domain must be a DNS name, got "${clusterDomain}"`);
  }
  const serviceAccountIssuer = values['service-account-issuer'] ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(serviceAccountIssuer)) {
    throw new FlagError(`--service-account-issuer must be an http:// or https:// URL, got "${serviceAccountIssuer}"`);
  }
  const healthProbeAddress = bindAddress('health-probe-bind-address', values['health-probe-bind-address'], ':8081');
  const metricsAddress = bindAddress('metrics-bind-address', values['metrics-bind-address'], ':8080');
  const operatorNamespace = podNamespace();
  return {
    help: false,
    ...(values.kubeconfig !== undefined && {kubeconfig: values.kubeconfig}),
    ...(values.namespace !== undefined && {namespace: values.namespace}),
    render: {
      routerImage: values['router-image'] ?? DEFAULT_ROUTER_IMAGE,
      clusterDomain,
      serviceAccountIssuer,
      ...(values['session-key-secret'] !== undefined && {sessionKeySecret: values['session-key-secret']}),
      ...(values['router-otlp-endpoint'] !== undefined && {otlpEndpoint: values['router-otlp-endpoint']}),
      ...(operatorNamespace !== undefined && {operatorNamespace}),
    },
    ...(values['leader-elect'] && {
      leaderElection: {
        namespace: values['leader-election-namespace'] ?? podNamespace() ?? values.namespace ?? 'default',
        name: values['leader-election-id'] ?? 'kube-mcp-router-operator',
        leaseDurationSeconds: positive('leader-election-lease-duration', values['leader-election-lease-duration'], 15),
        renewDeadlineMs:
          positive('leader-election-renew-deadline', values['leader-election-renew-deadline'], 10) * 1000,
        retryPeriodMs: positive('leader-election-retry-period', values['leader-election-retry-period'], 2) * 1000,
      },
    }),
    workers,
    ...(healthProbeAddress !== undefined && {healthProbeAddress}),
    ...(metricsAddress !== undefined && {metricsAddress}),
    logLevel,
  };
}

/**
 * `kube-mcp-router operator [flags]`: runs the operator until SIGTERM or SIGINT (graceful: running reconciles finish,
 * the Lease is released), or until it loses the Lease (exit code 1, as controller-runtime does, so the pod restarts
 * as a candidate).
 * @returns the exit code: 0 after a signal or --help, 1 after losing the Lease or failing to start, 2 for bad flags
 */
export async function operatorCommand(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseOperatorFlags(argv);
  } catch (error) {
    if (error instanceof FlagError) {
      process.stderr.write(`${error.message}\n\n${OPERATOR_USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (flags.help) {
    process.stdout.write(`${OPERATOR_USAGE}\n`);
    return 0;
  }
  const {kubeconfig, logLevel, help: _help, ...options} = flags;
  const log: Logger = pino({level: logLevel, base: {component: 'operator'}});
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(kubeconfig);
  } catch (error) {
    process.stderr.write(
      `Cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  const operator = new Operator({...options, kubeConfig, log});
  let signalled: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  const onSignal = (name: NodeJS.Signals) => signalled(name);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await operator.start();
  } catch (error) {
    log.error({err: (error as Error).message}, 'Failed to start');
    await operator.stop();
    return 1;
  }
  const outcome = await Promise.race([signal, operator.lostLeadership.then(() => 'lost' as const)]);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if (outcome === 'lost') {
    log.error('Lost leadership; exiting');
    await operator.stop();
    return 1;
  }
  log.info({signal: outcome}, 'Received signal; shutting down');
  await operator.stop();
  return 0;
}
