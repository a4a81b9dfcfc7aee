import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Client as ModernClient, StreamableHTTPClientTransport as ModernTransport} from '@modelcontextprotocol/client';
import type {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
  type ClientCapabilities,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {sessionTag} from '../../router/policy/audit.js';
import {serverEntry} from '../support/mcp-servers.js';
import {
  capturedLogger,
  connectClient,
  startLoggedRouter,
  startTestRouter,
  startTestRouterOn,
  writeConfig,
} from '../support/router.js';

// Composite tools (router.composites) through a real client, over real server-everything, server-memory and
// server-filesystem: each step is the caller's own tools/call on the aggregate, so policy and audit hold per step.
const TOKENS = {ops: 'ops-token-0123456789abcdef', notes: 'notes-token-0123456789abcdef'};
const captured = capturedLogger('info');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;

const LONG = 'everything__trigger-long-running-operation';
const SAMPLE = 'everything__trigger-sampling-request';

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-composites-'));
  await writeFile(join(folder, 'notes.txt'), 'hello');
  router = await startLoggedRouter(
    {
      mcpServers: {
        everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
        memory: {
          command: process.execPath,
          args: [serverEntry('server-memory')],
          env: {MEMORY_FILE_PATH: join(folder, 'memory.jsonl')},
        },
        files: {command: process.execPath, args: [serverEntry('server-filesystem'), folder]},
        mine: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio'], session: 'perSession'},
      },
      router: {
        auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
        access: [
          {principals: ['ops'], upstreams: ['*']},
          {principals: ['notes'], upstreams: ['composite', 'memory']},
        ],
        management: {enabled: true},
        composites: {
          sum_and_record: {
            description: 'Adds two numbers and records the sum in memory.',
            inputSchema: {
              type: 'object',
              properties: {a: {type: 'number'}, b: {type: 'number'}, name: {type: 'string'}},
              required: ['a', 'b', 'name'],
            },
            steps: [
              {id: 'sum', tool: 'everything__get-sum', arguments: {a: '{{input.a}}', b: '{{input.b}}'}},
              {
                id: 'record',
                tool: 'memory__create_entities',
                arguments: {
                  entities: [{name: '{{input.name}}', entityType: 'sum', observations: ['{{steps.sum.text}}']}],
                },
              },
            ],
            output: {sum: '{{steps.sum.text}}', recorded: '{{steps.record.structuredContent.entities[0]}}'},
          },
          read_then_record: {
            description: 'Reads a file and records it.',
            inputSchema: {type: 'object', properties: {path: {type: 'string'}}, required: ['path']},
            steps: [
              {id: 'read', tool: 'files__read_text_file', arguments: {path: '{{input.path}}'}},
              {
                id: 'record',
                tool: 'memory__create_entities',
                arguments: {entities: [{name: 'file', entityType: 'file', observations: ['{{steps.read.text}}']}]},
              },
            ],
          },
          two_at_once: {
            description: 'Runs two long operations that do not depend on each other.',
            steps: [
              {id: 'left', tool: LONG, arguments: {duration: 3, steps: 6}},
              {id: 'right', tool: LONG, arguments: {duration: 3, steps: 6}},
            ],
          },
          slow_then_record: {
            description: 'A long operation, then a record of it.',
            inputSchema: {type: 'object', properties: {name: {type: 'string'}}, required: ['name']},
            steps: [
              {id: 'slow', tool: LONG, arguments: {duration: 20, steps: 20}},
              {
                id: 'record',
                tool: 'memory__create_entities',
                arguments: {
                  entities: [{name: '{{input.name}}', entityType: 'x', observations: ['{{steps.slow.text}}']}],
                },
              },
            ],
          },
          notes_only: {
            description: 'Reads the memory graph.',
            steps: [{id: 'graph', tool: 'memory__read_graph'}],
          },
          ask_model: {
            description: 'Asks the client’s model through a step, and returns its answer.',
            inputSchema: {type: 'object', properties: {prompt: {type: 'string'}}, required: ['prompt']},
            steps: [
              {id: 'ask', tool: SAMPLE, arguments: {prompt: '{{input.prompt}}', maxTokens: 20}},
              {id: 'sum', tool: 'everything__get-sum', arguments: {a: 1, b: 1}, after: ['ask']},
            ],
            output: {answer: '{{steps.ask.text}}', then: '{{steps.sum.text}}'},
          },
          my_roots: {
            description: 'Lists the caller’s roots through a step on a perSession upstream.',
            steps: [{id: 'roots', tool: 'mine__get-roots-list'}],
            output: '{{steps.roots.text}}',
          },
          ask_user: {
            description: 'Asks the user for details through a step.',
            steps: [{id: 'form', tool: 'everything__trigger-elicitation-request'}],
            output: '{{steps.form.text}}',
          },
        },
      },
    },
    captured.log,
  );
});
afterAll(() => router?.stop());

