// The benchmark's own MCP server (SDK 1.x): a catalog of `--tools N` tools named `tool-0000`... that echo their
// `message`, and `blob(bytes, delayMs?)`, whose result is one text of `bytes` bytes, sent after `delayMs` ms.
// Serves stdio (`stdio`), or stateless Streamable HTTP with JSON responses on 127.0.0.1:$PORT/mcp (`streamableHttp`),
// the cheapest a direct client gets; with `--sse`, each response in an SSE stream instead, as the router answers.
// With `--catalog FILE` (bench/catalog-50x20.json), it serves instead each service of that file at /mcp/<service>:
// the service's tools (`[name, description, {param: description}]`, a `?` after a name marks it optional), each
// answering with its own name and arguments.
import {readFileSync} from 'node:fs';
import {createServer} from 'node:http';
import process from 'node:process';
import {setTimeout} from 'node:timers/promises';
import {URL} from 'node:url';
import {parseArgs} from 'node:util';
import {Server} from '@modelcontextprotocol/sdk/server/index.js';
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js';
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {CallToolRequestSchema, ListToolsRequestSchema} from '@modelcontextprotocol/sdk/types.js';
import {fixtureTools} from './fixture-tools.mjs';

const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {tools: {type: 'string', default: '20'}, catalog: {type: 'string'}, sse: {type: 'boolean', default: false}},
});
const mode = positionals[0] ?? 'stdio';

const tools = fixtureTools(Number(values.tools));

/** One service of a `--catalog` file as MCP tool definitions (2025-11-25 server/tools). */
const serviceTools = (service) =>
  service.tools.map(([name, description, parameters]) => {
    const names = Object.keys(parameters);
    return {
      name,
      description,
      inputSchema: {
        type: 'object',
        properties: Object.fromEntries(
          names.map((key) => [key.replace(/\?$/, ''), {type: 'string', description: parameters[key]}]),
        ),
        required: names.filter((key) => !key.endsWith('?')),
      },
    };
  });

/** Tools by service of the `--catalog` file, if one is given. */
const catalog =
  values.catalog &&
  new Map(JSON.parse(readFileSync(values.catalog, 'utf8')).map((service) => [service.service, serviceTools(service)]));

const blobs = new Map();
const blob = (bytes) => blobs.get(bytes) ?? blobs.set(bytes, 'x'.repeat(bytes)).get(bytes);

function build(served = tools) {
  const server = new Server({name: 'bench-fixture', version: '1.0.0'}, {capabilities: {tools: {}}});
  server.setRequestHandler(ListToolsRequestSchema, async () => ({tools: served}));
  server.setRequestHandler(CallToolRequestSchema, async ({params}) => {
    const delayMs = Number(params.arguments?.delayMs ?? 0);
    if (delayMs > 0) await setTimeout(delayMs);
    return {
      content: [
        {
          type: 'text',
          text: catalog
            ? JSON.stringify({tool: params.name, arguments: params.arguments ?? {}})
            : params.name === 'blob'
              ? blob(Number(params.arguments?.bytes))
              : params.arguments?.message,
        },
      ],
    };
  });
  return server;
}

if (mode === 'stdio') {
  await build().connect(new StdioServerTransport());
} else {
  createServer(async (req, res) => {
    const served = catalog ? catalog.get(new URL(req.url ?? '/', 'http://fixture').pathname.split('/')[2]) : tools;
    if (!served) return void res.writeHead(404).end();
    const server = build(served);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !values.sse,
    });
    res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }).listen(Number(process.env.PORT), '127.0.0.1');
}
