/**
 * The per-upstream status of an McpRouter, fetched from a real router's /readyz on 127.0.0.1 (the operator asks each
 * ready router pod the same way over the pod network; no pod runs on the control plane of the other operator tests).
 */
import {createServer} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {fetchReadiness, upstreamStates} from '../../operator/controllers/mcprouter/readiness.js';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

const node = process.execPath;
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  router = await startTestRouter({
    mcpServers: {
      everything: {
        command: node,
        args: [serverEntry('server-everything'), 'stdio'],
        tools: {include: ['echo']},
      },
      memory: {command: node, args: [serverEntry('server-memory')]},
      broken: {command: node, args: ['no-such-server.js'], timeouts: {connectSeconds: 5}},
    },
  });
});

afterAll(async () => {
  await router?.stop();
});

/** The tools a client sees on one upstream's path of the router. */
async function toolsOn(path: string): Promise<number> {
  const {client, close} = await connectClient(`${router.url}${path}`);
  try {
    return (await client.listTools()).tools.length;
  } finally {
    await close();
  }
}

describe("an McpRouter's upstreams from its pods' /readyz", () => {
  it('reports each upstream ready with the tools a client sees, a broken one down, and 2/4 ready', async () => {
    const port = Number(new URL(router.url).port);
    const report = await fetchReadiness('127.0.0.1', port);
    expect(report).toBeDefined();
    const rendered = [
      {name: 'broken', prefix: 'broken'},
      {name: 'everything', prefix: 'everything'},
      {name: 'memory', prefix: 'memory'},
      // In the McpRouter's config, not yet in the pod's (a reload that has not reached it).
      {name: 'newer', prefix: 'newer'},
    ];
    const states = upstreamStates(rendered, [report!]);
    expect(states.upstreams).toEqual([
      {name: 'broken', prefix: 'broken', state: 'down'},
      {name: 'everything', prefix: 'everything', state: 'ready', tools: await toolsOn('/mcp/everything')},
      {name: 'memory', prefix: 'memory', state: 'ready', tools: await toolsOn('/mcp/memory')},
      {name: 'newer', prefix: 'newer'},
    ]);
    expect(states.upstreams[1]!.tools).toBe(1); // echo, after the tool filter
    expect(states.ready).toBe(2);
  });

  it('counts a pod that does not answer as not reporting', async () => {
    // A port that was free a moment ago: nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const {port: free} = server.address() as {port: number};
        server.close(() => resolve(free));
      });
    });
    expect(await fetchReadiness('127.0.0.1', port)).toBeUndefined();
  });
});
