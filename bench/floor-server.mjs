// The floor of serving MCP sessions with Node.js on this machine, for the memory and catalog sections: a plain
// `node:http` server, no MCP library, no upstream, no checks, named "floor" in every table. It answers `initialize`,
// `tools/list` (the fixture's catalog of `--tools N`, its JSON made once) and `tools/call` (the `message` echoed) with
// fixed results, every other request with an empty result: over Streamable HTTP at /mcp (JSON responses; a session id
// per initialize, kept until DELETE) and over HTTP+SSE (GET /sse holds the stream; POST /message?sessionId= answers
// 202 and writes the response on it). Listens on 127.0.0.1:$PORT.
import {Buffer} from 'node:buffer';
import {randomUUID} from 'node:crypto';
import {createServer} from 'node:http';
import process from 'node:process';
import {URL} from 'node:url';
import {parseArgs} from 'node:util';
import {fixtureTools} from './fixture-tools.mjs';

const {values} = parseArgs({options: {tools: {type: 'string', default: '20'}}});
/** The `tools/list` result's JSON as UTF-8 bytes, made once, as the router keeps a catalog version's. */
const list = Buffer.from(JSON.stringify({tools: fixtureTools(Number(values.tools))}));
/** Open SSE streams by session id. */
const streams = new Map();
/** Streamable HTTP session ids. */
const sessions = new Set();

/** The response to a JSON-RPC request as the pieces of its JSON text; undefined for a notification. */
function answer(message) {
  if (message.id === undefined) return undefined;
  const result =
    message.method === 'initialize'
      ? JSON.stringify({
          protocolVersion: message.params.protocolVersion,
          capabilities: {tools: {}},
          serverInfo: {name: 'floor', version: '1.0.0'},
        })
      : message.method === 'tools/list'
        ? list
        : message.method === 'tools/call'
          ? JSON.stringify({content: [{type: 'text', text: String(message.params.arguments?.message)}]})
          : '{}';
  return [`{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":`, result, '}'];
}

/** Writes `pieces` to `res` one after another, uncopied, and ends it when `end` is true. */
function writePieces(res, pieces, end = false) {
  for (const piece of pieces) res.write(piece);
  if (end) res.end();
}

async function readMessage(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  if (req.method === 'GET' && url.pathname === '/sse') {
    const id = randomUUID();
    res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
    res.write(`event: endpoint\ndata: /message?sessionId=${id}\n\n`);
    streams.set(id, res);
    res.on('close', () => streams.delete(id));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/message') {
    const stream = streams.get(url.searchParams.get('sessionId'));
    if (!stream) return void res.writeHead(404).end();
    const reply = answer(await readMessage(req));
    res.writeHead(202).end('Accepted');
    if (reply) writePieces(stream, ['event: message\ndata: ', ...reply, '\n\n']);
    return;
  }
  if (url.pathname !== '/mcp') return void res.writeHead(404).end();
  const given = req.headers['mcp-session-id'];
  if (req.method === 'DELETE') return void res.writeHead(sessions.delete(given) ? 200 : 404).end();
  if (req.method !== 'POST') return void res.writeHead(405).end();
  const message = await readMessage(req);
  const initialize = message.method === 'initialize';
  if (!initialize && !sessions.has(given)) return void res.writeHead(404).end();
  const id = initialize ? randomUUID() : given;
  if (initialize) sessions.add(id);
  const reply = answer(message);
  if (!reply) return void res.writeHead(202).end();
  const length = reply.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
  res.writeHead(200, {'content-type': 'application/json', 'content-length': length, 'mcp-session-id': id});
  writePieces(res, reply, true);
}).listen(Number(process.env.PORT), '127.0.0.1');
