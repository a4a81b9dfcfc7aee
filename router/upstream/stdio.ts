import {spawn, type ChildProcess} from 'node:child_process';
import {PassThrough} from 'node:stream';
import {getDefaultEnvironment} from '@modelcontextprotocol/sdk/client/stdio.js';
import {deserializeMessage, serializeMessage} from '@modelcontextprotocol/sdk/shared/stdio.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import type {Logger} from '../log.js';
import {LineFramer, oversizedResponse} from './framing.js';
import {ResultBytes} from './result-bytes.js';

/** What starts a stdio upstream, and the largest message read from it. */
export interface StdioUpstreamParameters {
  command: string;
  args: string[];
  /** Merged over the SDK's default environment (`getDefaultEnvironment`: HOME, LOGNAME, PATH, SHELL, TERM, USER). */
  env: Record<string, string>;
  cwd?: string;
  /** Largest line, in bytes, read from the child's stdout; a larger one fails only its own call. */
  maxMessageBytes: number;
}

/** Milliseconds `close()` waits after ending stdin, and again after SIGTERM, before the next step (as the SDK does). */
const CLOSE_GRACE_MS = 2000;

/**
 * Client transport to a child process over stdin/stdout (MCP 2025-11-25 basic/transports, stdio), in place of the
 * SDK's `StdioClientTransport`: the child is spawned the same way (`shell: false`, the SDK's default environment
 * with `env` merged over it, stderr piped), but stdout is framed by `LineFramer`, linear in the size of a message,
 * and a message over `maxMessageBytes` does not end the connection: a response becomes a -32603 error for its own
 * call, anything else is dropped with a warning. `close()` ends stdin, then sends SIGTERM, then SIGKILL, 2 s apart.
 *
 * Unlike the SDK it spawns with Node's `child_process.spawn`, not `cross-spawn`: on Windows a `.cmd` shim such as
 * `npx` must be named with its extension.
 */
export class StdioUpstreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  /** Requests whose large results the connection takes as bytes. */
  readonly resultBytes = new ResultBytes();

  readonly #parameters: StdioUpstreamParameters;
  readonly #log: Logger;
  readonly #framer: LineFramer;
  readonly #stderr = new PassThrough();
  #process: ChildProcess | undefined;

  /** `log` receives the warning for a dropped oversized line. */
  constructor(parameters: StdioUpstreamParameters, log: Logger) {
    this.#parameters = parameters;
    this.#log = log;
    this.#framer = new LineFramer(parameters.maxMessageBytes);
  }

  /** The child's stderr, available before `start()` so that no early output is lost. */
  get stderr(): PassThrough {
    return this.#stderr;
  }

  /** The child's process id, once started; undefined before and after. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Spawns the child.
   * @throws Error when it is already started, or when the program cannot be spawned (ENOENT, EACCES)
   */
  start(): Promise<void> {
    if (this.#process) throw new Error('StdioUpstreamTransport already started');
    const {command, args, env, cwd} = this.#parameters;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env: {...getDefaultEnvironment(), ...env},
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        windowsHide: process.platform === 'win32',
        ...(cwd !== undefined && {cwd}),
      });
      this.#process = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        if (this.#process === child) this.#process = undefined;
        this.onclose?.();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => this.#read(chunk));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stderr?.pipe(this.#stderr);
    });
  }

  #read(chunk: Buffer): void {
    for (const line of this.#framer.push(chunk)) {
      let message: JSONRPCMessage;
      if (line.kind === 'line') {
        try {
          message = this.resultBytes.take(line.bytes) ?? deserializeMessage(line.bytes.toString('utf8'));
        } catch (error) {
          this.onerror?.(error as Error);
          continue;
        }
      } else {
        const response = oversizedResponse(line, this.#parameters.maxMessageBytes, this.#log);
        if (!response) continue;
        message = response;
      }
      this.onmessage?.(message);
    }
  }

  /**
   * Writes one message as a line to the child's stdin; resolves once written, or after `drain` when the pipe is full.
   * @throws Error 'Not connected' before `start()` or after `close()`
   */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#process?.stdin;
    if (!stdin) return Promise.reject(new Error('Not connected'));
    this.resultBytes.sent(message);
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Stops the child: ends stdin, then SIGTERM after 2 s, then SIGKILL after 2 s more; `onclose` follows its exit. */
  async close(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    this.#framer.clear();
    if (!child) return;
    const closed = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('close', () => resolve());
    });
    const grace = () =>
      Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    try {
      child.stdin?.end();
    } catch {
      // a stdin that already failed: the signals below still stop the child
    }
    await grace();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await grace();
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
