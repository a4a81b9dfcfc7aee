import type {UpstreamTimeouts} from '../config/schema.js';

/** The timeouts of one call, in seconds. */
export interface CallTimeouts {
  /** Seconds without a response or progress. */
  callSeconds: number;
  /** Seconds in all. */
  maxCallSeconds: number;
}

/**
 * The timeouts of a call (pure): a `tools/call` of a tool listed in `timeouts.tools` (by its upstream name) takes the
 * values given there; everything else, and any value not given, those of the upstream.
 */
export function callTimeouts(timeouts: UpstreamTimeouts, method: string, tool: unknown): CallTimeouts {
  // Object.hasOwn: a tool named "constructor" or "__proto__" must not find the prototype's members.
  const own =
    method === 'tools/call' && typeof tool === 'string' && Object.hasOwn(timeouts.tools, tool)
      ? timeouts.tools[tool]
      : undefined;
  return {
    callSeconds: own?.callSeconds ?? timeouts.callSeconds,
    maxCallSeconds: own?.maxCallSeconds ?? timeouts.maxCallSeconds,
  };
}