const connectAs = (principal: keyof typeof TOKENS, capabilities: ClientCapabilities = {}) =>
  connectClient(`${router.url}/mcp`, {headers: {authorization: `Bearer ${TOKENS[principal]}`}, capabilities});
/** The audit tag of a connected client's session (`Mcp-Session-Id`), as the router's audit lines carry it. */
const tagOf = (client: Awaited<ReturnType<typeof connectAs>>['client']) =>
  sessionTag((client.transport as StreamableHTTPClientTransport).sessionId);
const audit = () => captured.lines().filter((line) => line.component === 'audit');
const textOf = (result: CallToolResult) => (result.content[0] as {text: string}).text;

describe('composite tools', () => {
  it('runs a two-step pipeline and returns the combined result; each step is audited as the caller’s call', async () => {
    const {client, close} = await connectAs('ops');
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('composite__sum_and_record');
      const result = (await client.callTool({
        name: 'composite__sum_and_record',
        arguments: {a: 2, b: 3, name: 'five'},
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({
        sum: expect.stringMatching(/5/),
        recorded: {name: 'five', entityType: 'sum', observations: [expect.stringMatching(/5/)]},
      });
      expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
      const graph = (await client.callTool({
        name: 'memory__open_nodes',
        arguments: {names: ['five']},
      })) as CallToolResult;
      expect(textOf(graph)).toMatch(/five/);
      for (const name of ['composite__sum_and_record', 'everything__get-sum', 'memory__create_entities'])
        expect(audit().find((line) => line.name === name)).toMatchObject({principal: 'ops', outcome: 'ok'});
    } finally {
      await close();
    }
  });

  it('names the failing step, and starts no step after it', async () => {
    const {client, close} = await connectAs('ops');
    try {
      const result = (await client.callTool({
        name: 'composite__read_then_record',
        arguments: {path: 'missing.txt'},
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^Step "read" \(files__read_text_file\) failed: .*ENOENT/);
      const graph = (await client.callTool({
        name: 'memory__open_nodes',
        arguments: {names: ['file']},
      })) as CallToolResult;
      expect(graph.structuredContent).toEqual({entities: [], relations: []});
      const invalid = (await client.callTool({name: 'composite__read_then_record', arguments: {}})) as CallToolResult;
      expect(invalid.isError).toBe(true);
      expect(textOf(invalid)).toMatch(/Invalid arguments: .*path/);
    } finally {
      await close();
    }
  });

  it('runs steps that do not depend on each other at once: both are in flight at the upstream together', async () => {
    const {client, close} = await connectAs('ops');
    const messages: string[] = [];
    let mostInFlight = 0;
    const principal = {id: 'ops', name: 'ops', claims: {}};
    const watch = setInterval(async () => {
      const everything = (await router.router.upstreamHealth(principal)).find((u) => u.name === 'everything');
      mostInFlight = Math.max(mostInFlight, everything?.inFlight ?? 0);
    }, 50);
    try {
      const result = (await client.callTool({name: 'composite__two_at_once', arguments: {}}, undefined, {
        onprogress: (progress: Progress) => messages.push(progress.message ?? ''),
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(Object.keys(result.structuredContent ?? {})).toEqual(['left', 'right']);
      expect(mostInFlight).toBe(2);
      for (const step of ['left', 'right'])
        expect(messages).toEqual(
          expect.arrayContaining([`Step "${step}" (${LONG}) started`, `Step "${step}" (${LONG}) finished`]),
        );
      // Each step reported progress of its own before either finished.
      const firstFinish = messages.findIndex((m) => m.endsWith('finished'));
      expect(messages.slice(0, firstFinish)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Step "left": /), expect.stringMatching(/^Step "right": /)]),
      );
    } finally {
      clearInterval(watch);
      await close();
    }
  });

  it('stops on cancellation: the step in flight is cancelled upstream and the next one never starts', async () => {
    const {client, close} = await connectAs('ops');
    const cancel = new AbortController();
    const messages: string[] = [];
    try {
      const call = client.callTool({name: 'composite__slow_then_record', arguments: {name: 'cancelled'}}, undefined, {
        signal: cancel.signal,
        onprogress: (progress: Progress) => {
          messages.push(progress.message ?? '');
          if (progress.message?.startsWith('Step "slow": ')) cancel.abort();
        },
      });
      await expect(call).rejects.toThrow(/abort/i);
      await expect
        .poll(() => audit().find((line) => line.name === LONG && line.outcome !== 'ok'), {timeout: 10_000})
        .toMatchObject({principal: 'ops', outcome: 'cancelled'});
      expect(messages[0]).toBe(`Step "slow" (${LONG}) started`);
      const graph = (await client.callTool({
        name: 'memory__open_nodes',
        arguments: {names: ['cancelled']},
      })) as CallToolResult;
      expect(graph.structuredContent).toEqual({entities: [], relations: []});
      expect(messages.some((m) => m.includes('"record"'))).toBe(false);
    } finally {
      await close();
    }
  });

  it('is never a way around the access rules: a composite is listed and run only with every step’s tool granted', async () => {
    const {client, close} = await connectAs('notes');
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toContain('composite__notes_only');
      expect(names).not.toContain('composite__sum_and_record');
      await expect(
        client.callTool({name: 'composite__sum_and_record', arguments: {a: 1, b: 1, name: 'x'}}),
      ).rejects.toThrow(/Access denied: tool "composite__sum_and_record"/);
      const graph = (await client.callTool({name: 'composite__notes_only', arguments: {}})) as CallToolResult;
      expect(graph.isError).toBeFalsy();
      expect(audit().find((line) => line.name === 'memory__read_graph')).toMatchObject({principal: 'notes'});
    } finally {
      await close();
    }
  });

  it('follows a config reload: a changed composite replaces the old one in the open session’s list', async () => {
    const memory = {
      command: process.execPath,
      args: [serverEntry('server-memory')],
      env: {MEMORY_FILE_PATH: '/dev/null'},
    };
    const config = (name: string) => ({
      mcpServers: {memory},
      router: {composites: {[name]: {description: 'Reads the graph.', steps: [{id: 'g', tool: 'memory__read_graph'}]}}},
    });
    const file = await writeConfig(config('before'));
    const reloading = await startTestRouterOn(file);
    const {client, close} = await connectClient(`${reloading.url}/mcp`);
    const names = async () => (await client.listTools()).tools.map((tool) => tool.name);
    try {
      expect(await names()).toContain('composite__before');
      await writeFile(file, JSON.stringify(config('after')));
      await reloading.reloader.reload();
      await expect.poll(names, {timeout: 10_000}).toContain('composite__after');
      expect(await names()).not.toContain('composite__before');
      expect((await client.callTool({name: 'composite__after', arguments: {}})).isError).toBeFalsy();
    } finally {
      await close();
      await reloading.stop();
    }
  });

  it('is found by search_tools in search mode, like any tool', async () => {
    const searching = await startTestRouter({
      mcpServers: {
        memory: {command: process.execPath, args: [serverEntry('server-memory')], env: {MEMORY_FILE_PATH: '/dev/null'}},
      },
      router: {
        catalog: {mode: 'search'},
        composites: {
          team_digest: {
            description: 'Builds a digest of what the team knows.',
            steps: [{id: 'g', tool: 'memory__read_graph'}],
          },
        },
      },
    });
    const {client, close} = await connectClient(`${searching.url}/mcp`);
    try {
      const found = (await client.callTool({
        name: 'search_tools',
        arguments: {query: 'team digest', limit: 1},
      })) as CallToolResult & {structuredContent: {tools: {name: string}[]}};
      expect(found.structuredContent.tools.map((tool) => tool.name)).toEqual(['composite__team_digest']);
      const result = await client.callTool({name: 'call_tool', arguments: {name: 'composite__team_digest'}});
      expect(result.isError).toBeFalsy();
    } finally {
      await close();
      await searching.stop();
    }
  });

  it('runs a step on a group’s tool (named with the group’s prefix), listed under the members’ access rules', async () => {
    const memory = (file: string) => ({
      command: process.execPath,
      args: [serverEntry('server-memory')],
      env: {MEMORY_FILE_PATH: file},
    });
    const folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-composite-group-'));
    const grouped = await startTestRouter({
      mcpServers: {primary: memory(join(folder, 'a.jsonl')), fallback: memory(join(folder, 'b.jsonl'))},
      router: {
        groups: {mem: {members: ['primary', 'fallback']}},
        auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
        access: [
          {principals: ['ops'], upstreams: ['composite', 'fallback']},
          {principals: ['notes'], upstreams: ['composite']},
        ],
        composites: {
          remember: {
            description: 'Records a fact in the shared memory group.',
            inputSchema: {type: 'object', properties: {fact: {type: 'string'}}, required: ['fact']},
            steps: [
              {
                id: 'note',
                tool: 'mem__create_entities',
                arguments: {entities: [{name: 'fact', entityType: 'note', observations: ['{{input.fact}}']}]},
              },
            ],
            output: '{{steps.note.text}}',
          },
        },
      },
    });
    const as = (principal: keyof typeof TOKENS) =>
      connectClient(`${grouped.url}/mcp`, {headers: {authorization: `Bearer ${TOKENS[principal]}`}});
    const ops = await as('ops');
    const notes = await as('notes');
    try {
      expect((await ops.client.listTools()).tools.map((tool) => tool.name)).toContain('composite__remember');
      const result = (await ops.client.callTool({
        name: 'composite__remember',
        arguments: {fact: 'groups work'},
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result.content)).toContain('groups work');
      expect((await notes.client.listTools()).tools.map((tool) => tool.name)).not.toContain('composite__remember');
    } finally {
      await Promise.all([ops.close(), notes.close()]);
      await grouped.stop();
    }
  });

  it('passes a step its upstream’s whole result under output caps, and caps only what the caller receives', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-composite-caps-'));
    const lines = Array.from({length: 2000}, (_, i) => `line ${i}`);
    await writeFile(join(folder, 'big.txt'), lines.join('\n'));
    const capped = await startTestRouter({
      mcpServers: {
        files: {
          command: process.execPath,
          args: [serverEntry('server-filesystem'), folder],
          output: {maxResultBytes: 2048},
        },
        memory: {
          command: process.execPath,
          args: [serverEntry('server-memory')],
          env: {MEMORY_FILE_PATH: join(folder, 'memory.jsonl')},
        },
      },
      router: {
        composites: {
          read_then_record: {
            description: 'Reads a file and records it.',
            inputSchema: {type: 'object', properties: {path: {type: 'string'}}, required: ['path']},
            steps: [
              {id: 'read', tool: 'files__read_text_file', arguments: {path: '{{input.path}}'}},
              {
                id: 'record',
                tool: 'memory__create_entities',
                arguments: {entities: [{name: 'file', entityType: 'file', observations: ['{{steps.read.text}}']}]},
              },
            ],
            output: 'recorded',
          },
        },
      },
    });
    const {client, close} = await connectClient(`${capped.url}/mcp`);
    try {
      const direct = (await client.callTool({
        name: 'files__read_text_file',
        arguments: {path: join(folder, 'big.txt')},
      })) as CallToolResult;
      expect(JSON.stringify(direct.content)).not.toContain('line 1999');
      const result = (await client.callTool({
        name: 'composite__read_then_record',
        arguments: {path: join(folder, 'big.txt')},
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      const graph = (await client.callTool({name: 'memory__read_graph', arguments: {}})) as CallToolResult;
      expect(JSON.stringify(graph.structuredContent ?? graph.content)).toContain('line 1999');
    } finally {
      await close();
      await capped.stop();
    }
  });

  it('rejects a bad definition at load, naming its path', async () => {
    await expect(
      startTestRouter({
        mcpServers: {memory: {command: process.execPath, args: [serverEntry('server-memory')]}},
        router: {
          composites: {
            broken: {
              description: 'A step reads a step that does not exist.',
              steps: [{id: 'a', tool: 'memory__read_graph', arguments: {note: '{{steps.nope.text}}'}}],
            },
          },
        },
      }),
    ).rejects.toThrow(
      /router\.composites\.broken\.steps\.0\.arguments\.note: \{\{steps\.nope\.text\}\}: there is no step "nope"/,
    );
  });
});

describe('composite steps act for the caller’s session', () => {
  it('audit: the composite call and each of its steps carry the caller’s session tag, each caller its own', async () => {
    const [first, second] = await Promise.all([connectAs('ops'), connectAs('ops')]);
    const earlier = audit().length;
    try {
      const call = (client: typeof first.client, name: string) =>
        client.callTool({name: 'composite__sum_and_record', arguments: {a: 20, b: 22, name}});
      await Promise.all([call(first.client, 'first-caller'), call(second.client, 'second-caller')]);
      for (const {client} of [first, second]) {
        const lines = audit().filter((line) => line.session === tagOf(client));
        // Exactly one line each: no step of the other caller's composite is attributed to this session.
        expect(lines.map((line) => line.name).sort()).toEqual([
          'composite__sum_and_record',
          'everything__get-sum',
          'memory__create_entities',
        ]);
        expect(lines.every((line) => line.principal === 'ops')).toBe(true);
      }
      expect(tagOf(first.client)).not.toBe(tagOf(second.client));
      // No line of a step is left to the internal session (which has no session id of its own).
      expect(
        audit()
          .slice(earlier)
          .filter((line) => line.session === sessionTag(undefined)),
      ).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('audit: a call_upstream_tool of the management upstream (same internal sessions) carries the caller’s tag', async () => {
    const {client, close} = await connectAs('ops');
    try {
      await client.callTool({
        name: 'router__call_upstream_tool',
        arguments: {upstream: 'everything', tool: 'echo', arguments: {message: 'tagged'}},
      });
      expect(audit().find((line) => line.name === 'echo')).toMatchObject({principal: 'ops', session: tagOf(client)});
    } finally {
      await close();
    }
  });

  it('sampling of a step’s upstream reaches the caller’s client, and its answer goes back to the step', async () => {
    const {client, close} = await connectAs('ops', {sampling: {}});
    const asked: unknown[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      asked.push(request.params.messages);
      return {model: 'test-model', role: 'assistant', content: {type: 'text', text: 'the model says hi'}};
    });
    try {
      const result = (await client.callTool({
        name: 'composite__ask_model',
        arguments: {prompt: 'Say hi'},
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({
        answer: expect.stringContaining('the model says hi'),
        then: expect.stringMatching(/2/),
      });
      expect(JSON.stringify(asked)).toContain('Say hi');
      expect(audit().find((line) => line.name === SAMPLE && line.session === tagOf(client))).toMatchObject({
        principal: 'ops',
        outcome: 'ok',
      });
    } finally {
      await close();
    }
  });

  it('roots: a step’s perSession upstream gets the caller’s roots', async () => {
    const {client, close} = await connectAs('ops', {roots: {}});
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{uri: 'file:///srv/caller', name: 'caller'}],
    }));
    try {
      const result = (await client.callTool({name: 'composite__my_roots', arguments: {}})) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('file:///srv/caller');
    } finally {
      await close();
    }
  });

  it('a caller whose client cannot sample gets a tool error naming the step and why', async () => {
    const {client, close} = await connectAs('ops');
    try {
      const result = (await client.callTool({
        name: 'composite__ask_model',
        arguments: {prompt: 'Say hi'},
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /^Step "ask" \(everything__trigger-sampling-request\) failed: MCP error -32601: The client of this session does not support sampling/,
      );
    } finally {
      await close();
    }
  });

  it('elicitation of a step’s upstream reaches the caller’s client, and the accepted content reaches the step', async () => {
    const {client, close} = await connectAs('ops', {elicitation: {}});
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: {name: 'Ada', check: true, email: 'ada@example.com', integer: 3},
    }));
    try {
      const result = (await client.callTool({name: 'composite__ask_user', arguments: {}})) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('Ada');
    } finally {
      await close();
    }
  });

  /** A 2026-07-28 client of ops (SDK 2.x in `auto` mode), answering sampling with `answer` when given one. */
  async function modernClient(answer?: string): Promise<ModernClient> {
    const client = new ModernClient(
      {name: 'modern-test-client', version: '2.0.0'},
      {versionNegotiation: {mode: 'auto'}, capabilities: answer === undefined ? {} : {sampling: {}}},
    );
    if (answer !== undefined)
      client.setRequestHandler('sampling/createMessage', async () => ({
        model: 'test-model',
        role: 'assistant',
        content: {type: 'text', text: answer},
      }));
    const headers = {authorization: `Bearer ${TOKENS.ops}`};
    await client.connect(new ModernTransport(new URL(`${router.url}/mcp`), {requestInit: {headers}}));
    return client;
  }

  it('a 2026-07-28 client answers a step’s sampling as an input_required round of its composite call', async () => {
    const client = await modernClient('sampled in a round');
    try {
      const result = await client.callTool({name: 'composite__ask_model', arguments: {prompt: 'Say hi'}});
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({answer: expect.stringContaining('sampled in a round')});
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 client that did not declare sampling gets a tool error naming the step and why', async () => {
    const client = await modernClient();
    try {
      const result = (await client.callTool({
        name: 'composite__ask_model',
        arguments: {prompt: 'Say hi'},
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /^Step "ask" \(everything__trigger-sampling-request\) failed: MCP error -32601: The client does not support sampling/,
      );
    } finally {
      await client.close();
    }
  });
});
