import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Client as ModernClient, StreamableHTTPClientTransport} from '@modelcontextprotocol/client';
import {CallToolResultSchema, CreateTaskResultSchema} from '@modelcontextprotocol/sdk/types.js';
import {encode} from 'gpt-tokenizer';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, startLoggedRouter} from '../support/router.js';

// Output caps (router.output, and output per server): the real server-filesystem reads a generated 5 MB file and
// server-everything sends a small PNG, behind the router; SDK clients of both eras read what was cut.
const TOKENS = {alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef'};
const MAX_TOKENS = 2000;
const captured = capturedLogger('info');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;
let folder: string;
let big: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-caps-'));
  const lines: string[] = [];
  for (let i = 0, size = 0; size < 5 * 1024 * 1024; i++) {
    const line = `${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog, again and again\n`;
    lines.push(line);
    size += line.length;
  }
  big = lines.join('');
  await writeFile(join(folder, 'big.txt'), big);
  router = await startLoggedRouter(
    {
      mcpServers: {
        filesystem: {
          command: process.execPath,
          args: [serverEntry('server-filesystem'), folder],
          output: {maxResultTokens: MAX_TOKENS},
        },
        everything: {
          command: process.execPath,
          args: [serverEntry('server-everything'), 'stdio'],
          output: {maxMediaBytes: 64},
        },
        reference: {
          command: process.execPath,
          args: [serverEntry('server-everything'), 'stdio'],
          output: {maxResultBytes: 1024, maxMediaBytes: 64},
        },
      },
      router: {
        output: {minifyJson: true, keepSeconds: 120},
        auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
        access: [{principals: ['alice', 'bob'], upstreams: ['*']}],
      },
    },
    captured.log,
  );
});
afterAll(() => router?.stop());

const headers = (principal: keyof typeof TOKENS) => ({authorization: `Bearer ${TOKENS[principal]}`});
const connectAs = (principal: keyof typeof TOKENS, path = '/mcp') =>
  connectClient(`${router.url}${path}`, {headers: headers(principal)});

/** A client of the SDK's 2.x line that negotiates MCP 2026-07-28 (stateless: one router session per principal). */
async function modernClient(principal: keyof typeof TOKENS): Promise<ModernClient> {
  const client = new ModernClient({name: 'caps-test', version: '2.0.0'}, {versionNegotiation: {mode: 'auto'}});
  const transport = new StreamableHTTPClientTransport(new URL(`${router.url}/mcp`), {
    requestInit: {headers: headers(principal)},
  });
  await client.connect(transport);
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  return client;
}

type Item = {type: string; text?: string; uri?: string; mimeType?: string; data?: string};
type Result = {content: Item[]; structuredContent?: {content?: string}};

/** The checks every cut 5 MB read passes: a clean head within the cap, the note, the link; structuredContent intact. */
function expectCutRead(result: Result): string {
  const [head, note, link] = result.content;
  expect(head?.type).toBe('text');
  expect(head?.text?.endsWith('\n')).toBe(true);
  expect(big.startsWith(head?.text ?? 'x')).toBe(true);
  expect(encode(result.content.map((item) => item.text ?? item.uri ?? '').join('')).length).toBeLessThanOrEqual(
    MAX_TOKENS,
  );
  const lines = big.split('\n').length - 1;
  expect(note?.text).toMatch(
    new RegExp(
      `The router cut this text at maxResultTokens 2,000: it showed the first [\\d,]+ lines of ` +
        `${lines.toLocaleString('en-US')} lines, ${big.length.toLocaleString('en-US')} bytes\\. ` +
        'It is kept for 120 s as router://results/[A-Za-z0-9_-]{24}: read it with resources/read, or the read_result tool\\.',
    ),
  );
  expect(link).toMatchObject({type: 'resource_link', mimeType: 'text/plain'});
  expect(note?.text).toContain(link?.uri);
  expect(result.structuredContent?.content).toBe(big);
  return link?.uri as string;
}

