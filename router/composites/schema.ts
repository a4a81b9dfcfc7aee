import {AjvJsonSchemaValidator} from '@modelcontextprotocol/sdk/validation/ajv';
import {z} from 'zod';
import {planComposite} from './plan.js';

/** Name of the built-in upstream that serves composite tools, and their prefix: `composite__<name>` in the aggregate. */
export const COMPOSITE_UPSTREAM = 'composite';

/** Pattern of a composite's name: room for the prefix and separator within the 64 characters of a tool name. */
export const COMPOSITE_NAME = /^[a-zA-Z0-9_-]{1,48}$/;

/** Pattern of a step id: it is read in references as `steps.<id>`. */
export const STEP_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** Input validators compiled once per schema object (a config reload brings new objects). */
const validators = new WeakMap<object, ReturnType<AjvJsonSchemaValidator['getValidator']>>();
const ajv = new AjvJsonSchemaValidator();

/**
 * The validator of a composite's input schema (JSON Schema, as tools declare it; MCP 2025-11-25 server/tools).
 * @throws Error when the schema does not compile
 */
export function inputValidator(schema: object): ReturnType<AjvJsonSchemaValidator['getValidator']> {
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.getValidator(schema)));
  return validate;
}

const StepSchema = z
  .object({
    id: z
      .string()
      .regex(STEP_ID, 'must match ^[a-zA-Z0-9_-]{1,64}$')
      .describe('Name of the step, unique in the composite; later steps read its result as {{steps.<id>...}}.'),
    tool: z
      .string()
      .min(1)
      .max(64)
      .describe('The tool the step calls, by its aggregated name (e.g. "filesystem__search_files").'),
    arguments: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        'Arguments of the tool, a template: strings may hold {{input.<path>}} and {{steps.<id>.<field>.<path>}}, ' +
          'where <field> is structuredContent, content, text or isError. A string that is one reference takes the ' +
          "value's own type; a step waits for the steps it reads.",
      ),
    after: z
      .array(z.string().min(1))
      .optional()
      .describe('Steps this one waits for besides those it reads (e.g. a write before a read).'),
  })
  .strict()
  .describe('One call of an upstream tool.');

/** Tool annotations a composite declares of itself (MCP 2025-11-25 server/tools); they are hints, not checks. */
export const ToolAnnotationsSchema = z
  .object({
    readOnlyHint: z.boolean().optional().describe('The tool changes nothing (spec default false).'),
    destructiveHint: z.boolean().optional().describe('A change it makes may destroy something (default true).'),
    idempotentHint: z.boolean().optional().describe('Calling it again with the same arguments changes no more.'),
    openWorldHint: z.boolean().optional().describe('It reaches outside the router and its upstreams (default true).'),
  })
  .strict()
  .describe('Tool annotations of the composite (MCP 2025-11-25 server/tools); access rules may select on them.');

export const CompositeSchema = z
  .object({
    title: z.string().min(1).optional().describe('Human-readable title of the tool.'),
    description: z.string().min(1).describe('What the tool does, for the model (its tools/list description).'),
    inputSchema: z
      .looseObject({type: z.literal('object')})
      .default({type: 'object'})
      .describe('JSON Schema of the arguments (type object); calls are validated against it.'),
    annotations: ToolAnnotationsSchema.optional(),
    steps: z.array(StepSchema).min(1).describe('The calls, run as soon as the steps they wait for have finished.'),
    output: z
      .unknown()
      .optional()
      .describe(
        "The result, a template like a step's arguments: an object becomes structuredContent (and its JSON the " +
          "text), anything else the text. Default: an object of every step's structuredContent, or its text, by id.",
      ),
    timeoutSeconds: z
      .number()
      .positive()
      .default(600)
      .describe('Seconds the whole composite may take; each step has its upstream timeouts as well.'),
  })
  .strict()
  .superRefine((composite, context) => {
    try {
      inputValidator(composite.inputSchema);
    } catch (error) {
      context.addIssue({
        code: 'custom',
        path: ['inputSchema'],
        message: `not a valid JSON Schema: ${(error as Error).message}`,
      });
    }
    for (const issue of planComposite(composite.steps, composite.output).issues)
      context.addIssue({code: 'custom', path: issue.path, message: issue.message});
  })
  .describe('A composite tool: steps that call upstream tools, with arguments from its input and earlier results.');

export type Composite = z.infer<typeof CompositeSchema>;

export const CompositesSchema = z
  .record(z.string().regex(COMPOSITE_NAME, 'must match ^[a-zA-Z0-9_-]{1,48}$'), CompositeSchema)
  .default({})
  .describe(
    `Composite tools by name, served by the built-in upstream "${COMPOSITE_UPSTREAM}" (${COMPOSITE_UPSTREAM}__<name> ` +
      'in the aggregate).',
  );
