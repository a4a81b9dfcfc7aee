import {describe, expect, it} from 'vitest';
import {HeldCall} from '../../../router/session/rounds.js';

// The input_required rounds of one held call (MCP 2026-07-28 basic/patterns/mrtr), driven the way the router drives
// them: the upstream call is a promise that waits for the answer to its server-to-client request.
const SAMPLE = {method: 'sampling/createMessage', params: {messages: [], maxTokens: 5}};
const open = () => ({signal: new AbortController().signal, relay: async () => undefined});

function heldSamplingCall(capabilities = {sampling: {}}) {
  const held = new HeldCall(capabilities, 'state-1');
  held.start(held.ask(SAMPLE, new AbortController().signal).then((answer) => ({content: [answer]})));
  return held;
}

describe('a held call', () => {
  it('asks in one round, and ends with the result once the answer is given', async () => {
    const held = heldSamplingCall();
    const first = await held.round(open(), 60_000);
    expect(first).toEqual({
      inputRequired: {
        resultType: 'input_required',
        inputRequests: {'sampling-1': SAMPLE},
        requestState: held.id,
      },
    });
    held.answer({'sampling-1': {role: 'assistant', content: {type: 'text', text: 'ok'}}});
    expect(await held.round(open(), 60_000)).toEqual({
      result: {content: [{role: 'assistant', content: {type: 'text', text: 'ok'}}]},
    });
    expect(held.ended).toBe(true);
  });

  it('asks again for what a retry did not answer', async () => {
    const held = heldSamplingCall();
    await held.round(open(), 60_000);
    held.answer({'unknown-key': {}});
    expect(await held.round(open(), 60_000)).toMatchObject({inputRequired: {inputRequests: {'sampling-1': SAMPLE}}});
  });

  it('refuses a request the client did not declare the capability for (-32601)', async () => {
    const held = new HeldCall({}, 'state-1');
    await expect(held.ask(SAMPLE, new AbortController().signal)).rejects.toMatchObject({
      code: -32601,
      message: 'The client does not support sampling ("sampling/createMessage")',
    });
  });

  it('is given up when its client does not come back in time: cancelled, its requests refused', async () => {
    const held = heldSamplingCall();
    await held.round(open(), 20);
    await new Promise((resolve) => held.signal.addEventListener('abort', resolve));
    expect(held.ended).toBe(true);
    await expect(held.round(open(), 20)).rejects.toThrow('The call was given up: the client did not answer in time');
  });

  it('is given up when the client cancels a round', async () => {
    const held = new HeldCall({sampling: {}}, 'state-1');
    held.start(new Promise(() => undefined));
    const cancel = new AbortController();
    const round = held.round({signal: cancel.signal, relay: async () => undefined}, 60_000);
    cancel.abort();
    expect(held.signal.aborted).toBe(true);
    await expect(round).rejects.toThrow('The call was given up: cancelled by the client');
  });
});
