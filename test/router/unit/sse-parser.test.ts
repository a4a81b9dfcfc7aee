import {describe, expect, it} from 'vitest';
import {SseParser} from '../../../router/upstream/sse-parser.js';

interface Seen {
  id?: string;
  event?: string;
  data: string | Buffer;
}

/** Parses `chunks` in order; returns the events (data as text) and the retry values. */
function parse(chunks: (string | Buffer)[]): {events: Seen[]; retries: number[]} {
  const events: Seen[] = [];
  const retries: number[] = [];
  const parser = new SseParser({
    onEvent: (event) => events.push(event),
    onRetry: (ms) => retries.push(ms),
  });
  for (const chunk of chunks) parser.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return {events, retries};
}

/** Every way of cutting `text` in two, as two chunks. */
function everySplit(text: string): Buffer[][] {
  const bytes = Buffer.from(text);
  return Array.from({length: bytes.length + 1}, (_, i) => [bytes.subarray(0, i), bytes.subarray(i)]);
}

describe('SseParser', () => {
  it('gives each event with its id, type and data', () => {
    const {events} = parse(['id: 7\nevent: message\ndata: {"a":1}\n\n']);
    expect(events).toEqual([{id: '7', event: 'message', data: '{"a":1}'}]);
  });

  it('gives the same events wherever the stream is cut, a multi-byte character included', () => {
    const text = 'id: 1\ndata: {"é":"ü"}\n\r\nevent: other\r\ndata: x\r\n\r\n:comment\rdata: y\r\r';
    const expected = [{id: '1', data: '{"é":"ü"}'}, {event: 'other', data: 'x'}, {data: 'y'}];
    for (const chunks of everySplit(text)) expect(parse(chunks).events).toEqual(expected);
    expect(parse([...Buffer.from(text)].map((byte) => Buffer.from([byte]))).events).toEqual(expected);
  });

  it('joins the data lines of one event with a newline', () => {
    expect(parse(['data: a\ndata:b\ndata\ndata:  c\n\n']).events).toEqual([{data: 'a\nb\n\n c'}]);
  });

  it('ignores comments, unknown fields and events without data; a priming event (id, empty data) is given', () => {
    const {events} = parse([': keep-alive\n\nfoo: bar\nid: 3\n\nid: 4\ndata:\n\n']);
    expect(events).toEqual([{id: '4', data: ''}]);
  });

  it('keeps an id to its own event and ignores one with NUL', () => {
    const {events} = parse(['id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n']);
    expect(events).toEqual([{id: '1', data: 'a'}, {data: 'b'}, {data: 'c'}]);
  });

  it('reports retry values of digits only', () => {
    expect(parse(['retry: 2500\nretry: soon\nretry: -1\nretry:10\n\n']).retries).toEqual([2500, 10]);
  });

  it('skips a UTF-8 BOM at the start of the stream only', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(parse([Buffer.concat([bom, Buffer.from('data: a\n\n')])]).events).toEqual([{data: 'a'}]);
    expect(parse(['data: a\n\n', Buffer.concat([bom, Buffer.from('data: b\n\n')])]).events).toEqual([{data: 'a'}]);
  });

  it('waits for the empty line that ends an event', () => {
    expect(parse(['data: a\n']).events).toEqual([]);
    expect(parse(['data: a\n', '\n']).events).toEqual([{data: 'a'}]);
  });

  it('reads a 50 MB event in 64 KiB chunks whole, with its field name cut over chunks', () => {
    const size = 50 * 1024 * 1024;
    const payload = Buffer.alloc(size, 'x');
    const stream = Buffer.concat([Buffer.from('id: big\ndata: '), payload, Buffer.from('\n\n')]);
    const chunks = [stream.subarray(0, 10), stream.subarray(10, 12)];
    for (let at = 12; at < stream.length; at += 64 * 1024) chunks.push(stream.subarray(at, at + 64 * 1024));
    const seen: {id?: string; data: string | Buffer}[] = [];
    const parser = new SseParser({onEvent: (event) => seen.push(event)});
    for (const chunk of chunks) parser.feed(chunk);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toBe('big');
    expect(seen[0]!.data.length).toBe(size);
    expect(seen[0]!.data === payload.toString('latin1')).toBe(true);
  });

  describe('with maxDataBytes', () => {
    /** Parses `chunks` with a limit; returns the events and the oversized ones. */
    function parseLimited(chunks: Buffer[], maxDataBytes: number) {
      const events: Seen[] = [];
      const oversized: {bytes: number; head: string; tail: string; id?: string}[] = [];
      const parser = new SseParser({
        maxDataBytes,
        onEvent: (event) => events.push(event),
        onOversized: (event) => oversized.push(event),
      });
      for (const chunk of chunks) parser.feed(chunk);
      return {events, oversized};
    }

    it('gives an event over the limit as its size and edges wherever the stream is cut, and reads on', () => {
      const data = `{"jsonrpc":"2.0","id":7,"result":{"text":"${'y'.repeat(20_000)}"}}`;
      const stream = `id: e1\ndata: ${data}\n\ndata: {"small":1}\n\n`;
      const bytes = Buffer.from(stream);
      for (const at of [0, 3, 10, 4000, 12_000, bytes.length - 20, bytes.length - 3]) {
        const {events, oversized} = parseLimited([bytes.subarray(0, at), bytes.subarray(at)], 10_000);
        expect(oversized).toEqual([{bytes: data.length, id: 'e1', head: data.slice(0, 4096), tail: data.slice(-4096)}]);
        expect(events).toEqual([{data: '{"small":1}'}]);
      }
    });

    it('counts the data lines of one event together, newlines included', () => {
      const line = 'z'.repeat(600);
      const {events, oversized} = parseLimited([Buffer.from(`data: ${line}\ndata: ${line}\n\n`)], 1000);
      expect(events).toEqual([]);
      expect(oversized).toEqual([{bytes: 1201, head: `${line}\n${line}`, tail: `${line}\n${line}`}]);
    });

    it('gives an event of exactly the limit whole', () => {
      const {events, oversized} = parseLimited([Buffer.from(`data: ${'a'.repeat(1000)}\n\n`)], 1000);
      expect(oversized).toEqual([]);
      expect(events).toEqual([{data: 'a'.repeat(1000)}]);
    });
  });
});
