import {describe, expect, it} from 'vitest';
import {WorkQueue} from '../../../operator/runtime/workqueue.js';

describe('WorkQueue', () => {
  it('deduplicates keys that are queued', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('never hands out a key that is processing; re-adds it after done', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    expect(queue.length).toBe(0);
    let second: string | undefined;
    const waiting = queue.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    queue.done(key as string);
    await waiting;
    expect(second).toBe('a');
  });

  it('backs off exponentially per key and forgets on success', () => {
    const queue = new WorkQueue({baseDelayMs: 10, maxDelayMs: 50});
    expect([1, 2, 3, 4].map(() => queue.addRateLimited('a'))).toEqual([10, 20, 40, 50]);
    expect(queue.failures('a')).toBe(4);
    queue.forget('a');
    expect(queue.addRateLimited('a')).toBe(10);
    queue.shutDown();
  });

  it('queues after a delay, keeping the earliest', async () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 60_000);
    queue.addAfter('a', 5);
    expect(queue.delayed).toBe(1);
    expect(await queue.get()).toBe('a');
    expect(queue.idle).toBe(false);
    queue.done('a');
    queue.shutDown();
  });

  it('resolves waiting gets with undefined on shut down', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
