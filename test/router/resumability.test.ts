import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {
  callOnRawSession,
  capturedLogger,
  INITIALIZE,
  MCP_HEADERS,
  openRawSession,
  resumeRawStream,
  startLoggedRouter,
} from '../support/router.js';

// Resumable streams (MCP 2025-11-25 basic/transports, Resumability and Redelivery): a client whose call stream drops
// resumes it with GET and Last-Event-ID, and gets every message it missed, the result included.
interface SseEvent {
  id?: string;
  message?: {id?: unknown; method?: string; params?: {progress?: number}; result?: {content?: unknown}};
}

/** Reads SSE events from a response body until `done` says so, or the stream ends. */
async function readEvents(body: ReadableStream<Uint8Array>, done: (events: SseEvent[]) => boolean) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  while (!done(events)) {
    const {value, done: ended} = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, {stream: true});
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      events.push({...(id !== undefined && {id}), ...(data !== undefined && {message: JSON.parse(data)})});
    }
  }
  return {events, stop: () => reader.cancel().catch(() => undefined)};
}

describe('resumable streams', () => {
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;
  beforeAll(async () => {
    router = await startLoggedRouter(
      {mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}}},
      capturedLogger('error').log,
    );
  });
  afterAll(() => router?.stop());

  it('a call whose stream dropped is resumed with Last-Event-ID, and nothing is lost', async () => {
    const headers = await openRawSession(`${router.url}/mcp`);

    const call = await callOnRawSession(`${router.url}/mcp`, headers, {
      name: 'everything__trigger-long-running-operation',
      arguments: {duration: 2, steps: 4},
      _meta: {progressToken: 'p'},
    });
    const first = await readEvents(call.response.body as ReadableStream<Uint8Array>, (events) =>
      events.some((e) => e.message?.method === 'notifications/progress'),
    );
    call.drop();
    const lastEventId = first.events.at(-1)?.id as string;
    expect(lastEventId).toBeTruthy();

    // The call goes on while the client is away.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const resumed = await resumeRawStream(`${router.url}/mcp`, headers, lastEventId);
    expect(resumed.status).toBe(200);
    const rest = await readEvents(resumed.body as ReadableStream<Uint8Array>, (events) =>
      events.some((e) => e.message?.id === 2),
    );
    await rest.stop();

    const messages = [...first.events, ...rest.events].map((e) => e.message).filter((m) => m !== undefined);
    const progress = messages.filter((m) => m.method === 'notifications/progress').map((m) => m.params?.progress);
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(messages.find((m) => m.id === 2)?.result?.content).toBeDefined();
  });

  it('an unknown Last-Event-ID gets an error, not a stream', async () => {
    const opened = await fetch(`${router.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: JSON.stringify(INITIALIZE),
    });
    await opened.body?.cancel();
    const resumed = await fetch(`${router.url}/mcp`, {
      headers: {
        accept: 'text/event-stream',
        'mcp-session-id': opened.headers.get('mcp-session-id') as string,
        'mcp-protocol-version': '2025-11-25',
        'last-event-id': 'no-such-stream.42',
      },
    });
    expect(resumed.status).toBe(400);
    await resumed.body?.cancel();
  });
});
