import type {Readable, Writable} from 'node:stream';
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {messageJson} from './catalog/serialized.js';

/**
 * The client end of `--transport stdio` (MCP 2025-11-25 basic/transports, stdio): the SDK's stdio server transport,
 * each message written as one line of its own JSON (`messageJson`), so that a list's JSON is the one made per catalog
 * version and a large `tools/call` result goes out as the upstream's bytes (ADR 0037), which hold no line break.
 * `send` resolves once written, or after `drain` when stdout is full, as the SDK's does.
 */
export class StdioDownstreamTransport extends StdioServerTransport {
  /** `send` writes a result's own JSON (`messageJson`), bytes included. */
  readonly writesResultBytes = true;
  readonly #stdout: Writable;

  constructor(stdin: Readable = process.stdin, stdout: Writable = process.stdout) {
    super(stdin, stdout);
    this.#stdout = stdout;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    const json = messageJson(message);
    let flowing = true;
    for (const piece of typeof json === 'string' ? [`${json}\n`] : [...json, '\n']) flowing = this.#stdout.write(piece);
    return flowing ? Promise.resolve() : new Promise((resolve) => this.#stdout.once('drain', () => resolve()));
  }
}
