import {createServer, type RequestListener, type Server} from 'node:http';
import {KubeConfig} from '@kubernetes/client-node';
import type {AddressInfo} from 'node:net';
import {parseArgs} from 'node:util';
import {loadRouterConfig} from './config/load.js';
import {ConfigReloader} from './reload.js';
import {ConfigError} from './errors.js';
import {createHttpApp, createMetricsApp} from './http/app.js';
import {isLoopback} from './http/security.js';
import {createLogger, type Logger} from './log.js';
import {UpstreamRegistry} from './management/registry.js';
import {RouterMetrics} from './metrics.js';
import {StdioDownstreamTransport} from './stdio.js';
import {EndpointSlicePeers, endpointAddress, type Peers} from './replicas/peers.js';
import {parseSessionKeys, SessionIds} from './replicas/session-id.js';
import {Router} from './router.js';

const USAGE = `Usage: kube-mcp-router router --config FILE [flags]

Aggregates the MCP servers of a config file (Claude Desktop "mcpServers" format) behind one MCP endpoint.

Flags:
  --config FILE        Config file (router.json); required
  --transport MODE     http (default): serve /mcp, /sse and per-upstream paths; stdio: the aggregate on stdin/stdout
  --host ADDRESS       Address to listen on in http mode (default 127.0.0.1; 0.0.0.0 in a pod)
  --port PORT          TCP port in http mode (default 8080; 0 picks a free one)
  --metrics-port PORT  Serve /metrics on this port only, not on --port (0 picks a free one)
  --log-level LEVEL    pino level: trace, debug, info, warn, error (default info, or $LOG_LEVEL)
  --peers-service NAME Replicas: forward requests of other pods' sessions to them; the peers are the ready
                       endpoints of this Service (EndpointSlices in $POD_NAMESPACE, port "http"); session ids are
                       signed with $MCP_ROUTER_SESSION_KEYS (keys of 32+ bytes, one a line or comma, first signs)
  --advertise-address IP  This pod's address as its peers reach it (default $POD_IP); with --peers-service
  -h, --help           Show this help`;

/** The name of the Service port whose endpoints are the router's peers (the Service the operator renders). */
export const PEER_PORT_NAME = 'http';
/** Env var with the session keys: one a line or comma, the first signs (router/replicas/session-id.ts). */
export const SESSION_KEYS_ENV = 'MCP_ROUTER_SESSION_KEYS';

/** Options of `kube-mcp-router router`, after parsing. */
export interface RouterCommandOptions {
  config: string;
  transport: 'http' | 'stdio';
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** TCP port of a listener serving only `/metrics`; absent: `/metrics` is on `port`. */
  metricsPort?: number;
  logLevel?: string;
  /** The router's own Service, whose ready endpoints are its peers (replicas). */
  peersService?: string;
  /** This pod's address as peers reach it; with `peersService`. */
  advertiseAddress?: string;
}

/** What forwarding between replicas needs: this pod's host, the session keys (first signs), the peers. */
export interface ReplicaOptions {
  advertiseAddress: string;
  keys: Buffer[];
  peers: Peers;
}

/**
 * Parses the flags of `kube-mcp-router router` (pure).
 * @throws Error with a message fit for the user, for unknown flags and bad values
 */
