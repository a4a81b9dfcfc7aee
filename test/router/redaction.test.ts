import type {IncomingHttpHeaders, Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {Writable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseRouterConfig} from '../../router/config/load.js';
import {createLogger} from '../../router/log.js';
import type {JsonObject} from '../../router/upstream/connection.js';
import {Upstream} from '../../router/upstream/upstream.js';
import {freePort, recordingProxy, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';

// A real server-everything over Streamable HTTP, behind a recording HTTP proxy of the test's (real HTTP, so that the
// test sees which credentials reach the upstream), and one URL where nothing listens, so that the router retries.

const TOKEN = 's3cret-token';
const BEARER = 'another-secret-value';
const SECRETS = [TOKEN, BEARER, Buffer.from(`user:${TOKEN}`).toString('base64')];

let everything: HttpMcpServer;
let proxy: Server;
let received: IncomingHttpHeaders[] = [];
const logLines: string[] = [];
const upstreams = new Map<string, Upstream>();

beforeAll(async () => {
  everything = await startEverythingHttp('streamableHttp');
  ({server: proxy, received} = await recordingProxy(new URL(everything.url)));
  const proxied = `http://user:${TOKEN}@127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
  const nowhere = `http://user:${TOKEN}@127.0.0.1:${await freePort()}/mcp`;
  const {upstreams: configs} = parseRouterConfig(
    JSON.stringify({
      mcpServers: {
        bearer: {url: proxied, headers: {Authorization: `Bearer ${BEARER}`}},
        basic: {url: proxied},
        nowhere: {url: nowhere, headers: {Authorization: `Bearer ${BEARER}`}, timeouts: {connectSeconds: 2}},
      },
    }),
    {},
    'test',
  );
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  });
  for (const config of configs) {
    const upstream = new Upstream(config, {
      log,
      clientInfo: {name: 'test-router', version: '1.0.0'},
      events: {onStateChange: () => undefined, onNotification: () => undefined, onServerRequest: async () => ({})},
      healthCheckSeconds: 60,
    });
    upstreams.set(config.name, upstream);
    await upstream.start();
  }
  // At least two failed attempts (0.5 s apart, then 1 s), each logged.
  for (let i = 0; i < 100 && logLines.filter((l) => l.includes('Failed to connect upstream')).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  await Promise.all([...upstreams.values()].map((u) => u.close()));
  await new Promise((resolve) => proxy?.close(resolve));
  await everything?.stop();
});

const echo = (name: string): Promise<JsonObject> =>
  upstreams
    .get(name)!
    .requireConnection()
    .forward({method: 'tools/call', params: {name: 'echo', arguments: {message: 'hello'}}});

describe('credentials of an upstream', () => {
  it('regression: URL userinfo and header values were printed in /readyz and on every retry log line; now redacted everywhere', async () => {
    const statuses = [...upstreams.values()].map((u) => u.status);
    let unavailable = '';
    try {
      upstreams.get('nowhere')!.requireConnection();
    } catch (error) {
      unavailable = (error as Error).message;
    }

    const seen = [JSON.stringify(statuses), unavailable, ...logLines].join('\n');
    for (const secret of SECRETS) expect(seen).not.toContain(secret);

    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ['bearer', 'ready'],
      ['basic', 'ready'],
      ['nowhere', 'down'],
    ]);
    expect(unavailable).toMatch(/^Upstream "nowhere" is unavailable: .*failed to connect: /);
    expect(logLines.filter((l) => l.includes('Failed to connect upstream')).length).toBeGreaterThanOrEqual(2);
  });

  it('still sends the credentials: a configured Authorization header as is, URL userinfo as Basic', async () => {
    received.length = 0;
    expect(await echo('bearer')).toMatchObject({content: [{type: 'text', text: 'Echo: hello'}]});
    expect(new Set(received.map((h) => h.authorization))).toEqual(new Set([`Bearer ${BEARER}`]));

    received.length = 0;
    expect(await echo('basic')).toMatchObject({content: [{type: 'text', text: 'Echo: hello'}]});
    expect(new Set(received.map((h) => h.authorization))).toEqual(
      new Set([`Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`]),
    );
  });
});
