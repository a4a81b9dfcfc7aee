import http from 'node:http';
import type {AddressInfo} from 'node:net';

/**
 * A small HTTP server for probes or metrics (controller-runtime serves them on `--health-probe-bind-address` and
 * `--metrics-bind-address`). Routes are exact paths; anything else is 404. Requests are not logged.
 */
export type Route = () => Promise<{status: number; body: string; contentType?: string}>;

/**
 * Parses a bind address: `:8081` (all interfaces), `127.0.0.1:0` (any free port), `[::1]:8081`.
 * @throws Error naming the address when it has no port
 */
export function parseBindAddress(address: string): {host: string | undefined; port: number} {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  if (!match) throw new Error(`bind address "${address}" is not host:port (e.g. :8081 or 127.0.0.1:0)`);
  const host = match[1] ?? match[2];
  return {host: host === '' ? undefined : host, port: Number(match[3])};
}

/** Starts serving `routes` on `address`; resolves with the server and the address it listens on (host:port). */
export async function serve(
  address: string,
  routes: Record<string, Route>,
): Promise<{server: http.Server; address: string}> {
  const {host, port} = parseBindAddress(address);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = req.method === 'GET' ? routes[path] : undefined;
    if (!route) {
      res.writeHead(404, {'Content-Type': 'text/plain'}).end('not found\n');
      return;
    }
    route().then(
      ({status, body, contentType}) => res.writeHead(status, {'Content-Type': contentType ?? 'text/plain'}).end(body),
      (error: unknown) => res.writeHead(500, {'Content-Type': 'text/plain'}).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {server, address: `${shown}:${bound.port}`};
}
