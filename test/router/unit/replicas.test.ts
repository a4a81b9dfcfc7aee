import type {V1EndpointSlice} from '@kubernetes/client-node';
import {describe, expect, it} from 'vitest';
import {
  heldIdOf,
  heldIdRefusal,
  isLeaving,
  mayNameHeldId,
  routeHeld,
  routeSession,
  routeSessionless,
} from '../../../router/http/forward.js';
import {endpointAddress, endpointStates} from '../../../router/replicas/peers.js';
import {
  MIN_KEY_BYTES,
  parseSessionKeys,
  SessionIds,
  signSessionId,
  verifySessionId,
} from '../../../router/replicas/session-id.js';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);

describe('signed session ids', () => {
  it('carry their owner, verify with the key that signed them, and are visible ASCII', () => {
    const id = signSessionId('10.0.0.7:8080', NEW);
    expect(id).toMatch(/^[\x21-\x7e]+$/);
    expect(verifySessionId(id, [NEW])).toBe('10.0.0.7:8080');
  });

  it('are never the same twice (128 random bits each)', () => {
    const ids = new Set(Array.from({length: 1000}, () => signSessionId('10.0.0.7:8080', NEW)));
    expect(ids.size).toBe(1000);
  });

  it('rotate: the first key signs, every key of the list verifies, a dropped key no longer does', () => {
    const ids = new SessionIds({owner: 'a:1', keys: [NEW, OLD]});
    expect(verifySessionId(ids.newId(), [NEW])).toBe('a:1');
    const byOld = signSessionId('a:1', OLD);
    expect(ids.ownerOf(byOld)).toBe('a:1');
    expect(new SessionIds({owner: 'a:1', keys: [NEW]}).ownerOf(byOld)).toBeUndefined();
  });

  const id = signSessionId('10.0.0.7:8080', NEW);
  const [owner, nonce, mac] = id.split('.') as [string, string, string];
  it.each([
    [
      'another owner with the same MAC (steered)',
      `${Buffer.from('10.0.0.8:8080').toString('base64url')}.${nonce}.${mac}`,
    ],
    ['a changed nonce', `${owner}.${Buffer.alloc(16, 9).toString('base64url')}.${mac}`],
    ['a cut MAC', `${owner}.${nonce}.${mac.slice(0, 20)}`],
    ['another key', signSessionId('10.0.0.7:8080', OLD)],
    ['a UUID', '3f1b2c4d-0000-4000-8000-000000000000'],
    ['extra parts', `${id}.x`],
    ['not base64url', `${owner}.${nonce}.${mac}=`],
    ['empty', ''],
  ])('are refused when forged or tampered: %s', (_name, forged) => {
    expect(verifySessionId(forged, [NEW])).toBeUndefined();
  });

  it('without keys, a process signs with a key of its own that no other process has', () => {
    const a = new SessionIds({owner: 'x:1'});
    const b = new SessionIds({owner: 'x:1'});
    expect(a.ownerOf(a.newId())).toBe('x:1');
    expect(b.ownerOf(a.newId())).toBeUndefined();
  });
});

describe('parseSessionKeys', () => {
  it('reads keys one a line or comma, the first first', () => {
    const a = 'a'.repeat(MIN_KEY_BYTES);
    const b = 'b'.repeat(40);
    expect(parseSessionKeys(`${a}\n${b}\n`, 'ENV')).toEqual([Buffer.from(a), Buffer.from(b)]);
    expect(parseSessionKeys(` ${a} , ${b}`, 'ENV')).toEqual([Buffer.from(a), Buffer.from(b)]);
  });

  it.each([
    ['', 'ENV: no session key'],
    [`${'a'.repeat(32)}\nshort`, 'ENV: key 2 is shorter than 32 bytes'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseSessionKeys(text, 'ENV')).toThrow(message);
  });
});

