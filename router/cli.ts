import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {parseArgs} from 'node:util';
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js';
import {loadRouterConfig} from './config/load.js';
import {ConfigReloader} from './config/reload.js';
import {ConfigError} from './errors.js';
import {createHttpApp, createMetricsApp} from './http/app.js';
import {isLoopback} from './http/security.js';
import {createLogger, type Logger} from './log.js';
import {UpstreamRegistry} from './management/registry.js';
import {RouterMetrics} from './metrics.js';
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
  -h, --help           Show this help`;

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
      help: {type: 'boolean', short: 'h'},
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (!values.config) throw new Error('--config FILE is required');
  if (values.transport !== 'http' && values.transport !== 'stdio') {
    throw new Error('--transport must be http or stdio');
  }
  const portOf = (flag: string, value: string) => {
    const port = Number(value);
    if (!/^\d+$/.test(value) || port > 65535) throw new Error(`--${flag} must be a number from 0 to 65535`);
    return port;
  };
  return {
    config: values.config,
    transport: values.transport,
    host: values.host,
    port: portOf('port', values.port),
    ...(values['metrics-port'] !== undefined && {metricsPort: portOf('metrics-port', values['metrics-port'])}),
    ...(values['log-level'] !== undefined && {logLevel: values['log-level']}),
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
 * Starts a router from parsed options: loads the config, starts the transport, connects upstreams.
 * @throws ConfigError when the config is invalid; a listen error (EADDRINUSE) in http mode
 */
export async function startRouter(options: RouterCommandOptions, log?: Logger): Promise<RunningRouter> {
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
  const router = new Router(config, {log: logger, auditLog: root.child({component: 'audit'}), metrics, registry});
  const reloader = new ConfigReloader({file: options.config, router, log: logger, metrics, text});
  reloader.start();
  const graceMs = () => router.options.shutdownGraceSeconds * 1000;

  if (options.transport === 'stdio') {
    await router.start();
    const session = router.createLegacySession({kind: 'aggregate'}, 'stdio');
    await session.peer.connect(new StdioServerTransport());
    const stop = async () => {
      reloader.stop();
      await router.drain(graceMs());
      await router.close();
    };
    process.stdin.on('end', () => void stop());
    return {router, reloader, stop};
  }

  const {
    app,
    settled,
    close: closeApp,
  } = createHttpApp(router, {loopbackOnly, metrics: options.metricsPort === undefined});
  const {limits} = config.router;
  // A client that sends its headers or body slowly holds a socket: these bound how long, checked every second. A
  // response the router streams (an SSE stream) is not cut: the timeouts end once the request has been received.
  const server = await listen(app, options.port, options.host, {
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
      // No new connections; idle keep-alive ones close now, busy ones after their response (Connection: close).
      server.close();
      server.closeIdleConnections();
      const started = Date.now();
      const left = await router.drain(graceMs());
      if (left > 0) logger.warn({calls: left}, 'Stopped with calls in flight after the grace period');
      await settled(Math.max(0, graceMs() - (Date.now() - started)));
      await router.close();
      closeApp();
      server.closeAllConnections();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
    },
  };
}

function listen(
  app: ReturnType<typeof createMetricsApp>,
  port: number,
  host: string,
  options: {headersTimeout?: number; requestTimeout?: number; connectionsCheckingInterval?: number} = {},
): Promise<Server> {
  const server = createServer(options, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
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
