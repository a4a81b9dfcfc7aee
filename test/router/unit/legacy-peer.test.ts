import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {describe, expect, it} from 'vitest';
import {JsonRpcFailure} from '../../../router/errors.js';
import type {Call, DownstreamSession} from '../../../router/session/downstream.js';
import {legacyPeer, mayNotify, type LegacyPeer} from '../../../router/session/legacy.js';

const IDENTITY = {serverInfo: {name: 'router', version: '1'}, capabilities: {tools: {listChanged: true}}};
const INITIALIZE_PARAMS = {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'client', version: '1'}};

/**
 * A stand-in for `DownstreamSession` (the peer's only dependency besides its transport): it records what the peer
 * hands it, and answers `handle` with what the test gives it. The wire side is the SDK's in-memory transport pair.
 */
function peerOnWire(handle: (request: {method: string}, call: Call) => Promise<object> = async () => ({})) {
  const seen = {calls: [] as Call[], levels: [] as string[], rootsChanged: 0, closed: 0};
  const session = {
    handle: (request: {method: string}, call: Call) => (seen.calls.push(call), handle(request, call)),
    setLogLevel: async (level: string) => void seen.levels.push(level),
    rootsChanged: async () => void seen.rootsChanged++,
    close: async () => void seen.closed++,
  } as unknown as DownstreamSession<LegacyPeer>;
  const peer = legacyPeer(IDENTITY)(session);
  const [client, server] = InMemoryTransport.createLinkedPair();
  const received: JSONRPCMessage[] = [];
  client.onmessage = (message) => void received.push(message);
  let read = 0;
  /** The next message the client received, in order. */
  const next = async () => {
    read++;
    await expect.poll(() => received.length).toBeGreaterThanOrEqual(read);
    return received[read - 1] as JSONRPCMessage & Record<string, unknown>;
  };
  const send = (message: object) => client.send({jsonrpc: '2.0', ...message} as JSONRPCMessage);
  return {peer, server, seen, received, next, send, connect: () => Promise.all([peer.connect(server), client.start()])};
}

