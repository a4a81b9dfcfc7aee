import {describe, expect, it} from 'vitest';
import {UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError} from '../../../router/errors.js';
import {CircuitOpenError} from '../../../router/upstream/breaker.js';
import {mayRetry, withRetries, type CallFacts} from '../../../router/upstream/retry.js';
import {callTimeouts} from '../../../router/upstream/timeouts.js';

const unreachable = new UpstreamUnavailableError('u', 'the connection closed during the call');
const timedOut = new UpstreamTimeoutError('u', 'tools/call', 60, 'idle');
const answered = new UpstreamError('u', -32602, 'bad arguments');
const open = new CircuitOpenError('u', 'circuit open');
const call = (method: string, more: Partial<CallFacts> = {}): CallFacts => ({method, started: false, ...more});

describe('mayRetry', () => {
  it.each([
    ['a list that could not reach the upstream', call('tools/list'), unreachable, false, true],
    ['a read that timed out (reads are idempotent)', call('resources/read'), timedOut, false, true],
    ['prompts/get', call('prompts/get'), unreachable, false, true],
    ['completion/complete', call('completion/complete'), unreachable, false, true],
    ['ping', call('ping'), timedOut, false, true],
    ['a read the upstream answered with an error', call('resources/read'), answered, false, false],
    ['a read refused by an open circuit', call('resources/read'), open, false, false],
    ['a read after progress', call('resources/read', {started: true}), unreachable, false, false],
    ['a tool call without annotations, tool calls allowed', call('tools/call'), unreachable, true, false],
    [
      'a read-only tool, tool calls allowed',
      call('tools/call', {annotations: {readOnlyHint: true}}),
      timedOut,
      true,
      true,
    ],
    [
      'an idempotent tool, tool calls allowed',
      call('tools/call', {annotations: {idempotentHint: true}}),
      unreachable,
      true,
      true,
    ],
    [
      'an idempotent tool, tool calls not allowed',
      call('tools/call', {annotations: {idempotentHint: true}}),
      unreachable,
      false,
      false,
    ],
    ['a hint that is not true', call('tools/call', {annotations: {idempotentHint: 'yes'}}), unreachable, true, false],
    [
      'a destructive, non-idempotent tool that timed out',
      call('tools/call', {annotations: {readOnlyHint: false}}),
      timedOut,
      true,
      false,
    ],
    [
      'an idempotent tool after progress',
      call('tools/call', {annotations: {idempotentHint: true}, started: true}),
      timedOut,
      true,
      false,
    ],
    ['a method outside the safe ones', call('resources/subscribe'), unreachable, true, false],
  ])('%s: %s', (_what, facts, error, toolCalls, expected) => {
    expect(mayRetry(facts, error, {toolCalls})).toBe(expected);
  });
});

describe('withRetries', () => {
  const options = {maxAttempts: 3, backoffSeconds: 0.001, maxBackoffSeconds: 0.002, toolCalls: false};

  it('tries again while the error is retryable, up to maxAttempts, and then throws the last error', async () => {
    let attempts = 0;
    const retried: number[] = [];
    const run = withRetries(
      options,
      () => true,
      async () => {
        attempts++;
        throw new Error(`attempt ${attempts}`);
      },
      {onRetry: ({attempt}) => retried.push(attempt)},
    );
    await expect(run).rejects.toThrow('attempt 3');
    expect(retried).toEqual([1, 2]);
  });

  it('stops at the first error that is not retryable, and at the first success', async () => {
    let attempts = 0;
    await expect(
      withRetries(
        options,
        (error) => (error as Error).message !== 'final',
        async () => {
          attempts++;
          throw new Error(attempts === 1 ? 'again' : 'final');
        },
      ),
    ).rejects.toThrow('final');
    expect(attempts).toBe(2);
    expect(
      await withRetries(
        options,
        () => true,
        async () => 'ok',
      ),
    ).toBe('ok');
  });

  it('makes one attempt with maxAttempts 1', async () => {
    let attempts = 0;
    const once = withRetries(
      {...options, maxAttempts: 1},
      () => true,
      async () => {
        attempts++;
        throw new Error('no');
      },
    );
    await expect(once).rejects.toThrow('no');
    expect(attempts).toBe(1);
  });
});

describe('callTimeouts', () => {
  const timeouts = {
    connectSeconds: 10,
    callSeconds: 60,
    maxCallSeconds: 600,
    tools: {slow: {callSeconds: 300}, quick: {maxCallSeconds: 5}},
  };

  it.each([
    ['a tool with its own callSeconds', 'tools/call', 'slow', {callSeconds: 300, maxCallSeconds: 600}],
    ['a tool with its own maxCallSeconds', 'tools/call', 'quick', {callSeconds: 60, maxCallSeconds: 5}],
    ['a tool without its own', 'tools/call', 'other', {callSeconds: 60, maxCallSeconds: 600}],
    ['a name that is a member of every object', 'tools/call', 'constructor', {callSeconds: 60, maxCallSeconds: 600}],
    ['another method, whatever its name param', 'prompts/get', 'slow', {callSeconds: 60, maxCallSeconds: 600}],
  ])('%s', (_what, method, tool, expected) => {
    expect(callTimeouts(timeouts, method, tool)).toEqual(expected);
  });
});