describe('endpointStates', () => {
  const slice = (endpoints: V1EndpointSlice['endpoints'], ports = [{name: 'http', port: 8080}]): V1EndpointSlice => ({
    addressType: 'IPv4',
    endpoints,
    ports,
  });
  it('gives host:port of the endpoints for the named port: ready (unset counts), starting, or terminating', () => {
    const states = endpointStates(
      [
        slice([
          {addresses: ['10.0.0.1'], conditions: {ready: true}},
          {addresses: ['10.0.0.2'], conditions: {ready: false, serving: true, terminating: true}},
          {addresses: ['10.0.0.3']},
          {addresses: ['10.0.0.6'], conditions: {ready: false}},
        ]),
        slice([{addresses: ['10.0.0.4'], conditions: {ready: true}}], [{name: 'metrics', port: 9090}]),
        slice([{addresses: ['fd00::5'], conditions: {ready: true}}]),
        // The same pod in a second slice, not ready there (slices being rebalanced): ready wins.
        slice([{addresses: ['10.0.0.1'], conditions: {ready: false}}]),
      ],
      'http',
    );
    expect(Object.fromEntries(states)).toEqual({
      '10.0.0.1:8080': 'ready',
      '10.0.0.2:8080': 'terminating',
      '10.0.0.3:8080': 'ready',
      '10.0.0.6:8080': 'starting',
      '[fd00::5]:8080': 'ready',
    });
  });

  it('writes IPv6 hosts in brackets', () => {
    expect(endpointAddress('fd00::5', 80)).toBe('[fd00::5]:80');
    expect(endpointAddress('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });
});

/** A pod's view of the endpoints: 10.0.0.2 ready, 10.0.0.4 starting, 10.0.0.5 terminating, 10.0.0.3 gone. */
const VIEW = {
  isReadyEndpoint: (address: string) => address === '10.0.0.2:8080',
  isStarting: (address: string) => address === '10.0.0.4:8080',
};

describe('routeSession', () => {
  const ids = new SessionIds({owner: '10.0.0.1:8080', keys: [NEW]});
  const of = (owner: string) => signSessionId(owner, NEW);
  it.each([
    ['its own session', of('10.0.0.1:8080'), false, {kind: 'local'}],
    ["a ready peer's session", of('10.0.0.2:8080'), false, {kind: 'forward', owner: '10.0.0.2:8080'}],
    ['a gone peer', of('10.0.0.3:8080'), false, {kind: 'notFound', reason: 'not_ready_endpoint'}],
    ['a terminating peer', of('10.0.0.5:8080'), false, {kind: 'notFound', reason: 'not_ready_endpoint'}],
    ['a starting peer', of('10.0.0.4:8080'), false, {kind: 'waitForOwner', owner: '10.0.0.4:8080'}],
    ['a starting peer, waited for once', of('10.0.0.4:8080'), true, {kind: 'notFound', reason: 'not_ready_endpoint'}],
    ['a forwarded request of a peer', of('10.0.0.2:8080'), false, {kind: 'notFound', reason: 'forwarded_twice'}, true],
    ['a forwarded request of its own', of('10.0.0.1:8080'), false, {kind: 'local'}, true],
    ['a forged id', signSessionId('10.0.0.2:8080', OLD), false, {kind: 'notFound', reason: 'invalid_id'}],
  ])('%s', (_name, id, waited, route, forwarded = false) => {
    expect(routeSession(id, {ids, peers: VIEW, forwarded, waited, draining: false})).toEqual(route);
  });

  it("while draining, its own sessions are over (404), and a peer's still go to their owner", () => {
    const draining = {ids, peers: VIEW, forwarded: false, waited: false, draining: true};
    expect(routeSession(of('10.0.0.1:8080'), draining)).toEqual({kind: 'notFound', reason: 'draining'});
    expect(routeSession(of('10.0.0.2:8080'), draining)).toEqual({kind: 'forward', owner: '10.0.0.2:8080'});
  });
});

describe('a leaving pod', () => {
  const ids = {owner: '10.0.0.1:8080'};
  const endpoints = (...ready: string[]) => ({synced: true, isReadyEndpoint: (a: string) => ready.includes(a)});
  it.each([
    ['a ready endpoint', endpoints('10.0.0.1:8080'), false, false],
    ['a ready endpoint that drains', endpoints('10.0.0.1:8080'), true, true],
    ['no ready endpoint any more (terminating)', endpoints('10.0.0.2:8080'), false, true],
    ['before its peers are known', {synced: false, isReadyEndpoint: () => false}, false, false],
  ])('is leaving when %s: %s', (_name, peers, draining, leaving) => {
    expect(isLeaving({ids, peers, draining})).toBe(leaving);
  });

  const peer = '10.0.0.2:8080';
  const request = {leaving: true, forwarded: false, heldHere: false, listens: false, peer};
  it.each([
    ['an initialize or a 2026-07-28 request, leaving, with a ready peer', request, {kind: 'forward', owner: peer}],
    ['the same, leaving, without a ready peer', {...request, peer: undefined}, {kind: 'local'}],
    ['a request a peer forwarded', {...request, forwarded: true}, {kind: 'local'}],
    ["a round's retry or a cut result held here", {...request, heldHere: true}, {kind: 'local'}],
    ['a subscriptions/listen stream (it would end with this pod)', {...request, listens: true}, {kind: 'local'}],
    ['a request to a pod that stays', {...request, leaving: false}, {kind: 'local'}],
  ])('sends a request without a session: %s', (_name, context, route) => {
    expect(routeSessionless(context)).toEqual(route);
  });
});

describe('ids of what a pod holds for a 2026-07-28 client', () => {
  const ids = new SessionIds({owner: '10.0.0.1:8080', keys: [NEW]});
  const state = (owner: string, key = NEW) => signSessionId(owner, key, undefined, 'requestState');

  it('are signed per kind: a session id is no requestState, a requestState is no cut-result id', () => {
    const id = ids.newId('requestState');
    expect(ids.ownerOf(id, 'requestState')).toBe('10.0.0.1:8080');
    expect(ids.ownerOf(id)).toBeUndefined();
    expect(ids.ownerOf(id, 'result')).toBeUndefined();
    expect(ids.ownerOf(ids.newId(), 'requestState')).toBeUndefined();
  });

  it.each([
    ['a retry', {method: 'tools/call', params: {name: 'x', requestState: 'S'}}, {kind: 'requestState', id: 'S'}],
    [
      'a resources/read of a cut result',
      {method: 'resources/read', params: {uri: 'router://results/R'}},
      {kind: 'result', id: 'R'},
    ],
    [
      'a read_result call',
      {method: 'tools/call', params: {name: 'read_result', arguments: {uri: 'router://results/R', offset: 9}}},
      {kind: 'result', id: 'R'},
    ],
    ['a resources/read of an upstream', {method: 'resources/read', params: {uri: 'file:///etc/hosts'}}, undefined],
    [
      'another tool with a results uri',
      {method: 'tools/call', params: {name: 'echo', arguments: {uri: 'router://results/R'}}},
      undefined,
    ],
    ['a body without params', {method: 'tools/list'}, undefined],
    ['no body', undefined, undefined],
    ['a batch', [{method: 'resources/read', params: {uri: 'router://results/R'}}], undefined],
  ])('are found in a body: %s', (_name, body, held) => {
    expect(heldIdOf(body)).toEqual(held);
  });

  it.each([
    ['a 2026-07-28 tools/call', 'POST', {'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call'}, true],
    [
      'a 2026-07-28 resources/read',
      'POST',
      {'mcp-protocol-version': '2026-07-28', 'mcp-method': 'resources/read'},
      true,
    ],
    ['a 2026-07-28 POST without Mcp-Method', 'POST', {'mcp-protocol-version': '2026-07-28'}, true],
    ['a 2026-07-28 tools/list', 'POST', {'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list'}, false],
    ['a 2025 initialize', 'POST', {}, false],
    ['a GET', 'GET', {'mcp-protocol-version': '2026-07-28'}, false],
  ])('are looked for only in bodies that may name one: %s', (_name, method, headers, may) => {
    expect(mayNameHeldId(method, headers)).toBe(may);
  });

  it.each([
    ['its own', state('10.0.0.1:8080'), false, {kind: 'local'}],
    ["a ready peer's", state('10.0.0.2:8080'), false, {kind: 'forward', owner: '10.0.0.2:8080'}],
    ['a gone peer’s', state('10.0.0.3:8080'), false, {kind: 'notFound', reason: 'not_ready_endpoint'}],
    [
      "a ready peer's, forwarded once already",
      state('10.0.0.2:8080'),
      true,
      {kind: 'notFound', reason: 'forwarded_twice'},
    ],
    [
      'one no key signed (an upstream’s own state, or forged): looked up here',
      state('10.0.0.2:8080', OLD),
      false,
      {kind: 'local'},
    ],
    ['a session id of a peer used as a state', signSessionId('10.0.0.2:8080', NEW), false, {kind: 'local'}],
  ])('are routed to their owner: %s', (_name, id, forwarded, route) => {
    expect(routeHeld({kind: 'requestState', id}, {ids, peers: VIEW, forwarded, waited: false})).toEqual(route);
  });

  it('are refused in-band as the owner refuses an unknown one (-32602), with the request id', () => {
    expect(heldIdRefusal({kind: 'requestState', id: 'S'}, {id: 4})).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: {code: -32602, message: 'Unknown or expired requestState'},
    });
    expect(heldIdRefusal({kind: 'result', id: 'R'}, {})).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {code: -32602, message: 'Resource not found: "router://results/R"'},
    });
  });
});
