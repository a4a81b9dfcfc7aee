import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {Logger} from '../log.js';
import {oversizedResponse} from './framing.js';
import {mediaType} from './http.js';
import {SseParser, type SseEvent} from './sse-parser.js';

/**
 * A `fetch` for the SDK's legacy HTTP+SSE client transport (MCP 2024-11-05 basic/transports) that holds the event
 * stream to `maxMessageBytes`, as the router's stdio and Streamable HTTP transports are held: the stream of a
 * `text/event-stream` response is read by the router's SSE parser (`SseParser`, which never keeps more than the
 * limit of one event) and written again for the SDK's own reader, event by event (`id`, `event`, `data` and `retry`
 * kept; comments dropped). A `message` event over the limit does not reach it: a response becomes the -32603 error
 * that fails its own call (`sent a message of N bytes, over maxUpstreamMessageBytes (L)`), anything else is dropped
 * with a warning (`oversizedResponse`). Any other response (the POSTs' 202, an error status) passes as it is.
 */
export function limitedSseFetch(base: FetchLike, maxMessageBytes: number, log: Logger): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    const body = response.body;
    if (!body || mediaType(response.headers.get('content-type') ?? undefined) !== 'text/event-stream') return response;
    const reader = body.getReader();
    const limited = new ReadableStream<Uint8Array>({
      start(controller) {
        const write = (event: SseEvent) => controller.enqueue(Buffer.from(sseEventText(event)));
        const parser = new SseParser({
          maxDataBytes: maxMessageBytes,
          onEvent: write,
          onRetry: (milliseconds) => controller.enqueue(Buffer.from(`retry: ${milliseconds}\n\n`)),
          onOversized: ({id, event, ...message}) => {
            if (event !== undefined && event !== 'message') {
              return log.warn({bytes: message.bytes, event}, 'Dropped an SSE event over maxUpstreamMessageBytes');
            }
            const failure = oversizedResponse(message, maxMessageBytes, log);
            if (failure) write({...(id !== undefined && {id}), data: JSON.stringify(failure)});
          },
        });
        void (async () => {
          try {
            for (;;) {
              const {done, value} = await reader.read();
              if (done) break;
              parser.feed(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
            }
            controller.close();
          } catch (error) {
            controller.error(error);
          }
        })();
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(limited, {status: response.status, statusText: response.statusText, headers: response.headers});
  };
}

/** One event as SSE text (WHATWG HTML, server-sent events): its fields, each data line on its own `data:` line. */
function sseEventText(event: SseEvent): string {
  const data = event.data.toString().split('\n');
  return `${event.id !== undefined ? `id: ${event.id}\n` : ''}${event.event !== undefined ? `event: ${event.event}\n` : ''}${data.map((line) => `data: ${line}\n`).join('')}\n`;
}