export function parseRouterArgs(argv: string[]): RouterCommandOptions | 'help' {
  const {values} = parseArgs({
    args: argv,
    options: {
      config: {type: 'string'},
      transport: {type: 'string', default: 'http'},
      host: {type: 'string', default: '127.0.0.1'},
      port: {type: 'string', default: '8080'},
      'metrics-port': {type: 'string'},
      'log-level': {type: 'string'},
      'peers-service': {type: 'string'},
      'advertise-address': {type: 'string', default: process.env.POD_IP},
      help: {type: 'boolean', short: 'h'},
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (!values.config) throw new Error('--config FILE is required');
  if (values.transport !== 'http' && values.transport !== 'stdio') {
    throw new Error('--transport must be http or stdio');
  }
  if (values['peers-service'] !== undefined && !values['advertise-address'])
    throw new Error('--peers-service needs --advertise-address or $POD_IP');
  const portOf = (flag: string, value: string) => {
    const port = Number(value);
    if (!/^\d+$/.test(value) || port > 65535) throw new Error(`--${flag} must be a number from 0 to 65535`);
    return port;
  };
  const port = portOf('port', values.port);
  if (values['peers-service'] !== undefined && port === 0)
    throw new Error('--peers-service needs a fixed --port: session ids carry it');
  return {
    config: values.config,
    transport: values.transport,
    host: values.host,
    port,
    ...(values['metrics-port'] !== undefined && {metricsPort: portOf('metrics-port', values['metrics-port'])}),
    ...(values['log-level'] !== undefined && {logLevel: values['log-level']}),
    ...(values['peers-service'] !== undefined && {peersService: values['peers-service']}),
    ...(values['advertise-address'] !== undefined && {advertiseAddress: values['advertise-address']}),
  };
}

/** A running router: its HTTP server (http mode) and how to stop it. */
export interface RunningRouter {
  router: Router;
  reloader: ConfigReloader;
  /** `http://host:port`, in http mode. */
  url?: string;
  /** `http://host:port` of the metrics listener, with `metricsPort`. */
  metricsUrl?: string;
  /** Graceful stop: stop accepting, let calls finish up to the grace period, close sessions and upstreams. */
  stop(): Promise<void>;
}

/**
 * Forwarding between replicas from the options and the pod's env: peers from the EndpointSlices of `peersService`
 * (in-cluster credentials), keys from $MCP_ROUTER_SESSION_KEYS. Without keys, ids are signed with a key of this
 * process: sessions then work only on the pod that opened them (a warning says so).
 * @throws Error naming the env var when a key is too short
 */
function replicasFromEnv(options: RouterCommandOptions, service: string, log: Logger): ReplicaOptions {
  const text = process.env[SESSION_KEYS_ENV];
  if (!text) log.warn(`No ${SESSION_KEYS_ENV}: sessions of this pod cannot be served through its peers`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromCluster();
  const namespace = process.env.POD_NAMESPACE ?? kubeConfig.getContextObject(kubeConfig.currentContext)?.namespace;
  if (!namespace) throw new Error('--peers-service needs $POD_NAMESPACE');
  return {
    advertiseAddress: options.advertiseAddress as string,
    keys: text ? parseSessionKeys(text, SESSION_KEYS_ENV) : [],
    peers: new EndpointSlicePeers({kubeConfig, namespace, service, portName: PEER_PORT_NAME, log}),
  };
}

/**
 * Starts a router from parsed options: loads the config, starts the transport, connects upstreams. `replicas`
 * (tests) stands for what `peersService` builds from the pod's env.
 * @throws ConfigError when the config is invalid; a listen error (EADDRINUSE) in http mode
 */
export async function startRouter(
  options: RouterCommandOptions,
  log?: Logger,
  replicaOptions?: ReplicaOptions,
): Promise<RunningRouter> {
  const {config, text} = await loadRouterConfig(options.config);
  const root =
    log ??
    createLogger({
      destination: options.transport === 'stdio' ? 2 : 1,
      ...(options.logLevel && {level: options.logLevel}),
    });
  const logger = root.child({component: 'router'});
  const metrics = new RouterMetrics({processMetrics: true});
  const loopbackOnly = isLoopback(options.host);
  const registry = new UpstreamRegistry({
    file: options.config,
    reload: (): Promise<void> => reloader.reload(),
    localOnly: options.transport === 'stdio' || loopbackOnly,
  });
  const replicas =
    options.transport === 'stdio'
      ? undefined
      : (replicaOptions ?? (options.peersService ? replicasFromEnv(options, options.peersService, logger) : undefined));
  // One signer for everything a pod alone holds: sessions, held rounds' requestState, cut results.
  const ids = replicas && {
    ids: new SessionIds({owner: endpointAddress(replicas.advertiseAddress, options.port), keys: replicas.keys}),
  };
  const router = new Router(config, {
    log: logger,
    auditLog: root.child({component: 'audit'}),
    metrics,
    registry,
    ...ids,
  });
  const reloader = new ConfigReloader({file: options.config, router, log: logger, metrics, text});
  reloader.start();
  const graceMs = () => router.options.shutdownGraceSeconds * 1000;

  if (options.transport === 'stdio') {
    await router.start();
    const session = router.createLegacySession({kind: 'aggregate'}, 'stdio');
    await session.peer.connect(new StdioDownstreamTransport());
    const stop = async () => {
      reloader.stop();
      await router.drain(graceMs());
      await router.close();
    };
    process.stdin.on('end', () => void stop());
    return {router, reloader, stop};
  }

  const {
    listener,
    settled,
    close: closeApp,
  } = createHttpApp(router, {
    loopbackOnly,
    metrics: options.metricsPort === undefined,
    ...(replicas && ids && {replicas: {...ids, peers: replicas.peers}}),
  });
  const {limits} = config.router;
  // A client that sends its headers or body slowly holds a socket: these bound how long, checked every second. A
  // response the router streams (an SSE stream) is not cut: the timeouts end once the request has been received.
  const server = await listen(listener, options.port, options.host, {
    headersTimeout: limits.headersTimeoutSeconds * 1000,
    requestTimeout: Math.max(limits.requestTimeoutSeconds, limits.headersTimeoutSeconds) * 1000,
    connectionsCheckingInterval: 1000,
  });
  const url = urlOf(server, options.host);
  const metricsServer =
    options.metricsPort === undefined
      ? undefined
      : await listen(createMetricsApp(router), options.metricsPort, options.host);
  const metricsUrl = metricsServer && urlOf(metricsServer, options.host);
  logger.info({url, ...(metricsUrl && {metricsUrl}), upstreams: config.upstreams.length}, 'Listening');
  if (!loopbackOnly && !config.router.auth)
    logger.warn(
      {host: options.host},
      'Listening beyond loopback without auth: any client that reaches the router may use every tool',
    );
  void router.start();
  return {
    router,
    url,
    ...(metricsUrl && {metricsUrl}),
    reloader,
    stop: async () => {
      reloader.stop();
      // The listener and its kept-alive connections stay while draining: each response now closes its connection
      // (app.ts), and a client drops an idle one itself after the Keep-Alive timeout the server announced. Cutting idle
      // connections at once would fail a request already on its way, a peer's forward among them.
      const started = Date.now();
      const left = await router.drain(graceMs());
      if (left > 0) logger.warn({calls: left}, 'Stopped with calls in flight after the grace period');
      await settled(Math.max(0, graceMs() - (Date.now() - started)));
      await router.close();
      closeApp();
      // The view of the peers stays current while kept-alive connections may still bring requests: a client may send
      // the next request of its session, now on another pod (one that turned ready meanwhile, among them), on one.
      await connectionsClosed(server, started + server.keepAliveTimeout + 1000 - Date.now());
      replicas?.peers.close();
      server.close();
      server.closeAllConnections();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
    },
  };
}

function listen(
  listener: RequestListener,
  port: number,
  host: string,
  options: {headersTimeout?: number; requestTimeout?: number; connectionsCheckingInterval?: number} = {},
): Promise<Server> {
  const server = createServer(options, listener);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Resolves when `server` has no connection left, or after `timeoutMs` milliseconds. */
async function connectionsClosed(server: Server, timeoutMs: number): Promise<void> {
  const count = () => new Promise<number>((resolve) => server.getConnections((_error, n) => resolve(n ?? 0)));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await count()) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}

function urlOf(server: Server, host: string): string {
  const {port} = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `kube-mcp-router router`: runs until SIGTERM or SIGINT. Exit codes: 0 stopped, 2 bad flags or config, 1 other. */
export async function routerCommand(argv: string[]): Promise<number> {
  let options: RouterCommandOptions | 'help';
  try {
    options = parseRouterArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let running: RunningRouter;
  try {
    running = await startRouter(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      running.router.log.info({signal}, 'Stopping');
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
