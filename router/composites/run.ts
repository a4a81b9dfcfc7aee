import type {CallToolResult, Progress} from '@modelcontextprotocol/sdk/types.js';
import {planComposite, readySteps} from './plan.js';
import type {Composite} from './schema.js';
import {renderTemplate, type StepResult, type TemplateContext} from './template.js';

/** Calls one upstream tool by its aggregated name, as the caller's own `tools/call` (see `server.ts`). */
export type StepCall = (
  tool: string,
  args: Record<string, unknown>,
  options: {signal: AbortSignal; onprogress: (progress: Progress) => void},
) => Promise<CallToolResult>;

/** How a run talks to the world: the calls, the caller's cancellation, and a line of progress per step event. */
export interface RunOptions {
  call: StepCall;
  /** Aborts when the caller cancels: no further step starts, and the steps in flight are cancelled. */
  signal: AbortSignal;
  /** A step started, reported progress, finished or failed (MCP 2025-11-25 basic/utilities/progress `message`). */
  progress(message: string): void;
}

/** The text of a result's text content items, joined by newlines. */
function textOf(result: CallToolResult): string {
  return result.content
    .filter((item) => item.type === 'text')
    .map((item) => item.text)
    .join('\n');
}

function stepResult(result: CallToolResult): StepResult {
  return {
    ...(result.structuredContent !== undefined && {structuredContent: result.structuredContent}),
    content: result.content,
    text: textOf(result),
    isError: result.isError === true,
  };
}

/** A tool error whose text says what went wrong (MCP 2025-11-25 server/tools, `isError`). */
export function failed(text: string): CallToolResult {
  return {content: [{type: 'text', text}], isError: true};
}

/** A composite's result from its rendered output: an object is structuredContent and JSON text, else text. */
function outputResult(value: unknown): CallToolResult {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return {
      content: [{type: 'text', text: JSON.stringify(value)}],
      structuredContent: value as Record<string, unknown>,
    };
  return {content: [{type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value ?? null)}]};
}

/**
 * Runs a composite: each step starts as soon as the steps it waits for have finished (so independent steps run in
 * parallel), with its arguments rendered from the input and the results so far. The first step that fails (its tool
 * answers `isError`, its call fails, or its arguments do not render) ends the run: the steps in flight are cancelled,
 * no other step starts, and the result is a tool error that names the step and its tool.
 * @param input the composite's arguments, already validated against its input schema
 * @returns the rendered `output` (by default each step's structuredContent, or text, by step id), or the tool error
 * @throws the signal's reason when the caller cancels
 */
export async function runComposite(
  composite: Composite,
  input: Record<string, unknown>,
  options: RunOptions,
): Promise<CallToolResult> {
  if (options.signal.aborted) throw options.signal.reason;
  const {dependencies} = planComposite(composite.steps, composite.output);
  const steps = new Map(composite.steps.map((step) => [step.id, step]));
  const context: TemplateContext = {input, steps: {}};
  const started = new Set<string>();
  const finished = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const stop = new AbortController();
  const cancel = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', cancel, {once: true});
  let failure: string | undefined;

  const run = async (id: string) => {
    const step = steps.get(id) as Composite['steps'][number];
    const name = `Step "${id}" (${step.tool})`;
    options.progress(`${name} started`);
    try {
      const args = renderTemplate(step.arguments, context) as Record<string, unknown>;
      const result = await options.call(step.tool, args, {
        signal: stop.signal,
        onprogress: ({progress, total, message}) =>
          options.progress(`Step "${id}": ${message ?? `${progress}${total === undefined ? '' : `/${total}`}`}`),
      });
      if (result.isError === true) throw new Error(textOf(result) || 'the tool reported an error');
      context.steps[id] = stepResult(result);
      finished.add(id);
      options.progress(`${name} finished`);
    } catch (error) {
      if (stop.signal.aborted) return;
      failure ??= `${name} failed: ${(error as Error).message}`;
      options.progress(`${name} failed`);
      stop.abort();
    }
  };

  try {
    for (;;) {
      if (!stop.signal.aborted) {
        for (const id of readySteps(dependencies, started, finished)) {
          started.add(id);
          running.set(
            id,
            run(id).finally(() => running.delete(id)),
          );
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    options.signal.removeEventListener('abort', cancel);
  }
  if (options.signal.aborted) throw options.signal.reason;
  if (failure !== undefined) return failed(failure);
  try {
    const output =
      composite.output === undefined
        ? Object.fromEntries(
            composite.steps.map(({id}) => [id, context.steps[id]?.structuredContent ?? context.steps[id]?.text]),
          )
        : renderTemplate(composite.output, context);
    return outputResult(output);
  } catch (error) {
    return failed(`The output did not render: ${(error as Error).message}`);
  }
}
