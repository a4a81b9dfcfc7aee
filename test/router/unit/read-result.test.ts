import {encode} from 'gpt-tokenizer';
import {describe, expect, it} from 'vitest';
import {DEFAULT_READ_LENGTH, readRangeOf, readResult} from '../../../router/results/read.js';
import {tokenCounter} from '../../../router/results/tokens.js';

const uri = 'router://results/id1';
const kept = (text: string) => ({uri, mimeType: 'text/plain', text});
type Read = {content: {type: string; text?: string; data?: string}[]; structuredContent: Record<string, unknown>};

describe('readRangeOf', () => {
  it('fills in the defaults', () => {
    expect(readRangeOf({uri})).toEqual({uri, unit: 'bytes', offset: 0, length: DEFAULT_READ_LENGTH.bytes});
    expect(readRangeOf({uri, unit: 'tokens'})).toMatchObject({length: DEFAULT_READ_LENGTH.tokens});
  });

  it.each([
    [{}, 'uri must be'],
    [{uri, offset: 1.5}, 'offset must be an integer from 0'],
    [{uri, length: 0}, 'length must be an integer from 1'],
    [{uri, unit: 'lines'}, 'unit must be "bytes" or "tokens"'],
  ])('refuses %j with -32602 naming the argument', (args, message) => {
    expect(() => readRangeOf(args)).toThrow(
      expect.objectContaining({code: -32602, message: expect.stringContaining(message)}),
    );
  });
});

describe('readResult', () => {
  it('reads a range of bytes, never splitting a character, and says where the next read starts', () => {
    const text = 'aé€😀b'; // 1 + 2 + 3 + 4 + 1 bytes
    const first = readResult(kept(text), {uri, unit: 'bytes', offset: 0, length: 4}) as Read;
    expect(first.content).toEqual([{type: 'text', text: 'aé'}]);
    expect(first.structuredContent).toEqual({uri, unit: 'bytes', offset: 0, nextOffset: 3, totalBytes: 11});
    // An offset inside the euro sign starts at it; a length shorter than a character still moves on by one.
    const inside = readResult(kept(text), {uri, unit: 'bytes', offset: 4, length: 1}) as Read;
    expect(inside.content[0]?.text).toBe('€');
    expect(inside.structuredContent).toMatchObject({offset: 3, nextOffset: 6});
    const last = readResult(kept(text), {uri, unit: 'bytes', offset: 6, length: 100}) as Read;
    expect(last.content[0]?.text).toBe('😀b');
    expect(last.structuredContent).not.toHaveProperty('nextOffset');
  });

  it('reads past the end as an empty text with no next offset', () => {
    const read = readResult(kept('abc'), {uri, unit: 'bytes', offset: 10, length: 5}) as Read;
    expect(read.content[0]?.text).toBe('');
    expect(read.structuredContent).toEqual({uri, unit: 'bytes', offset: 3, totalBytes: 3});
  });

  it('reads a range of tokens with the caps tokenizer', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(50);
    const tokens = await tokenCounter();
    const first = readResult(kept(text), {uri, unit: 'tokens', offset: 0, length: 25}, tokens) as Read;
    const head = first.content[0]?.text ?? '';
    expect(encode(head).length).toBe(25);
    const next = first.structuredContent.nextOffset as number;
    const second = readResult(kept(text), {uri, unit: 'tokens', offset: next, length: 25}, tokens) as Read;
    expect(second.structuredContent.offset).toBe(25);
    expect(text.startsWith(head + second.content[0]?.text)).toBe(true);
  });

  it('gives kept media whole, as the content item it was', () => {
    const blob = Buffer.from('0123456789').toString('base64');
    const read = readResult({uri, mimeType: 'image/png', blob}, {uri, unit: 'bytes', offset: 4, length: 2}) as Read;
    expect(read.content).toEqual([{type: 'image', data: blob, mimeType: 'image/png'}]);
    expect(read.structuredContent).toEqual({uri, unit: 'bytes', offset: 0, totalBytes: 10});
  });
});