describe('output caps, 2025-11-25 sessions', () => {
  let uri: string;

  it('cuts a 5 MB text result at a line, within maxResultTokens, with a note and a link; structuredContent intact', async () => {
    const {client, close} = await connectAs('alice');
    try {
      const result = (await client.callTool({
        name: 'filesystem__read_text_file',
        arguments: {path: join(folder, 'big.txt')},
      })) as Result;
      uri = expectCutRead(result);
      const read = await client.readResource({uri});
      expect(read.contents).toEqual([{uri, mimeType: 'text/plain', text: big}]);
    } finally {
      await close();
    }
  });

  it('answers another session, and an unknown id, with the same not-found error', async () => {
    const first = await connectAs('alice');
    const other = await connectAs('alice');
    try {
      const result = (await first.client.callTool({
        name: 'filesystem__read_text_file',
        arguments: {path: join(folder, 'big.txt')},
      })) as Result;
      const kept = expectCutRead(result);
      const refused = (await other.client.readResource({uri: kept}).catch((error: unknown) => error)) as {
        code: number;
        message: string;
      };
      expect(refused.code).toBe(-32602);
      expect(refused.message).toContain(`Resource not found: "${kept}"`);
      const unknown = 'router://results/AAAAAAAAAAAAAAAAAAAAAAAA';
      const missing = (await first.client.readResource({uri: unknown}).catch((error: unknown) => error)) as {
        code: number;
        message: string;
      };
      expect(missing.code).toBe(refused.code);
      expect(missing.message.replace(unknown, 'URI')).toBe(refused.message.replace(kept, 'URI'));
      // The session that cut the first test's result has closed: what it kept went with it.
      await expect(first.client.readResource({uri})).rejects.toThrow(/Resource not found/);
    } finally {
      await Promise.all([first.close(), other.close()]);
    }
  });

  it('minifies JSON text that loses nothing by it (directory_tree)', async () => {
    const {client, close} = await connectAs('alice');
    try {
      const result = (await client.callTool({name: 'filesystem__directory_tree', arguments: {path: folder}})) as Result;
      const text = result.content[0]?.text ?? '';
      expect(text).toBe('[{"name":"big.txt","type":"file"}]');
      expect(JSON.parse(result.structuredContent?.content ?? '')).toEqual(JSON.parse(text));
      expect(result.structuredContent?.content).toContain('\n  ');
    } finally {
      await close();
    }
  });

  it('turns an image over maxMediaBytes into a note and a link to it', async () => {
    const {client, close} = await connectAs('alice');
    try {
      const result = (await client.callTool({name: 'everything__get-tiny-image', arguments: {}})) as Result;
      expect(result.content.some((item) => item.type === 'image')).toBe(false);
      const note = result.content.find((item) => item.text?.includes('An image'));
      expect(note?.text).toMatch(
        /An image \(image\/png, [\d,]+ bytes\) was left out by the router, over maxMediaBytes 64/,
      );
      const link = result.content.find((item) => item.type === 'resource_link');
      const read = await client.readResource({uri: link?.uri as string});
      expect(read.contents[0]).toMatchObject({uri: link?.uri, mimeType: 'image/png'});
      expect(
        Buffer.from((read.contents[0] as {blob: string}).blob, 'base64')
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
    } finally {
      await close();
    }
  });

  it('turns an embedded blob resource over maxMediaBytes into a note and a link to it', async () => {
    const {client, close} = await connectAs('alice');
    try {
      const result = (await client.callTool({
        name: 'reference__get-resource-reference',
        arguments: {resourceType: 'Blob'},
      })) as Result;
      expect(result.content.some((item) => item.type === 'resource')).toBe(false);
      const note = result.content.find((item) => item.text?.startsWith('[The embedded resource'));
      expect(note?.text).toMatch(
        /^\[The embedded resource "demo:\/\/resource\/dynamic\/blob\/1" \(text\/plain, [\d,]+ bytes\) was left out by the router, over maxMediaBytes 64\./,
      );
      const link = result.content.find(
        (item) => item.type === 'resource_link' && note?.text?.includes(item.uri ?? '-'),
      );
      const read = await client.readResource({uri: link?.uri as string});
      const blob = (read.contents[0] as {blob: string}).blob;
      expect(Buffer.from(blob, 'base64').toString()).toMatch(/^Resource 1: This is a base64 blob created at/);
    } finally {
      await close();
    }
  });

  it("caps a task's result (tasks/result) as it caps a tools/call result", async () => {
    const {client, close} = await connectAs('alice');
    try {
      const created = await client.request(
        {
          method: 'tools/call',
          params: {name: 'reference__simulate-research-query', arguments: {topic: 'routers'}, task: {ttl: 60_000}},
        },
        CreateTaskResultSchema,
      );
      const result = (await client.request(
        {method: 'tasks/result', params: {taskId: created.task.taskId}},
        CallToolResultSchema,
      )) as Result;
      const [head, note, link] = result.content;
      expect(note?.text).toMatch(/^\[The router cut this text at maxResultBytes 1,024: it showed the first \d+ lines/);
      const read = await client.readResource({uri: link?.uri as string});
      const full = (read.contents[0] as {text: string}).text;
      expect(full).toMatch(/^# Research Report: routers\n/);
      expect(full.length).toBeGreaterThan(1024);
      expect(full.startsWith(head?.text ?? 'x')).toBe(true);
    } finally {
      await close();
    }
  });

  it('counts each cut in metrics and on the audit line', async () => {
    const metrics = await router.router.metrics.registry.getSingleMetricAsString('mcp_router_result_caps_total');
    expect(metrics).toMatch(/mcp_router_result_caps_total\{upstream="filesystem",action="cut"\} [2-9]/);
    expect(metrics).toMatch(/mcp_router_result_caps_total\{upstream="filesystem",action="minified"\} 1/);
    expect(metrics).toMatch(/mcp_router_result_caps_total\{upstream="everything",action="media"\} 1/);
    const saved = await router.router.metrics.registry.getSingleMetricAsString('mcp_router_result_saved_bytes_total');
    expect(saved).toMatch(/upstream="filesystem"\} \d{7}/);
    const audit = captured
      .lines()
      .filter((line) => line.msg === 'Routed request' && line.name === 'filesystem__read_text_file');
    expect(audit[0]?.output).toMatchObject({cut: 1, media: 0, minified: 0, bytes: big.length});
    expect((audit[0]?.output as {sentBytes: number}).sentBytes).toBeLessThan(20_000);
  });
});

type Read = {
  content: Item[];
  structuredContent: {uri: string; offset: number; nextOffset?: number; totalBytes: number};
};

describe('read_result, for clients that cannot read resources', () => {
  it('is listed on the aggregate when output caps are on, and not on an upstream path', async () => {
    const aggregate = await connectAs('alice');
    const own = await connectAs('alice', '/mcp/filesystem');
    try {
      const listed = (await aggregate.client.listTools()).tools.find((tool) => tool.name === 'read_result');
      expect(listed?.inputSchema.required).toEqual(['uri']);
      expect((await own.client.listTools()).tools.map((tool) => tool.name)).not.toContain('read_result');
    } finally {
      await Promise.all([aggregate.close(), own.close()]);
    }
  });

  it('reads a cut 5 MB text back whole in byte ranges, and in token ranges from an offset', async () => {
    const {client, close} = await connectAs('alice');
    try {
      const uri = expectCutRead(
        (await client.callTool({
          name: 'filesystem__read_text_file',
          arguments: {path: join(folder, 'big.txt')},
        })) as Result,
      );
      let text = '';
      let reads = 0;
      for (let offset: number | undefined = 0; offset !== undefined; reads++) {
        const read = (await client.callTool({
          name: 'read_result',
          arguments: {uri, offset, length: 1024 * 1024},
        })) as Read;
        expect(read.structuredContent).toMatchObject({uri, offset, totalBytes: big.length});
        text += read.content[0]?.text;
        offset = read.structuredContent.nextOffset;
      }
      expect(reads).toBe(Math.ceil(big.length / (1024 * 1024)));
      expect(text).toBe(big);

      const first = (await client.callTool({
        name: 'read_result',
        arguments: {uri, unit: 'tokens', length: 300},
      })) as Read;
      const head = first.content[0]?.text ?? '';
      expect(encode(head).length).toBeLessThanOrEqual(300);
      expect(first.structuredContent.nextOffset).toBe(encode(head).length);
      const second = (await client.callTool({
        name: 'read_result',
        arguments: {uri, unit: 'tokens', offset: first.structuredContent.nextOffset, length: 300},
      })) as Read;
      expect(big.startsWith(head + second.content[0]?.text)).toBe(true);
      expect(head.length + (second.content[0]?.text?.length ?? 0)).toBeGreaterThan(head.length * 1.5);
    } finally {
      await close();
    }
  });

  it('answers another session as resources/read does (not found), and names a bad argument', async () => {
    const first = await connectAs('alice');
    const other = await connectAs('alice');
    try {
      const uri = expectCutRead(
        (await first.client.callTool({
          name: 'filesystem__read_text_file',
          arguments: {path: join(folder, 'big.txt')},
        })) as Result,
      );
      const refused = (await other.client
        .callTool({name: 'read_result', arguments: {uri}})
        .catch((error: unknown) => error)) as {code: number; message: string};
      expect(refused.code).toBe(-32602);
      expect(refused.message).toContain(`Resource not found: "${uri}"`);
      await expect(first.client.callTool({name: 'read_result', arguments: {uri, offset: -1}})).rejects.toThrow(
        'read_result: offset must be an integer from 0',
      );
      await expect(first.client.callTool({name: 'read_result', arguments: {uri, unit: 'lines'}})).rejects.toThrow(
        'read_result: unit must be "bytes" or "tokens"',
      );
    } finally {
      await Promise.all([first.close(), other.close()]);
    }
  });
});

describe('output caps, 2026-07-28 clients (one router session per principal)', () => {
  it('cuts the result, lets the principal read it, and answers another principal as for an unknown id', async () => {
    const alice = await modernClient('alice');
    const bob = await modernClient('bob');
    try {
      const result = (await alice.callTool({
        name: 'filesystem__read_text_file',
        arguments: {path: join(folder, 'big.txt')},
      })) as Result;
      const uri = expectCutRead(result);
      expect((await alice.readResource({uri})).contents).toEqual([{uri, mimeType: 'text/plain', text: big}]);
      await expect(bob.readResource({uri})).rejects.toThrow(`Resource not found: "${uri}"`);
      const read = (await alice.callTool({name: 'read_result', arguments: {uri, offset: 10, length: 20}})) as Read;
      expect(read.content[0]?.text).toBe(big.slice(10, 30));
      await expect(bob.callTool({name: 'read_result', arguments: {uri}})).rejects.toThrow(
        `Resource not found: "${uri}"`,
      );
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});