describe('LegacyPeer', () => {
  it('answers initialize with the version asked for, the identity and logging, and keeps the client’s side', async () => {
    const wire = peerOnWire();
    await wire.connect();
    await wire.send({id: 1, method: 'initialize', params: {...INITIALIZE_PARAMS, capabilities: {sampling: {}}}});
    expect(await wire.next()).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: {
        protocolVersion: '2025-11-25',
        capabilities: {tools: {listChanged: true}, logging: {}},
        serverInfo: {name: 'router', version: '1'},
      },
    });
    expect(wire.peer.clientInfo()).toEqual({name: 'client', version: '1'});
    expect(wire.peer.clientCapabilities()).toEqual({sampling: {}});
  });

  it('regression: a shared upstream’s log message reached an SSE stream before its initialize result; now a session is sent notifications once initialized', async () => {
    const wire = peerOnWire();
    await wire.connect();
    const log = {method: 'notifications/message', params: {level: 'info', data: 'Roots updated'}};
    wire.peer.notify(log);
    await wire.send({id: 1, method: 'initialize', params: INITIALIZE_PARAMS});
    expect(await wire.next()).toMatchObject({id: 1, result: {protocolVersion: '2025-11-25'}});
    wire.peer.notify(log);
    expect(await wire.next()).toEqual({jsonrpc: '2.0', ...log});
    expect(wire.received).toHaveLength(2);
  });

  it('answers a version it does not support with the latest', async () => {
    const wire = peerOnWire();
    await wire.connect();
    await wire.send({id: 1, method: 'initialize', params: {...INITIALIZE_PARAMS, protocolVersion: '1999-01-01'}});
    expect(((await wire.next()).result as {protocolVersion: string}).protocolVersion).toBe('2025-11-25');
  });

  it.each([
    ['initialize', {protocolVersion: '2025-11-25'}, /^Invalid initialize request: capabilities: .*clientInfo: /],
    ['logging/setLevel', {level: 'loud'}, /^Invalid logging\/setLevel request: level: /],
  ])('refuses %s with params it cannot use: -32602 naming what is wrong', async (method, params, message) => {
    const wire = peerOnWire();
    await wire.connect();
    await wire.send({id: 7, method, params});
    const answer = await wire.next();
    expect(answer.error).toMatchObject({code: -32602, message: expect.stringMatching(message)});
  });

  it('answers ping itself, and hands logging/setLevel and roots changes to the session', async () => {
    const wire = peerOnWire();
    await wire.connect();
    await wire.send({id: 1, method: 'ping'});
    await wire.send({id: 2, method: 'logging/setLevel', params: {level: 'debug'}});
    await wire.send({method: 'notifications/roots/list_changed'});
    expect(await wire.next()).toEqual({jsonrpc: '2.0', id: 1, result: {}});
    expect(await wire.next()).toEqual({jsonrpc: '2.0', id: 2, result: {}});
    expect(wire.seen.levels).toEqual(['debug']);
    await expect.poll(() => wire.seen.rootsChanged).toBe(1);
    expect(wire.seen.calls).toEqual([]);
  });

  it('sends what the session throws as the JSON-RPC error, its code kept and -32603 for one without', async () => {
    let failure: unknown = new JsonRpcFailure(-32602, 'Access denied', {tool: 'x'});
    const wire = peerOnWire(async () => {
      throw failure;
    });
    await wire.connect();
    await wire.send({id: 'a', method: 'tools/call', params: {name: 'x'}});
    expect(await wire.next()).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      error: {code: -32602, message: 'Access denied', data: {tool: 'x'}},
    });
    failure = new Error('boom');
    await wire.send({id: 'b', method: 'tools/call', params: {name: 'x'}});
    expect((await wire.next()).error).toEqual({code: -32603, message: 'boom'});
  });

  it('aborts a request the client cancels, and sends no answer for it', async () => {
    let release!: () => void;
    const wire = peerOnWire(() => new Promise((resolve) => (release = () => resolve({content: []}))));
    await wire.connect();
    await wire.send({id: 3, method: 'tools/call', params: {name: 'slow', _meta: {progressToken: 'p'}}});
    await expect.poll(() => wire.seen.calls.length).toBe(1);
    const [call] = wire.seen.calls as [Call];
    expect(call.progressToken).toBe('p');
    await wire.send({method: 'notifications/cancelled', params: {requestId: 3, reason: 'no longer needed'}});
    await expect.poll(() => call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe('no longer needed');
    release();
    await wire.send({id: 4, method: 'ping'});
    expect(await wire.next()).toEqual({jsonrpc: '2.0', id: 4, result: {}});
    expect(wire.received).toHaveLength(1);
  });

  it('sends a server-to-client request on the call’s behalf and resolves with the client’s result', async () => {
    let call!: Call;
    const wire = peerOnWire(async (_request, given) => {
      call = given;
      return {answer: await given.request?.({method: 'roots/list'}, new AbortController().signal)};
    });
    await wire.connect();
    await wire.send({id: 1, method: 'tools/call', params: {name: 'x'}});
    const asked = await wire.next();
    expect(asked).toEqual({jsonrpc: '2.0', id: 0, method: 'roots/list'});
    await wire.send({id: 0, result: {roots: []}});
    expect(await wire.next()).toEqual({jsonrpc: '2.0', id: 1, result: {answer: {roots: []}}});
    expect(call.signal.aborted).toBe(false);
  });

  it('cancels a server-to-client request whose signal aborts: the client is told, the caller gets -32001', async () => {
    const wire = peerOnWire();
    await wire.connect();
    const controller = new AbortController();
    const asked = wire.peer.request({method: 'sampling/createMessage', params: {}}, controller.signal);
    expect(await wire.next()).toMatchObject({id: 0, method: 'sampling/createMessage'});
    controller.abort('upstream gave up');
    await expect(asked).rejects.toMatchObject({code: -32001, message: 'upstream gave up'});
    expect(await wire.next()).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: {requestId: 0, reason: 'upstream gave up'},
    });
  });

  it('passes on the client’s error answer with its code, message and data', async () => {
    const wire = peerOnWire();
    await wire.connect();
    const asked = wire.peer.request({method: 'elicitation/create', params: {}}, new AbortController().signal);
    await wire.next();
    await wire.send({id: 0, error: {code: -1, message: 'User declined', data: {why: 'busy'}}});
    await expect(asked).rejects.toEqual(new JsonRpcFailure(-1, 'User declined', {why: 'busy'}));
  });

  it('when the transport closes: requests in flight abort, questions to the client fail with -32000, the session closes', async () => {
    const wire = peerOnWire(() => new Promise(() => {}));
    await wire.connect();
    await wire.send({id: 1, method: 'tools/call', params: {name: 'x'}});
    await expect.poll(() => wire.seen.calls.length).toBe(1);
    const asked = wire.peer.request({method: 'roots/list'}, new AbortController().signal);
    await wire.peer.close();
    await expect(asked).rejects.toMatchObject({code: -32000, message: 'Connection closed'});
    expect(wire.seen.calls[0]?.signal.aborted).toBe(true);
    expect(wire.seen.closed).toBe(1);
    expect(wire.peer.id).toBeUndefined();
  });

  it('regression: connecting replaced the transport’s own close handler (the app’s, which forgets the session)', async () => {
    const wire = peerOnWire();
    let forgotten = 0;
    wire.server.onclose = () => void forgotten++;
    await wire.connect();
    await wire.peer.close();
    expect(forgotten).toBeGreaterThanOrEqual(1);
    expect(wire.seen.closed).toBe(1);
  });
});

describe('mayNotify', () => {
  it.each([
    ['notifications/message', {logging: {}}, {}, true],
    ['notifications/message', {}, {}, false],
    ['notifications/resources/updated', {resources: {}}, {}, true],
    ['notifications/resources/list_changed', {tools: {}}, {}, false],
    ['notifications/tools/list_changed', {tools: {}}, {}, true],
    ['notifications/prompts/list_changed', {tools: {}}, {}, false],
    ['notifications/elicitation/complete', {}, {elicitation: {url: {}}}, true],
    ['notifications/elicitation/complete', {}, {elicitation: {form: {}}}, false],
    ['notifications/progress', {}, {}, true],
    ['notifications/cancelled', {}, {}, true],
  ])('%s with server %j and client %j: %s', (method, server, client, expected) => {
    expect(mayNotify(method, server, client)).toBe(expected);
  });
});
