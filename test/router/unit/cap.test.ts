import {describe, expect, it} from 'vitest';
import {RouterOutputSchema} from '../../../router/config/schema.js';
import {
  byteLength,
  capResult,
  cleanCut,
  limitsFor,
  minifiedJson,
  type CapDeps,
  type KeptContent,
} from '../../../router/results/cap.js';
import {ResultStore} from '../../../router/results/store.js';
import {tokenCounter} from '../../../router/results/tokens.js';

describe('minifiedJson', () => {
  it.each([
    ['a pretty object', '{\n  "a": [1, 2],\n  "b": {"c": null}\n}', '{"a":[1,2],"b":{"c":null}}'],
    ['whitespace inside strings kept', '{ "a b": "c  d\\n" }', '{"a b":"c  d\\n"}'],
    ['a pretty array', '[\n  true,\n  "x"\n]', '[true,"x"]'],
  ])('minifies %s', (_case, text, minified) => {
    expect(minifiedJson(text)).toBe(minified);
  });

  it.each([
    ['a number that would be rounded', '{ "id": 12345678901234567890 }'],
    ['a duplicate key that would be dropped', '{ "a": 1, "a": 2 }'],
    ['a number spelled otherwise', '{ "a": 1.0 }'],
    ['an escape that would be rewritten', '{ "a": "\\u00e9" }'],
    ['text that is not JSON', 'hello { world }'],
    ['JSON already minified', '{"a":1}'],
    ['a bare number', ' 12 '],
  ])('leaves %s alone', (_case, text) => {
    expect(minifiedJson(text)).toBeUndefined();
  });
});

describe('cleanCut', () => {
  it.each([
    ['after the last line break', 'aaa\nbbb\nccc', 10, 8],
    ['at the last whitespace when no line break keeps half', 'aaaa bbbb cccc', 12, 9],
    ['after the last item of minified JSON', '[{"a":1},{"b":2},{"c":3}]', 20, 17],
    ['at the end when there is no boundary', 'abcdefghij', 5, 5],
    ['before a surrogate pair it would split', 'abcd\u{1F600}ef', 5, 4],
    ['nowhere when the text fits', 'abc', 10, 3],
  ])('cuts %s', (_case, text, end, expected) => {
    expect(cleanCut(text, end)).toBe(expected);
  });
});

describe('limitsFor', () => {
  const router = RouterOutputSchema.parse({maxResultBytes: 4096, minifyJson: true});
  it.each([
    ['the router’s caps without an upstream’s own', undefined, {maxResultBytes: 4096, minifyJson: true}],
    ['the upstream’s caps over the router’s', {maxResultBytes: 2048, minifyJson: false}, {maxResultBytes: 2048}],
  ])('gives %s', (_case, upstream, expected) => {
    expect(limitsFor(router, upstream)).toMatchObject(expected);
  });

  it('gives none when nothing is capped', () => {
    expect(limitsFor(RouterOutputSchema.parse({}), {minifyJson: false})).toBeUndefined();
  });
});

/** A stand-in for the result store (`ResultStore`), named as such: it records what the caps keep. */
function recordingKeep(): {kept: KeptContent[]; deps: CapDeps} {
  const kept: KeptContent[] = [];
  return {
    kept,
    deps: {keepSeconds: 60, keep: (content) => `router://results/id${kept.push(content)}`},
  };
}

const lines = (count: number) => Array.from({length: count}, (_, i) => `line ${i} of some text here\n`).join('');
type Item = {type: string; text?: string; uri?: string};

