/**
 * Benchmark: framing one large stdio message, the SDK's `ReadBuffer` against the router's `LineFramer`, in the same
 * run.
 *
 * A JSON-RPC response of 10 MB (and of 1 MB, to show how each scales) arrives in 64 KiB chunks, as a pipe delivers
 * it. Each side does what its transport does per chunk: the SDK appends the chunk and tries `readMessage()`; the
 * router pushes the chunk and parses the lines it completes with the SDK's own `deserializeMessage`. Prints the
 * median of 7 runs per side (ms), the ratio SDK/router, and the time of the one concatenation, UTF-8 decoding and
 * parse (JSON.parse and the SDK's schema check) that both need per message. Run: `npx tsx bench/stdio-framing.ts`.
 */
import {deserializeMessage, ReadBuffer, serializeMessage} from '@modelcontextprotocol/sdk/shared/stdio.js';
import {LineFramer} from '../router/upstream/framing.js';

const CHUNK_BYTES = 64 * 1024;
const RUNS = 7;

/** A `tools/call` response of about `bytes` bytes, serialized as the SDK writes it, in 64 KiB chunks. */
function chunksOf(bytes: number): Buffer[] {
  const text = 'x'.repeat(bytes - 100);
  const wire = Buffer.from(
    serializeMessage({jsonrpc: '2.0', id: 1, result: {content: [{type: 'text', text}]}} as never),
  );
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += CHUNK_BYTES) chunks.push(wire.subarray(i, i + CHUNK_BYTES));
  return chunks;
}

function withSdk(chunks: Buffer[]): number {
  const buffer = new ReadBuffer({maxBufferSize: 1024 * 1024 * 1024});
  let messages = 0;
  for (const chunk of chunks) {
    buffer.append(chunk);
    while (buffer.readMessage() !== null) messages++;
  }
  return messages;
}

function withRouter(chunks: Buffer[]): number {
  const framer = new LineFramer(1024 * 1024 * 1024);
  let messages = 0;
  for (const chunk of chunks) {
    for (const line of framer.push(chunk)) {
      if (line.kind === 'line') deserializeMessage(line.bytes.toString('utf8'));
      messages++;
    }
  }
  return messages;
}

/** One concatenation, decoding and parse, which both sides need once per message: what is left is framing. */
function parseOnly(chunks: Buffer[]): number {
  deserializeMessage(Buffer.concat(chunks).toString('utf8').trimEnd());
  return 1;
}

function medianMs(frame: (chunks: Buffer[]) => number, chunks: Buffer[]): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    if (frame(chunks) !== 1) throw new Error('expected exactly one message');
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

for (const bytes of [1_000_000, 10_000_000]) {
  const chunks = chunksOf(bytes);
  withSdk(chunks); // warm-up
  withRouter(chunks);
  const sdk = medianMs(withSdk, chunks);
  const router = medianMs(withRouter, chunks);
  const parse = medianMs(parseOnly, chunks);
  console.log(
    `${(bytes / 1e6).toFixed(0)} MB line in ${chunks.length} chunks of 64 KiB: ` +
      `SDK ReadBuffer ${sdk.toFixed(1)} ms, router LineFramer ${router.toFixed(1)} ms, ` +
      `ratio SDK/router ${(sdk / router).toFixed(1)}x; of which one concatenation and the parse ${parse.toFixed(1)} ms, ` +
      `so framing ${(sdk - parse).toFixed(1)} ms against ${Math.max(0, router - parse).toFixed(1)} ms`,
  );
}
