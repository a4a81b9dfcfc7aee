/**
 * The templates of composite tools (pure): JSON values whose strings may hold references in double braces.
 *
 * - `{{input.path}}`: the composite's arguments; `{{steps.<id>.<field>.path}}`: the result of an earlier step, where
 *   `<field>` is `structuredContent`, `content`, `text` (its text content items, joined by newlines) or `isError`.
 * - A path is a chain of `.name` and `[index]`: `{{steps.search.structuredContent.entities[0].name}}`.
 * - A string that is one reference and nothing else becomes the referenced value with its own JSON type (an object
 *   stays an object); when it finds nothing, its key is left out. A reference inside other text becomes text (strings
 *   as they are, anything else as JSON), and finding nothing there is an error.
 */

/** A parsed reference: where it reads from and the path below that. */
export type Reference = {root: 'input'; path: PathSegment[]} | {root: 'step'; step: string; path: PathSegment[]};

export type PathSegment = string | number;

/** The fields of a step's result a reference may read. */
export const STEP_FIELDS = ['structuredContent', 'content', 'text', 'isError'] as const;

/** A reference in a template, with where it sits: `at` is the path of its string inside the template. */
export interface Found {
  reference: Reference;
  /** The text between the braces, trimmed, for messages. */
  source: string;
  at: PathSegment[];
}

/** A template problem, with the path of its string inside the template. */
export interface TemplateIssue {
  at: PathSegment[];
  message: string;
}

/** What a template can read: the composite's arguments and the results of the steps done so far, by step id. */
export interface TemplateContext {
  input: Record<string, unknown>;
  steps: Record<string, StepResult>;
}

/** A step's result as references see it. */
export interface StepResult {
  structuredContent?: unknown;
  content: unknown[];
  text: string;
  isError: boolean;
}

/** A reference that cannot be rendered; the message names it. */
export class TemplateError extends Error {}

const BRACES = /\{\{(.*?)\}\}/g;
const WHOLE = /^\{\{([^{}]*)\}\}$/;
const REFERENCE = /^(input|steps\.([A-Za-z0-9_-]+))((?:\.[^.[\]{}\s]+|\[\d+\])*)$/;
const SEGMENT = /\.([^.[\]{}\s]+)|\[(\d+)\]/g;

/**
 * Parses the text between double braces (`input.a`, `steps.b.text`).
 * @returns the reference, or a message saying why it is not one
 */
export function parseReference(text: string): Reference | string {
  const source = text.trim();
  const match = REFERENCE.exec(source);
  if (!match) return `{{${source}}} is not a reference: use {{input.<path>}} or {{steps.<id>.<field>.<path>}}`;
  const path = [...(match[3] ?? '').matchAll(SEGMENT)].map(([, name, index]) =>
    index === undefined ? (name as string) : Number(index),
  );
  if (match[1] === 'input') return {root: 'input', path};
  const [field] = path;
  if (!STEP_FIELDS.includes(field as (typeof STEP_FIELDS)[number]))
    return `{{${source}}}: a step's result has ${STEP_FIELDS.join(', ')}; say which one after the step id`;
  return {root: 'step', step: match[2] as string, path};
}

/** Every string of a template with where it sits (depth first, in key order). */
function* strings(value: unknown, at: PathSegment[] = []): Generator<[string, PathSegment[]]> {
  if (typeof value === 'string') yield [value, at];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, [...at, i]);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) yield* strings(item, [...at, key]);
}

/** The references of a template, and the problems of those that do not parse (pure). */
export function templateReferences(template: unknown): {references: Found[]; issues: TemplateIssue[]} {
  const references: Found[] = [];
  const issues: TemplateIssue[] = [];
  for (const [text, at] of strings(template)) {
    for (const [, inner] of text.matchAll(BRACES)) {
      const parsed = parseReference(inner as string);
      if (typeof parsed === 'string') issues.push({at, message: parsed});
      else references.push({reference: parsed, source: (inner as string).trim(), at});
    }
  }
  return {references, issues};
}

/** The value a reference reads in a context, or undefined when it finds nothing. */
export function resolveReference(reference: Reference, context: TemplateContext): unknown {
  let value: unknown = reference.root === 'input' ? context.input : context.steps[reference.step];
  for (const segment of reference.path) {
    if (value === null || typeof value !== 'object') return undefined;
    if (typeof segment === 'number' ? !Array.isArray(value) : !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

function read(source: string, context: TemplateContext): unknown {
  const reference = parseReference(source);
  if (typeof reference === 'string') throw new TemplateError(reference);
  return resolveReference(reference, context);
}

function renderString(text: string, context: TemplateContext): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return read(whole[1] as string, context);
  return text.replace(BRACES, (_all, inner: string) => {
    const value = read(inner, context);
    if (value === undefined) throw new TemplateError(`{{${inner.trim()}}} found nothing`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * Renders a template in a context (pure): references replaced as the module's docstring says.
 * @throws TemplateError for a reference inside text that finds nothing, or one inside an array that finds nothing
 */
export function renderTemplate(template: unknown, context: TemplateContext): unknown {
  if (typeof template === 'string') return renderString(template, context);
  if (Array.isArray(template)) {
    return template.map((item) => {
      const value = renderTemplate(item, context);
      if (value === undefined) throw new TemplateError(`${JSON.stringify(item)} found nothing`);
      return value;
    });
  }
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(template)) {
      const value = renderTemplate(item, context);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  return template;
}