describe('capResult', () => {
  it('keeps a result within the caps as it is', () => {
    const result = {content: [{type: 'text', text: 'short'}], structuredContent: {a: 1}};
    expect(capResult(result, {maxResultBytes: 1024}, recordingKeep().deps)).toEqual({result});
  });

  it('cuts text over maxResultBytes after a line, notes it, links the full text, and changes nothing else', () => {
    const {kept, deps} = recordingKeep();
    const text = lines(1000);
    const result = {content: [{type: 'text', text}], structuredContent: {content: text}, _meta: {m: 1}};
    const {result: capped, compaction} = capResult(result, {maxResultBytes: 4096}, deps);
    const content = capped.content as Item[];
    expect(content[0]?.text?.endsWith('\n')).toBe(true);
    expect(text.startsWith(content[0]?.text ?? 'x')).toBe(true);
    expect(byteLength(content.map((item) => item.text ?? '').join(''))).toBeLessThanOrEqual(4096);
    expect(content[1]?.text).toMatch(
      /^\[The router cut this text at maxResultBytes 4,096: it showed the first \d+ lines of 1,000 lines, [\d,]+ bytes\. It is kept for 60 s as router:\/\/results\/id1: read it with resources\/read, or the read_result tool\.\]$/,
    );
    expect(content[2]).toMatchObject({type: 'resource_link', uri: 'router://results/id1', mimeType: 'text/plain'});
    expect(kept).toEqual([{kind: 'text', text}]);
    expect(capped.structuredContent).toBe(result.structuredContent);
    expect(capped._meta).toBe(result._meta);
    expect(compaction).toMatchObject({cut: 1, media: 0, minified: 0, bytes: byteLength(text)});
  });

  it('leaves out the text items after a cut, each with its own note and link', () => {
    const {kept, deps} = recordingKeep();
    const content = [lines(10), lines(1000), lines(20)].map((text) => ({type: 'text', text}));
    const {result, compaction} = capResult({content}, {maxResultBytes: 4096}, deps);
    const texts = (result.content as Item[]).map((item) => item.text ?? item.uri);
    expect(texts[0]).toBe(lines(10));
    expect(texts.at(-2)).toMatch(/^\[A further text \(20 lines, [\d,]+ bytes\) was left out by the router\./);
    expect(texts.at(-1)).toBe('router://results/id2');
    expect(kept).toHaveLength(2);
    expect(compaction?.cut).toBe(2);
  });

  it('turns media over maxMediaBytes into a note and a link, and keeps smaller media', () => {
    const {kept, deps} = recordingKeep();
    const content = [
      {type: 'image', mimeType: 'image/png', data: 'A'.repeat(100)},
      {type: 'audio', mimeType: 'audio/wav', data: 'B'.repeat(10)},
    ];
    const {result, compaction} = capResult({content}, {maxMediaBytes: 50}, deps);
    expect(result.content).toEqual([
      {
        type: 'text',
        text:
          '[An image (image/png, 100 bytes) was left out by the router, over maxMediaBytes 50. It is kept for 60 s as ' +
          'router://results/id1: read it with resources/read, or the read_result tool.]',
      },
      expect.objectContaining({type: 'resource_link', uri: 'router://results/id1', mimeType: 'image/png'}),
      content[1],
    ]);
    expect(kept).toEqual([{kind: 'blob', mimeType: 'image/png', data: 'A'.repeat(100)}]);
    expect(compaction).toMatchObject({media: 1, bytes: 110, sentBytes: expect.any(Number)});
  });

  it('cuts the text of an embedded resource like text, keeping the item with its head and its MIME type', () => {
    const {kept, deps} = recordingKeep();
    const text = lines(1000);
    const resource = {uri: 'file:///big.csv', mimeType: 'text/csv', text};
    const content = [
      {type: 'resource', resource},
      {type: 'text', text: 'after'},
    ];
    const {result, compaction} = capResult({content}, {maxResultBytes: 4096}, deps);
    const out = result.content as {type: string; text?: string; resource?: typeof resource}[];
    expect(out[0]?.type).toBe('resource');
    expect(out[0]?.resource).toMatchObject({uri: 'file:///big.csv', mimeType: 'text/csv'});
    expect(text.startsWith(out[0]?.resource?.text ?? 'x')).toBe(true);
    expect(out[0]?.resource?.text?.endsWith('\n')).toBe(true);
    expect(out[1]?.text).toMatch(
      /^\[The router cut the text of the embedded resource "file:\/\/\/big\.csv" at maxResultBytes 4,096: it showed the first \d+ lines of 1,000 lines/,
    );
    expect(out[2]).toMatchObject({type: 'resource_link', uri: 'router://results/id1', mimeType: 'text/csv'});
    expect(out[3]?.text).toMatch(/^\[A further text \(1 lines, 5 bytes\) was left out by the router\./);
    expect(kept[0]).toEqual({kind: 'text', text, mimeType: 'text/csv'});
    expect(compaction).toMatchObject({cut: 2, bytes: byteLength(text) + 5});
    expect(byteLength(out.map((item) => item.text ?? item.resource?.text ?? '').join(''))).toBeLessThanOrEqual(4096);
  });

  it('turns an embedded blob resource over maxMediaBytes into a note and a link, and keeps a small one', () => {
    const {kept, deps} = recordingKeep();
    const big = {type: 'resource', resource: {uri: 'mem://b', mimeType: 'application/zip', blob: 'A'.repeat(100)}};
    const small = {type: 'resource', resource: {uri: 'mem://s', blob: 'AAAA'}};
    const {result, compaction} = capResult({content: [big, small]}, {maxMediaBytes: 50}, deps);
    expect(result.content).toEqual([
      {
        type: 'text',
        text:
          '[The embedded resource "mem://b" (application/zip, 100 bytes) was left out by the router, over ' +
          'maxMediaBytes 50. It is kept for 60 s as router://results/id1: read it with resources/read, or the ' +
          'read_result tool.]',
      },
      expect.objectContaining({type: 'resource_link', uri: 'router://results/id1', mimeType: 'application/zip'}),
      small,
    ]);
    expect(kept).toEqual([{kind: 'blob', mimeType: 'application/zip', data: 'A'.repeat(100)}]);
    expect(compaction).toMatchObject({media: 1});
  });

  it('says so, and links nothing, when the store cannot keep the full text', () => {
    const {result} = capResult(
      {content: [{type: 'text', text: lines(1000)}]},
      {maxResultBytes: 2048},
      {keepSeconds: 60, keep: () => undefined},
    );
    const content = result.content as Item[];
    expect(content.at(-1)?.text).toMatch(/It was too large for the router to keep\.\]$/);
    expect(content.some((item) => item.type === 'resource_link')).toBe(false);
  });

  it('minifies JSON text and then measures the minified text', () => {
    const text = JSON.stringify({items: Array.from({length: 50}, (_, i) => ({i}))}, null, 2);
    const {result, compaction} = capResult(
      {content: [{type: 'text', text}]},
      {minifyJson: true, maxResultBytes: 1024},
      recordingKeep().deps,
    );
    expect(result.content).toEqual([{type: 'text', text: JSON.stringify(JSON.parse(text))}]);
    expect(compaction).toMatchObject({minified: 1, cut: 0});
  });

  it('cuts text over maxResultTokens within the count of gpt-tokenizer', async () => {
    const tokens = await tokenCounter();
    const {result} = capResult(
      {content: [{type: 'text', text: lines(5000)}]},
      {maxResultTokens: 500},
      {
        ...recordingKeep().deps,
        tokens,
      },
    );
    const sent = (result.content as Item[]).map((item) => item.text ?? item.uri).join('');
    expect(tokens.within(sent, 500)).toBeDefined();
    expect((result.content as Item[])[1]?.text).toMatch(/at maxResultTokens 500: it showed the first \d+ lines/);
  });

  // Regression: gpt-tokenizer refuses text with special tokens by default; a result holding one must still be capped.
  it('caps text that holds special-token text such as <|endoftext|>', async () => {
    const tokens = await tokenCounter();
    const text = 'before <|endoftext|> after\n'.repeat(2000);
    const {result} = capResult(
      {content: [{type: 'text', text}]},
      {maxResultTokens: 300},
      {
        ...recordingKeep().deps,
        tokens,
      },
    );
    expect((result.content as Item[])[0]?.text).toMatch(/^before <\|endoftext\|> after\n/);
  });
});

describe('ResultStore', () => {
  it('gives kept content to its owner only, and forgets it with the owner', () => {
    const store = new ResultStore({maxBytes: 1024, ttlSeconds: 60});
    const [owner, other] = [{}, {}];
    const uri = store.keep(owner, {kind: 'text', text: 'full text'}) as string;
    expect(uri).toMatch(/^router:\/\/results\/[A-Za-z0-9_-]{24}$/);
    expect(store.read(owner, uri)).toEqual({uri, mimeType: 'text/plain', text: 'full text'});
    expect(store.read(other, uri)).toBeUndefined();
    store.forget(owner);
    expect(store.read(owner, uri)).toBeUndefined();
  });

  it('keeps nothing larger than itself, and drops the least recently used to make room', () => {
    const store = new ResultStore({maxBytes: 1024, ttlSeconds: 60});
    const owner = {};
    expect(store.keep(owner, {kind: 'text', text: 'x'.repeat(2000)})).toBeUndefined();
    const first = store.keep(owner, {kind: 'blob', mimeType: 'image/png', data: 'a'.repeat(600)}) as string;
    const second = store.keep(owner, {kind: 'blob', mimeType: 'image/png', data: 'b'.repeat(600)}) as string;
    expect(store.read(owner, first)).toBeUndefined();
    expect(store.read(owner, second)).toMatchObject({mimeType: 'image/png', blob: 'b'.repeat(600)});
  });
});
